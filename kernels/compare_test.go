// compare_test.go: what the host and GPU tests share: the references (the Go
// CPU engine, package rng) and the error measure.

package kernels

import (
	"math"
	"testing"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/rng"
)

// tolerance is the pass mark of a kernel against the CPU engine in fp32:
// |got - want| <= tolerance * max(1, |want|), i.e. relative for values above
// 1 and absolute below (as numpy's allclose with rtol = atol). Both sides sum
// hundreds of products in float32 in different orders (about 1e-6 apart) and
// use different exp and log approximations (about 1e-7 relative).
const tolerance = 1e-4

// diff is the largest absolute and relative difference between got and want;
// relative is |got - want| / max(1, |want|).
type diff struct{ abs, rel float64 }

func compare(got, want []float32) diff {
	var d diff
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		a := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) {
			a = math.Inf(1)
		}
		d.abs = max(d.abs, a)
		d.rel = max(d.rel, a/max(1, math.Abs(w)))
	}
	return d
}

// forwardCase is an ensemble, its inputs and the CPU engine's outputs.
type forwardCase struct {
	spec                      engine.EnsembleSpec
	params, normMean, normStd []float32
	x                         []float32
	n                         int
	mean, logvar              []float32 // the CPU engine's ForwardAll
}

// newForwardCase builds an ensemble on the CPU engine from seed, with the
// weights scaled by weightScale (so that the heads' raw log-variances reach
// past both soft bounds), a random normaliser and n random rows, and runs
// ForwardAll on it.
func newForwardCase(t testing.TB, spec engine.EnsembleSpec, n int, weightScale float32, seed uint64) forwardCase {
	t.Helper()
	eng := cpu.New(cpu.Options{})
	ens, err := eng.NewEnsemble(spec, seed)
	if err != nil {
		t.Fatalf("CPU engine: %v", err)
	}
	st := ens.State()
	p := st.Buffers["params"]
	for i := 0; i < spec.MaxLogVar(); i++ {
		p[i] *= weightScale
	}
	// Biases too, so that a wrong bias index shows.
	key := rng.Key{Seed: seed, Purpose: rng.Test, Step: 1}
	net := spec.Net()
	for l := 0; l < net.Layers(); l++ {
		b := spec.Bias(l)
		for i := 0; i < spec.Members*net.Sizes[l+1]; i++ {
			p[b+i] = 0.1 * key.Normal(uint64(b+i))
		}
	}
	for j := 0; j < spec.Out; j++ {
		p[spec.MaxLogVar()+j] = 0.5 + 0.1*float32(j%3)
		p[spec.MinLogVar()+j] = -10 + float32(j%4)
	}
	if err := ens.SetState(st); err != nil {
		t.Fatal(err)
	}
	c := forwardCase{spec: spec, params: p, n: n,
		normMean: make([]float32, spec.In), normStd: make([]float32, spec.In), x: make([]float32, n*spec.In)}
	nk := rng.Key{Seed: seed, Purpose: rng.Test, Step: 2}
	for j := range c.normMean {
		c.normMean[j] = nk.Normal(uint64(j))
		c.normStd[j] = 0.5 + nk.Uniform(uint64(1000+j))
	}
	c.normStd[0] = 0 // treated as 1
	ens.SetNormalizer(c.normMean, c.normStd)
	rng.Key{Seed: seed, Purpose: rng.Test, Step: 3}.FillNormal(c.x)
	for i := range c.x {
		c.x[i] = c.x[i]*2 + c.normMean[i%spec.In]
	}
	c.mean = make([]float32, spec.Members*n*spec.Out)
	c.logvar = make([]float32, len(c.mean))
	if err := ens.ForwardAll(c.x, n, c.mean, c.logvar); err != nil {
		t.Fatal(err)
	}
	return c
}

