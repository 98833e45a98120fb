// compare_test.go: what the host and GPU tests share: the references (the Go
// CPU engine, package rng) and the error measure.

package kernels

import (
	"math"
	"testing"

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
