#!/usr/bin/env python3
"""Overhead of critlab.torch.Recorder at its default cadence (every 100 steps) in a full-batch
PyTorch loop: modular addition, one-hot MLP, AdamW, one thread. Prints one JSON line per
workload: seconds per 1000 steps without and with the recorder (median of --rounds) and the
relative overhead. The recorder measures with a small batch of N/10 examples (tr Σ).

  python bench/recorder_overhead.py [--steps 1000] [--rounds 3] [--large]   (needs torch and critlab)
"""
import argparse
import json
import statistics
import tempfile
import time

import torch
import torch.nn.functional as F

from critlab.torch import Recorder


def data(p, frac=0.5):
    g = torch.Generator().manual_seed(0)
    a = torch.arange(p).repeat_interleave(p)
    b = torch.arange(p).repeat(p)
    x = torch.cat([F.one_hot(a, p), F.one_hot(b, p)], 1).float()
    perm = torch.randperm(p * p, generator=g)[: int(frac * p * p)]
    return x[perm], ((a + b) % p)[perm]


def run(p, width, steps, record, every):
    torch.manual_seed(0)
    x, y = data(p)
    model = torch.nn.Sequential(torch.nn.Linear(2 * p, width), torch.nn.ReLU(), torch.nn.Linear(width, p))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0)
    small = (x[: max(2, len(x) // 10)], y[: max(2, len(x) // 10)])
    with tempfile.TemporaryDirectory() as d:
        rec = Recorder(model, opt, store=f"{d}/r.db", every=every) if record else None
        t0 = time.perf_counter()
        for step in range(steps):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            if rec is None:
                opt.step()
            else:
                with rec.step(step, train=(x, y), small=small):
                    opt.step()
        if rec is not None:
            rec.close()
        return time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--every", type=int, default=100)
    ap.add_argument("--large", action="store_true", help="also p = 97, width 512 (4704 examples)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    for p, width in [(23, 128)] + ([(97, 512)] if args.large else []):
        base = statistics.median(run(p, width, args.steps, False, args.every) for _ in range(args.rounds))
        rec = statistics.median(run(p, width, args.steps, True, args.every) for _ in range(args.rounds))
        print(json.dumps({"p": p, "width": width, "steps": args.steps, "every": args.every,
                          "s_without": round(base, 3), "s_with": round(rec, 3), "overhead": round(rec / base - 1, 4)}))


if __name__ == "__main__":
    main()
