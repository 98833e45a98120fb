// run_test.go: run.sh and summary.py on a fake bundle: stand-ins for mbpo,
// the test binaries and python3 with PyTorch that answer at once (or fail,
// hang, or leave a partial result where a test says so), so that what the
// script keeps under $OUT can be checked here, without a GPU: every result
// as soon as its step ends, the partial result of a step cut off, the
// budget, the summary of results that are missing or incomplete.

package device

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// fakeMbpo stands in for bin/mbpo (and, as fakeTest, for the test
// binaries): it logs each call with the step's limit to $FAKE_CALLS and
// writes an indented JSON result where --json is given, as mbpo's writeJSON
// does. Where its arguments contain $FAKE_FAIL it exits 3 with no result;
// $FAKE_EMPTY, it writes {}; $FAKE_HANG, it writes $FAKE_PARTIAL (if set)
// as its result so far, its pid to $FAKE_MARK, and sleeps.
const fakeMbpo = `#!/usr/bin/env bash
echo "${MBPO_STEP_LIMIT_S:-none} $(basename "$0") $*" >>"$FAKE_CALLS"
json="" prev=""
for a in "$@"; do [[ $prev == --json ]] && json=$a; prev=$a; done
args="$(basename "$0") $*"
if [[ -n ${FAKE_FAIL:-} && $args == *"$FAKE_FAIL"* ]]; then exit 3; fi
if [[ -n ${FAKE_HANG:-} && $args == *"$FAKE_HANG"* ]]; then
  [[ -n ${FAKE_PARTIAL:-} && -n $json ]] && printf '%s\n' "$FAKE_PARTIAL" >"$json"
  echo $$ >"$FAKE_MARK"
  sleep 1000
fi
if [[ $1 == train ]]; then # writes two epochs' metrics, then trains until stopped
  rd="" prev=""
  for a in "$@"; do [[ $prev == --run-dir ]] && rd=$a; prev=$a; done
  mkdir -p "$rd"
  printf 'env_steps,wall_s,eval/return_mean,perf/env_steps_per_s,perf/sac_updates_per_s,perf/model_steps_per_s\n1000,5,200,180,4000,900000\n2000,10,450,190,4100,910000\n' >"$rd/metrics.csv"
  sleep 1000
fi
[[ -z $json ]] && exit 0
if [[ -n ${FAKE_EMPTY:-} && $args == *"$FAKE_EMPTY"* ]]; then echo '{}' >"$json"; exit 0; fi
batch=0 k=0 prev=""
for a in "$@"; do
  [[ $prev == --batch ]] && batch=$a
  [[ $prev == --k ]] && k=$a
  prev=$a
done
case "$1 $2" in
"bench gpu") printf '{\n  "device": "Fake H100",\n  "driver": "580.00",\n  "launch_us": 2.1,\n  "launches20_us": 60,\n  "graph20_us": 9,\n  "graph_ratio": 0.15,\n  "copy_gbs": 2500,\n  "rows": 400000,\n  "forward_ms": 1.5,\n  "forward_tflops": 20,\n  "check_max_rel": 1e-6,\n  "check_pass": true\n}\n' >"$json" ;;
"bench rollout") printf '{\n  "batch": %d,\n  "k": %d,\n  "model_steps_per_sec": 1.2e8,\n  "gflops": 30000,\n  "split_sec": {"policy": 0.001, "model": 0.002}\n}\n' "$batch" "$k" >"$json" ;;
"bench sac") printf '{\n  "batch": 256,\n  "g": 20,\n  "updates_per_sec": 25000,\n  "interface_updates_per_sec": 5000\n}\n' >"$json" ;;
"bench model-train") printf '{\n  "rows": 100000,\n  "epochs": 16,\n  "seconds": 1.5,\n  "holdout_mse": [0.1, 0.2]\n}\n' >"$json" ;;
esac
`

// fakePython stands in for python3 with PyTorch: it imports anything and
// "runs" a peer by writing its one-line result.
const fakePython = `#!/usr/bin/env bash
if [[ $1 == -c ]]; then exit 0; fi
echo "${MBPO_STEP_LIMIT_S:-none} $(basename "$1") ${*:2}" >>"$FAKE_CALLS"
json="" prev=""
for a in "$@"; do [[ $prev == --json ]] && json=$a; prev=$a; done
args="$(basename "$1") ${*:2}"
if [[ -n ${FAKE_HANG:-} && $args == *"$FAKE_HANG"* ]]; then
  [[ -n ${FAKE_PARTIAL:-} ]] && printf '%s\n' "$FAKE_PARTIAL" >"$json"
  echo $$ >"$FAKE_MARK"
  sleep 1000
fi
case $(basename "$1") in
torch_peer.py) echo '{"peer": "torch", "forward_ms": 3.0}' >"$json" ;;
torch_rollout.py) echo '{"peer": "torch", "mode": "eager", "model_steps_per_sec": 1e7, "compile_skipped": "no time"}' >"$json" ;;
torch_sac.py) echo '{"peer": "torch", "mode": "eager", "eager_updates_per_sec": 1000, "updates_per_sec": 1000}' >"$json" ;;
esac
`

