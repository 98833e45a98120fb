"""peer.py: what the PyTorch peers (torch_peer.py, torch_rollout.py, torch_sac.py) share.

Their --json, --device, --threads and --time-limit flags, loading PyTorch with full fp32 products (TF32
off), timing a call between two CUDA events (or by the wall clock on the CPU), the fields every result
starts with, writing the result file (after each mode, so that a step cut off keeps what it measured) and
the one JSON line each prints at the end. Each script imports it from its own folder (bench/ here, the
bundle's payload there).

They run on PyTorch 2.x (the GPU machine's) and on Debian 12's python3-torch (1.13, CPU only), which has
neither torch.compile nor torch._foreach_lerp_: a mode that needs a missing function is skipped and the
result says so, and lerp_ falls back to other calls.
"""

import json
import os
import sys
import time


def add_common_args(ap):
    """Adds --json, --device (cuda, or cpu), --threads and --time-limit to the argparse parser ap."""
    ap.add_argument("--json", default="", help="write the result to this file (after each mode)")
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--threads", type=int, default=0, help="CPU threads for PyTorch (0: its default)")
    ap.add_argument("--time-limit", type=float, default=float(os.environ.get("MBPO_STEP_LIMIT_S") or 0),
                    help="seconds this run may take (default $MBPO_STEP_LIMIT_S, else no limit): "
                         "a mode that would not fit is skipped")


def load_torch(name, device, threads=0):
    """Imports PyTorch and turns TF32 off everywhere; sets its CPU threads when threads > 0; returns torch,
    or None after saying why on stderr (not installed, or no CUDA device for --device cuda). name prefixes
    the message."""
    try:
        import torch
    except ImportError as e:
        print(f"{name}: PyTorch is not installed here ({e}); on Debian: apt-get install python3-torch", file=sys.stderr)
        return None
    if device == "cuda" and not torch.cuda.is_available():
        print(f"{name}: PyTorch sees no CUDA device", file=sys.stderr)
        return None
    if threads > 0:
        torch.set_num_threads(threads)
    # Full fp32 products: no TF32 anywhere.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    if hasattr(torch, "set_float32_matmul_precision"):
        torch.set_float32_matmul_precision("highest")
    return torch


def lerp_(torch, targets, sources, weight):
    """targets[i] += weight * (sources[i] - targets[i]) for lists of tensors, in place: one
    torch._foreach_lerp_ where PyTorch has it (2.0 on), else foreach multiply and add, else a loop."""
    if hasattr(torch, "_foreach_lerp_"):
        torch._foreach_lerp_(targets, sources, weight)
    elif hasattr(torch, "_foreach_mul_") and hasattr(torch, "_foreach_add_"):
        torch._foreach_mul_(targets, 1.0 - weight)
        torch._foreach_add_(targets, sources, alpha=weight)
    else:
        for t, s in zip(targets, sources):
            t.lerp_(s, weight)


def has_compile(torch):
    """Whether this PyTorch has torch.compile (2.0 on)."""
    return callable(getattr(torch, "compile", None))


class Clock:
    """The time since the script started and, against --time-limit, the time left."""

    def __init__(self, limit):
        self.t0 = time.perf_counter()
        self.limit = limit

    def elapsed(self):
        return time.perf_counter() - self.t0

    def fits(self, seconds):
        """Whether seconds more (with a tenth of the limit spare) still fit in the limit; always without one."""
        return self.limit <= 0 or self.elapsed() + seconds <= 0.9 * self.limit


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
    """The fields every peer's result starts with: who measured, with which PyTorch, on which device (with
    how many threads on the CPU)."""
    res = {
        "peer": "torch",
        "torch": torch.__version__,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "tf32": False,
    }
    if not cuda:
        res["threads"] = torch.get_num_threads()
    return res


def save(res, path):
    """Writes res as one JSON line to path (when set), through a temporary file renamed into place, so a
    reader never sees half a result: the peers call it after each mode."""
    if not path:
        return
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(json.dumps(res) + "\n")
    os.replace(tmp, path)


def emit(res, path):
    """Writes res to path (save) and prints it as one JSON line on stdout: the end of a peer's run."""
    save(res, path)
    print(json.dumps(res))
