// bench_gpu_test.go: "mbpo bench gpu" refuses to run without a GPU and
// prints its verdict; what it measures is tested in package bench
// (bench/gpu_test.go: on the fake driver and on the host build).

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/gpu"
)

func TestBenchGPUWithoutGPU(t *testing.T) {
	if d, err := gpu.Open(); err == nil {
		d.Close()
		t.Skip("this machine has a GPU")
	}
	tests := []struct {
		args     []string
		wantCode int
		wantErr  string
	}{
		{[]string{"bench", "gpu"}, 1, "bench gpu needs a GPU and found none"},
		{[]string{"bench", "gpu", "--device", "cuda"}, 1, "--device cuda: gpu: no usable NVIDIA driver"},
		{[]string{"bench", "gpu", "--device", "cpu"}, 2, "--device cpu: bench gpu measures a GPU"},
		{[]string{"bench", "gpu", "--rows", "0"}, 2, "must be positive"},
	}
	for _, tt := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tt.args, &stdout, &stderr); code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantErr) {
			t.Errorf("mbpo %s: exit %d, stderr %q; want exit %d and %q", strings.Join(tt.args, " "), code, stderr.String(), tt.wantCode, tt.wantErr)
		}
	}
}

// TestPrintGPUBench: the printed table says PASS or FAIL for the forward's
// check, and why a run stopped early.
func TestPrintGPUBench(t *testing.T) {
	for _, c := range []struct {
		res  bench.GPUResult
		want []string
	}{
		{bench.GPUResult{Device: "H100", CheckPass: true, CheckRows: 50, CheckTol: bench.CheckTolerance}, []string{"device", "H100", "check against the CPU engine (50 rows)", "PASS"}},
		{bench.GPUResult{CheckMaxRel: 0.5}, []string{"FAIL"}},
		{bench.GPUResult{Error: "out of memory"}, []string{"stopped early", "out of memory"}},
	} {
		var out bytes.Buffer
		printGPUBench(&app{stdout: &out}, c.res)
		for _, want := range c.want {
			if !strings.Contains(out.String(), want) {
				t.Errorf("printed %+v without %q:\n%s", c.res, want, out.String())
			}
		}
	}
}
