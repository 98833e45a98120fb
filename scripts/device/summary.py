#!/usr/bin/env python3
"""summary.py: the device bundle's summary (run.sh runs it last; scripts/device/run_test.go tests it).

    python3 summary.py RESULTS.jsonl [METRICS.csv]

RESULTS.jsonl holds one line per benchmark step, {"key", "rc", "seconds", "result"}, as run.sh appends
them; METRICS.csv is the training run's, if any. Prints ours, PyTorch's and the CPU engine's figures, the
ratios and each target MET, MISSED or "not measured". Nothing is assumed present: a step that was
skipped, failed or wrote no JSON is reported with its reason, a result without a field prints "n/a", and
the fields that were missing are listed at the end. Exits 0 whenever it could print.
"""

import csv
import json
import math
import sys


class Results:
    """The benchmark records by key, and the fields asked for and not found."""

    def __init__(self, path):
        self.records, self.notes, self.missing = {}, [], []
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError as e:
            self.notes.append(f"no results file: {e}")
            lines = []
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except ValueError as e:
                self.notes.append(f"results line {n} is not JSON ({e}): {line[:120]}")
                continue
            if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
                self.notes.append(f"results line {n} has no key: {line[:120]}")
                continue
            self.records[rec["key"]] = rec

    def result(self, key):
        """The result of step key as a dict, or None."""
        r = (self.records.get(key) or {}).get("result")
        return r if isinstance(r, dict) else None

    def why_none(self, key):
        """Why step key has no result."""
        rec = self.records.get(key)
        if rec is None:
            return "not run"
        rc = rec.get("rc")
        if rc == -1:
            return "skipped, the time budget was spent"
        if rc in (124, 137):
            return f"timed out after {rec.get('seconds', '?')} s, no result written"
        if rc:
            return f"exit status {rc}, no result written"
        if rec.get("result") is None:
            return "no result written"
        return "its result is not a JSON object"

    def get(self, key, field, number=True):
        """Field of key's result, or None (recorded as missing when the result exists). With number set, a
        value that is not a finite number counts as missing too."""
        r = self.result(key)
        if r is None:
            return None
        v = r.get(field)
        ok = v is not None
        if number and ok:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        if not ok:
            self.missing.append(f"{key}.{field}")
            return None
        return v


def num(x, spec=".2f", unit=""):
    """x formatted by spec, "n/a" for None, as it is where spec does not fit it (a float for "d")."""
    if x is None:
        return "n/a"
    try:
        return f"{x:{spec}}{unit}"
    except (ValueError, TypeError):
        return f"{x}{unit}"


