#!/usr/bin/env bash
# run.sh: the device bundle's one script (built by `make device-bundle`). It
# runs unattended on any x86-64 Linux machine with an NVIDIA driver, with no
# Go and no CUDA toolkit, within one time budget (MBPO_BUDGET seconds, 540 by
# default, so that one 10-minute device call holds it):
#
#   1. device info (nvidia-smi, where libcuda is, the bundle's libraries resolve),
#   2. the GPU tests: package gpu, package kernels (every kernel against the
#      CPU engine, trainer/rng or package env), and the GPU engine
#      (trainer/engine/cuda: one TrainStep's gradients, rollouts, SAC updates
#      and a full retrain against the CPU engine and the trainer's own code),
#   3. the benchmarks on the GPU: mbpo bench gpu, rollout (Hopper 100,000 × 15;
#      HumanoidTruncatedObs 400,000 × 20, hidden 400), model-train (100,000
#      Hopper transitions), sac (Hopper, HumanoidTruncatedObs),
#   4. the same rollout and SAC benchmarks on this machine's CPU engine,
#   5. the PyTorch peers on the same GPU: torch_peer.py (forward),
#      torch_rollout.py (both rollouts), torch_sac.py,
#   6. mbpo train --env Hopper-v4 --device cuda for the time left (at most 240 s),
#   7. a summary: ours, PyTorch's, the CPU engine's, the ratios and the targets.
#
# $OUT (else DIR/out) receives run.log, summary.txt, results.json (every
# benchmark's JSON), metrics.csv and curve.png of the training run. The exit
# status is non-zero when a check failed (a test, the forward check, a step
# that crashed or timed out); a missed speed target is reported in the
# summary but is not a failure, and the training run stopping at its time
# limit is expected.
#
#   bash device-bundle/run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
budget=${MBPO_BUDGET:-540}
mkdir -p "$out"
log="$out/run.log"
: >"$log"
exec > >(tee -a "$log") 2>&1
teepid=$!

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$here/payload.tar.gz" -C "$work"
B="$work/payload"
R="$work/results"
mkdir -p "$R"
deadline=$((SECONDS + budget))

# libcuda comes from the machine's driver: if the loader cannot find it,
# look in the usual places.
if ! ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
  for d in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/local/cuda/compat; do
    if [[ -e "$d/libcuda.so.1" ]]; then
      export LD_LIBRARY_PATH="$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
      break
    fi
  done
fi
# Only our binaries see the bundle's libraries (not python3 and PyTorch).
ours() { LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$@"; }
mbpo() { ours "$B/bin/mbpo" "$@"; }
export B
export -f ours mbpo
export MBPO_REQUIRE_GPU=1 # a GPU test that cannot find the GPU fails instead of skipping

failures=()
skipped=()
# step NAME SECONDS CMD...: runs CMD (a program or an exported function) with
# a time limit (cut to the budget left, keeping 45 s for the summary) and
# records a failure.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS - 45))
  if ((left < limit)); then limit=$left; fi
  echo
  if ((limit < 10)); then
    echo "=== $name: skipped, the time budget is spent"
    skipped+=("$name")
    return 0
  fi
  echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s)"
  local t0=$SECONDS
  timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@"
  local rc=$?
  if ((rc == 124 || rc == 137)); then
    failures+=("$name: timed out after ${limit}s")
  elif ((rc != 0)); then
    failures+=("$name: exit status $rc")
  fi
  echo "=== $name: exit $rc in $((SECONDS - t0))s"
  return 0
}

