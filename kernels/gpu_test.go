// gpu_test.go: the kernels on a real GPU against the same references as the
// host builds. Skipped where there is no GPU (failed instead when
// MBPO_REQUIRE_GPU=1, as in the device bundle).

package kernels

import (
	"math"
	"testing"
	"time"
	"unsafe"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/gputest"
)

// onGPU opens the device, loads the kernels and makes a stream, all closed
// when the test ends.
func onGPU(t *testing.T) (*gpu.Device, *Set, *gpu.Stream) {
	t.Helper()
	d := gputest.Open(t)
	k, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return d, k, s
}

// deviceCopy uploads v into a new buffer that is freed when the test ends.
func deviceCopy[T gpu.Elem](t *testing.T, s *gpu.Stream, v []T) *gpu.Buffer {
	t.Helper()
	var zero T
	b, err := s.Device().Alloc(max(1, len(v)) * int(unsafe.Sizeof(zero)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if err := gpu.Upload(s, b.Ptr(), v); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGPUEnsembleForward(t *testing.T) {
	d, k, s := onGPU(t)
	if f := k.ForwardKernel(); f != nil {
		regs, _ := f.Attribute(gpu.Registers)
		local, _ := f.Attribute(gpu.LocalBytes)
		t.Logf("%v; forward kernel: %d registers, %d bytes of local memory per thread", d.Info(), regs, local)
	}
	cases := forwardSpecs()
	// The acceptance case: MBPO's ensemble on 400,000 rows, every row checked.
	cases = append(cases, struct {
		name  string
		spec  engine.EnsembleSpec
		n     int
		scale float32
	}{"HalfCheetah 7x4x200, 400000 rows", engine.PaperEnsemble(17, 6, 200), 400000, 1})
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c := newForwardCase(t, tt.spec, tt.n, tt.scale, 11)
			cpuTime := time.Since(start)
			p, err := PlanForward(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			x, params := deviceCopy(t, s, c.x), deviceCopy(t, s, c.params)
			mu, sd := deviceCopy(t, s, c.normMean), deviceCopy(t, s, c.normStd)
			mean, logvar := deviceCopy(t, s, make([]float32, len(c.mean))), deviceCopy(t, s, make([]float32, len(c.logvar)))
			a := ForwardArgs{Mean: mean.Ptr(), Logvar: logvar.Ptr(), X: x.Ptr(), Params: params.Ptr(),
				NormMean: mu.Ptr(), NormStd: sd.Ptr(), N: c.n}
			if err := k.EnsembleForward(s, p, a); err != nil {
				t.Fatal(err)
			}
			gm, gl := make([]float32, len(c.mean)), make([]float32, len(c.logvar))
			if err := gpu.Download(s, gm, mean.Ptr()); err != nil {
				t.Fatal(err)
			}
			if err := gpu.Download(s, gl, logvar.Ptr()); err != nil {
				t.Fatal(err)
			}
			dm, dl := compare(gm, c.mean), compare(gl, c.logvar)
			t.Logf("%d rows x %d members (%d rows per block, %d threads, %d B shared): GPU vs CPU engine: mean max abs %.3g rel %.3g; logvar max abs %.3g rel %.3g (CPU engine %v)",
				c.n, tt.spec.Members, p.Rows, p.Threads, p.SharedBytes, dm.abs, dm.rel, dl.abs, dl.rel, cpuTime.Round(time.Millisecond))
			if dm.rel > tolerance || dl.rel > tolerance {
				t.Errorf("GPU forward differs from the CPU engine beyond %g", tolerance)
			}
		})
	}
}

func TestGPURNG(t *testing.T) {
	_, k, s := onGPU(t)
	for _, c := range rngCases() {
		for _, kind := range []RNGKind{RNGBits, RNGUniform, RNGNormal} {
			out := deviceCopy(t, s, make([]uint32, c.n+2))
			// Sentinels past the end must survive: the kernel writes n words only.
			if err := s.Memset32(out.Ptr().Add(4*c.n), 0xdeadbeef, 2); err != nil {
				t.Fatal(err)
			}
			if err := k.RNGFill(s, out.Ptr(), c.key, c.first, c.n, kind); err != nil {
				t.Fatal(err)
			}
			got := make([]uint32, c.n+2)
			if err := gpu.Download(s, got, out.Ptr()); err != nil {
				t.Fatal(err)
			}
			if got[c.n] != 0xdeadbeef || got[c.n+1] != 0xdeadbeef {
				t.Fatalf("%+v: the kernel wrote past the %d numbers asked for", c.key, c.n)
			}
			checkRNG(t, got[:c.n], c.key, c.first, kind)
		}
	}
}

func TestGPUSwishAndGaussianHead(t *testing.T) {
	_, k, s := onGPU(t)
	const rows, out = 3000, 9
	x := make([]float32, rows*2*out)
	for i := range x {
		x[i] = float32(math.Sin(float64(i))) * 30
	}
	maxLV, minLV := make([]float32, out), make([]float32, out)
	for j := range maxLV {
		maxLV[j], minLV[j] = 0.5, -10+float32(j)
	}
	xb := deviceCopy(t, s, x)
	yb := deviceCopy(t, s, make([]float32, len(x)))
	if err := k.Swish(s, yb.Ptr(), xb.Ptr(), len(x)); err != nil {
		t.Fatal(err)
	}
	y, want := make([]float32, len(x)), make([]float32, len(x))
	if err := gpu.Download(s, y, yb.Ptr()); err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		want[i] = float32(swishRef(v))
	}
	ds := compare(y, want)
	t.Logf("swish on %d values: max abs %.3g rel %.3g against float64", len(x), ds.abs, ds.rel)
	if ds.rel > 1e-5 {
		t.Errorf("swish differs beyond 1e-5")
	}

	mb, lb := deviceCopy(t, s, make([]float32, rows*out)), deviceCopy(t, s, make([]float32, rows*out))
	hi, lo := deviceCopy(t, s, maxLV), deviceCopy(t, s, minLV)
	if err := k.GaussianHead(s, mb.Ptr(), lb.Ptr(), xb.Ptr(), hi.Ptr(), lo.Ptr(), rows, out); err != nil {
		t.Fatal(err)
	}
	mean, logvar := make([]float32, rows*out), make([]float32, rows*out)
	if err := gpu.Download(s, mean, mb.Ptr()); err != nil {
		t.Fatal(err)
	}
	if err := gpu.Download(s, logvar, lb.Ptr()); err != nil {
		t.Fatal(err)
	}
	wm, wl := make([]float32, rows*out), make([]float32, rows*out)
	for r := 0; r < rows; r++ {
		for j := 0; j < out; j++ {
			wm[r*out+j] = x[r*2*out+j]
			wl[r*out+j] = float32(softBoundRef(x[r*2*out+out+j], maxLV[j], minLV[j]))
		}
	}
	dm, dl := compare(mean, wm), compare(logvar, wl)
	t.Logf("Gaussian head on %d rows: mean max abs %.3g; logvar max abs %.3g rel %.3g against float64", rows, dm.abs, dl.abs, dl.rel)
	if dm.abs != 0 || dl.rel > 1e-5 {
		t.Errorf("Gaussian head differs: mean by %.3g, logvar by %.3g relative (want 0 and 1e-5)", dm.abs, dl.rel)
	}
}