def si(x):
    if x is None:
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x / 1e6:.2f}M"
    if abs(x) >= 1e3:
        return f"{x / 1e3:.1f}k"
    return f"{x:.0f}"


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def verdict(x, ok):
    """MET or MISSED for a measured value x, where ok(x) says whether the target is met."""
    if x is None:
        return "not measured"
    return "MET" if ok(x) else "MISSED"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    res = Results(argv[1])
    lines = []
    say = lines.append

    # The GPU runtime and the forward.
    if res.result("gpu") is None:
        say(f"device: unknown; bench gpu: {res.why_none('gpu')}")
    else:
        say(f"device: {res.get('gpu', 'device', False) or 'n/a'}, driver {res.get('gpu', 'driver', False) or 'n/a'}")
        if res.result("gpu").get("error"):
            say(f"  bench gpu stopped early: {res.result('gpu')['error']}")
        gr = res.get("gpu", "graph_ratio")
        say(f"launch {num(res.get('gpu', 'launch_us'))} us; 20 launches {num(res.get('gpu', 'launches20_us'), '.1f')} us"
            f" vs graph {num(res.get('gpu', 'graph20_us'), '.1f')} us (ratio {num(gr, '.3f')},"
            f" target <= 0.2: {verdict(gr, lambda v: v <= 0.2)}); copy {num(res.get('gpu', 'copy_gbs'), '.0f')} GB/s")
        fwd = res.get("gpu", "forward_ms")
        passed = res.get("gpu", "check_pass", False)
        say(f"forward 7x4x200 on {num(res.get('gpu', 'rows'), 'd')} rows: {num(fwd, '.3f')} ms,"
            f" {num(res.get('gpu', 'forward_tflops'))} TFLOP/s; check vs CPU engine max rel"
            f" {num(res.get('gpu', 'check_max_rel'), '.3g')}: {'n/a' if passed is None else ('PASS' if passed else 'FAIL')}")
    if res.result("torch_peer") is None:
        say(f"  PyTorch forward: {res.why_none('torch_peer')}")
    else:
        peer = res.get("torch_peer", "forward_ms")
        r = ratio(peer, res.get("gpu", "forward_ms") if res.result("gpu") else None)
        say(f"  PyTorch forward {num(peer, '.3f')} ms: speed-up {num(r, '.2f', 'x')} (target >= 2: {verdict(r, lambda v: v >= 2)})")

    # Rollouts.
    for env, key, target in (("Hopper-v4", "hopper", 100e6), ("HumanoidTruncatedObs-v4", "humanoid", 20e6)):
        ours = f"rollout_{key}"
        sps = None
        if res.result(ours) is None:
            say(f"rollout {env}: {res.why_none(ours)} (target >= {si(target)}: not measured)")
        else:
            sps = res.get(ours, "model_steps_per_sec")
            gf = res.get(ours, "gflops")
            say(f"rollout {env} batch {num(res.get(ours, 'batch'), 'd')} k {num(res.get(ours, 'k'), 'd')}:"
                f" {si(sps)} model steps/s, {num(None if gf is None else gf / 1e3)} TFLOP/s"
                f" (target >= {si(target)}: {verdict(sps, lambda v: v >= target)})")
            split = res.result(ours).get("split_sec")
            if isinstance(split, dict) and split:
                say("  split (s per round): " + ", ".join(
                    f"{k} {v:.4f}" if isinstance(v, (int, float)) else f"{k} {v}" for k, v in sorted(split.items())))
        peer = f"torch_rollout_{key}"
        if res.result(peer) is None:
            say(f"  PyTorch: {res.why_none(peer)}")
        else:
            psps = res.get(peer, "model_steps_per_sec")
            r = ratio(sps, psps)
            line = f"  PyTorch ({res.result(peer).get('mode', 'n/a')}) {si(psps)}/s, ours {num(r, '.1f', 'x')}"
            if key == "hopper":
                line += f" (target >= 5x: {verdict(r, lambda v: v >= 5)})"
            say(line)
            for note in ("compile_skipped", "compile_error"):
                if res.result(peer).get(note):
                    say(f"  PyTorch {note.replace('_', ' ')}: {res.result(peer)[note]}")
        cpu = f"cpu_rollout_{key}"
        if res.result(cpu) is not None:
            csps = res.get(cpu, "model_steps_per_sec")
            say(f"  CPU engine {si(csps)}/s, GPU/CPU {num(ratio(sps, csps), '.0f', 'x')}")
        elif key == "hopper":
            say(f"  CPU engine: {res.why_none(cpu)}")

    # The model's retrain.
    if res.result("model_train") is None:
        say(f"model retrain Hopper: {res.why_none('model_train')} (target <= 2 s: not measured)")
    else:
        s = res.get("model_train", "seconds")
        say(f"model retrain Hopper {num(res.get('model_train', 'rows'), 'd')} rows: {num(s)} s,"
            f" {num(res.get('model_train', 'epochs'), 'd')} epochs (target <= 2 s: {verdict(s, lambda v: v <= 2)});"
            f" holdout MSE {res.get('model_train', 'holdout_mse', False) or 'n/a'}")

    # SAC.
    for key, env in (("hopper", "Hopper-v4"), ("humanoid", "HumanoidTruncatedObs-v4")):
        ours = f"sac_{key}"
        ups = None
        if res.result(ours) is None:
            line = f"sac {env}: {res.why_none(ours)}"
            if key == "hopper":
                line += " (target >= 20000: not measured)"
        else:
            ups = res.get(ours, "updates_per_sec")
            line = (f"sac {env} batch {num(res.get(ours, 'batch'), 'd')}: {num(ups, '.0f')} updates/s"
                    f" (device runs of G={res.result(ours).get('g', 'n/a')}),"
                    f" {num(res.get(ours, 'interface_updates_per_sec'), '.0f')}/s through Agent.Update")
            if key == "hopper":
                line += f" (target >= 20000: {verdict(ups, lambda v: v >= 20000)})"
        say(line)
        if key != "hopper":
            continue
        if res.result("torch_sac_hopper") is None:
            say(f"  PyTorch: {res.why_none('torch_sac_hopper')}")
        else:
            eager = res.get("torch_sac_hopper", "eager_updates_per_sec")
            graphs = res.result("torch_sac_hopper").get("graph_updates_per_sec")
            r = ratio(ups, eager)
            say(f"  PyTorch eager {num(eager, '.0f')}/s, graphs {num(graphs, '.0f') if isinstance(graphs, (int, float)) else 'n/a'}/s,"
                f" ours {num(r, '.1f', 'x')} eager (target >= 5x: {verdict(r, lambda v: v >= 5)})")
            if res.result("torch_sac_hopper").get("graph_error"):
                say(f"  PyTorch graph error: {res.result('torch_sac_hopper')['graph_error']}")
        if res.result("cpu_sac_hopper") is not None:
            say(f"  CPU engine {num(res.get('cpu_sac_hopper', 'updates_per_sec'), '.0f')}/s")

    # Training.
    mpath = argv[2] if len(argv) > 2 else ""
    rows = []
    if mpath:
        try:
            with open(mpath) as f:
                rows = list(csv.DictReader(f))
        except OSError:
            rows = []
    if rows:
        def f(r, k):
            try:
                return float(r.get(k) or "nan")
            except ValueError:
                return float("nan")
        last = rows[-1]
        ret = [f(r, "eval/return_mean") for r in rows]
        say(f"train Hopper-v4 --device cuda: {last.get('env_steps', 'n/a')} env steps in {f(last, 'wall_s'):.0f} s"
            f" (last epoch: {f(last, 'perf/env_steps_per_s'):.1f} env steps/s, SAC {f(last, 'perf/sac_updates_per_s'):.0f} updates/s,"
            f" model {f(last, 'perf/model_steps_per_s'):.0f} steps/s); eval return last {ret[-1]:.0f}, best {max(ret):.0f}"
            f" (paper: 3000 at 125k steps; target: 125k steps in <= 10 min)")
    else:
        say("train: no metrics (MBPO_TRAIN=SECONDS runs it)")

    for key, rec in res.records.items():
        if rec.get("rc") not in (0, -1) and res.result(key) is not None:
            say(f"note: {key} ended with exit status {rec.get('rc')}: its figures are those it wrote before")
    for n in res.notes:
        say(f"note: {n}")
    if res.missing:
        say("missing from the results: " + ", ".join(res.missing))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