// benchKeys are the results a complete run records, in order.
var benchKeys = []string{"gpu", "torch_peer", "rollout_hopper", "torch_rollout_hopper", "sac_hopper", "torch_sac_hopper",
	"model_train", "rollout_humanoid", "torch_rollout_humanoid", "sac_humanoid", "cpu_rollout_hopper", "cpu_sac_hopper"}

// fakeRun is a fake bundle, its $OUT and the call log.
type fakeRun struct {
	dir, out, calls, mark string
	env                   []string
}

func newFakeRun(t *testing.T, env ...string) *fakeRun {
	t.Helper()
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3 for the summary")
	}
	root := t.TempDir()
	r := &fakeRun{dir: filepath.Join(root, "bundle"), out: filepath.Join(root, "out"), calls: filepath.Join(root, "calls"), mark: filepath.Join(root, "mark")}
	payload := filepath.Join(root, "payload")
	for _, d := range []string{filepath.Join(payload, "bin"), filepath.Join(payload, "lib"), r.dir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, text string, mode os.FileMode) {
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{"mbpo", "gpu.test", "kernels.test", "cuda.test"} {
		write(filepath.Join(payload, "bin", b), fakeMbpo, 0o755)
	}
	for _, f := range []string{"run.sh", "summary.py"} {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(r.dir, f)
		if f == "summary.py" {
			dst = filepath.Join(payload, f)
		}
		write(dst, string(src), 0o755)
	}
	for _, f := range []string{"torch_peer.py", "torch_rollout.py", "torch_sac.py"} {
		write(filepath.Join(payload, f), "# the fake python runs none of this\n", 0o644)
	}
	py := filepath.Join(root, "fakepython")
	write(py, fakePython, 0o755)
	if msg, err := exec.Command("tar", "-C", root, "-czf", filepath.Join(r.dir, "payload.tar.gz"), "payload").CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, msg)
	}
	r.env = append(os.Environ(), "OUT="+r.out, "FAKE_CALLS="+r.calls, "FAKE_MARK="+r.mark, "MBPO_PEER_PYTHON="+py)
	r.env = append(r.env, env...)
	return r
}

