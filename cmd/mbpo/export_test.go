package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportCommand: mbpo export writes the formats asked for into --out
// (default RUN_DIR/export) and names each file; a wrong format or no run
// directory is a usage error (status 2).
func TestExportCommand(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runMbpo(append([]string{"train", "--run-dir", dir}, tinyTrain()...)...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(t.TempDir(), "weights")
	code, stdout, stderr := runMbpo("export", dir, "--format", "safetensors,onnx", "--out", out)
	if code != 0 {
		t.Fatalf("export: exit %d\n%s", code, stderr)
	}
	for _, name := range []string{"networks.safetensors", "policy.onnx"} {
		path := filepath.Join(out, name)
		if st, err := os.Stat(path); err != nil || st.Size() < 1000 {
			t.Errorf("%s: %v", path, err)
		}
		if !strings.Contains(stdout, path+" (") {
			t.Errorf("export did not name %s:\n%s", path, stdout)
		}
	}
	if code, stdout, stderr = runMbpo("export", dir); code != 0 || !strings.Contains(stdout, filepath.Join(dir, "export", "networks.safetensors")) {
		t.Errorf("export with the defaults: exit %d\n%s%s", code, stdout, stderr)
	}
	for _, args := range [][]string{{"export", dir, "--format", "pt"}, {"export"}, {"export", dir, dir}} {
		if code, _, stderr := runMbpo(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
}
