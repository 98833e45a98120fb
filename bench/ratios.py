#!/usr/bin/env python3
"""ratios.py: mbpo's benchmark results beside their PyTorch peers', and the ratios (make bench-peers).

    python3 bench/ratios.py KIND OURS.json PEER.json [KIND OURS.json PEER.json ...]

KIND is sac (mbpo bench sac --json, torch_sac.py --json) or rollout (mbpo bench rollout --json,
torch_rollout.py --json). Prints one line per pair: both figures, who measured them (engine, PyTorch
version, device, threads) and ours / PyTorch. A file that is missing or unreadable, or a figure it lacks,
prints as "n/a" with the reason; the exit status is 1 when any ratio could not be computed.
"""

import json
import sys

# The figure compared, in ours and in the peer's result, and its unit.
KINDS = {
    "sac": ("updates_per_sec", "eager_updates_per_sec", "updates/s"),
    "rollout": ("model_steps_per_sec", "eager_model_steps_per_sec", "model steps/s"),
}


def load(path):
    """The JSON object in path, or (None, why)."""
    try:
        with open(path) as f:
            v = json.load(f)
    except (OSError, ValueError) as e:
        return None, f"{path}: {e}"
    if not isinstance(v, dict):
        return None, f"{path}: not a JSON object"
    return v, ""


def figure(res, key):
    v = (res or {}).get(key)
    if isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0:
        return v
    return None


def fmt(x):
    if x is None:
        return "n/a"
    if x >= 1e6:
        return f"{x / 1e6:.2f}M"
    if x >= 1e4:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def line(kind, ours_path, peer_path):
    """The line of one pair and whether its ratio was computed."""
    if kind not in KINDS:
        return f"{kind}: unknown kind (want one of {', '.join(KINDS)})", False
    ours_key, peer_key, unit = KINDS[kind]
    ours, why_ours = load(ours_path)
    peer, why_peer = load(peer_path)
    a, b = figure(ours, ours_key), figure(peer, peer_key)
    what = kind
    if ours:
        what += f" {ours.get('env', '?')}"
        if kind == "rollout":
            what += f" {ours.get('batch', '?')} x {ours.get('k', '?')}"
        else:
            what += f" batch {ours.get('batch', '?')}"
    who_ours = f"mbpo ({ours.get('engine', '?')} engine)" if ours else "mbpo"
    who_peer = "PyTorch"
    if peer:
        who_peer = f"PyTorch {peer.get('torch', '?')} eager ({peer.get('device', '?')}"
        who_peer += f", {peer['threads']} thread(s))" if "threads" in peer else ")"
    text = f"{what}: {who_ours} {fmt(a)} {unit}; {who_peer} {fmt(b)} {unit}"
    if a is not None and b is not None:
        return text + f"; ours / PyTorch {a / b:.2f}x", True
    reasons = [r for r in (why_ours, why_peer) if r]
    if not reasons:
        if a is None:
            reasons.append(f"{ours_path} has no {ours_key}")
        if b is None:
            reasons.append(f"{peer_path} has no {peer_key}")
    return text + "; ratio n/a (" + "; ".join(reasons) + ")", False


def main(argv):
    args = argv[1:]
    if not args or len(args) % 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    ok = True
    for i in range(0, len(args), 3):
        text, good = line(*args[i:i + 3])
        print(text)
        ok = ok and good
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
