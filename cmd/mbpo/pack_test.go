package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackCommand: mbpo pack copies every checkpointed run under SRC to the
// same place under DEST, names each, and a packed run resumes with train
// --resume; a wrong command line is a usage error, a tree without runs a
// failure.
func TestPackCommand(t *testing.T) {
	src := t.TempDir()
	for _, seed := range []string{"0", "1"} {
		dir := filepath.Join(src, "InvertedPendulum-v4", "seed_"+seed)
		if code, _, stderr := runMbpo(append([]string{"train", "--run-dir", dir, "--seed", seed}, tinyTrain()...)...); code != 0 {
			t.Fatalf("train seed %s: exit %d\n%s", seed, code, stderr)
		}
	}
	if err := os.MkdirAll(filepath.Join(src, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A run without a checkpoint yet: its config only.
	noCkpt := filepath.Join(src, "fresh", "seed_0")
	if err := os.MkdirAll(noCkpt, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := os.ReadFile(filepath.Join(src, "InvertedPendulum-v4", "seed_0", "config.json"))
	if err := os.WriteFile(filepath.Join(noCkpt, "config.json"), cfg, 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "packed")
	code, stdout, stderr := runMbpo("pack", src, dest)
	if code != 0 {
		t.Fatalf("pack: exit %d\n%s", code, stderr)
	}
	for _, seed := range []string{"0", "1"} {
		dir := filepath.Join(dest, "InvertedPendulum-v4", "seed_"+seed)
		if !strings.Contains(stdout, dir+": 600 env steps") {
			t.Errorf("pack did not name %s at 600 env steps:\n%s", dir, stdout)
		}
		for _, f := range []string{"config.json", "metrics.jsonl", "metrics.csv", "checkpoint.mbpo"} {
			if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
				t.Error(err)
			}
		}
	}
	if !strings.Contains(stdout, noCkpt+": no checkpoint yet, skipped") {
		t.Errorf("pack did not name the run without a checkpoint:\n%s", stdout)
	}
	for _, d := range []string{"empty", "fresh"} {
		if _, err := os.Stat(filepath.Join(dest, d)); err == nil {
			t.Errorf("pack made %s for a directory without a checkpoint", d)
		}
	}
	// One run directory as SRC, through a symbolic link; DEST inside SRC is
	// left out of the walk the second time.
	link := filepath.Join(t.TempDir(), "link")
	if err := os.Symlink(filepath.Join(src, "InvertedPendulum-v4", "seed_1"), link); err != nil {
		t.Fatal(err)
	}
	inside := filepath.Join(link, "packed")
	for i := 0; i < 2; i++ {
		code, stdout, stderr := runMbpo("pack", link, inside)
		if code != 0 || strings.Count(stdout, "env steps") != 1 || !strings.Contains(stdout, inside+": 600 env steps") {
			t.Errorf("pack of a linked run directory into itself/packed (try %d): exit %d\n%s%s", i+1, code, stdout, stderr)
		}
	}
	if code, _, stderr := runMbpo("pack", link, filepath.Join(src, "InvertedPendulum-v4", "seed_1")); code != exitUsage || !strings.Contains(stderr, "same directory") {
		t.Errorf("pack of a run into itself: exit %d\n%s", code, stderr)
	}
	packed := filepath.Join(dest, "InvertedPendulum-v4", "seed_0")
	if code, _, stderr := runMbpo("train", "--resume", packed, "--steps", "900"); code != 0 || !strings.Contains(stderr, "refilling") {
		t.Errorf("train --resume of a packed run: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runMbpo("pack", filepath.Join(src, "empty"), dest); code != exitFailed || !strings.Contains(stderr, "no run with a checkpoint") {
		t.Errorf("pack of a tree without runs: exit %d\n%s", code, stderr)
	}
	for _, args := range [][]string{{"pack"}, {"pack", src}, {"pack", src, dest, dest}} {
		if code, _, stderr := runMbpo(args...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
}
