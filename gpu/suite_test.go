// suite_test.go: the binding's behaviour checks, each run twice: on the fake
// driver here (TestFake...) and on a real GPU where there is one (TestGPU...,
// skipped elsewhere). testdata/axpy.ptx holds the kernels the fake imitates.

package gpu_test

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"math"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/gpu/gputest"
)

//go:embed testdata/axpy.ptx
var axpyPTX string

// checks are the behaviour checks, by name.
func checks() []struct {
	name string
	run  func(t *testing.T, d *gpu.Device)
} {
	return []struct {
		name string
		run  func(t *testing.T, d *gpu.Device)
	}{
		{"Info", checkInfo},
		{"MemoryRoundTrip", checkMemoryRoundTrip},
		{"OutOfMemory", checkOutOfMemory},
		{"ModuleErrors", checkModuleErrors},
		{"LaunchArgs", checkLaunchArgs},
		{"Graph", checkGraph},
		{"Events", checkEvents},
		{"OtherThreads", checkOtherThreads},
	}
}

func TestFake(t *testing.T) {
	lib := fakecuda.Build(t) // one library: each check opens its own device on it
	for _, c := range checks() {
		t.Run(c.name, func(t *testing.T) {
			d, err := gpu.Options{Library: lib}.Open()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			gputest.CheckLeaks(t, d)
			c.run(t, d)
		})
	}
}

func TestGPU(t *testing.T) {
	for _, c := range checks() {
		t.Run(c.name, func(t *testing.T) { c.run(t, gputest.Open(t)) })
	}
}

func checkInfo(t *testing.T, d *gpu.Device) {
	info := d.Info()
	t.Logf("device: %v", info)
	if info.Name == "" || info.SMs < 1 || info.ComputeMajor < 5 || info.TotalMemory < 1<<20 ||
		info.MaxThreadsPerBlock < 256 || info.DriverVersion < 1000 {
		t.Errorf("implausible device info: %+v", info)
	}
	free, total, err := d.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	if total != info.TotalMemory || free <= 0 || free > total {
		t.Errorf("MemInfo = %d free of %d, device has %d", free, total, info.TotalMemory)
	}
}

func mustStream(t *testing.T, d *gpu.Device) *gpu.Stream {
	t.Helper()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing stream: %v", err)
		}
	})
	return s
}

func mustAlloc(t *testing.T, d *gpu.Device, bytes int) *gpu.Buffer {
	t.Helper()
	b, err := d.Alloc(bytes)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("freeing buffer: %v", err)
		}
	})
	return b
}

func checkMemoryRoundTrip(t *testing.T, d *gpu.Device) {
	s := mustStream(t, d)
	const n = 1000
	a, b := mustAlloc(t, d, 4*n), mustAlloc(t, d, 4*n)
	if live, bytes := d.Live(); live < 2 || bytes < 8*n {
		t.Errorf("Live() = %d, %d after two allocations of %d bytes", live, bytes, 4*n)
	}
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(i) * 0.5
	}
	if err := gpu.Upload(s, a.Ptr(), src); err != nil {
		t.Fatal(err)
	}
	if err := s.Copy(b.Ptr(), a.Ptr(), 4*n); err != nil {
		t.Fatal(err)
	}
	// Overwrite words 10..19 of b with 7.0 and bytes 0..3 (word 0) with zeros.
	if err := s.Memset32(b.Ptr().Add(40), math.Float32bits(7), 10); err != nil {
		t.Fatal(err)
	}
	if err := s.Memset8(b.Ptr(), 0, 4); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, n)
	if err := gpu.Download(s, got, b.Ptr()); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		want := src[i]
		if i >= 10 && i < 20 {
			want = 7
		}
		if got[i] != want {
			t.Fatalf("element %d = %v after upload, copy and memsets, want %v", i, got[i], want)
		}
	}

	// Pinned buffers: asynchronous copies both ways.
	h, err := d.AllocHost(4 * n)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	}()
	hv := h.Float32s()
	if len(hv) != n {
		t.Fatalf("pinned buffer of %d bytes holds %d float32s", h.Size(), len(hv))
	}
	for i := range hv {
		hv[i] = -float32(i)
	}
	if err := s.CopyFromHost(a.Ptr(), h, 4*n); err != nil {
		t.Fatal(err)
	}
	clear(hv)
	if err := s.CopyToHost(h, a.Ptr(), 4*n); err != nil {
		t.Fatal(err)
	}
	if err := s.Synchronize(); err != nil {
		t.Fatal(err)
	}
	for i := range hv {
		if hv[i] != -float32(i) {
			t.Fatalf("pinned round trip: element %d = %v, want %v", i, hv[i], -float32(i))
		}
	}
	if err := s.CopyToHost(h, a.Ptr(), 4*n+4); err == nil {
		t.Error("CopyToHost past the end of the host buffer did not fail")
	}
	// Close is idempotent.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func checkOutOfMemory(t *testing.T, d *gpu.Device) {
	_, total, err := d.MemInfo()
	if err != nil {
		t.Fatal(err)
	}
	live, _ := d.Live()
	b, err := d.Alloc(int(total) * 2)
	if err == nil {
		b.Close()
		t.Fatalf("allocating twice the device's %d bytes succeeded", total)
	}
	if !errors.Is(err, gpu.OutOfMemory) {
		t.Errorf("error %q is not gpu.OutOfMemory", err)
	}
	for _, want := range []string{"cuMemAlloc_v2", "CUDA_ERROR_OUT_OF_MEMORY", "MiB free"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if now, _ := d.Live(); now != live {
		t.Errorf("a failed allocation changed Live() from %d to %d", live, now)
	}
	if _, err := d.Alloc(0); err == nil {
		t.Error("Alloc(0) did not fail")
	}
}

