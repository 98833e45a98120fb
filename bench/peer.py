"""peer.py: what the PyTorch peers (torch_peer.py, torch_rollout.py, torch_sac.py) share.

Their --json and --device flags, loading PyTorch with full fp32 products (TF32 off), timing a call between
two CUDA events (or by the wall clock on the CPU), the fields every result starts with, and the one JSON
line each prints. Each script imports it from its own folder (bench/ here, the bundle's payload there).
"""

import json
import sys
import time


def add_common_args(ap):
    """Adds --json and --device (cuda, or cpu for a smoke test) to the argparse parser ap."""
    ap.add_argument("--json", default="")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])


def load_torch(name, device):
    """Imports PyTorch and turns TF32 off everywhere; returns torch, or None after saying why on stderr
    (not installed, or no CUDA device for --device cuda). name prefixes the message."""
    try:
        import torch
    except ImportError as e:
        print(f"{name}: PyTorch is not installed here ({e})", file=sys.stderr)
        return None
    if device == "cuda" and not torch.cuda.is_available():
        print(f"{name}: PyTorch sees no CUDA device", file=sys.stderr)
        return None
    # Full fp32 products: no TF32 anywhere.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
    return torch


def timed_ms(torch, cuda, fn):
    """Runs fn() once and returns (its time in milliseconds, its result): between two CUDA events when
    cuda is set, else by the wall clock."""
    if not cuda:
        t0 = time.perf_counter()
        out = fn()
        return (time.perf_counter() - t0) * 1e3, out
    start = torch.cuda.Event(enable_timing=True)
    end = torch.cuda.Event(enable_timing=True)
    start.record()
    out = fn()
    end.record()
    end.synchronize()
    return start.elapsed_time(end), out


def header(torch, cuda):
    """The fields every peer's result starts with: who measured, with which PyTorch, on which device."""
    return {
        "peer": "torch",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "tf32": False,
    }


def emit(res, path):
    """Prints res as one JSON line on stdout and, when path is set, writes the same line to it."""
    line = json.dumps(res)
    if path:
        with open(path, "w") as f:
            f.write(line + "\n")
    print(line)
