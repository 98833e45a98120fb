// machine_test.go: the host Machine's memory, ordering and graphs, and every
// launcher's arguments against its kernel's PTX signature, in number and in
// size, so a launch on the GPU reads what the Go side meant (the host cannot
// check this: dispatch.c unpacks the same bytes the Go side packed).

package kernels

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/gpu/gputest"
	"github.com/mbpogo/mbpo/rng"
)

// hostMachineFor returns a host Machine that fails the test if memory
// allocated through it is still live when the test ends.
func hostMachineFor(t *testing.T) Machine {
	t.Helper()
	m := OnHost()
	t.Cleanup(func() {
		if n := m.(*hostMachine).Live(); n != 0 {
			t.Errorf("%d host machine allocations were not freed", n)
		}
	})
	return m
}

// alloc returns n values of machine memory holding v (zeros when v is nil),
// freed when the test ends.
func alloc[T gpu.Elem](t testing.TB, m Machine, n int, v []T) Ptr {
	t.Helper()
	var zero T
	p, err := m.Alloc(n * sizeOf(zero))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Free(p); err != nil {
			t.Error(err)
		}
	})
	if v != nil {
		if err := Upload(m, p, v[:n]); err != nil {
			t.Fatal(err)
		}
	}
	return p
}

func sizeOf[T gpu.Elem](v T) int {
	switch any(v).(type) {
	case float64, int64, uint64:
		return 8
	case int16, uint16:
		return 2
	case int8, uint8:
		return 1
	}
	return 4
}