// forwardSpecs are the shapes the forward kernel is checked on: MBPO's
// (vector loads), odd widths (scalar loads, partial column tiles), one wide
// hidden layer (fewer rows per block) and deep, narrow nets.
func forwardSpecs() []struct {
	name  string
	spec  engine.EnsembleSpec
	n     int
	scale float32 // of the weights, so that the raw log-variances pass both bounds
} {
	spec := func(members, in, out int, hidden ...int) engine.EnsembleSpec {
		wd := make([]float32, len(hidden)+1)
		return engine.EnsembleSpec{Members: members, In: in, Out: out, Hidden: hidden, WeightDecay: wd, LR: 1e-3}
	}
	return []struct {
		name  string
		spec  engine.EnsembleSpec
		n     int
		scale float32
	}{
		{"HalfCheetah 7x4x200", engine.PaperEnsemble(17, 6, 200), 97, 3},
		{"odd widths", spec(3, 5, 5, 30, 13), 45, 3},
		{"wide 400", spec(2, 11, 12, 400), 50, 3},
		{"deep narrow", spec(2, 4, 2, 8, 8, 8, 8, 8, 8, 8), 17, 4},
	}
}

// normalAgreement is the bound on |kernel normal - Go normal| for a normal z:
// the kernels' float32 log and sine/cosine against Go's float64 math rounded
// to float32 differ by a few float32 ulps of r = sqrt(-2 ln u) and of the
// sine/cosine, about 2^-22 (2.4e-7) relative each; 2e-6 (1 + |z|) leaves a
// margin of about 4.
func normalAgreement(z float64) float64 { return 2e-6 * (1 + math.Abs(z)) }

// The checks below run a kernel through its launcher on a Machine, the host
// (host_test.go) or a GPU (gpu_test.go), against its reference.

// checkRNGFill draws rngCases through mbpo_rng_fill as bits, uniforms and
// normals and compares them with rng; sentinels past the end must survive.
func checkRNGFill(t *testing.T, m Machine) {
	for _, c := range rngCases() {
		for _, kind := range []RNGKind{RNGBits, RNGUniform, RNGNormal} {
			out := alloc[uint32](t, m, c.n+2, nil)
			if err := m.Memset32(out+Ptr(4*c.n), 0xdeadbeef, 2); err != nil {
				t.Fatal(err)
			}
			if err := RNGFill(m, out, c.key, c.first, c.n, kind); err != nil {
				t.Fatal(err)
			}
			got := fetch[uint32](t, m, out, c.n+2)
			if got[c.n] != 0xdeadbeef || got[c.n+1] != 0xdeadbeef {
				t.Fatalf("%+v: the kernel wrote past the %d numbers asked for", c.key, c.n)
			}
			checkRNG(t, got[:c.n], c.key, c.first, kind)
		}
	}
}

// checkSwishAndGaussianHead runs mbpo_swish and mbpo_gaussian_head on rows
// random heads of 2·out values, reaching far past both log-variance bounds
// and swish's tails, against float64: within tol relative, the means exact.
func checkSwishAndGaussianHead(t *testing.T, m Machine, rows, out int, tol float64) {
	x := make([]float32, rows*2*out)
	rng.Key{Seed: 5, Purpose: rng.Test}.FillNormal(x)
	for i := range x {
		x[i] *= 12
	}
	x[0], x[1], x[2] = 0, 90, -90
	xb, yb := alloc(t, m, len(x), x), alloc[float32](t, m, len(x), nil)
	if err := Swish(m, yb, xb, len(x)); err != nil {
		t.Fatal(err)
	}
	y := fetch[float32](t, m, yb, len(x))
	want := make([]float32, len(x))
	for i, v := range x {
		want[i] = float32(swishRef(v))
	}
	ds := compare(y, want)
	t.Logf("swish on %d values: max abs %.3g rel %.3g against float64", len(x), ds.abs, ds.rel)
	if ds.rel > tol {
		t.Errorf("swish differs beyond %g", tol)
	}

	maxLV, minLV := make([]float32, out), make([]float32, out)
	for j := range maxLV {
		maxLV[j], minLV[j] = 0.5-0.1*float32(j), -10+float32(j)
	}
	mb, lb := alloc[float32](t, m, rows*out, nil), alloc[float32](t, m, rows*out, nil)
	hi, lo := alloc(t, m, out, maxLV), alloc(t, m, out, minLV)
	if err := GaussianHead(m, mb, lb, xb, hi, lo, rows, out); err != nil {
		t.Fatal(err)
	}
	mean, logvar := fetch[float32](t, m, mb, rows*out), fetch[float32](t, m, lb, rows*out)
	wantMean, wantLV := make([]float32, rows*out), make([]float32, rows*out)
	for r := 0; r < rows; r++ {
		for j := 0; j < out; j++ {
			wantMean[r*out+j] = x[r*2*out+j]
			wantLV[r*out+j] = float32(softBoundRef(x[r*2*out+out+j], maxLV[j], minLV[j]))
		}
	}
	dm, dl := compare(mean, wantMean), compare(logvar, wantLV)
	t.Logf("Gaussian head on %d rows: mean max abs %.3g; logvar max abs %.3g rel %.3g against float64", rows, dm.abs, dl.abs, dl.rel)
	if dm.abs != 0 || dl.rel > tol {
		t.Errorf("Gaussian head differs: mean by %.3g, logvar by %.3g relative (want 0 and %g)", dm.abs, dl.rel, tol)
	}
	// The bounds are soft: logvar lies in (min, max + softplus(min - max)).
	for i, v := range logvar {
		j := i % out
		top := float64(maxLV[j]) + softplusRef(float64(minLV[j]-maxLV[j]))
		if float64(v) < float64(minLV[j]) || float64(v) > top+tol {
			t.Fatalf("logvar %v outside its soft bounds (%v, %v)", v, minLV[j], top)
		}
	}
}

