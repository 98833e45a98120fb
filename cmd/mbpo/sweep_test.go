// sweep_test.go: mbpo sweep, report and analyze end to end on a tiny grid,
// and their command-line errors.

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinySweep is a two-cell sweep of second-long InvertedPendulum runs.
func tinySweep(out string) []string {
	return []string{"sweep", "--envs", "InvertedPendulum-v4", "--ablations", "none", "--seeds", "0-1", "--steps", "900",
		"--device", "cpu", "--parallel", "2", "--out", out, "--log-level", "warn",
		"--set", "epoch-length=300", "--set", "init-steps=300", "--set", "G=2", "--set", "hidden=32", "--set", "model-hidden=32",
		"--set", "model-train-freq=150", "--set", "rollout-batch=400", "--set", "model-max-epochs=3",
		"--set", "eval-episodes=2", "--set", "model-return-horizon=50"}
}

func mbpo(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

func TestSweepReportAnalyzeEndToEnd(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	// Both cells to 450 env steps first (exit 0), then to their end.
	if code, stdout, stderr := mbpo(t, append(tinySweep(out), "--until", "450")...); code != 0 ||
		!strings.Contains(stdout, "0 done now, 0 done before, 2 paused at --until 450,") || !strings.Contains(stdout, "with a larger --until, or without, goes on") {
		t.Fatalf("sweep --until 450: exit %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := mbpo(t, tinySweep(out)...); code != 0 || !strings.Contains(stdout, "2 done now") {
		t.Fatalf("sweep: exit %d\n%s%s", code, stdout, stderr)
	}
	// Again: nothing to do. One cell of it, as an array task runs it.
	if code, stdout, _ := mbpo(t, tinySweep(out)...); code != 0 || !strings.Contains(stdout, "2 done before") {
		t.Errorf("re-run: exit %d, %s", code, stdout)
	}
	if code, stdout, _ := mbpo(t, append(tinySweep(out), "--cell", "1")...); code != 0 || !strings.Contains(stdout, "1 cells: 0 done now, 1 done before") {
		t.Errorf("--cell 1: exit %d, %s", code, stdout)
	}
	// Another grid into the same directory is refused.
	if code, _, stderr := mbpo(t, append(tinySweep(out), "--seeds", "0-2")...); code != 1 || !strings.Contains(stderr, "records another grid (seeds 0-1, here 0-2)") {
		t.Errorf("other grid: exit %d, %s", code, stderr)
	}

	code, stdout, stderr := mbpo(t, "report", out)
	if code != 0 || !strings.Contains(stdout, "| InvertedPendulum-v4 | MBPO | 2 |") || stderr != "wrote 7 files into "+filepath.Join(out, "report")+"\n" {
		t.Errorf("report: exit %d\n%s%s", code, stdout, stderr)
	}

	cell := filepath.Join(out, "InvertedPendulum-v4", "none", "seed_0")
	code, stdout, stderr = mbpo(t, "analyze", "compounding-error", "--episodes", "2", "--horizon", "4", "--log-level", "warn", cell)
	if code != 0 || !strings.Contains(stdout, "rollouts") {
		t.Errorf("compounding-error: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = mbpo(t, "analyze", "exploitation", cell)
	if code != 0 || !strings.Contains(stdout, "mean ratio") {
		t.Errorf("exploitation: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, stderr = mbpo(t, "analyze", "buffers", cell)
	if code != 0 || !strings.Contains(stdout, "InvertedPendulum-v4, checkpoint at env step") || !strings.Contains(stdout, "outside the range of the real ones") {
		t.Errorf("buffers: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, f := range []string{"compounding_error.png", "compounding_error.svg", "exploitation.png", "exploitation.svg"} {
		if _, err := os.Stat(filepath.Join(cell, "analysis", f)); err != nil {
			t.Errorf("analysis figure: %v", err)
		}
	}
}

func TestSweepConfigFileAndEmit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "sweep.yaml")
	os.WriteFile(cfg, []byte("preset: ablations\nseeds: 0-1\nsteps: 20000\nparallel: 3\n"), 0o644)
	out := filepath.Join(dir, "out")
	// The file's grid (the ablations preset, seeds 0-1: 12 cells) and its
	// parallel, the array's %3.
	code, stdout, stderr := mbpo(t, "sweep", "--config", cfg, "--out", out, "--emit", "slurm", "--mbpo", "/opt/mbpo")
	if code != 0 || !strings.Contains(stdout, "12 array tasks") {
		t.Fatalf("emit slurm: exit %d\n%s%s", code, stdout, stderr)
	}
	script, _ := os.ReadFile(filepath.Join(out, "sweep.sbatch"))
	if !strings.Contains(string(script), "#SBATCH --array=0-11%3\n") {
		t.Errorf("script:\n%s", script)
	}
	// A flag wins over the file: one ablation, 2 cells.
	code, stdout, stderr = mbpo(t, "sweep", "--config", cfg, "--ablations", "none", "--out", filepath.Join(dir, "k8s"), "--emit", "k8s")
	if code != 0 || !strings.Contains(stdout, "Indexed Job of 2 completions") {
		t.Fatalf("emit k8s: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestSweepCommandLineErrors(t *testing.T) {
	out := t.TempDir()
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"sweep", "--envs", "Hopper-v4", "--seeds", "0"}, 2, "no ablations"},
		{[]string{"sweep", "--preset", "paper"}, 2, "--out is required"},
		{[]string{"sweep", "--preset", "nope", "--out", out}, 2, "want one of paper, ablations"},
		{[]string{"sweep", "--preset", "ablations", "--seeds", "3-1", "--out", out}, 2, "not a range"},
		{[]string{"sweep", "--preset", "ablations", "--set", "hiden=3", "--out", out}, 2, "no flag --hiden"},
		{[]string{"sweep", "--preset", "ablations", "--cell", "99", "--out", out}, 2, "cells 0 to 29"},
		{[]string{"sweep", "--preset", "ablations", "--emit", "pbs", "--out", out}, 2, "want slurm or k8s"},
		{[]string{"sweep", "--preset", "ablations", "--until", "-5", "--out", out}, 2, "--until -5: want env steps"},
		{[]string{"sweep", "--preset", "ablations", "--until", "5000", "--emit", "slurm", "--out", out}, 2, "an emitted job runs each cell to its end"},
		{[]string{"report"}, 2, "want exactly one DIR"},
		{[]string{"report", out}, 1, "no usable runs"},
		{[]string{"analyze", "exploitation", out}, 1, "is " + out + " a run directory"},
		{[]string{"analyze", "nothing", out}, 2, "unknown analysis"},
	}
	for _, tt := range tests {
		code, _, stderr := mbpo(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("mbpo %s: exit %d, %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.want)
		}
	}
}
