#!/usr/bin/env bash
# run.sh: the device bundle's one script (built by `make device-bundle`). It
# runs unattended on any x86-64 Linux machine with an NVIDIA driver, with no
# Go and no CUDA toolkit:
#
#   1. device info (nvidia-smi, where libcuda is, the bundle's libraries resolve),
#   2. the GPU tests of packages gpu and kernels (each GPU result compared with
#      the CPU engine or trainer/rng; the max abs and rel errors are logged),
#   3. mbpo bench gpu (launch latency, graph replay, bandwidth, forward),
#   4. bench/torch_peer.py: the same forward in PyTorch on the same GPU,
#   5. a summary: our time, PyTorch's, the ratio, and the targets.
#
# Logs go to $OUT when it is set (else DIR/out): run.log, bench.json,
# torch.json, summary.txt. The exit status is non-zero when a check failed
# (a test, the forward check, a step that crashed or timed out); a missed
# speed target is reported in the summary but is not a failure.
#
#   bash device-bundle/run.sh
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-$here/out}
mkdir -p "$out"
log="$out/run.log"
: >"$log"
exec > >(tee -a "$log") 2>&1
teepid=$!

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
tar -xzf "$here/payload.tar.gz" -C "$work"
B="$work/payload"

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
export B
export -f ours
export MBPO_REQUIRE_GPU=1 # a GPU test that cannot find the GPU fails instead of skipping

failures=()
# step NAME SECONDS CMD...: runs CMD (a program or an exported function) with
# a time limit and records a failure.
step() {
  local name=$1 limit=$2
  shift 2
  echo
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
  ours "$B/bin/mbpo" help >/dev/null || return 1
  echo "bundle: $(ls "$B/bin" | tr '\n' ' '); $(ls "$B/lib" | wc -l) libraries"
}

export -f info
step "device info" 60 info
step "gpu tests" 120 ours "$B/bin/gpu.test" -test.v -test.count=1 -test.timeout=110s -test.run '^TestGPU'
step "kernels tests" 240 ours "$B/bin/kernels.test" -test.v -test.count=1 -test.timeout=230s -test.run '^(TestGPU|TestHost)'
rm -f "$out/bench.json" "$out/torch.json"
step "mbpo bench gpu" 150 ours "$B/bin/mbpo" bench gpu --json "$out/bench.json"
if command -v python3 >/dev/null && python3 -c 'import torch' 2>/dev/null; then
  step "torch peer" 180 env PYTHONUNBUFFERED=1 python3 "$B/torch_peer.py" --json "$out/torch.json"
else
  echo
  echo "=== torch peer: skipped, no python3 with PyTorch here"
fi

summary() {
  python3 - "$out/bench.json" "$out/torch.json" <<'EOF'
import json, sys
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None
ours, torch = load(sys.argv[1]), load(sys.argv[2])
if ours is None:
    print("no results from mbpo bench gpu")
    sys.exit(0)
g = lambda k: ours.get(k, 0)
def verdict(ok):
    return "MET" if ok else "MISSED"
print(f"device:                     {ours.get('device', '?')}")
print(f"launch latency:             {g('launch_us'):.2f} us per empty-kernel launch (pipelined)")
print(f"20 small launches:          {g('launches20_us'):.1f} us one by one, {g('graph20_us'):.1f} us as a graph replay"
      f" (waiting for each: {g('launches20_synced_us'):.1f} / {g('graph20_synced_us'):.1f} us)")
if g('graph_ratio'):
    print(f"graph / one by one:         {g('graph_ratio'):.3f}  target <= 0.2: {verdict(g('graph_ratio') <= 0.2)}")
print(f"device copy:                {g('copy_gbs'):.0f} GB/s (read + write)")
if g('forward_ms'):
    shape = f"{g('members')} x {g('hidden')}, in {g('in')}, out {g('out')}, {g('rows')} rows"
    print(f"ensemble forward ({shape}):")
    print(f"  ours (fp32 CUDA kernel):  {g('forward_ms'):.3f} ms median, {g('forward_tflops'):.2f} TFLOP/s"
          f" [{ours.get('forward_plan')}; {g('forward_registers')} regs, {g('forward_local_bytes')} B local]")
    if torch:
        ratio = torch['forward_ms'] / g('forward_ms')
        print(f"  PyTorch {torch['torch']} (fp32, TF32 off): {torch['forward_ms']:.3f} ms median, {torch['forward_tflops']:.2f} TFLOP/s")
        print(f"  speed-up over PyTorch:    {ratio:.2f}x  target >= 2: {verdict(ratio >= 2)}")
    else:
        print("  PyTorch: no result")
    print(f"  check vs CPU engine:      {g('check_rows')} rows, max abs {g('check_max_abs'):.3g},"
          f" max rel {g('check_max_rel'):.3g} (tolerance {g('check_tolerance')}): {'PASS' if ours.get('check_pass') else 'FAIL'}")
if ours.get('error'):
    print(f"bench stopped early: {ours['error']}")
EOF
}

echo
echo "=== summary"
{
  if command -v python3 >/dev/null; then summary; else cat "$out/bench.json" "$out/torch.json" 2>/dev/null; fi
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
