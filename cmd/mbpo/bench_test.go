// bench_test.go: the "mbpo bench" commands: each prints its table and writes
// its JSON, on the CPU engine and (--device cuda-host) on the GPU engine's
// kernels run by the host; their usage errors. What they measure is tested
// in package bench.

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

// TestBenchCommandsWriteJSON runs each engine benchmark command once, small:
// it prints its table and writes, with --json, the fields that
// scripts/device/summary.py and bench/ratios.py read. (Package bench tests
// what they measure, on both engines.)
func TestBenchCommandsWriteJSON(t *testing.T) {
	for _, c := range []struct {
		args   []string
		stdout string   // a line of the printed table
		fields []string // JSON fields the scripts read
	}{
		{[]string{"bench", "rollout", "--device", "cpu", "--batch", "64", "--k", "3", "--rounds", "1", "--real", "300", "--hidden", "16"},
			"model steps/s", []string{"engine", "env", "batch", "k", "model_steps_per_sec", "gflops", "split_sec"}},
		{[]string{"bench", "rollout", "--device", deviceHost, "--batch", "16", "--k", "2", "--rounds", "1", "--real", "100", "--hidden", "8"},
			"device rollouts", []string{"engine", "batch", "k", "model_steps_per_sec", "split_sec"}},
		{[]string{"bench", "model-train", "--device", "cpu", "--rows", "200", "--hidden", "8", "--max-epochs", "2"},
			"holdout MSE by member", []string{"engine", "rows", "epochs", "seconds", "holdout_mse", "holdout_nll", "elites"}},
		{[]string{"bench", "sac", "--device", "cpu", "--batch", "16", "--updates", "2", "--g", "1", "--hidden", "8", "--real", "100"},
			"SAC updates/s", []string{"engine", "env", "batch", "g", "updates_per_sec", "gflops", "precision", "products"}},
	} {
		var res map[string]any
		out := runJSON(t, &res, c.args...)
		if !strings.Contains(out, c.stdout) {
			t.Errorf("mbpo %s: no %q in the output:\n%s", strings.Join(c.args, " "), c.stdout, out)
		}
		for _, f := range c.fields {
			if _, ok := res[f]; !ok {
				t.Errorf("mbpo %s --json: no field %q in %v", strings.Join(c.args, " "), f, res)
			}
		}
	}
}

// TestBenchTrainPrintsEveryStage runs mbpo bench train once, small.
func TestBenchTrainPrintsEveryStage(t *testing.T) {
	code, out, errs := runMbpo("bench", "train", "--env", "InvertedPendulum-v4", "--device", "cpu", "--threads", "1",
		"--real-steps", "256", "--updates", "1", "--model-epochs", "1", "--k", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"InvertedPendulum-v4, engine cpu, 1 threads; fp32 products", "sgemm peak", "env (1 env, random actions)",
		"SAC update (batch 256)", "ensemble training (7 members)", "one retrain on 256 rows", "rollouts (batch", "per 1,000 env steps at G=10"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench train: no %q in the output:\n%s", want, out)
		}
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
