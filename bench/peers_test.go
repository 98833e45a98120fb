// peers_test.go: the PyTorch peers run on the CPU with whatever PyTorch this
// machine has (Debian 12's python3-torch is 1.13: no torch.compile, no
// torch._foreach_lerp_), each writing its result; ratios.py pairs results
// with mbpo's and says what is missing.

package bench

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// torchPython is a python3 that imports torch, or the test is skipped.
func torchPython(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("PEER_PYTHON"), "python3", "/usr/bin/python3"} {
		if p == "" {
			continue
		}
		if exec.Command(p, "-c", "import torch").Run() == nil {
			return p
		}
	}
	t.Skip("no python3 with PyTorch (Debian: apt-get install python3-torch)")
	return ""
}

func readResult(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res
}

func TestPeersRunOnCPU(t *testing.T) {
	if testing.Short() {
		t.Skip("imports PyTorch three times")
	}
	py := torchPython(t)
	dir := t.TempDir()
	for _, c := range []struct {
		script string
		args   []string
		fields []string // positive numbers the result must hold
	}{
		{"torch_sac.py", []string{"--updates", "4"}, []string{"eager_updates_per_sec", "updates_per_sec"}},
		{"torch_rollout.py", []string{"--batch", "64", "--k", "3", "--reps", "1", "--model-hidden", "32", "--policy-hidden", "32"},
			[]string{"eager_model_steps_per_sec", "model_steps_per_sec", "steps_per_round", "gflops"}},
		{"torch_peer.py", []string{"--rows", "256", "--reps", "2", "--hidden", "32"}, []string{"forward_ms", "forward_tflops"}},
	} {
		path := filepath.Join(dir, c.script+".json")
		args := append([]string{c.script, "--device", "cpu", "--threads", "1", "--json", path}, c.args...)
		out, err := exec.Command(py, args...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", c.script, err, out)
			continue
		}
		res := readResult(t, path)
		for _, f := range c.fields {
			if v, ok := res[f].(float64); !ok || !(v > 0) {
				t.Errorf("%s: %s = %v, want a positive number (result %v)", c.script, f, res[f], res)
			}
		}
		if res["device"] != "cpu" || res["threads"] != 1.0 {
			t.Errorf("%s: device %v, threads %v; want cpu, 1", c.script, res["device"], res["threads"])
		}
		// The last line of stdout is the same result.
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var last map[string]any
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last["peer"] != "torch" {
			t.Errorf("%s: the last line of its output is not its result: %q", c.script, lines[len(lines)-1])
		}
		if c.script == "torch_rollout.py" {
			_, skipped := res["compile_skipped"]
			_, compiled := res["compile_model_steps_per_sec"]
			_, failed := res["compile_error"]
			if !skipped && !compiled && !failed {
				t.Errorf("torch_rollout.py: the result says nothing of the compile mode: %v", res)
			}
		}
	}
}

func TestRolloutSkipsCompileThatWouldNotFit(t *testing.T) {
	if testing.Short() {
		t.Skip("imports PyTorch")
	}
	py := torchPython(t)
	path := filepath.Join(t.TempDir(), "r.json")
	// A stand-in torch.compile, where PyTorch has none, so that only the
	// time limit can skip it.
	prog := `import runpy, sys, torch
if not callable(getattr(torch, "compile", None)):
    torch.compile = lambda f, dynamic=True: f
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")`
	cmd := exec.Command(py, "-c", prog, "torch_rollout.py", "--device", "cpu", "--threads", "1", "--batch", "64", "--k", "2",
		"--reps", "1", "--model-hidden", "32", "--policy-hidden", "32", "--compile-overhead", "100", "--json", path)
	cmd.Env = append(os.Environ(), "MBPO_STEP_LIMIT_S=60")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res := readResult(t, path)
	if s, _ := res["compile_skipped"].(string); !strings.HasPrefix(s, "would not fit") || res["mode"] != "eager" {
		t.Errorf("compile estimated at 100 s within a 60 s limit: mode %v, compile_skipped %q", res["mode"], s)
	}
	if v, _ := res["eager_model_steps_per_sec"].(float64); !(v > 0) {
		t.Errorf("no eager figure: %v", res)
	}
}

func TestRatios(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("no python3")
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ours := write("ours.json", `{"engine": "cpu", "env": "Hopper-v4", "batch": 256, "updates_per_sec": 200}`)
	peer := write("peer.json", `{"peer": "torch", "torch": "1.13.0", "device": "cpu", "threads": 1, "eager_updates_per_sec": 80}`)
	rollout := write("rollout.json", `{"engine": "cpu", "env": "Hopper-v4", "batch": 1000, "k": 5}`)
	out, err := exec.Command("python3", "ratios.py", "sac", ours, peer).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "sac Hopper-v4 batch 256: mbpo (cpu engine) 200 updates/s; PyTorch 1.13.0 eager (cpu, 1 thread(s)) 80 updates/s; ours / PyTorch 2.50x") {
		t.Errorf("ratios.py sac: %v\n%s", err, out)
	}
	out, err = exec.Command("python3", "ratios.py", "sac", ours, peer, "rollout", rollout, filepath.Join(dir, "nonesuch.json")).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("ratios.py with a missing file: %v, want exit status 1", err)
	}
	for _, want := range []string{"ours / PyTorch 2.50x", "rollout Hopper-v4 1000 x 5: mbpo (cpu engine) n/a model steps/s", "ratio n/a (", "nonesuch.json: [Errno 2]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("ratios.py with a missing file lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(string(out), "Traceback") {
		t.Errorf("ratios.py raised:\n%s", out)
	}
}
