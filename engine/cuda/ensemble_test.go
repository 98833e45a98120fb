// ensemble_test.go: the GPU engine's ensemble against the CPU engine's, from
// the same state on the same data: initialisation, ForwardAll, Predict,
// Evaluate, one TrainStep's gradients, loss and Adam step, a few more steps,
// state round trips and argument errors. The host tests run small shapes on
// the host machine; the GPU tests add MBPO's shapes on the device.

package cuda

import (
	"math"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// Tolerances against the CPU engine, in float32:
//   - outputs (forward, losses, parameters after a step): |Δ| ≤ 1e-4·max(1, |ref|).
//     Both sides sum products in different orders (about 1e-6 relative for
//     sums of hundreds of terms) and use different exp/log approximations
//     (about 1e-7 relative);
//   - gradients: max|Δ| ≤ 1e-4·max|ref| per layer, since gradients are small
//     everywhere and a floor of 1 would hide any error.
const (
	outTol  = 1e-4
	gradTol = 1e-4
)

func smallEnsembleSpec() engine.EnsembleSpec {
	return engine.EnsembleSpec{Members: 3, In: 7, Out: 5, Hidden: []int{24, 20, 24},
		WeightDecay: []float32{0.01, 0.02, 0.03, 0.04}, LR: 1e-3, MaxLogVarInit: 0.5, MinLogVarInit: -10}
}

// ensembleCase is data for an ensemble and a state that exercises it: heads
// past both log-variance bounds, non-zero biases, a normaliser.
type ensembleCase struct {
	spec      engine.EnsembleSpec
	state     engine.State
	mean, std []float32
	x, y      []float32 // n rows
	n         int
}

func newEnsembleCase(t *testing.T, spec engine.EnsembleSpec, n int, seed uint64) ensembleCase {
	t.Helper()
	ens, err := cpuEngine(t).NewEnsemble(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	st := ens.State()
	p := st.Buffers["params"]
	key := rng.Key{Seed: seed, Purpose: rng.Test, Step: 1}
	net := spec.Net()
	L := net.Layers()
	for i := spec.Weight(L - 1); i < spec.Bias(L-1); i++ {
		p[i] *= 4
		if (i-spec.Weight(L-1))%(2*spec.Out) >= spec.Out {
			p[i] *= 5 // raw log-variances far past both bounds
		}
	}
	for l := 0; l < L; l++ {
		for i := spec.Bias(l); i < spec.Bias(l)+spec.Members*net.Sizes[l+1]; i++ {
			p[i] = 0.1 * key.Normal(uint64(i))
		}
	}
	for j := 0; j < spec.Out; j++ {
		p[spec.MaxLogVar()+j] = 0.5 + 0.2*key.Normal(uint64(1<<20+j))
		p[spec.MinLogVar()+j] = -1 + 0.2*key.Normal(uint64(1<<21+j))
	}
	c := ensembleCase{spec: spec, state: st, n: n, mean: make([]float32, spec.In), std: make([]float32, spec.In)}
	for j := range c.mean {
		c.mean[j] = key.Normal(uint64(1<<22 + j))
		c.std[j] = 0.5 + key.Uniform(uint64(1<<23+j))
	}
	c.std[0] = 0 // treated as 1
	c.x, c.y = make([]float32, n*spec.In), make([]float32, n*spec.Out)
	rng.Key{Seed: seed, Purpose: rng.Test, Step: 2}.FillNormal(c.x)
	rng.Key{Seed: seed, Purpose: rng.Test, Step: 3}.FillNormal(c.y)
	for i := range c.x {
		c.x[i] = 2*c.x[i] + c.mean[i%spec.In]
	}
	return c
}

// pair builds the case's ensemble on the CPU engine and on e.
func (c ensembleCase) pair(t *testing.T, e *Engine) (want, got engine.Ensemble) {
	t.Helper()
	want, err := cpuEngine(t).NewEnsemble(c.spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.NewEnsemble(c.spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, got)
	for _, ens := range []engine.Ensemble{want, got} {
		if err := ens.SetState(c.state); err != nil {
			t.Fatal(err)
		}
		ens.SetNormalizer(c.mean, c.std)
	}
	return want, got
}

func checkEnsembleInit(t *testing.T, e *Engine, spec engine.EnsembleSpec) {
	want, err := cpuEngine(t).NewEnsemble(spec, 42)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.NewEnsemble(spec, 42)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, got)
	compareStates(t, "init", got.State(), want.State(), 0, func(d diff) float64 { return d.abs })
}

func checkEnsembleInference(t *testing.T, e *Engine, c ensembleCase) {
	want, got := c.pair(t, e)
	E, n, out := c.spec.Members, c.n, c.spec.Out
	wm, wl := make([]float32, E*n*out), make([]float32, E*n*out)
	gm, gl := make([]float32, E*n*out), make([]float32, E*n*out)
	if err := want.ForwardAll(c.x, n, wm, wl); err != nil {
		t.Fatal(err)
	}
	if err := got.ForwardAll(c.x, n, gm, gl); err != nil {
		t.Fatal(err)
	}
	dm, dl := compare(gm, wm), compare(gl, wl)
	t.Logf("ForwardAll on %d rows: mean %s; logvar %s", n, dm, dl)
	if dm.rel > outTol || dl.rel > outTol {
		t.Errorf("ForwardAll differs from the CPU engine beyond %g", outTol)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, v := range wl {
		lo, hi = min(lo, float64(v)), max(hi, float64(v))
	}
	if hi-lo < 1 {
		t.Errorf("logvars span only [%.3g, %.3g]: the case does not reach the bounds", lo, hi)
	}

	members := make([]int32, n)
	for i := range members {
		members[i] = int32(rng.Key{Seed: 5, Purpose: rng.Test}.Intn(uint64(i), E))
	}
	members[0] = int32(E - 1)
	pm, pl := make([]float32, n*out), make([]float32, n*out)
	if err := got.Predict(c.x, members, n, pm, pl); err != nil {
		t.Fatal(err)
	}
	wpm, wpl := make([]float32, n*out), make([]float32, n*out)
	for i, mb := range members {
		copy(wpm[i*out:(i+1)*out], wm[(int(mb)*n+i)*out:])
		copy(wpl[i*out:(i+1)*out], wl[(int(mb)*n+i)*out:])
	}
	dm, dl = compare(pm, wpm), compare(pl, wpl)
	t.Logf("Predict on %d rows: mean %s; logvar %s", n, dm, dl)
	if dm.rel > outTol || dl.rel > outTol {
		t.Errorf("Predict differs from the CPU engine's ForwardAll rows beyond %g", outTol)
	}

	wmse, wnll, gmse, gnll := make([]float32, E), make([]float32, E), make([]float32, E), make([]float32, E)
	if err := want.Evaluate(c.x, c.y, n, wmse, wnll); err != nil {
		t.Fatal(err)
	}
	if err := got.Evaluate(c.x, c.y, n, gmse, gnll); err != nil {
		t.Fatal(err)
	}
	de, dn := compare(gmse, wmse), compare(gnll, wnll)
	t.Logf("Evaluate on %d rows: MSE %v vs %v (%s); NLL %s", n, gmse, wmse, de, dn)
	if de.rel > outTol || dn.rel > outTol {
		t.Errorf("Evaluate differs from the CPU engine beyond %g", outTol)
	}
}

func checkEnsembleTraining(t *testing.T, e *Engine, c ensembleCase, batch, steps int) {
	want, got := c.pair(t, e)
	E, in, out := c.spec.Members, c.spec.In, c.spec.Out
	x, y := make([]float32, E*batch*in), make([]float32, E*batch*out)
	for step := 0; step < steps; step++ {
		for i := 0; i < E*batch; i++ { // each member its own rows, a new batch each step
			r := (i*7 + step*3) % c.n
			copy(x[i*in:(i+1)*in], c.x[r*in:])
			copy(y[i*out:(i+1)*out], c.y[r*out:])
		}
		lw, err := want.TrainStep(x, y, batch)
		if err != nil {
			t.Fatal(err)
		}
		lg, err := got.TrainStep(x, y, batch)
		if err != nil {
			t.Fatal(err)
		}
		rel := math.Abs(float64(lg-lw)) / max(1, math.Abs(float64(lw)))
		t.Logf("step %d: loss %.7g, CPU engine %.7g (relative difference %.3g)", step+1, lg, lw, rel)
		if !(rel <= outTol) {
			t.Errorf("step %d: loss %v, CPU engine %v", step+1, lg, lw)
		}
		if step == 0 {
			sw, sg := want.State(), got.State()
			segs := ensembleSegments(c.spec)
			compareGradients(t, "step 1", sg.Buffers["adam_m"], sw.Buffers["adam_m"], segs, gradTol)
			compareStates(t, "step 1", sg, sw, outTol, func(d diff) float64 { return d.rel })
		}
	}
	compareStates(t, "after all steps", got.State(), want.State(), outTol, func(d diff) float64 { return d.rel })
}

func checkEnsembleErrors(t *testing.T, e *Engine) {
	spec := smallEnsembleSpec()
	ens, err := e.NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ens)
	if _, err := ens.TrainStep(make([]float32, 3), make([]float32, 3), 4); err == nil || !strings.Contains(err.Error(), "TrainStep needs") {
		t.Errorf("TrainStep on short slices: %v", err)
	}
	if err := ens.Predict(make([]float32, spec.In), []int32{int32(spec.Members)}, 1, make([]float32, spec.Out), make([]float32, spec.Out)); err == nil {
		t.Error("Predict with a member out of range did not fail")
	}
	st := ens.State()
	delete(st.Buffers, "adam_v")
	if err := ens.SetState(st); err == nil || !strings.Contains(err.Error(), "adam_v") {
		t.Errorf("SetState without adam_v: %v", err)
	}
	bad := engine.EnsembleSpec{Members: 1, In: 1, Out: 1, Hidden: []int{3000}, WeightDecay: []float32{0, 0}, LR: 1}
	if _, err := e.NewEnsemble(bad, 1); err == nil {
		t.Error("an ensemble with a 3000-unit layer was built; the forward kernel holds 2048")
	}
}

func TestHostEnsembleInit(t *testing.T) { checkEnsembleInit(t, onHost(t), smallEnsembleSpec()) }

func TestHostEnsembleInference(t *testing.T) {
	checkEnsembleInference(t, onHost(t), newEnsembleCase(t, smallEnsembleSpec(), 150, 3))
}

func TestHostEnsembleTraining(t *testing.T) {
	checkEnsembleTraining(t, onHost(t), newEnsembleCase(t, smallEnsembleSpec(), 150, 4), 32, 3)
}

func TestHostEnsembleErrors(t *testing.T) { checkEnsembleErrors(t, onHost(t)) }

func TestGPUEnsembleInit(t *testing.T) {
	checkEnsembleInit(t, onGPU(t), engine.PaperEnsemble(11, 3, 200))
}

func TestGPUEnsembleInference(t *testing.T) {
	e := onGPU(t)
	checkEnsembleInference(t, e, newEnsembleCase(t, smallEnsembleSpec(), 150, 3))
	checkEnsembleInference(t, e, newEnsembleCase(t, engine.PaperEnsemble(11, 3, 200), 3000, 3))
}

func TestGPUEnsembleTraining(t *testing.T) {
	e := onGPU(t)
	checkEnsembleTraining(t, e, newEnsembleCase(t, smallEnsembleSpec(), 150, 4), 40, 4)
	checkEnsembleTraining(t, e, newEnsembleCase(t, engine.PaperEnsemble(11, 3, 200), 2000, 4), 256, 3)
}

func TestGPUEnsembleErrors(t *testing.T) { checkEnsembleErrors(t, onGPU(t)) }