// checkForward runs mbpo_ensemble_forward on each case against the CPU
// engine's ForwardAll, within tolerance.
func checkForward(t *testing.T, m Machine, cases []struct {
	name  string
	spec  engine.EnsembleSpec
	n     int
	scale float32
}) {
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			c := newForwardCase(t, tt.spec, tt.n, tt.scale, 11)
			cpuTime := time.Since(start)
			p, err := PlanForward(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			x, params := alloc(t, m, len(c.x), c.x), alloc(t, m, len(c.params), c.params)
			mu, sd := alloc(t, m, len(c.normMean), c.normMean), alloc(t, m, len(c.normStd), c.normStd)
			mb, lb := alloc[float32](t, m, len(c.mean), nil), alloc[float32](t, m, len(c.logvar), nil)
			if err := Forward(m, p, mb, lb, x, params, mu, sd, c.n, 0); err != nil {
				t.Fatal(err)
			}
			mean, logvar := fetch[float32](t, m, mb, len(c.mean)), fetch[float32](t, m, lb, len(c.logvar))
			dm, dl := compare(mean, c.mean), compare(logvar, c.logvar)
			t.Logf("%s: %d rows x %d members (%d rows per block, %d threads, %d B shared): against the CPU engine: mean max abs %.3g rel %.3g; logvar max abs %.3g rel %.3g (CPU engine %v)",
				m.Name(), c.n, tt.spec.Members, p.Rows, p.Threads, p.SharedBytes, dm.abs, dm.rel, dl.abs, dl.rel, cpuTime.Round(time.Millisecond))
			if dm.rel > tolerance || dl.rel > tolerance {
				t.Errorf("forward differs from the CPU engine beyond %g", tolerance)
			}
			if tt.scale <= 1 {
				return
			}
			// Weights scaled up must take the logvars across the bounds, or
			// the case does not test them.
			lo, hi := math.Inf(1), math.Inf(-1)
			for _, v := range c.logvar {
				lo, hi = min(lo, float64(v)), max(hi, float64(v))
			}
			if hi-lo < 1 {
				t.Errorf("logvars only span [%.3g, %.3g]: the case does not exercise the bounds", lo, hi)
			}
		})
	}
}

// checkBenchKernels runs the launch-path kernels: mbpo_add_one adds 1 to
// exactly the n values asked for (three times, the last recorded in a graph
// and replayed), and mbpo_empty runs.
func checkBenchKernels(t *testing.T, m Machine) {
	const n = 300
	x := alloc[float32](t, m, n+1, nil)
	for i := 0; i < 2; i++ {
		if err := AddOne(m, x, n); err != nil {
			t.Fatal(err)
		}
	}
	g, err := m.Capture(func() error { return AddOne(m, x, n) })
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if err := g.Launch(); err != nil {
		t.Fatal(err)
	}
	if err := Empty(m); err != nil {
		t.Fatal(err)
	}
	got := fetch[float32](t, m, x, n+1)
	if got[0] != 3 || got[n-1] != 3 || got[n] != 0 {
		t.Errorf("after three AddOne on %d values: x[0] = %v, x[%d] = %v, x[%d] = %v; want 3, 3, 0", n, got[0], n-1, got[n-1], n, got[n])
	}
}
