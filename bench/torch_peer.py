#!/usr/bin/env python3
"""torch_peer.py: the ensemble forward of `mbpo bench gpu` in PyTorch, timed the same way.

The same shapes (7 members, 4 hidden layers of 200 units, input obs+act = 23,
head 2 x 18, 400,000 rows by default), the same math (normalise; swish hidden
layers; mean and soft-bounded log-variance from the head), all members at once
with batched matrix products (torch.baddbmm over the member dimension), in
float32 with TF32 off, so that its arithmetic is comparable with the fp32
kernel. Timed like the Go benchmark: 3 warm-up passes, then each of --reps
passes between two CUDA events; the median is reported.

Usage: python3 bench/torch_peer.py [--rows N] [--reps R] [--json FILE]
Prints one JSON object on the last line of stdout (and writes it to --json).
--device cpu runs the same code on the CPU, timed by the wall clock (--threads
sets PyTorch's threads): a smoke test of this script where there is no GPU.
"""

import argparse
import sys

import peer


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400000)
    ap.add_argument("--members", type=int, default=7)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--obs", type=int, default=17)
    ap.add_argument("--act", type=int, default=6)
    ap.add_argument("--reps", type=int, default=20)
    peer.add_common_args(ap)
    args = ap.parse_args()

    torch = peer.load_torch("torch_peer", args.device, args.threads)
    if torch is None:
        return 3
    import torch.nn.functional as F

    cuda = args.device == "cuda"
    dev = torch.device(args.device)
    E, n = args.members, args.rows
    d_in, out = args.obs + args.act, args.obs + 1
    sizes = [d_in] + [args.hidden] * args.layers + [2 * out]
    g = torch.Generator(device=dev).manual_seed(1)

    def randn(*shape, std=1.0):
        return torch.randn(*shape, device=dev, generator=g, dtype=torch.float32) * std

    weights = [randn(E, k, m, std=0.5 / k**0.5) for k, m in zip(sizes[:-1], sizes[1:])]
    biases = [randn(E, 1, m, std=0.1) for m in sizes[1:]]
    max_lv = torch.full((out,), 0.5, device=dev)
    min_lv = torch.full((out,), -10.0, device=dev)
    mu = randn(d_in)
    inv_std = 1.0 / (0.5 + torch.rand(d_in, device=dev, generator=g))
    x = randn(n, d_in)

    def forward(x):
        z = ((x - mu) * inv_std).expand(E, n, d_in)
        h = z
        for l, (w, b) in enumerate(zip(weights, biases)):
            h = torch.baddbmm(b, h, w)
            if l + 1 < len(weights):
                F.silu(h, inplace=True)
        mean = h[..., :out]
        lv = max_lv - F.softplus(max_lv - h[..., out:])
        lv = min_lv + F.softplus(lv - min_lv)
        return mean, lv

    with torch.no_grad():
        mean, lv = forward(x)
        if tuple(mean.shape) != (E, n, out) or tuple(lv.shape) != (E, n, out):
            print(f"torch_peer: forward gave shapes {tuple(mean.shape)}, {tuple(lv.shape)}", file=sys.stderr)
            return 1
        if not (bool((lv >= min_lv).all()) and bool((lv <= max_lv + 1e-3).all())):
            print("torch_peer: log-variances outside their soft bounds", file=sys.stderr)
            return 1
        del mean, lv
        for _ in range(2):
            forward(x)
        if cuda:
            torch.cuda.synchronize()
        times = [peer.timed_ms(torch, cuda, lambda: forward(x))[0] for _ in range(args.reps)]

    flops = 2.0 * n * E * sum(k * m for k, m in zip(sizes[:-1], sizes[1:]))
    med = sorted(times)[len(times) // 2]  # the upper median, as the Go benchmark takes
    res = {
        **peer.header(torch, cuda),
        "members": E,
        "in": d_in,
        "out": out,
        "hidden": [args.hidden] * args.layers,
        "rows": n,
        "forward_ms": med,
        "forward_min_ms": min(times),
        "forward_tflops": flops / (med / 1e3) / 1e12,
    }
    peer.emit(res, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