// command is run.sh in a process group of its own, as the device tool runs
// it (and kills it at its limit).
func (r *fakeRun) command() *exec.Cmd {
	cmd := exec.Command("bash", filepath.Join(r.dir, "run.sh"))
	cmd.Env = r.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func (r *fakeRun) run(t *testing.T) (exitCode int) {
	t.Helper()
	cmd := r.command()
	msg, err := cmd.CombinedOutput()
	t.Logf("run.sh:\n%s", msg)
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0
}

type record struct {
	Key     string          `json:"key"`
	RC      int             `json:"rc"`
	Seconds int             `json:"seconds"`
	Result  json.RawMessage `json:"result"`
}

func (r *fakeRun) records(t *testing.T) []record {
	t.Helper()
	f, err := os.Open(filepath.Join(r.out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []record
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec record
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("results.jsonl line %q: %v", sc.Text(), err)
		}
		recs = append(recs, rec)
	}
	return recs
}

func (r *fakeRun) read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(r.out, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkOutLimits: what the device tool brings back from $OUT is at most 8
// files, at most two folders down.
func checkOutLimits(t *testing.T, out string) {
	t.Helper()
	var files []string
	err := filepath.Walk(out, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		if !info.IsDir() {
			files = append(files, rel)
			if strings.Count(rel, string(filepath.Separator)) > 2 {
				t.Errorf("%s is more than two folders down $OUT", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) > 8 {
		t.Errorf("$OUT holds %d files, more than the 8 a device call brings back: %v", len(files), files)
	}
}

func TestRunWritesEveryResult(t *testing.T) {
	r := newFakeRun(t)
	if code := r.run(t); code != 0 {
		t.Errorf("run.sh exited %d after steps that all passed", code)
	}
	recs := r.records(t)
	if len(recs) != len(benchKeys) {
		t.Fatalf("%d results, want %d: %+v", len(recs), len(benchKeys), recs)
	}
	for i, rec := range recs {
		var res map[string]any
		if rec.Key != benchKeys[i] || rec.RC != 0 || json.Unmarshal(rec.Result, &res) != nil || len(res) == 0 {
			t.Errorf("result %d: %+v, want %s with exit 0 and a JSON object", i, rec, benchKeys[i])
		}
	}
	summary := r.read(t, "summary.txt")
	for _, want := range []string{
		"device: Fake H100, driver 580.00",
		"ratio 0.150, target <= 0.2: MET",
		"PyTorch forward 3.000 ms: speed-up 2.00x (target >= 2: MET)",
		"rollout Hopper-v4 batch 100000 k 15: 120.00M model steps/s",
		"rollout HumanoidTruncatedObs-v4 batch 400000 k 20:",
		"PyTorch (eager) 10.00M/s, ours 12.0x (target >= 5x: MET)",
		"PyTorch compile skipped: no time",
		"model retrain Hopper 100000 rows: 1.50 s, 16 epochs (target <= 2 s: MET)",
		"sac Hopper-v4 batch 256: 25000 updates/s",
		"ours 25.0x eager (target >= 5x: MET)",
		"train: no metrics",
		"all checks passed",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, summary)
		}
	}
	if strings.Contains(summary, "missing") || strings.Contains(summary, "Traceback") {
		t.Errorf("summary.txt of a complete run:\n%s", summary)
	}
	if _, err := os.Stat(filepath.Join(r.out, "step.json")); !os.IsNotExist(err) {
		t.Errorf("step.json left behind by a complete run (%v)", err)
	}
	// Every command saw its step's limit.
	calls := strings.Split(strings.TrimSpace(r.read(t, "../calls")), "\n")
	for _, c := range calls {
		limit, _, _ := strings.Cut(c, " ")
		if limit == "none" && !strings.Contains(c, "mbpo help") {
			t.Errorf("call %q ran without MBPO_STEP_LIMIT_S", c)
		}
	}
	checkOutLimits(t, r.out)
}

func TestRunKeepsResultsWhenCutOff(t *testing.T) {
	const partial = `{"peer": "torch", "mode": "eager", "model_steps_per_sec": 5e6}`
	r := newFakeRun(t, "FAKE_HANG=torch_rollout.py --obs 11", "FAKE_PARTIAL="+partial)
	cmd := r.command()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	var hung int
	for {
		if b, err := os.ReadFile(r.mark); err == nil && strings.HasSuffix(string(b), "\n") {
			hung, _ = strconv.Atoi(strings.TrimSpace(string(b)))
			break
		}
		if time.Now().After(deadline) {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			t.Fatal("the hanging step never started")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The device call's limit: everything is killed at once (timeout(1)
	// runs each step in a process group of its own).
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if pg, err := syscall.Getpgid(hung); err == nil && pg > 1 {
		syscall.Kill(-pg, syscall.SIGKILL)
	}
	cmd.Wait()
	recs := r.records(t)
	var keys []string
	for _, rec := range recs {
		keys = append(keys, rec.Key)
	}
	if strings.Join(keys, " ") != "gpu torch_peer rollout_hopper" {
		t.Errorf("results kept after the cut: %v, want those of the steps before it", keys)
	}
	if got := strings.TrimSpace(r.read(t, "step.json")); got != partial {
		t.Errorf("step.json holds %q, want the cut step's result so far %q", got, partial)
	}
	if log := r.read(t, "run.log"); !strings.Contains(log, "=== torch rollout Hopper") {
		t.Errorf("run.log does not show the step that was cut off:\n%s", log)
	}
	checkOutLimits(t, r.out)
}

func TestRunReportsFailuresAndMissingFields(t *testing.T) {
	r := newFakeRun(t, "FAKE_FAIL=bench rollout --device cuda --env Hopper-v4", "FAKE_EMPTY=bench sac --device cuda --env Hopper-v4")
	if code := r.run(t); code != 1 {
		t.Errorf("run.sh exited %d after a failed step, want 1", code)
	}
	recs := r.records(t)
	for _, rec := range recs {
		if rec.Key == "rollout_hopper" && (rec.RC != 3 || string(rec.Result) != "null") {
			t.Errorf("the failed step's record: %+v", rec)
		}
	}
	summary := r.read(t, "summary.txt")
	for _, want := range []string{
		"rollout Hopper-v4: exit status 3, no result written (target >= 100.00M: not measured)",
		"sac Hopper-v4 batch n/a: n/a updates/s",
		"(target >= 20000: not measured)",
		"ours n/a eager (target >= 5x: not measured)",
		"missing from the results: ",
		"sac_hopper.updates_per_sec", "sac_hopper.batch", "sac_hopper.interface_updates_per_sec",
		"FAILED checks:\n  bench rollout Hopper: exit status 3",
	} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, summary)
		}
	}
}

func TestRunBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a step's time limit")
	}
	// A budget of 35 s less the summary's 15 gives the first steps 20 s (less
	// what unpacking and the device info took, on a loaded machine): the
	// hanging GPU tests time out, and nothing is left for the rest.
	r := newFakeRun(t, "MBPO_BUDGET=35", "FAKE_HANG=gpu.test")
	start := time.Now()
	if code := r.run(t); code != 1 {
		t.Errorf("run.sh exited %d after a step timed out, want 1", code)
	}
	if d := time.Since(start); d > 50*time.Second {
		t.Errorf("run.sh took %v on a budget of 35 s", d)
	}
	recs := r.records(t)
	if len(recs) != len(benchKeys) {
		t.Fatalf("%d results, want a record of each of the %d benchmarks", len(recs), len(benchKeys))
	}
	for _, rec := range recs {
		if rec.RC != -1 || string(rec.Result) != "null" {
			t.Errorf("%+v: want skipped (rc -1, no result)", rec)
		}
	}
	summary := r.read(t, "summary.txt")
	for _, want := range []string{"gpu tests: timed out after ", "device: unknown; bench gpu: skipped, the time budget was spent", "skipped for lack of time or tools:"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, summary)
		}
	}
}