info() {
  uname -srm
  nproc
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  else
    echo "nvidia-smi: not on PATH"
  fi
  echo "libcuda: $(ldconfig -p 2>/dev/null | grep -m1 'libcuda\.so\.1 ' || echo "not in the loader cache; LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}")"
  local missing=0
  for f in "$B"/bin/*; do
    if ours ldd "$f" | grep 'not found'; then missing=1; fi
  done
  ((missing == 0)) || { echo "some libraries do not resolve"; return 1; }
  mbpo help >/dev/null || return 1
  echo "bundle: $(ls "$B/bin" | tr '\n' ' '); $(ls "$B/lib" | wc -l) libraries"
}
export -f info

step "device info" 60 info
step "gpu tests" 90 ours "$B/bin/gpu.test" -test.v -test.count=1 -test.timeout=85s -test.run '^TestGPU'
step "kernels tests" 150 ours "$B/bin/kernels.test" -test.v -test.count=1 -test.timeout=145s -test.run '^(TestGPU|TestHost)'
step "GPU engine tests" 200 ours "$B/bin/cuda.test" -test.v -test.count=1 -test.timeout=195s -test.run '^TestGPU'

step "mbpo bench gpu" 120 mbpo bench gpu --json "$R/gpu.json"
step "bench rollout Hopper" 90 mbpo bench rollout --device cuda --env Hopper-v4 --batch 100000 --k 15 --json "$R/rollout_hopper.json"
step "bench rollout Humanoid" 120 mbpo bench rollout --device cuda --env HumanoidTruncatedObs-v4 --hidden 400 --batch 400000 --k 20 --json "$R/rollout_humanoid.json"
step "bench model-train Hopper" 150 mbpo bench model-train --device cuda --env Hopper-v4 --rows 100000 --json "$R/model_train.json"
step "bench sac Hopper" 60 mbpo bench sac --device cuda --env Hopper-v4 --json "$R/sac_hopper.json"
step "bench sac Humanoid" 60 mbpo bench sac --device cuda --env HumanoidTruncatedObs-v4 --updates 1000 --json "$R/sac_humanoid.json"

step "CPU engine: bench rollout Hopper" 90 mbpo bench rollout --device cpu --env Hopper-v4 --batch 100000 --k 15 --rounds 1 --json "$R/cpu_rollout_hopper.json"
step "CPU engine: bench sac Hopper" 60 mbpo bench sac --device cpu --env Hopper-v4 --updates 300 --json "$R/cpu_sac_hopper.json"

if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
  export PYTHONUNBUFFERED=1
  step "torch peer (forward)" 90 python3 "$B/torch_peer.py" --json "$R/torch_peer.json"
  step "torch rollout Hopper" 150 python3 "$B/torch_rollout.py" --obs 11 --act 3 --term hopper --batch 100000 --k 15 --json "$R/torch_rollout_hopper.json"
  step "torch rollout Humanoid" 150 python3 "$B/torch_rollout.py" --obs 45 --act 17 --term humanoid --model-hidden 400 --batch 400000 --k 20 --reps 3 --json "$R/torch_rollout_humanoid.json"
  step "torch sac Hopper" 120 python3 "$B/torch_sac.py" --obs 11 --act 3 --json "$R/torch_sac_hopper.json"
else
  echo
  echo "=== torch peers: skipped, no python3 with PyTorch here"
  skipped+=("torch peers")
fi

# Training: as far as the budget allows, stopped by SIGTERM (the trainer
# checkpoints and keeps its metrics); that stop is expected, not a failure.
train() {
  local secs=$1
  timeout --signal=TERM --kill-after=20 "$secs" "$B/bin/mbpo" train --env Hopper-v4 --device cuda --steps 125000 \
    --run-dir "$work/runs/hopper" --log-level info
  local rc=$?
  ((rc == 124)) && rc=0
  return $rc
}
export -f train
export work
train_secs=$((deadline - SECONDS - 60))
((train_secs > 240)) && train_secs=240
if ((train_secs >= 30)); then
  echo
  echo "=== mbpo train Hopper-v4 --device cuda ($(date -u +%H:%M:%S), ${train_secs}s)"
  t0=$SECONDS
  LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" train "$train_secs" || failures+=("mbpo train: exit status $?")
  echo "=== mbpo train: stopped after $((SECONDS - t0))s"
  if [[ -f "$work/runs/hopper/metrics.csv" ]]; then
    cp "$work/runs/hopper/metrics.csv" "$out/metrics.csv"
    mbpo report "$work/runs" --out "$work/report" >/dev/null 2>&1 && cp "$work/report/curves_Hopper-v4.png" "$out/curve.png" 2>/dev/null
  fi
else
  echo
  echo "=== mbpo train: skipped, the time budget is spent"
  skipped+=("mbpo train")
fi

summary() {
  python3 - "$R" "$out" <<'PYEOF'
import csv, glob, json, os, sys
R, out = sys.argv[1], sys.argv[2]
res = {}
for p in sorted(glob.glob(os.path.join(R, "*.json"))):
    try:
        with open(p) as f:
            res[os.path.basename(p)[:-5]] = json.load(f)
    except (OSError, ValueError) as e:
        res[os.path.basename(p)[:-5]] = {"error": str(e)}
with open(os.path.join(out, "results.json"), "w") as f:
    json.dump(res, f, indent=1)
g = lambda name, key, default=0: (res.get(name) or {}).get(key, default) or default
def verdict(ok):
    return "MET" if ok else "MISSED"
def m(x):
    return f"{x/1e6:.2f}M" if x >= 1e6 else f"{x/1e3:.1f}k"
print(f"device: {g('gpu', 'device', '?')}, {g('gpu', 'driver', '?')}")
if res.get("gpu"):
    print(f"launch {g('gpu','launch_us'):.2f} us; 20 launches {g('gpu','launches20_us'):.1f} us vs graph {g('gpu','graph20_us'):.1f} us"
          f" (ratio {g('gpu','graph_ratio'):.3f}, target <= 0.2: {verdict(g('gpu','graph_ratio') <= 0.2)}); copy {g('gpu','copy_gbs'):.0f} GB/s")
    print(f"forward 7x4x200 on {g('gpu','rows')} rows: {g('gpu','forward_ms'):.3f} ms, {g('gpu','forward_tflops'):.2f} TFLOP/s;"
          f" check vs CPU engine max rel {g('gpu','check_max_rel'):.3g}: {'PASS' if g('gpu','check_pass', False) else 'FAIL'}")
    if res.get("torch_peer"):
        r = g('torch_peer', 'forward_ms') / max(g('gpu', 'forward_ms'), 1e-9)
        print(f"  PyTorch forward {g('torch_peer','forward_ms'):.3f} ms: speed-up {r:.2f}x (target >= 2: {verdict(r >= 2)})")
for env, key, target in (("Hopper-v4", "hopper", 100e6), ("HumanoidTruncatedObs-v4", "humanoid", 20e6)):
    ours = res.get(f"rollout_{key}")
    if not ours:
        print(f"rollout {env}: no result")
        continue
    sps = ours["model_steps_per_sec"]
    line = (f"rollout {env} batch {ours['batch']} k {ours['k']}: {m(sps)} model steps/s, {ours['gflops']/1e3:.2f} TFLOP/s"
            f" (target >= {m(target)}: {verdict(sps >= target)})")
    peer = res.get(f"torch_rollout_{key}")
    if peer:
        ratio = sps / max(peer["model_steps_per_sec"], 1e-9)
        line += f"; PyTorch ({peer.get('mode')}) {m(peer['model_steps_per_sec'])}/s, ratio {ratio:.1f}x"
        if key == "hopper":
            line += f" (target >= 5x: {verdict(ratio >= 5)})"
    cpu = res.get(f"cpu_rollout_{key}")
    if cpu:
        line += f"; CPU engine {m(cpu['model_steps_per_sec'])}/s, GPU/CPU {sps/max(cpu['model_steps_per_sec'],1e-9):.0f}x"
    print(line)
    split = ours.get("split_sec") or {}
    if split:
        print("  split (s per round): " + ", ".join(f"{k} {v:.4f}" for k, v in sorted(split.items())))
if res.get("model_train"):
    s = g("model_train", "seconds")
    print(f"model retrain Hopper {g('model_train','rows')} rows: {s:.2f} s, {g('model_train','epochs')} epochs"
          f" (target <= 2 s: {verdict(s <= 2)}); holdout MSE {g('model_train','holdout_mse')}")
for key, env in (("hopper", "Hopper-v4"), ("humanoid", "HumanoidTruncatedObs-v4")):
    ours = res.get(f"sac_{key}")
    if not ours:
        print(f"sac {env}: no result")
        continue
    ups = ours["updates_per_sec"]
    line = f"sac {env} batch {ours['batch']}: {ups:.0f} updates/s (device runs of G={ours.get('g')}), {ours.get('interface_updates_per_sec',0):.0f}/s through Agent.Update"
    if key == "hopper":
        line += f" (target >= 20000: {verdict(ups >= 20000)})"
        peer, cpu = res.get("torch_sac_hopper"), res.get("cpu_sac_hopper")
        if peer:
            r = ups / max(peer["eager_updates_per_sec"], 1e-9)
            line += f"; PyTorch eager {peer['eager_updates_per_sec']:.0f}/s, graphs {peer.get('graph_updates_per_sec', 0):.0f}/s, ratio to eager {r:.1f}x (target >= 5x: {verdict(r >= 5)})"
        if cpu:
            line += f"; CPU engine {cpu['updates_per_sec']:.0f}/s"
    print(line)
mpath = os.path.join(out, "metrics.csv")
if os.path.exists(mpath):
    rows = list(csv.DictReader(open(mpath)))
    if rows:
        last = rows[-1]
        f = lambda r, k: float(r.get(k) or "nan")
        ret = [f(r, "eval/return_mean") for r in rows]
        print(f"train Hopper-v4 --device cuda: {last.get('env_steps')} env steps in {f(last, 'wall_s'):.0f} s"
              f" (last epoch: {f(last, 'perf/env_steps_per_s'):.1f} env steps/s, SAC {f(last, 'perf/sac_updates_per_s'):.0f} updates/s,"
              f" model {f(last, 'perf/model_steps_per_s'):.0f} steps/s); eval return last {ret[-1]:.0f}, best {max(ret):.0f}"
              f" (paper: 3000 at 125k steps; target: 125k steps in <= 10 min)")
else:
    print("train: no metrics")
PYEOF
}

echo
echo "=== summary"
{
  if command -v python3 >/dev/null; then summary; else cat "$R"/*.json 2>/dev/null; fi
  if ((${#skipped[@]})); then
    echo "skipped for lack of time or tools:"
    printf '  %s\n' "${skipped[@]}"
  fi
  if ((${#failures[@]})); then
    echo "FAILED checks:"
    printf '  %s\n' "${failures[@]}"
  else
    echo "all checks passed"
  fi
} | tee "$out/summary.txt"
status=0
((${#failures[@]} == 0)) || status=1
exec 1>&- 2>&-
wait "$teepid" 2>/dev/null
exit "$status"
