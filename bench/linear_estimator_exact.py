#!/usr/bin/env python3
"""Exact gradient descent of Levi, Beck, Bar-Sinai's linear estimator, in numpy, with the
conventions of `critlab study run linear-estimator` (crates/critlab-study/src/linear_estimator.rs,
crates/critlab-train/src/tasks/teacher.rs): teacher w* ~ N(0, I/d), student initialised
U(-sqrt(3/d), sqrt(3/d)) (critlab's init-scale sqrt(3) on U(-1/sqrt(d), 1/sqrt(d))), Gaussian inputs,
N = round(d/r) training examples, full-batch GD w <- w - eta * X^T (X w - y) / N (critlab's lr = eta/2
on the mean squared error), accuracy = fraction of examples with squared error < eps.
t_mem / t_grok = first step with train / test accuracy >= 0.9 (test accuracy exact for Gaussian
test inputs: P(chi^2_1 < eps / |w - w*|^2)). Prints (t_grok - t_mem) / closed form per seed and the
median, closed form = log(1/(1 - sqrt r)) / (2 eta (1 - sqrt r)^2).

usage: bench/linear_estimator_exact.py D R ETA[,ETA...] SEEDS
"""
import math
import sys

import numpy as np


def run(d, r, eta, seed, eps=1e-3):
    rng = np.random.default_rng(seed)
    n = round(d / r)
    x = rng.standard_normal((n, d))
    w_star = rng.standard_normal(d) / math.sqrt(d)
    w0 = rng.uniform(-math.sqrt(3), math.sqrt(3), d) / math.sqrt(d)
    lam, v = np.linalg.eigh(x.T @ x / n)
    c0, xv = v.T @ (w0 - w_star), x @ v
    g = 1 - math.sqrt(r)
    theory = math.log(1 / g) / (2 * eta * g * g)
    t_mem = t_grok = None
    for t in np.unique(np.linspace(0, 5 * theory + 40 / eta, 4000).astype(int)):
        c = c0 * (1 - eta * lam) ** t
        if t_mem is None and np.mean((xv @ c) ** 2 < eps) >= 0.9:
            t_mem = t
        if t_grok is None and math.erf(math.sqrt(eps / np.sum(c * c)) / math.sqrt(2)) >= 0.9:
            t_grok = t
        if t_mem is not None and t_grok is not None:
            return (t_grok - t_mem) / theory
    return float("nan")


def main():
    d, r = int(sys.argv[1]), float(sys.argv[2])
    for eta in map(float, sys.argv[3].split(",")):
        ratios = [run(d, r, eta, s) for s in range(int(sys.argv[4]))]
        print(f"d={d} r={r} eta={eta}: ratios {[round(float(x), 3) for x in ratios]} median {np.median(ratios):.3f}")


if __name__ == "__main__":
    main()
