// bench_rollout_test.go: "mbpo bench rollout" end to end on the CPU engine
// and on the GPU engine's kernels run by the host (the GPU path of the
// benchmark without a GPU): same workload, same model steps, every stage
// timed; and its usage errors.

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runJSON runs mbpo with args plus --json FILE and decodes FILE into v.
func runJSON(t *testing.T, v any, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "out.json")
	var stdout, stderr bytes.Buffer
	if code := run(append(args, "--json", path), &stdout, &stderr); code != 0 {
		t.Fatalf("mbpo %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
	return stdout.String()
}

func TestBenchRolloutEngines(t *testing.T) {
	args := []string{"bench", "rollout", "--env", "Hopper-v4", "--batch", "64", "--k", "3", "--rounds", "1", "--real", "300", "--hidden", "16"}
	var cpu, dev rolloutBenchResult
	out := runJSON(t, &cpu, append(args, "--device", "cpu")...)
	if !strings.Contains(out, "model steps/s") {
		t.Errorf("no model steps/s in the output:\n%s", out)
	}
	runJSON(t, &dev, append(args, "--device", deviceHost)...)
	// The host stages time their policy and model passes; the GPU engine
	// profiles a round launch by launch.
	split := map[string][]string{"cpu": {"policy", "ensemble, sampling and termination"},
		"cuda-host": {"policy", "ensemble", "buffer writes", "compaction"}}
	for _, r := range []rolloutBenchResult{cpu, dev} {
		t.Logf("%s: %d steps per round, %.0f steps/s, split %v", r.Engine, r.StepsPerRound, r.ModelStepsPerSec, r.Split)
		if r.StepsPerRound < 64*3*9/10 || r.StepsPerRound > 64*3 || !(r.ModelStepsPerSec > 0) || !(r.GFLOPs > 0) {
			t.Errorf("%s: %d steps per round (want about 192), %v steps/s, %v GFLOP/s", r.Engine, r.StepsPerRound, r.ModelStepsPerSec, r.GFLOPs)
		}
		for _, stage := range split[r.Engine] {
			if _, ok := r.Split[stage]; !ok {
				t.Errorf("%s: no %q in the time split %v", r.Engine, stage, r.Split)
			}
		}
	}
	// The same networks, states and keys: both paths make the same steps.
	if cpu.StepsPerRound != dev.StepsPerRound {
		t.Errorf("CPU engine %d model steps per round, GPU engine %d", cpu.StepsPerRound, dev.StepsPerRound)
	}
	if cpu.Engine != "cpu" || dev.Engine != "cuda-host" || !strings.Contains(dev.Path, "graph") {
		t.Errorf("engines %q (%s) and %q (%s)", cpu.Engine, cpu.Path, dev.Engine, dev.Path)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"bench", "rollout", "--k", "0"}, "want --batch, --k"},
		{[]string{"bench", "rollout", "--env", "Pong-v5"}, "unknown environment"},
		{[]string{"bench", "model-train", "--rows", "3"}, "want --rows >= 10"},
		{[]string{"bench", "sac", "--g", "0"}, "want --batch, --updates, --g"},
		{[]string{"bench", "sac", "--device", "tpu"}, `--device "tpu"`},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		code := run(tt.args, &stdout, &stderr)
		if code == 0 || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("mbpo %s: exit %d, stderr %q; want a failure saying %q", strings.Join(tt.args, " "), code, stderr.String(), tt.want)
		}
	}
}
