#!/usr/bin/env bash
# run.sh: the device bundle's one script (built by `make device-bundle`). It
# runs unattended on any x86-64 Linux machine with an NVIDIA driver, with no
# Go and no CUDA toolkit, within one time budget: MBPO_BUDGET seconds (300 by
# default) plus MBPO_TRAIN seconds of training when asked for (0 by default).
#
# The device tool's call: carry ["device-bundle"], command
#   bash device-bundle/run.sh                  timeout_s 360
#   MBPO_TRAIN=60 bash device-bundle/run.sh    timeout_s 420
# (the budget plus a minute to spare: each step is cut to the budget left, so
# the script ends before the call's limit, and 15 minutes of device time hold
# a first run, its machine's start and a rerun).
#
# In this order, the most wanted first, each step with its own time limit:
#   1. device info (nvidia-smi, where libcuda is, the bundle's libraries resolve),
#   2. the GPU tests: package gpu, package kernels (every kernel against the
#      CPU engine, rng or package env), and the GPU engine
#      (engine/cuda: one TrainStep's gradients, rollouts, SAC updates
#      and a full retrain against the CPU engine and the trainer's own code),
#   3. the benchmarks with targets, each beside its PyTorch peer on the same
#      GPU: mbpo bench gpu and torch_peer.py (forward); rollout Hopper
#      100,000 × 15 and torch_rollout.py; sac Hopper and torch_sac.py;
#      model-train (100,000 Hopper transitions),
#   4. the Humanoid cases (HumanoidTruncatedObs: rollout 400,000 × 20, hidden
#      400, and its peer; sac),
#   5. the same rollout and SAC benchmarks on this machine's CPU engine,
#   6. with MBPO_TRAIN=SECONDS: mbpo train --env Hopper-v4 --device cuda for
#      that long (stopped by SIGTERM, which is expected),
#   7. a summary: ours, PyTorch's, the CPU engine's, the ratios and the targets.
#
# Everything lands under $OUT (else DIR/out) as soon as it exists, so that a
# run cut off keeps what it measured: run.log (all output), results.jsonl
# (one line per finished benchmark step: key, exit status, seconds, and its
# JSON result or null), step.json (the result so far of a step that was cut
# off: the PyTorch peers write theirs after each mode), metrics.csv (the
# training run's, copied every 10 s), curve.png and summary.txt. The exit
# status is non-zero when a check failed (a test, the forward check, a step
# that crashed or timed out); a missed speed target is reported in the
# summary but is not a failure.
#
#   bash device-bundle/run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
budget=${MBPO_BUDGET:-300}
train_s=${MBPO_TRAIN:-0}
mkdir -p "$out"
log="$out/run.log"
: >"$log"
exec > >(tee -a "$log") 2>&1
teepid=$!

# The payload (binaries, libraries, scripts) is unpacked into a temporary
# folder; no result is ever written there.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$here/payload.tar.gz" -C "$work"
B="$work/payload"
J="$out/step.json"       # where the running step writes its JSON result
results="$out/results.jsonl"
: >"$results"
rm -f "$J"
deadline=$((SECONDS + budget + train_s))
reserve=15 # seconds kept for the summary

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
export PYTHONUNBUFFERED=1

failures=()
skipped=()
last_rc=0
last_secs=0
# step NAME SECONDS CMD...: runs CMD (a program or an exported function) with
# a time limit (cut to the budget left, keeping $reserve s for the summary;
# the command sees it as MBPO_STEP_LIMIT_S) and records a failure. It sets
# last_rc (-1: skipped) and last_secs.
step() {
  local name=$1 limit=$2
  shift 2
  local left=$((deadline - SECONDS - reserve))
  if ((left < limit)); then limit=$left; fi
  echo
  if ((limit < 10)); then
    echo "=== $name: skipped, the time budget is spent"
    skipped+=("$name")
    last_rc=-1 last_secs=0
    return 0
  fi
  echo "=== $name ($(date -u +%H:%M:%S), limit ${limit}s)"
  local t0=$SECONDS
  MBPO_STEP_LIMIT_S=$limit timeout --kill-after=10 "$limit" bash -c '"$@"' step "$@"
  local rc=$?
  if ((rc == 124 || rc == 137)); then
    failures+=("$name: timed out after ${limit}s")
  elif ((rc != 0)); then
    failures+=("$name: exit status $rc")
  fi
  last_rc=$rc last_secs=$((SECONDS - t0))
  echo "=== $name: exit $rc in ${last_secs}s"
  return 0
}

# bench KEY NAME SECONDS CMD...: a step whose command writes its JSON result
# to $J; the result (or null) is then appended to results.jsonl under KEY.
# JSON allows no raw newline inside a string, so dropping the newlines of an
# indented file keeps it valid and puts it on one line.
bench() {
  local key=$1
  shift
  rm -f "$J"
  step "$@"
  local res=null
  [[ -s $J ]] && res=$(tr -d '\n' <"$J")
  printf '{"key": "%s", "rc": %d, "seconds": %d, "result": %s}\n' "$key" "$last_rc" "$last_secs" "$res" >>"$results"
  rm -f "$J"
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
    if ours ldd "$f" 2>/dev/null | grep 'not found'; then missing=1; fi
  done
  ((missing == 0)) || { echo "some libraries do not resolve"; return 1; }
  mbpo help >/dev/null || return 1
  echo "bundle: $(ls "$B/bin" | tr '\n' ' '); $(ls "$B/lib" | wc -l) libraries"
}
export -f info

