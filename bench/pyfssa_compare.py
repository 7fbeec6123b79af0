#!/usr/bin/env python3
"""pyfssa 0.7.6 on the data sets of the collapse coverage study, side by side with critlab.

    cargo run --release -p critlab-physics --example coverage -- --dump /tmp/cov --json /tmp/cov/critlab.json
    PY=$(bench/pyfssa_setup.sh)          # patched pyfssa in a venv under /tmp
    $PY bench/pyfssa_compare.py /tmp/cov

For every dumped case with a free zeta (pyfssa cannot fix zeta) pyfssa.autoscale is run
twice: started from the same guesses as critlab (x_c guess of the case, nu = 1, zeta = 0),
and started at the true values (which isolates the calibration of its errors from failures
of its single-start Nelder-Mead). Its curvature errors are scored like critlab's: the
fraction of true values within 1 and 2 reported sigmas; a NaN or non-positive error counts
as a miss and is counted separately.
"""
import csv
import json
import math
import sys
import warnings

import numpy as np
import fssa


def load(path):
    rows = list(csv.DictReader(open(path)))
    sizes = sorted({float(r["L"]) for r in rows})
    xs = sorted({float(r["x"]) for r in rows})
    a = np.full((len(sizes), len(xs)), np.nan)
    da = np.full_like(a, np.nan)
    for r in rows:
        i, j = sizes.index(float(r["L"])), xs.index(float(r["x"]))
        a[i, j], da[i, j] = float(r["y"]), float(r["dy"])
    return np.array(sizes), np.array(xs), a, da


def main():
    d = sys.argv[1]
    cases = json.load(open(f"{d}/cases.json"))
    for start in ("guess", "truth"):
        run(d, cases, start)


def run(d, cases, start):
    n = in1 = in2 = bad = 0
    per = {"synthetic": [0, 0, 0, 0], "physical": [0, 0, 0, 0]}
    out = []
    for k, c in enumerate(cases):
        if c["fix_zeta"] is not None:
            continue
        l, x, a, da = load(f"{d}/case_{k}.csv")
        if np.isnan(a).any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                if start == "guess":
                    r = fssa.autoscale(l, x, a, da, c["x_c_guess"], 1.0, 0.0)
                else:
                    r = fssa.autoscale(l, x, a, da, *c["truth"])
                est, err = list(r.x), list(r.errors)
            except Exception as e:  # pyfssa raises on degenerate data
                est, err = [math.nan] * 3, [math.nan] * 3
        kind = "synthetic" if c["name"].startswith("synthetic") else "physical"
        for v, e, t in zip(est, err, c["truth"]):
            if t is None:
                continue
            n += 1
            per[kind][0] += 1
            if not (e > 0) or not math.isfinite(e):
                bad += 1
                per[kind][3] += 1
                continue
            in1 += abs(v - t) <= e
            in2 += abs(v - t) <= 2 * e
            per[kind][1] += abs(v - t) <= e
            per[kind][2] += abs(v - t) <= 2 * e
        out.append({"name": c["name"], "estimates": est, "errors": err})
    print(f"| pyfssa 0.7.6 autoscale (curvature errors), started at the {start} | {n} | {100*in1/max(n,1):.1f}% | {100*in2/max(n,1):.1f}% | NaN/non-positive errors: {bad} |")
    for kind, (m, a1, a2, b) in per.items():
        print(f"  {kind}: n = {m}, 1σ {100*a1/max(m,1):.1f}%, 2σ {100*a2/max(m,1):.1f}%, NaN/non-positive errors {b}")
    for o in out:
        if not o["name"].startswith("synthetic"):
            print(f"  {o['name']}: x_c, nu, zeta = {[round(float(v), 5) for v in o['estimates']]} ± {[round(float(v), 5) for v in o['errors']]}")
    json.dump(out, open(f"{d}/pyfssa_{start}.json", "w"), indent=1, default=float)


if __name__ == "__main__":
    main()
