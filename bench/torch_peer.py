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
--device cpu runs the same code on the CPU, timed by the wall clock: a smoke
test of this script where there is no GPU, not a peer measurement.
"""

import argparse
import json
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=400000)
    ap.add_argument("--members", type=int, default=7)
    ap.add_argument("--hidden", type=int, default=200)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--obs", type=int, default=17)
    ap.add_argument("--act", type=int, default=6)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--json", default="")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    args = ap.parse_args()

    try:
        import torch
        import torch.nn.functional as F
    except ImportError as e:
        print(f"torch_peer: PyTorch is not installed here ({e})", file=sys.stderr)
        return 3
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        print("torch_peer: PyTorch sees no CUDA device", file=sys.stderr)
        return 3

    # Full fp32 products: no TF32 anywhere.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")

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

    def timed():
        """Runs one forward and returns its time in milliseconds."""
        if not cuda:
            t0 = time.perf_counter()
            forward(x)
            return (time.perf_counter() - t0) * 1e3
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        forward(x)
        end.record()
        end.synchronize()
        return start.elapsed_time(end)

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
        times = [timed() for _ in range(args.reps)]

    flops = 2.0 * n * E * sum(k * m for k, m in zip(sizes[:-1], sizes[1:]))
    med = sorted(times)[len(times) // 2]  # the upper median, as the Go benchmark takes
    res = {
        "peer": "torch",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "tf32": False,
        "members": E,
        "in": d_in,
        "out": out,
        "hidden": [args.hidden] * args.layers,
        "rows": n,
        "forward_ms": med,
        "forward_min_ms": min(times),
        "forward_tflops": flops / (med / 1e3) / 1e12,
    }
    line = json.dumps(res)
    if args.json:
        with open(args.json, "w") as f:
            f.write(line + "\n")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