func checkModuleErrors(t *testing.T, d *gpu.Device) {
	// Broken PTX: the JIT log must come back in the error.
	_, err := d.LoadModule(".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry broken() {\n FAKE_SYNTAX_ERROR;\n ret;\n}\n")
	var e *gpu.Error
	if !errors.As(err, &e) {
		t.Fatalf("loading broken PTX: %v, want a *gpu.Error", err)
	}
	if !errors.Is(err, gpu.InvalidPTX) {
		t.Errorf("loading broken PTX: %v, want CUDA_ERROR_INVALID_PTX", err)
	}
	if e.Log == "" || !strings.Contains(err.Error(), e.Log) {
		t.Errorf("the JIT log %q is missing from the error %q", e.Log, err)
	}
	t.Logf("broken PTX: %v", err)

	m, err := d.LoadModule(axpyPTX)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Function("no_such_kernel"); !errors.Is(err, gpu.NotFound) || !strings.Contains(err.Error(), "no_such_kernel") {
		t.Errorf("looking up a missing kernel: %v, want CUDA_ERROR_NOT_FOUND naming it", err)
	}
}

func loadAxpy(t *testing.T, d *gpu.Device) (empty, axpy, scale *gpu.Function) {
	t.Helper()
	m, err := d.LoadModule(axpyPTX)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	fs := make([]*gpu.Function, 3)
	for i, name := range []string{"empty", "axpy", "scale"} {
		if fs[i], err = m.Function(name); err != nil {
			t.Fatal(err)
		}
	}
	return fs[0], fs[1], fs[2]
}

func upload(t *testing.T, s *gpu.Stream, v []float32) *gpu.Buffer {
	t.Helper()
	b := mustAlloc(t, s.Device(), 4*len(v))
	if err := gpu.Upload(s, b.Ptr(), v); err != nil {
		t.Fatal(err)
	}
	return b
}

func download(t *testing.T, s *gpu.Stream, b *gpu.Buffer) []float32 {
	t.Helper()
	v := make([]float32, b.Size()/4)
	if err := gpu.Download(s, v, b.Ptr()); err != nil {
		t.Fatal(err)
	}
	return v
}

func ramp(n int, scale float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = scale * float32(i%97)
	}
	return v
}

func scaleArg(n int32, s float32) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(n))
	return binary.LittleEndian.AppendUint32(b, math.Float32bits(s))
}

func checkLaunchArgs(t *testing.T, d *gpu.Device) {
	s := mustStream(t, d)
	empty, axpy, scale := loadAxpy(t, d)
	const n = 3000 // not a multiple of the block
	x, y0 := ramp(n, 1), ramp(n, 0.25)
	xb, yb := upload(t, s, x), upload(t, s, y0)
	grid, block := gpu.Dim3{X: (n + 255) / 256}, gpu.Dim3{X: 256}

	if err := s.Launch(empty, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, nil); err != nil {
		t.Fatal(err)
	}
	var a gpu.Args
	a.Ptr(yb.Ptr()).Ptr(xb.Ptr()).Float32(2).Int32(n)
	if a.Len() != 4 {
		t.Fatalf("Args.Len() = %d after four arguments", a.Len())
	}
	if err := s.Launch(axpy, grid, block, 0, &a); err != nil {
		t.Fatal(err)
	}
	var sa gpu.Args
	sa.Ptr(yb.Ptr()).Bytes(scaleArg(n-1, -0.5)) // the last element is left alone
	if err := s.Launch(scale, grid, block, 0, &sa); err != nil {
		t.Fatal(err)
	}
	got := download(t, s, yb)
	for i := range got {
		want := y0[i] + 2*x[i]
		if i < n-1 {
			want *= -0.5
		}
		if got[i] != want {
			t.Fatalf("y[%d] = %v after axpy and scale, want %v", i, got[i], want)
		}
	}
	// An impossible block shape is refused with the driver's error.
	if err := s.Launch(empty, gpu.Dim3{X: 1}, gpu.Dim3{X: 4096}, 0, nil); err == nil || !strings.Contains(err.Error(), "launching empty") {
		t.Errorf("launch with 4096 threads per block: %v, want an error naming the kernel", err)
	}
}