func TestRunTrainsWhenAsked(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for 20 s")
	}
	r := newFakeRun(t, "MBPO_TRAIN=20")
	if code := r.run(t); code != 0 {
		t.Errorf("run.sh exited %d after training stopped at its time, want 0", code)
	}
	if !strings.Contains(r.read(t, "metrics.csv"), "2000,10,450") {
		t.Error("the training run's metrics.csv is not in $OUT")
	}
	summary := r.read(t, "summary.txt")
	for _, want := range []string{"train Hopper-v4 --device cuda: 2000 env steps in 10 s", "eval return last 450, best 450", "all checks passed"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary.txt lacks %q:\n%s", want, summary)
		}
	}
	if !strings.Contains(r.read(t, "run.log"), "=== mbpo train Hopper-v4 --device cuda") {
		t.Error("run.log does not show the training step")
	}
	checkOutLimits(t, r.out)
}

func TestSummaryOfBrokenResults(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "results.jsonl")
	lines := strings.Join([]string{
		`{"key": "gpu", "rc": 0, "seconds": 3, "result": {"device": "X", "graph_ratio": "fast", "check_pass": false}}`,
		`{"key": "rollout_hopper", "rc": 124, "seconds": 45, "result": null}`,
		`{"key": "torch_rollout_hopper", "rc": 0, "seconds": 9, "result": [1, 2]}`,
		`{"key": "model_train", "rc": 0, "seconds": 9, "result": {"rows": 100000.0, "seconds": 0.5, "epochs": 3}}`,
		`{"key": "sac_hopper", "rc": 0, "seconds": 9, "result": {"updates_per_sec": 30000, "batch": 256}`,
		`not json`,
		`{"rc": 0}`,
	}, "\n")
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	msg, err := exec.Command("python3", "summary.py", path, filepath.Join(dir, "nonesuch.csv")).CombinedOutput()
	out := string(msg)
	if err != nil || strings.Contains(out, "Traceback") {
		t.Fatalf("summary.py: %v\n%s", err, out)
	}
	for _, want := range []string{
		"device: X, driver n/a",
		"(ratio n/a, target <= 0.2: not measured)",
		"check vs CPU engine max rel n/a: FAIL",
		"rollout Hopper-v4: timed out after 45 s, no result written",
		"PyTorch: its result is not a JSON object",
		"model retrain Hopper 100000.0 rows: 0.50 s, 3 epochs (target <= 2 s: MET)",
		"sac Hopper-v4: not run", // its line was cut short, so not JSON
		"note: results line 5 is not JSON",
		"note: results line 6 is not JSON",
		"note: results line 7 has no key",
		"holdout MSE n/a",
		"missing from the results: gpu.driver, gpu.graph_ratio, gpu.launch_us",
		"model_train.holdout_mse",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}