// fetch downloads n values from p.
func fetch[T gpu.Elem](t testing.TB, m Machine, p Ptr, n int) []T {
	t.Helper()
	out := make([]T, n)
	if err := Download(m, out, p); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHostMachineMemoryAndGraphs(t *testing.T) {
	m := hostMachineFor(t)
	const n = 10
	a := alloc[float32](t, m, n, nil)
	if got := fetch[float32](t, m, a, n); slices.ContainsFunc(got, func(v float32) bool { return v != 0 }) {
		t.Errorf("fresh memory is %v, want zeros", got)
	}
	if err := m.Memset32(a, 0x40000000, n); err != nil { // 2.0
		t.Fatal(err)
	}
	b := alloc(t, m, n, []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	if err := m.Copy(a, b, 4*5); err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 1, 2, 3, 4, 2, 2, 2, 2, 2}
	if got := fetch[float32](t, m, a, n); !slices.Equal(got, want) {
		t.Errorf("after memset and copy: %v, want %v", got, want)
	}

	// A graph of two normalisations replays them, in order, each time.
	mean := alloc(t, m, 1, []float32{1})
	std := alloc(t, m, 1, []float32{2})
	g, err := m.Capture(func() error {
		if err := Normalize(m, a, a, mean, std, n, 1); err != nil {
			return err
		}
		return Normalize(m, a, a, mean, std, n, 1)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if got := fetch[float32](t, m, a, n); !slices.Equal(got, want) {
		t.Errorf("capturing ran the work: %v", got)
	}
	for r := 0; r < 2; r++ {
		if err := g.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	got := fetch[float32](t, m, a, n)
	for i, w := range want {
		for r := 0; r < 4; r++ {
			w = (w - 1) / 2
		}
		if got[i] != w {
			t.Fatalf("after two replays a[%d] = %v, want %v", i, got[i], w)
		}
	}
	if _, err := m.Capture(func() error { return Upload(m, a, want) }); err == nil || !strings.Contains(err.Error(), "cannot be recorded") {
		t.Errorf("an upload in a capture: %v, want an error", err)
	}
	if err := m.Free(a + 4); err == nil {
		t.Error("freeing an address inside an allocation did not fail")
	}
	if d, err := m.Time(func() error { time.Sleep(time.Millisecond); return nil }); err != nil || d < time.Millisecond {
		t.Errorf("Time = %v, %v", d, err)
	}
	if err := m.Launch(Kernel(kernelCount), gpu.Dim3{X: 1}, gpu.Dim3{X: 1}, 0, nil); err == nil {
		t.Error("launching an unknown kernel did not fail")
	}
}

var paramRE = regexp.MustCompile(`\.param\s+(?:\.align\s+\d+\s+)?\.([a-z]+)(\d+)\s+\w+(?:\[(\d+)\])?`)

// ptxParamSizes reads the parameter sizes of entry from ptx.
func ptxParamSizes(t *testing.T, ptx, entry string) []int {
	t.Helper()
	start := strings.Index(ptx, ".visible .entry "+entry+"(")
	if start < 0 {
		t.Fatalf("no entry %s in the PTX", entry)
	}
	sig := ptx[start : start+strings.Index(ptx[start:], ")")]
	var sizes []int
	for _, m := range paramRE.FindAllStringSubmatch(sig, -1) {
		bits, _ := strconv.Atoi(m[2])
		size := bits / 8
		if m[3] != "" { // .b8 name[n]: a struct by value
			n, _ := strconv.Atoi(m[3])
			size *= n
		}
		sizes = append(sizes, size)
	}
	return sizes
}

// recorder is a Machine that records launches instead of running them.
type recorder struct {
	hostMachine
	launches []launch
}

type launch struct {
	k    Kernel
	args []int
}

func (r *recorder) Launch(k Kernel, grid, block gpu.Dim3, shared int, args *gpu.Args) error {
	var sizes []int
	if args != nil {
		sizes = args.Sizes()
	}
	r.launches = append(r.launches, launch{k, sizes})
	return nil
}

func (r *recorder) Memset32(Ptr, uint32, int) error { return nil }

func TestMachineLaunchersMatchKernelSignatures(t *testing.T) {
	r := &recorder{hostMachine: hostMachine{allocs: map[Ptr]int{}}}
	plan, err := PlanForward(engine.PaperEnsemble(11, 3, 200))
	if err != nil {
		t.Fatal(err)
	}
	ring := Ring{Cap: 10, ObsDim: 3, ActDim: 1}
	calls := []error{
		Forward(r, plan, 1, 2, 3, 4, 5, 6, 10, 7),
		Predict(r, plan, 1, 2, 3, 4, 5, 6, 7, 8, 10),
		Gemm(r, GemmArgs{M: 1, N: 1, K: 1}),
		Normalize(r, 1, 2, 3, 4, 5, 6),
		Colsum(r, 1, 2, 3, 4, 5, 6, 7),
		GaussNLLGrad(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1),
		GaussBounds(r, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		Tick(r, 1),
		Adam(r, AdamArgs{N: 10, Decay: []Decay{{0, 5, 0.1}}}),
		LossFinish(r, 1, 2, 3, 4),
		GaussEval(r, 1, 2, 3, 4, 5, 6, 7, 8, 9),
		PolicyAct(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, -20, 2, false),
		PolicySample(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, -20, 2),
		Concat(r, 1, 2, 3, 4, 5, 6),
		TDTarget(r, 1, 2, 3, 4, 5, 6, 0.99, 8),
		CriticGrad(r, 1, 2, 3, 4, 5),
		ActorGrad(r, 1, 2, 3, 4, 5, 6, 7, -3, 9),
		PolicyBackward(r, 1, 2, 3, 4, 5, 6, 7, -20, 2),
		RingAppend(r, ring, 1, 2, 3, 4, 5, 6, 7),
		RolloutStart(r, 1, 2, ring, 3, 4),
		PickElites(r, 1, 2, 3, 4, 5, 6, 7, 8),
		CountMembers(r, 1, 2, 3, 4),
		GroupRows(r, 1, 2, 3, 4, 5, 6, 7),
		ModelSample(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, TermHopper),
		Compact(r, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
		SACGather(r, 1, 2, 3, 4, 5, ring, ring, 6, 7, 8),
		TerminalRows(r, 1, 2, 3, 4, TermAnt),
		ModelRows(r, 1, 2, ring, 3, 4),
		GatherBatch(r, 1, 2, 3, 4, 5, 6, 7, 8),
		ColumnStats(r, 1, 2, 3, 4, 5),
		Swish(r, 1, 2, 3),
		GaussianHead(r, 1, 2, 3, 4, 5, 6, 7),
		RNGFill(r, 1, rng.Key{Seed: 1}, 0, 4, RNGNormal),
		Empty(r),
		AddOne(r, 1, 2),
	}
	for i, err := range calls {
		if err != nil {
			t.Fatalf("launcher %d: %v", i, err)
		}
	}
	seen := map[Kernel]bool{}
	for _, l := range r.launches {
		info := kernelTable()[l.k]
		src, err := PTX(info.module)
		if err != nil {
			t.Fatal(err)
		}
		if want := ptxParamSizes(t, src, info.name); !slices.Equal(l.args, want) {
			t.Errorf("%s: the launcher passes arguments of %v bytes, the PTX declares %v", info.name, l.args, want)
		}
		seen[l.k] = true
	}
	for k := Kernel(0); int(k) < kernelCount; k++ {
		if !seen[k] {
			t.Errorf("no launcher of %v was checked", k)
		}
	}
}

func TestKeyBytesMatchKernelLayout(t *testing.T) {
	if got := len(EncodeKey(rng.Key{Seed: 1})); got != KeyBytes {
		t.Errorf("EncodeKey gives %d bytes, mbpo_key has %d", got, KeyBytes)
	}
}

// TestMachineOnFakeDriver loads every module on the fake driver (which runs
// the two launch-path kernels only) and launches through the Machine: the
// launch-path kernels work, and a kernel the fake cannot run fails with an
// error naming it and the driver's code.
func TestMachineOnFakeDriver(t *testing.T) {
	d, err := gpu.Options{Library: fakecuda.Build(t)}.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	gputest.CheckLeaks(t, d)
	m, err := OnGPU(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	checkBenchKernels(t, m)
	p, err := PlanForward(engine.PaperEnsemble(11, 3, 200))
	if err != nil {
		t.Fatal(err)
	}
	err = Forward(m, p, 1, 2, 3, 4, 5, 6, 10, 0)
	if !errors.Is(err, gpu.NotSupported) || !strings.Contains(err.Error(), "mbpo_ensemble_forward") {
		t.Errorf("forward on the fake driver: %v, want CUDA_ERROR_NOT_SUPPORTED naming the kernel", err)
	}
	if err := Forward(m, p, 1, 2, 3, 4, 5, 6, 0, 0); err == nil {
		t.Error("a forward over 0 rows was launched")
	}
	if _, err := KernelAttribute(OnHost(), KEnsembleForward, gpu.Registers); err == nil {
		t.Error("KernelAttribute on the host machine did not fail")
	}
}