func checkGraph(t *testing.T, d *gpu.Device) {
	s := mustStream(t, d)
	_, axpy, scale := loadAxpy(t, d)
	const n = 512
	x := ramp(n, 1)
	xb, yb := upload(t, s, x), upload(t, s, make([]float32, n))
	grid, block := gpu.Dim3{X: 2}, gpu.Dim3{X: 256}
	record := func(a float32, launches int) func(*gpu.Stream) error {
		return func(s *gpu.Stream) error {
			var args gpu.Args
			args.Ptr(yb.Ptr()).Ptr(xb.Ptr()).Float32(a).Int32(n)
			for i := 0; i < launches; i++ {
				if err := s.Launch(axpy, grid, block, 0, &args); err != nil {
					return err
				}
			}
			return nil
		}
	}
	g, err := s.Capture(record(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	// Nothing ran during capture.
	if y := download(t, s, yb); y[5] != 0 {
		t.Fatalf("capture ran the kernels: y[5] = %v", y[5])
	}
	exec, err := g.Instantiate()
	if err != nil {
		t.Fatal(err)
	}
	defer exec.Close()
	expect := func(what string, coef float32) {
		t.Helper()
		y := download(t, s, yb)
		for i := range y {
			if y[i] != coef*x[i] {
				t.Fatalf("%s: y[%d] = %v, want %v", what, i, y[i], coef*x[i])
			}
		}
	}
	for i := 0; i < 2; i++ {
		if err := exec.Launch(s); err != nil {
			t.Fatal(err)
		}
	}
	expect("two replays of 3 launches of a=1", 6)

	// Same shape, new argument: updated in place.
	g2, err := s.Capture(record(10, 3))
	if err != nil {
		t.Fatal(err)
	}
	defer g2.Close()
	inPlace, err := exec.Update(g2)
	if err != nil {
		t.Fatal(err)
	}
	if !inPlace {
		t.Error("an update that changes only an argument was not done in place")
	}
	if err := exec.Launch(s); err != nil {
		t.Fatal(err)
	}
	expect("after an in-place update to a=10", 36)

	// Another shape: instantiated anew, still correct.
	g3, err := s.Capture(func(s *gpu.Stream) error {
		if err := record(1, 1)(s); err != nil {
			return err
		}
		var sa gpu.Args
		sa.Ptr(yb.Ptr()).Bytes(scaleArg(n, 0.5))
		return s.Launch(scale, grid, block, 0, &sa)
	})
	if err != nil {
		t.Fatal(err)
	}
	defer g3.Close()
	inPlace, err = exec.Update(g3)
	if err != nil {
		t.Fatal(err)
	}
	if inPlace {
		t.Error("an update that changes the graph's shape claims to be in place")
	}
	if err := exec.Launch(s); err != nil {
		t.Fatal(err)
	}
	expect("after re-instantiation to axpy then scale", 18.5)

	// A failed recording ends the capture and returns the recording's error.
	_, err = s.Capture(func(s *gpu.Stream) error { return errors.New("recording broke") })
	if err == nil || !strings.Contains(err.Error(), "recording broke") {
		t.Errorf("Capture with a failing recorder: %v", err)
	}
	if err := s.Synchronize(); err != nil {
		t.Errorf("stream unusable after a failed capture: %v", err)
	}
}

func checkEvents(t *testing.T, d *gpu.Device) {
	s := mustStream(t, d)
	empty, _, _ := loadAxpy(t, d)
	start, err := d.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer start.Close()
	end, err := d.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	defer end.Close()
	if err := start.Record(s); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		if err := s.Launch(empty, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := end.Record(s); err != nil {
		t.Fatal(err)
	}
	if err := end.Synchronize(); err != nil {
		t.Fatal(err)
	}
	dt, err := gpu.Elapsed(start, end)
	if err != nil {
		t.Fatal(err)
	}
	if dt < 0 || dt.Seconds() > 10 {
		t.Errorf("100 empty launches took %v by the events", dt)
	}
	t.Logf("100 empty launches: %v between events", dt)
}

// Calls from fresh OS threads, where no context is current yet, must work:
// every call makes the device's context current first.
func checkOtherThreads(t *testing.T, d *gpu.Device) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread() // never unlocked: the thread ends with the goroutine
			s, err := d.NewStream()
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			b, err := d.Alloc(64)
			if err != nil {
				errs <- err
				return
			}
			defer b.Close()
			if err := s.Memset32(b.Ptr(), 1, 16); err != nil {
				errs <- err
				return
			}
			errs <- s.Synchronize()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("from a fresh thread: %v", err)
		}
	}
}
