// devices_test.go: --device cuda:N and --devices on a machine whose driver
// (the fake one of the gpu tests) reports four GPUs: a GPU it lacks is a
// usage error naming those it has, before anything is written; a GPU it has
// is the one the engine opens.
//
//	go test ./cmd/mbpo -run Devices

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
)

func TestDevicesOnAMachineWithFourGPUs(t *testing.T) {
	t.Setenv(gpu.LibraryEnv, fakecuda.Build(t, "FAKE_DEVICE_COUNT=4"))
	dir := t.TempDir()
	const four = "the NVIDIA driver sees 4 CUDA devices (cuda:0 to cuda:3)"
	tiny := []string{"--envs", "InvertedPendulum-v4", "--ablations", "none", "--seeds", "0-3", "--steps", "600", "--log-level", "warn"}
	for _, tt := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"train on a GPU it lacks", []string{"train", "--env", "InvertedPendulum-v4", "--device", "cuda:9", "--run-dir", filepath.Join(dir, "run")},
			"mbpo train: --device cuda:9: gpu: no device cuda:9: " + four},
		{"eval on a GPU it lacks", []string{"eval", "--device", "cuda:4", filepath.Join(dir, "run")}, "no device cuda:4: " + four},
		{"sweep on GPUs it lacks", append([]string{"sweep", "--devices", "0,2,9", "--out", filepath.Join(dir, "sweep")}, tiny...),
			"mbpo sweep: --devices: gpu: no device cuda:9: " + four},
		{"sweep on a GPU it lacks", append([]string{"sweep", "--device", "cuda:5", "--out", filepath.Join(dir, "sweep")}, tiny...),
			"mbpo sweep: --device: gpu: no device cuda:5: " + four},
		{"a GPU twice", append([]string{"sweep", "--devices", "0,1,1", "--out", filepath.Join(dir, "sweep")}, tiny...), "GPU 1 is listed twice"},
		{"not numbers", append([]string{"sweep", "--devices", "cuda:0", "--out", filepath.Join(dir, "sweep")}, tiny...), "want GPU numbers from 0"},
		{"devices on the CPU", append([]string{"sweep", "--devices", "0,1", "--device", "cpu", "--out", filepath.Join(dir, "sweep")}, tiny...),
			"--devices 0,1 and --device cpu"},
		{"devices emitted", append([]string{"sweep", "--devices", "0,1", "--emit", "slurm", "--out", filepath.Join(dir, "sweep")}, tiny...),
			"an emitted job's tasks get theirs from the cluster"},
		{"a bad device", []string{"train", "--device", "cuda:x", "--run-dir", filepath.Join(dir, "run")}, `--device "cuda:x": want auto, cpu, cuda or cuda:N`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := mbpo(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("mbpo %s: exit %d, %q; want exit 2 with %q", strings.Join(tt.args, " "), code, stderr, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the refused commands wrote %d entries", len(entries))
	}

	// A GPU it has: the engine opens that one, and says so.
	_, _, stderr := mbpo(t, "train", "--env", "InvertedPendulum-v4", "--device", "cuda:2", "--steps", "600", "--log-format", "json",
		"--run-dir", filepath.Join(dir, "gpu2"))
	if !strings.Contains(stderr, "Fake GPU (device 2,") {
		t.Errorf("--device cuda:2 did not open device 2:\n%s", stderr)
	}
}
