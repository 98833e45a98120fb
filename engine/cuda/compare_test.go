// compare_test.go: what the tests share: the machines to run on (the host
// everywhere, the GPU where there is one), the CPU engine as the reference,
// and the error measures.

package cuda

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/gpu/gputest"
	"github.com/mbpogo/mbpo/kernels"
)

// onHost is an engine on the host machine; onGPU one on the GPU (the test is
// skipped without one, failed when MBPO_REQUIRE_GPU=1). Both check at the
// end of the test that the networks freed their memory.
func onHost(t *testing.T) *Engine {
	t.Helper()
	return New(kernels.OnHost())
}

func onGPU(t *testing.T) *Engine {
	t.Helper()
	d := gputest.Open(t)
	m, err := kernels.OnGPU(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return New(m)
}

// closeWhenDone frees a network's device memory when the test ends.
func closeWhenDone(t *testing.T, net any) {
	t.Helper()
	t.Cleanup(func() {
		if c, ok := net.(interface{ Close() error }); ok {
			if err := c.Close(); err != nil {
				t.Error(err)
			}
		}
	})
}

func cpuEngine(t testing.TB) *cpu.Engine {
	t.Helper()
	e := cpu.New(cpu.Options{Threads: 1})
	if _, err := e.NewEnsemble(engine.EnsembleSpec{Members: 1, In: 1, Out: 1, Hidden: []int{1}, WeightDecay: []float32{0, 0}, LR: 1}, 1); err != nil {
		t.Fatalf("the CPU engine, the reference: %v", err)
	}
	return e
}

// diff is the largest absolute and relative differences between got and
// want: rel is |got - want| / max(1, |want|) (numpy's allclose with rtol =
// atol), norm is max|got - want| / max|want| (the error relative to the
// buffer's scale, the measure for gradients, which are small everywhere).
type diff struct{ abs, rel, norm float64 }

func (d diff) String() string {
	return fmt.Sprintf("max abs %.3g, rel %.3g, rel to max %.3g", d.abs, d.rel, d.norm)
}

func compare(got, want []float32) diff {
	var d diff
	scale := 0.0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		a := math.Abs(g - w)
		if math.IsNaN(g) != math.IsNaN(w) || math.IsInf(g, 0) != math.IsInf(w, 0) {
			a = math.Inf(1)
		} else if math.IsNaN(g) || (math.IsInf(g, 0) && g == w) {
			a = 0
		}
		d.abs = max(d.abs, a)
		d.rel = max(d.rel, a/max(1, math.Abs(w)))
		scale = max(scale, math.Abs(w))
	}
	if scale > 0 {
		d.norm = d.abs / scale
	} else if d.abs > 0 {
		d.norm = math.Inf(1)
	}
	return d
}

// compareStates compares every buffer of two states: each (or, for a
// buffer cut into segments by cuts, each segment) within tol of the measure
// pick chooses. It returns the worst value and logs each buffer's errors.
func compareStates(t *testing.T, what string, got, want engine.State, tol float64, pick func(diff) float64) {
	t.Helper()
	if got.Step != want.Step {
		t.Errorf("%s: step %d, CPU engine %d", what, got.Step, want.Step)
	}
	names := make([]string, 0, len(want.Buffers))
	for name := range want.Buffers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		g, ok := got.Buffers[name]
		if !ok || len(g) != len(want.Buffers[name]) {
			t.Errorf("%s: buffer %q missing or of another length", what, name)
			continue
		}
		d := compare(g, want.Buffers[name])
		t.Logf("%s %-17s %s", what, name, d)
		if !(pick(d) <= tol) {
			t.Errorf("%s: buffer %q differs from the CPU engine beyond %g: %s", what, name, tol, d)
		}
	}
}

// segment is a named range of a flat buffer: one layer's weights or biases.
type segment struct {
	name     string
	from, to int
}

// ensembleSegments are the weight and bias segments of an ensemble
// "params"-layout buffer (all members of a layer together), then the bounds.
func ensembleSegments(spec engine.EnsembleSpec) []segment {
	net := spec.Net()
	var s []segment
	for l := 0; l < net.Layers(); l++ {
		k, n := net.Sizes[l], net.Sizes[l+1]
		s = append(s, segment{fmt.Sprintf("W%d", l), spec.Weight(l), spec.Weight(l) + spec.Members*k*n},
			segment{fmt.Sprintf("b%d", l), spec.Bias(l), spec.Bias(l) + spec.Members*n})
	}
	return append(s, segment{"MaxLogVar", spec.MaxLogVar(), spec.MinLogVar()}, segment{"MinLogVar", spec.MinLogVar(), spec.NumParams()})
}

// mlpSegments are the per-layer segments of an engine.MLP-layout buffer.
func mlpSegments(shape engine.MLP) []segment {
	var s []segment
	for l := 0; l < shape.Layers(); l++ {
		s = append(s, segment{fmt.Sprintf("W%d", l), shape.Weight(l), shape.Bias(l)},
			segment{fmt.Sprintf("b%d", l), shape.Bias(l), shape.Bias(l) + shape.Sizes[l+1]})
	}
	return s
}

// compareGradients compares the gradients behind two Adam first moments
// after one step from zero moments (m = (1-β1)·g = 0.1·g exactly), segment
// by segment, relative to each segment's largest gradient.
func compareGradients(t *testing.T, what string, got, want []float32, segs []segment, tol float64) {
	t.Helper()
	for _, sg := range segs {
		d := compare(got[sg.from:sg.to], want[sg.from:sg.to])
		t.Logf("%s gradient %-9s %s", what, sg.name, d)
		if !(d.norm <= tol) {
			t.Errorf("%s: gradient of %s differs from the CPU engine's by %.3g of its largest value, above %g", what, sg.name, d.norm, tol)
		}
	}
}
