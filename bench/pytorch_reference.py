#!/usr/bin/env python3
"""PyTorch reference for `critlab bench step`: the same training step, the same maths.

Workloads (full batch, AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1.0,
cross-entropy, PyTorch's nn.Linear default initialisation):

  mlp          modular addition p=97, 50% of the p^2 pairs (4705 examples), one hidden ReLU
               layer of width 512, one-hot inputs computed as a row lookup W[a] + W[p+b]
               (exactly what critlab does; a dense one-hot matmul is slower).
  transformer  Nanda et al. 2023: p=113, 30% of pairs (3830 examples), d_model 128, 4 heads,
               d_mlp 512, ReLU, no LayerNorm, learned positions, read-out at '='. Only the '='
               query is computed, as in critlab (exact for one layer).
  mlp-dense    the same MLP with a dense one-hot [n, 2p] input matmul (PyTorch's faster path).
  tiny         modular addition p=23, 50% (265 examples), width 128 (the sweep unit).

Prints one JSON line per workload: median/p10/p90 ms per step over --steps after --warmup.
Threads: torch.set_num_threads(--threads), default all cores. --device cuda runs on the GPU
(every tensor made there; each timed step ends with loss.item(), which waits for the GPU).
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F


def modular_data(p, frac, seed=0):
    # Drawn on the CPU (the seeded generator lives there), then moved to the default device.
    g = torch.Generator().manual_seed(seed)
    a = torch.arange(p, device="cpu").repeat_interleave(p)
    b = torch.arange(p, device="cpu").repeat(p)
    y = (a + b) % p
    perm = torch.randperm(p * p, generator=g, device="cpu")
    n = math.floor(frac * p * p + 0.5)  # round half up, as critlab does
    idx = perm[:n]
    dev = torch.get_default_device()
    return a[idx].to(dev), b[idx].to(dev), y[idx].to(dev)


def linear_init(fan_in, fan_out):
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(fan_in, fan_out).uniform_(-bound, bound).requires_grad_()


def bias_init(fan_in, fan_out):
    bound = 1.0 / math.sqrt(fan_in)
    return torch.empty(1, fan_out).uniform_(-bound, bound).requires_grad_()


def mlp(p, width, frac):
    a, b, y = modular_data(p, frac)
    w0, b0 = linear_init(2 * p, width), bias_init(2 * p, width)
    w1, b1 = linear_init(width, p), bias_init(width, p)
    params = [w0, b0, w1, b1]

    def loss():
        h = torch.relu(w0[a] + w0[p + b] + b0)
        return F.cross_entropy(h @ w1 + b1, y)

    return params, loss, len(y)


def mlp_dense(p, width, frac):
    """The same MLP with the one-hot input as a dense [n, 2p] matrix (PyTorch's faster path)."""
    a, b, y = modular_data(p, frac)
    x = torch.cat([F.one_hot(a, p), F.one_hot(b, p)], 1).float()
    w0, b0 = linear_init(2 * p, width), bias_init(2 * p, width)
    w1, b1 = linear_init(width, p), bias_init(width, p)
    params = [w0, b0, w1, b1]

    def loss():
        return F.cross_entropy(torch.relu(x @ w0 + b0) @ w1 + b1, y)

    return params, loss, len(y)


def transformer(p=113, frac=0.3, d=128, heads=4, d_mlp=512):
    a, b, y = modular_data(p, frac)
    n = len(y)
    dh = d // heads
    embed = torch.randn(p + 1, d).requires_grad_()
    pos = torch.randn(3, d).requires_grad_()
    wq, wk, wv, wo = (linear_init(d, d) for _ in range(4))
    w_in, b_in = linear_init(d, d_mlp), bias_init(d, d_mlp)
    w_out, b_out = linear_init(d_mlp, d), bias_init(d_mlp, d)
    unembed = linear_init(d, p)
    params = [embed, pos, wq, wk, wv, wo, w_in, b_in, w_out, b_out, unembed]
    eq = torch.full_like(a, p)

    def loss():
        x = embed[torch.stack([a, b, eq], 1)] + pos  # [n, 3, d]
        x2 = x[:, 2]
        q = (x2 @ wq).view(n, heads, 1, dh)
        k = (x @ wk).view(n, 3, heads, dh).transpose(1, 2)
        v = (x @ wv).view(n, 3, heads, dh).transpose(1, 2)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(dh), -1)
        z = (att @ v).transpose(1, 2).reshape(n, d)
        r = x2 + z @ wo
        h = torch.relu(r @ w_in + b_in)
        r = r + h @ w_out + b_out
        return F.cross_entropy(r @ unembed, y)

    return params, loss, n


WORKLOADS = {
    "mlp": lambda: mlp(97, 512, 0.5),
    "mlp-dense": lambda: mlp_dense(97, 512, 0.5),
    "transformer": transformer,
    "tiny": lambda: mlp(23, 128, 0.5),
}


def time_workload(name, steps, warmup):
    torch.manual_seed(0)
    params, loss_fn, n = WORKLOADS[name]()
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1.0)
    laps = []
    for i in range(steps + warmup):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = loss_fn()
        loss.backward()
        opt.step()
        loss.item()
        if i >= warmup:
            laps.append((time.perf_counter() - t0) * 1e3)
    laps.sort()
    q = lambda f: laps[round((len(laps) - 1) * f)]
    return {
        "workload": name,
        "framework": f"pytorch {torch.__version__}",
        "threads": torch.get_num_threads(),
        "device": str(torch.get_default_device()),
        "n_train": n,
        "steps_timed": len(laps),
        "median_ms": statistics.median(laps),
        "p10_ms": q(0.1),
        "p90_ms": q(0.9),
        "final_loss": loss.item(),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("workloads", nargs="*", default=["mlp", "transformer", "tiny"])
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", default="cpu", help="cpu, or cuda / cuda:N for an NVIDIA GPU")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_default_device(args.device)
    for w in args.workloads:
        print(json.dumps(time_workload(w, args.steps, args.warmup)), flush=True)


if __name__ == "__main__":
    main()
