// bench_gpu_test.go: "mbpo bench gpu" refuses to run without a GPU, and its
// runtime measurements work end to end on the fake driver.

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/kernels"
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

func TestBenchGPURuntimeOnFakeDriver(t *testing.T) {
	d, err := gpu.Options{Library: fakecuda.Build(t)}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ks, err := kernels.Load(d)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	launch, err := benchLaunch(s, ks, 50)
	if err != nil || !(launch > 0) {
		t.Errorf("benchLaunch = %v, %v", launch, err)
	}
	var res gpuBenchResult
	if err := benchGraph(s, ks, 7, &res); err != nil {
		t.Fatal(err) // it also checks that every launch and replay ran
	}
	if !(res.Launches20US > 0 && res.Graph20US > 0 && res.GraphRatio > 0 && res.Launches20Syn > 0 && res.Graph20Syn > 0) {
		t.Errorf("graph timings not all positive: %+v", res)
	}
	gbs, err := benchCopy(s, 1<<20)
	if err != nil || !(gbs > 0) {
		t.Errorf("benchCopy = %v, %v", gbs, err)
	}
	if n, _ := d.Live(); n != 0 {
		t.Errorf("%d allocations left after the benchmarks", n)
	}
}
