// gpu_test.go: GPU's runtime measurements work end to end on the fake
// driver, and every stage, the forward's check against the CPU engine
// included, on the host build of the kernels: the same launches the GPU
// runs. A stage that fails leaves what was measured before it.
//
//	go test ./bench -run BenchGPU

package bench

import (
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/kernels"
)

// checkGPURuntime runs GPU's runtime stages on m: each must measure
// something, and graphReplay also checks that every launch and replay ran.
func checkGPURuntime(t *testing.T, m kernels.Machine) {
	t.Helper()
	launch, err := launchLatency(m, 50)
	if err != nil || !(launch > 0) {
		t.Errorf("launchLatency = %v, %v", launch, err)
	}
	var res GPUResult
	if err := graphReplay(m, 7, &res); err != nil {
		t.Fatal(err)
	}
	if !(res.Launches20US > 0 && res.Graph20US > 0 && res.GraphRatio > 0 && res.Launches20Syn > 0 && res.Graph20Syn > 0) {
		t.Errorf("graph timings not all positive: %+v", res)
	}
	gbs, err := copyBandwidth(m, 1<<20)
	if err != nil || !(gbs > 0) {
		t.Errorf("copyBandwidth = %v, %v", gbs, err)
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
	checkGPURuntime(t, m)
	if n, _ := d.Live(); n != 0 {
		t.Errorf("%d allocations left after the benchmarks", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
}

// smallGPU sizes GPU for the host machine.
var smallGPU = GPUOptions{Launches: 50, Batches: 7, CopyBytes: 1 << 20,
	Rows: 300, Members: 3, Hidden: 16, Layers: 2, Obs: 5, Act: 2, Reps: 2, CheckRows: 50}

// TestBenchGPUOnHostMachine runs every stage of GPU, the forward and its
// check against the CPU engine included, on the host build of the kernels.
func TestBenchGPUOnHostMachine(t *testing.T) {
	m := &countAllocs{Machine: kernels.OnHost()}
	defer m.Close()
	checkGPURuntime(t, m)
	res, err := GPU(m, gpu.Info{Name: "host", DriverVersion: 12040}, smallGPU)
	if err != nil {
		t.Fatal(err)
	}
	if !res.CheckPass || res.CheckRows != 50 || !(res.ForwardMS > 0) || res.Rows != 300 || res.Members != 3 ||
		len(res.Hidden) != 2 || res.In != 7 || res.Out != 6 || res.Error != "" {
		t.Errorf("forward on the host machine: %+v; want a passing check of 50 rows and a positive time", res)
	}
	if !(res.LaunchUS > 0 && res.Graph20US > 0 && res.CopyGBs > 0) || res.Driver != "CUDA 12.4" || !strings.HasPrefix(res.Device, "host") {
		t.Errorf("runtime on the host machine: %+v", res)
	}
	if n := m.live; n != 0 {
		t.Errorf("%d host machine allocations left after the benchmarks", n)
	}
}

// TestBenchGPUKeepsWhatItMeasured: a forward that cannot run (a device with
// too little shared memory for its plan) stops GPU with an error, and the
// result holds that error and the runtime figures measured before it.
func TestBenchGPUKeepsWhatItMeasured(t *testing.T) {
	m := kernels.OnHost()
	defer m.Close()
	res, err := GPU(m, gpu.Info{MaxSharedPerBlockOpt: 16}, smallGPU)
	if err == nil || !strings.Contains(err.Error(), "shared memory") || res.Error != err.Error() {
		t.Fatalf("GPU with 16 bytes of shared memory: %v, result error %q; want the forward's shared memory error in both", err, res.Error)
	}
	if !(res.LaunchUS > 0 && res.Graph20US > 0 && res.CopyGBs > 0) || res.ForwardMS != 0 {
		t.Errorf("want the runtime figures and no forward: %+v", res)
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