# The PyTorch peers run where a python3 with PyTorch is (MBPO_PEER_PYTHON
# names another interpreter).
py=${MBPO_PEER_PYTHON:-python3}
peers=0
if command -v "$py" >/dev/null && "$py" -c 'import torch' 2>/dev/null; then peers=1; fi
peer() {
  local key=$1 name=$2 limit=$3
  shift 3
  if ((peers)); then
    bench "$key" "$name" "$limit" "$py" "$@" --json "$J"
  else
    echo
    echo "=== $name: skipped, no $py with PyTorch here"
    skipped+=("$name (no PyTorch)")
  fi
}

step "device info" 30 info
step "gpu tests" 60 ours "$B/bin/gpu.test" -test.v -test.count=1 -test.timeout=55s -test.run '^TestGPU'
step "kernels tests" 90 ours "$B/bin/kernels.test" -test.v -test.count=1 -test.timeout=85s -test.run '^(TestGPU|TestHost)'
step "GPU engine tests" 120 ours "$B/bin/cuda.test" -test.v -test.count=1 -test.timeout=115s -test.run '^TestGPU'

bench gpu "mbpo bench gpu" 60 mbpo bench gpu --json "$J"
peer torch_peer "torch peer (forward)" 45 "$B/torch_peer.py"
bench rollout_hopper "bench rollout Hopper" 45 mbpo bench rollout --device cuda --env Hopper-v4 --batch 100000 --k 15 --json "$J"
peer torch_rollout_hopper "torch rollout Hopper" 120 "$B/torch_rollout.py" --obs 11 --act 3 --term hopper --batch 100000 --k 15
bench sac_hopper "bench sac Hopper" 30 mbpo bench sac --device cuda --env Hopper-v4 --json "$J"
peer torch_sac_hopper "torch sac Hopper" 60 "$B/torch_sac.py" --obs 11 --act 3
bench model_train "bench model-train Hopper" 60 mbpo bench model-train --device cuda --env Hopper-v4 --rows 100000 --json "$J"

bench rollout_humanoid "bench rollout Humanoid" 60 mbpo bench rollout --device cuda --env HumanoidTruncatedObs-v4 --hidden 400 --batch 400000 --k 20 --json "$J"
peer torch_rollout_humanoid "torch rollout Humanoid" 90 "$B/torch_rollout.py" --obs 45 --act 17 --term humanoid --model-hidden 400 --batch 400000 --k 20 --reps 3
bench sac_humanoid "bench sac Humanoid" 30 mbpo bench sac --device cuda --env HumanoidTruncatedObs-v4 --updates 1000 --json "$J"

bench cpu_rollout_hopper "CPU engine: bench rollout Hopper" 45 mbpo bench rollout --device cpu --env Hopper-v4 --batch 100000 --k 15 --rounds 1 --json "$J"
bench cpu_sac_hopper "CPU engine: bench sac Hopper" 30 mbpo bench sac --device cpu --env Hopper-v4 --updates 300 --json "$J"

# Training, only when asked for: MBPO_TRAIN seconds (the budget left, at
# most), stopped by SIGTERM (the trainer checkpoints and keeps its metrics);
# that stop is expected, not a failure. Its metrics.csv is copied to $OUT
# every 10 s while it runs.
train() {
  local secs=$1 rd=$2
  timeout --signal=TERM --kill-after=20 "$secs" "$B/bin/mbpo" train --env Hopper-v4 --device cuda --steps 125000 \
    --run-dir "$rd" --log-level info
  local rc=$?
  ((rc == 124)) && rc=0
  return $rc
}
export -f train
if ((train_s > 0)); then
  secs=$((deadline - SECONDS - reserve - 20))
  ((secs > train_s)) && secs=$train_s
  rd="$work/runs/hopper"
  if ((secs >= 20)); then
    echo
    echo "=== mbpo train Hopper-v4 --device cuda ($(date -u +%H:%M:%S), ${secs}s)"
    t0=$SECONDS
    (while sleep 10; do [[ -f "$rd/metrics.csv" ]] && cp -f "$rd/metrics.csv" "$out/metrics.csv"; done) &
    copier=$!
    LD_LIBRARY_PATH="$B/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" train "$secs" "$rd" || failures+=("mbpo train: exit status $?")
    kill "$copier" 2>/dev/null
    wait "$copier" 2>/dev/null
    echo "=== mbpo train: stopped after $((SECONDS - t0))s"
    if [[ -f "$rd/metrics.csv" ]]; then
      cp -f "$rd/metrics.csv" "$out/metrics.csv"
      mbpo report "$work/runs" --out "$work/report" >/dev/null 2>&1 && cp "$work/report/curves_Hopper-v4.png" "$out/curve.png" 2>/dev/null
    fi
  else
    echo
    echo "=== mbpo train: skipped, the time budget is spent"
    skipped+=("mbpo train")
  fi
fi

echo
echo "=== summary"
{
  if command -v python3 >/dev/null; then
    python3 "$B/summary.py" "$results" "$out/metrics.csv"
  else
    cat "$results"
  fi
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
