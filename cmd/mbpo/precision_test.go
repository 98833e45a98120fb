// precision_test.go: --precision on the commands: a bf16 run resumes to the
// metrics of an uninterrupted one on another thread count; the checkpoint
// and config.json record the precision; resuming in another precision is
// refused unless --change-precision asks for it; bad values exit 2; the
// benchmarks run bf16.

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/trainer"
)

// needBF16 skips a test on a processor without bf16 instructions; a
// missing oneDNN (scripts/deps.sh installs it) fails it.
func needBF16(t *testing.T) {
	t.Helper()
	if err := cpu.New(cpu.Options{}).CheckPrecision(engine.BF16); err != nil {
		if strings.Contains(err.Error(), "cannot be loaded") {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// recorded returns the precision of dir's config.json and of its
// checkpoint.
func recorded(t *testing.T, dir string) (configJSON, checkpoint string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c trainer.Config
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	ck, err := trainer.ReadCheckpointConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	return c.Precision, ck.Precision
}

func TestPrecisionOnTrainAndResume(t *testing.T) {
	needBF16(t)
	args := append(tinyTrain(), "--checkpoint-every", "1", "--log-level", "warn", "--precision", "bf16")
	whole := filepath.Join(t.TempDir(), "whole")
	if code, _, stderr := runMbpo(append(append([]string{"train", "--run-dir", whole}, args...), "--steps", "900", "--threads", "1")...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := runMbpo(append(append([]string{"train", "--run-dir", dir}, args...), "--threads", "1")...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	if c, ck := recorded(t, dir); c != "bf16" || ck != "bf16" {
		t.Errorf("precision recorded in config.json %q, in the checkpoint %q, want bf16", c, ck)
	}

	// Another precision on resume: refused, nothing touched.
	before := files(t, dir)
	code, _, stderr := runMbpo("train", "--resume", dir, "--steps", "900", "--precision", "fp32")
	if code != 2 || !strings.Contains(stderr, "--change-precision") || !strings.Contains(stderr, "computes in bf16") {
		t.Errorf("resume in fp32 without --change-precision: exit %d, want 2 and a message naming --change-precision:\n%s", code, stderr)
	}
	if !equalFiles(before, files(t, dir)) {
		t.Error("a refused resume changed the run directory")
	}
	if code, _, stderr := runMbpo(append([]string{"train", "--run-dir", filepath.Join(t.TempDir(), "x"), "--change-precision"}, tinyTrain()...)...); code != 2 || !strings.Contains(stderr, "goes with --resume") {
		t.Errorf("--change-precision without --resume: exit %d\n%s", code, stderr)
	}

	// The same precision, given or not, on another thread count: the run
	// repeats the uninterrupted one bitwise.
	if code, _, stderr := runMbpo("train", "--resume", dir, "--steps", "900", "--threads", "2", "--precision", "bf16", "--log-level", "warn"); code != 0 {
		t.Fatalf("resume in bf16 on 2 threads: exit %d\n%s", code, stderr)
	}
	a, b := learningRows(t, whole), learningRows(t, dir)
	if len(a) != 3 || !slices.Equal(a, b) {
		t.Errorf("bf16 run resumed on 2 threads:\n%s\nwhole run on 1 thread:\n%s", strings.Join(b, "\n"), strings.Join(a, "\n"))
	}

	// Asked for: the run goes on in fp32, and says so where it is recorded.
	code, _, stderr = runMbpo("train", "--resume", dir, "--steps", "1200", "--precision", "fp32", "--change-precision")
	if code != 0 || !strings.Contains(stderr, "changing the run's precision") {
		t.Fatalf("resume with --change-precision: exit %d\n%s", code, stderr)
	}
	if c, ck := recorded(t, dir); c != "fp32" || ck != "fp32" {
		t.Errorf("after --change-precision: config.json %q, checkpoint %q, want fp32", c, ck)
	}
}

func TestPrecisionUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"train", "--precision", "fp16"},
		{"bench", "sac", "--precision", "fp16"},
		{"bench", "train", "--precision", "int8"},
		{"sweep", "--envs", "Hopper-v4", "--ablations", "none", "--seeds", "0", "--precision", "bf17", "--out", filepath.Join(t.TempDir(), "s")},
		{"train", "--precision", "bf16", "--device", "cuda"},
	} {
		if code, _, stderr := runMbpo(args...); code != 2 || !strings.Contains(stderr, "precision") {
			t.Errorf("%v: exit %d, want 2 and a message about the precision:\n%s", args, code, stderr)
		}
	}
}

func TestBenchSACInBF16(t *testing.T) {
	needBF16(t)
	var res bench.SACResult
	runJSON(t, &res, "bench", "sac", "--device", "cpu", "--precision", "bf16", "--updates", "5", "--real", "300")
	if res.Precision != "bf16" || !strings.Contains(res.Products, "bf16 products through oneDNN") || !(res.UpdatesPerSec > 0) {
		t.Errorf("bench sac --precision bf16: precision %q, products %q, %v updates/s", res.Precision, res.Products, res.UpdatesPerSec)
	}
}
