package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// tinyTrain returns the flags of a train run of about a second.
func tinyTrain() []string {
	return []string{"--env", "InvertedPendulum-v4", "--steps", "600", "--epoch-length", "300", "--init-steps", "300",
		"--G", "2", "--hidden", "32", "--model-hidden", "32", "--model-train-freq", "150", "--rollout-batch", "400",
		"--model-max-epochs", "3", "--eval-episodes", "2", "--model-return-horizon", "50", "--device", "cpu"}
}

func TestTrainEvalResume(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	code, stdout, stderr := runMbpo(append([]string{"train", "--run-dir", dir}, tinyTrain()...)...)
	if code != 0 || !strings.Contains(stdout, "run directory: "+dir) {
		t.Fatalf("train: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.Contains(stderr, "epoch=2") || !strings.Contains(stderr, "eval_return=") {
		t.Errorf("train logged no epoch lines:\n%s", stderr)
	}
	code, stdout, stderr = runMbpo("eval", "--episodes", "3", dir)
	if code != 0 || !strings.Contains(stdout, "3 episodes, return") {
		t.Fatalf("eval: exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	// Resume with a longer total, logging JSON: one object per line.
	code, _, stderr = runMbpo("train", "--resume", dir, "--steps", "900", "--log-format", "json")
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	epochs := 0
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("--log-format json wrote a non-JSON line %q", line)
		}
		if m["message"] == "epoch" {
			epochs++
			if m["env_steps"].(float64) != 900 {
				t.Errorf("resumed epoch at env step %v, want 900", m["env_steps"])
			}
		}
	}
	if epochs != 1 {
		t.Errorf("resumed run logged %d epochs, want 1", epochs)
	}
}

func TestCommandLineMisuse(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no command", nil, 2, "Usage"},
		{"unknown command", []string{"trian"}, 2, `unknown command "trian"`},
		{"unknown env", []string{"train", "--env", "Hopper-v9"}, 2, "Hopper-v4"},
		{"bad flag value", []string{"train", "--env", "Hopper-v4", "--G", "0"}, 2, "--G 0"},
		{"bad schedule", []string{"train", "--rollout-schedule", "1,2,3"}, 2, "a,b,kmin,kmax"},
		{"unknown flag", []string{"train", "--gee", "3"}, 2, "flag provided but not defined"},
		{"eval without a run", []string{"eval"}, 2, "RUN_DIR"},
		{"eval of a missing run", []string{"eval", t.TempDir()}, 1, "no checkpoint"},
		{"cuda without a GPU", append([]string{"train", "--run-dir", t.TempDir()}, append(tinyTrain(), "--device", "cuda")...), 1, "cuda"},
		{"bad log format", []string{"train", "--log-format", "xml"}, 2, "--log-format"},
	}
	for _, tt := range tests {
		code, _, stderr := runMbpo(tt.args...)
		if code != tt.wantCode || !strings.Contains(stderr, tt.wantErr) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d mentioning %q", tt.name, code, stderr, tt.wantCode, tt.wantErr)
		}
	}
	if code, stdout, _ := runMbpo("help"); code != 0 || !strings.Contains(stdout, "train") {
		t.Errorf("mbpo help: exit %d, %q", code, stdout)
	}
	if code, _, stderr := runMbpo("train", "-h"); code != 0 || !strings.Contains(stderr, "--rollout-schedule") {
		t.Errorf("mbpo train -h: exit %d", code)
	}
}
