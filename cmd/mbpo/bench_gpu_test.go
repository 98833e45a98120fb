// bench_gpu_test.go: "mbpo bench gpu" refuses to run without a GPU, its
// runtime measurements work end to end on the fake driver, and all its
// stages, the forward's check included, on the host build of the kernels.

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
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

// checkGPUBenchStages runs bench gpu's runtime stages on m: each must measure
// something, and benchGraph also checks that every launch and replay ran.
func checkGPUBenchStages(t *testing.T, m kernels.Machine) {
	t.Helper()
	launch, err := benchLaunch(m, 50)
	if err != nil || !(launch > 0) {
		t.Errorf("benchLaunch = %v, %v", launch, err)
	}
	var res gpuBenchResult
	if err := benchGraph(m, 7, &res); err != nil {
		t.Fatal(err)
	}
	if !(res.Launches20US > 0 && res.Graph20US > 0 && res.GraphRatio > 0 && res.Launches20Syn > 0 && res.Graph20Syn > 0) {
		t.Errorf("graph timings not all positive: %+v", res)
	}
	gbs, err := benchCopy(m, 1<<20)
	if err != nil || !(gbs > 0) {
		t.Errorf("benchCopy = %v, %v", gbs, err)
	}
}

func TestBenchGPURuntimeOnFakeDriver(t *testing.T) {
	d, err := gpu.Options{Library: fakecuda.Build(t)}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	m, err := kernels.OnGPU(d)
	if err != nil {
		t.Fatal(err)
	}
	checkGPUBenchStages(t, m)
	if n, _ := d.Live(); n != 0 {
		t.Errorf("%d allocations left after the benchmarks", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestBenchGPUOnHostMachine runs every stage of bench gpu, the forward and
// its check against the CPU engine included, on the host build of the
// kernels: the same launches the GPU runs.
func TestBenchGPUOnHostMachine(t *testing.T) {
	m := &countAllocs{Machine: kernels.OnHost()}
	defer m.Close()
	checkGPUBenchStages(t, m)
	spec := engine.PaperEnsemble(5, 2, 16)
	var res gpuBenchResult
	if err := benchForward(m, 0, spec, 300, 2, 50, &res); err != nil {
		t.Fatal(err)
	}
	if !res.CheckPass || res.CheckRows != 50 || !(res.ForwardMS > 0) || res.Rows != 300 {
		t.Errorf("forward on the host machine: %+v; want a passing check of 50 rows and a positive time", res)
	}
	if n := m.live; n != 0 {
		t.Errorf("%d host machine allocations left after the benchmarks", n)
	}
	var out bytes.Buffer
	printGPUBench(&app{stdout: &out}, res)
	if !strings.Contains(out.String(), "PASS") {
		t.Errorf("the printed results do not say PASS:\n%s", out.String())
	}
}

// countAllocs is a Machine that counts its live allocations.
type countAllocs struct {
	kernels.Machine
	live int
}

func (c *countAllocs) Alloc(bytes int) (kernels.Ptr, error) {
	p, err := c.Machine.Alloc(bytes)
	if err == nil {
		c.live++
	}
	return p, err
}

func (c *countAllocs) Free(p kernels.Ptr) error {
	err := c.Machine.Free(p)
	if err == nil {
		c.live--
	}
	return err
}
