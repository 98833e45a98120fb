// ensemble_test.go: the dynamics ensemble: gradients against finite
// differences, fitting a noisy linear system, inference paths against each
// other, state round trips and argument errors.

package cpu

import (
	"github.com/mbpogo/mbpo/engine/enginetest"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// smallSpec is an ensemble small enough for float64 finite differences.
func smallSpec() engine.EnsembleSpec {
	return engine.EnsembleSpec{
		Members: 3, In: 5, Out: 4, Hidden: []int{16, 12, 16},
		WeightDecay: []float32{0.01, 0.02, 0.03, 0.04}, LR: 1e-3, MaxLogVarInit: 0.5, MinLogVarInit: -10,
	}
}

// newTestEnsemble builds an ensemble whose heads reach past both soft
// log-variance bounds and whose normaliser is not the identity.
func newTestEnsemble(t testing.TB, spec engine.EnsembleSpec, seed uint64) *ensemble {
	t.Helper()
	ens, err := testEngine(t).NewEnsemble(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	e := ens.(*ensemble)
	r := rand.New(rand.NewPCG(seed, 99))
	L := spec.Net().Layers()
	last := spec.Net().Sizes[L-1]
	for i := 0; i < spec.Members*last*2*spec.Out; i++ {
		e.params[spec.Weight(L-1)+i] *= 4
	}
	for i := spec.Bias(0); i < spec.MaxLogVar(); i++ {
		if e.params[i] == 0 { // biases
			e.params[i] = float32(0.1 * r.NormFloat64())
		}
	}
	for j := 0; j < spec.Out; j++ {
		e.maxLV[j] = float32(0.5 + 0.2*r.NormFloat64())
		e.minLV[j] = float32(-1 + 0.2*r.NormFloat64())
	}
	mean, std := randSlice(r, spec.In, 1), randSlice(r, spec.In, 1)
	for i := range std {
		std[i] = float32(math.Abs(float64(std[i]))) + 0.5
	}
	e.SetNormalizer(mean, std)
	return e
}

// gradCheck compares analytic gradients g[i], i in idx, with central
// differences of the float64 function f around p. The bound is float32-sized:
// |g - fd| ≤ rtol·|fd| + 1e-3·rms(fd over idx).
func gradCheck(t *testing.T, what string, f func(p []float64) float64, p []float64, g []float32, idx []int, rtol float64) {
	t.Helper()
	fd := make([]float64, len(idx))
	rms := 0.0
	for k, i := range idx {
		h := 1e-6 * math.Max(1, math.Abs(p[i]))
		old := p[i]
		p[i] = old + h
		up := f(p)
		p[i] = old - h
		down := f(p)
		p[i] = old
		fd[k] = (up - down) / (2 * h)
		rms += fd[k] * fd[k]
	}
	rms = math.Sqrt(rms / float64(len(idx)))
	if rms == 0 {
		t.Fatalf("%s: every sampled gradient is zero; the check would prove nothing", what)
	}
	for k, i := range idx {
		if err := math.Abs(float64(g[i]) - fd[k]); err > rtol*math.Abs(fd[k])+1e-3*rms {
			t.Errorf("%s: gradient[%d] = %.6g, finite difference %.6g", what, i, g[i], fd[k])
		}
	}
}

// sampleIndices picks k offsets in [lo, hi), always including lo and hi-1.
func sampleIndices(r *rand.Rand, lo, hi, k int) []int {
	idx := []int{lo, hi - 1}
	for len(idx) < k && len(idx) < hi-lo {
		idx = append(idx, lo+r.IntN(hi-lo))
	}
	return idx
}

func TestEnsembleGradient(t *testing.T) {
	spec := smallSpec()
	e := newTestEnsemble(t, spec, 1)
	r := rand.New(rand.NewPCG(2, 3))
	const batch = 9
	x := randSlice(r, spec.Members*batch*spec.In, 2)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	loss := e.gradients(x, y, batch)

	p := to64(e.params)
	mean, std, x64, y64 := to64(e.normMean), to64(e.normStd), to64(x), to64(y)
	f := func(p []float64) float64 { return refEnsembleLoss(spec, p, mean, std, x64, y64, batch) }
	if want := f(p); math.Abs(loss-want) > 1e-5*math.Abs(want) {
		t.Fatalf("loss = %.8g, reference %.8g", loss, want)
	}

	var idx []int
	shape := spec.Net()
	for l := 0; l < shape.Layers(); l++ {
		in, out := shape.Sizes[l], shape.Sizes[l+1]
		for m := 0; m < spec.Members; m++ {
			w := spec.Weight(l) + m*in*out
			idx = append(idx, sampleIndices(r, w, w+in*out, 4)...)
			b := spec.Bias(l) + m*out
			idx = append(idx, sampleIndices(r, b, b+out, 3)...)
		}
	}
	for j := 0; j < 2*spec.Out; j++ {
		idx = append(idx, spec.MaxLogVar()+j)
	}
	gradCheck(t, "ensemble loss", f, p, e.grads, idx, 2e-3)
}

func TestEnsembleTrainStepMatchesGradientAndAdam(t *testing.T) {
	spec := smallSpec()
	e := newTestEnsemble(t, spec, 4)
	r := rand.New(rand.NewPCG(5, 6))
	const batch = 8
	x := randSlice(r, spec.Members*batch*spec.In, 1)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	before := append([]float32(nil), e.params...)
	loss, err := e.TrainStep(x, y, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := refEnsembleLoss(spec, to64(before), to64(e.normMean), to64(e.normStd), to64(x), to64(y), batch)
	if math.Abs(float64(loss)-want) > 1e-5*math.Abs(want) {
		t.Errorf("TrainStep loss = %g, want %g (loss before the step)", loss, want)
	}
	// The first Adam step moves every parameter with a non-zero gradient by
	// about lr against the gradient's sign.
	moved := 0
	for i, g := range e.grads {
		d := float64(e.params[i] - before[i])
		if math.Abs(float64(g)) < 1e-6 {
			continue
		}
		if math.Abs(d+float64(spec.LR)*math.Copysign(1, float64(g))) > 1e-4 {
			t.Fatalf("param %d moved by %g with gradient %g, want %g", i, d, g, -spec.LR*float32(math.Copysign(1, float64(g))))
		}
		moved++
	}
	if moved < len(e.grads)/2 || e.step != 1 {
		t.Errorf("%d of %d parameters moved, step %d", moved, len(e.grads), e.step)
	}
}

// linearSystem is y = A·x + noise with per-dimension noise std.
type linearSystem struct {
	in, out int
	a       []float64
	std     []float64
}

func (s linearSystem) sample(r *rand.Rand, n int) (x, y []float32) {
	x, y = make([]float32, n*s.in), make([]float32, n*s.out)
	for i := 0; i < n; i++ {
		for k := 0; k < s.in; k++ {
			x[i*s.in+k] = float32(1.5 + 2*r.NormFloat64()) // off-centre, not unit scale: needs the normaliser
		}
		for j := 0; j < s.out; j++ {
			v := s.std[j] * r.NormFloat64()
			for k := 0; k < s.in; k++ {
				v += s.a[j*s.in+k] * float64(x[i*s.in+k])
			}
			y[i*s.out+j] = float32(v)
		}
	}
	return x, y
}

// TestEnsembleFitsNoisyLinearSystem trains the ensemble on y = A·x + noise
// with known noise and checks that the holdout MSE of every member reaches
// the noise floor and that the learned variance matches the true one.
//
// Tolerances: with 2,000 holdout rows the sample MSE of a perfect model
// scatters by about sqrt(2/2000) ≈ 3% (relative) around the noise variance,
// and a 2,000-step fit adds a little approximation error (about 7% here), so
// MSE ≤ 1.15× the floor. The predicted variance averaged over the holdout
// must be within 15% of the true variance of each output (seen: within 8%);
// the outputs' variances differ by 9×, so a model that learned one shared
// level, or kept the initial bound e^0.5, fails.
func TestEnsembleFitsNoisyLinearSystem(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	sys := linearSystem{in: 6, out: 3, std: []float64{0.1, 0.2, 0.3}}
	sys.a = make([]float64, sys.in*sys.out)
	for i := range sys.a {
		sys.a[i] = r.NormFloat64() / math.Sqrt(float64(sys.in))
	}
	spec := engine.EnsembleSpec{
		Members: 3, In: sys.in, Out: sys.out, Hidden: []int{32, 32},
		WeightDecay: []float32{2.5e-5, 5e-5, 1e-4}, LR: 3e-3, MaxLogVarInit: 0.5, MinLogVarInit: -10,
	}
	ens, err := testEngine(t).NewEnsemble(spec, 9)
	if err != nil {
		t.Fatal(err)
	}
	const nTrain, nHold, batch, steps = 4000, 2000, 256, 2000
	xTrain, yTrain := sys.sample(r, nTrain)
	xHold, yHold := sys.sample(r, nHold)

	mean, std := make([]float32, sys.in), make([]float32, sys.in)
	for k := 0; k < sys.in; k++ {
		var s, ss float64
		for i := 0; i < nTrain; i++ {
			v := float64(xTrain[i*sys.in+k])
			s += v
			ss += v * v
		}
		m := s / nTrain
		mean[k], std[k] = float32(m), float32(math.Sqrt(ss/nTrain-m*m))
	}
	ens.SetNormalizer(mean, std)

	xb := make([]float32, spec.Members*batch*sys.in)
	yb := make([]float32, spec.Members*batch*sys.out)
	var first, last float32
	for step := 0; step < steps; step++ {
		for i := 0; i < spec.Members*batch; i++ {
			row := r.IntN(nTrain)
			copy(xb[i*sys.in:(i+1)*sys.in], xTrain[row*sys.in:])
			copy(yb[i*sys.out:(i+1)*sys.out], yTrain[row*sys.out:])
		}
		loss, err := ens.TrainStep(xb, yb, batch)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = loss
		}
		last = loss
	}

	mse, nll := make([]float32, spec.Members), make([]float32, spec.Members)
	if err := ens.Evaluate(xHold, yHold, nHold, mse, nll); err != nil {
		t.Fatal(err)
	}
	floor := 0.0
	for _, s := range sys.std {
		floor += s * s
	}
	floor /= float64(sys.out)
	t.Logf("training loss %.3f → %.3f; holdout MSE %v (noise floor %.4f), NLL %v", first, last, mse, floor, nll)
	for m, v := range mse {
		if float64(v) > 1.15*floor {
			t.Errorf("member %d holdout MSE %.5f, want ≤ 1.15 × noise floor %.5f", m, v, floor)
		}
	}

	means := make([]float32, spec.Members*nHold*sys.out)
	logvars := make([]float32, len(means))
	if err := ens.ForwardAll(xHold, nHold, means, logvars); err != nil {
		t.Fatal(err)
	}
	ratios := make([]float64, 0, spec.Members*sys.out)
	defer func() { t.Logf("predicted / true variance: %.3f", ratios) }()
	for m := 0; m < spec.Members; m++ {
		for j, s := range sys.std {
			v := 0.0
			for i := 0; i < nHold; i++ {
				v += math.Exp(float64(logvars[(m*nHold+i)*sys.out+j]))
			}
			v /= nHold
			ratio := v / (s * s)
			ratios = append(ratios, ratio)
			if ratio < 0.85 || ratio > 1.15 {
				t.Errorf("member %d output %d: mean predicted variance %.5f, true %.5f (ratio %.2f, want within 15%%)",
					m, j, v, s*s, ratio)
			}
		}
	}
}

func TestEnsembleInferencePathsAgree(t *testing.T) {
	spec := smallSpec()
	e := newTestEnsemble(t, spec, 10)
	r := rand.New(rand.NewPCG(11, 12))
	n := 2*inferChunk + 37 // three chunks, the last partial
	x := randSlice(r, n*spec.In, 2)
	y := randSlice(r, n*spec.Out, 1)
	members := make([]int32, n)
	for i := range members {
		members[i] = int32(r.IntN(spec.Members))
	}
	members[n-1] = 0 // a member present only in some chunks is fine too

	all := make([]float32, spec.Members*n*spec.Out)
	allLV := make([]float32, len(all))
	if err := e.ForwardAll(x, n, all, allLV); err != nil {
		t.Fatal(err)
	}
	// ForwardAll against the float64 reference on a sample of rows.
	p := to64(e.params)
	z := refNormalize(to64(x), n, to64(e.normMean), to64(e.normStd))
	for _, i := range []int{0, 1, inferChunk - 1, inferChunk, n - 1} {
		for m := 0; m < spec.Members; m++ {
			head := refForward(spec.Net(), refSwish, refMember(spec, p, m), z[i*spec.In:(i+1)*spec.In], 1)
			mu, lv := refHead(spec, p, head)
			for j := 0; j < spec.Out; j++ {
				k := (m*n+i)*spec.Out + j
				if !near(all[k], mu[j], 1e-5) || !near(allLV[k], lv[j], 1e-5) {
					t.Fatalf("ForwardAll member %d row %d col %d = %g, %g, reference %g, %g", m, i, j, all[k], allLV[k], mu[j], lv[j])
				}
			}
		}
	}

	// Predict: each row equals ForwardAll's row of its member. sgemm may sum
	// a row in another order when it sits elsewhere in the matrix, so the
	// match is to float32 rounding, not bit for bit.
	mean := make([]float32, n*spec.Out)
	logvar := make([]float32, n*spec.Out)
	if err := e.Predict(x, members, n, mean, logvar); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < spec.Out; j++ {
			k := (int(members[i])*n+i)*spec.Out + j
			if !near(mean[i*spec.Out+j], float64(all[k]), 1e-6) || !near(logvar[i*spec.Out+j], float64(allLV[k]), 1e-6) {
				t.Fatalf("Predict row %d (member %d) col %d = %g, %g, ForwardAll %g, %g",
					i, members[i], j, mean[i*spec.Out+j], logvar[i*spec.Out+j], all[k], allLV[k])
			}
		}
	}

	// Evaluate: the same sums computed from ForwardAll's outputs.
	mse, nll := make([]float32, spec.Members), make([]float32, spec.Members)
	if err := e.Evaluate(x, y, n, mse, nll); err != nil {
		t.Fatal(err)
	}
	for m := 0; m < spec.Members; m++ {
		var se, sn float64
		for i := 0; i < n; i++ {
			for j := 0; j < spec.Out; j++ {
				k := (m*n+i)*spec.Out + j
				d := float64(all[k]) - float64(y[i*spec.Out+j])
				se += d * d
				sn += d*d*math.Exp(-float64(allLV[k])) + float64(allLV[k])
			}
		}
		se /= float64(n * spec.Out)
		sn /= float64(n * spec.Out)
		if !near(mse[m], se, 1e-5) || !near(nll[m], sn, 1e-5) {
			t.Errorf("Evaluate member %d = %g, %g, want %g, %g", m, mse[m], nll[m], se, sn)
		}
	}
}

func TestEnsembleInitAndState(t *testing.T) {
	spec := smallSpec()
	eng := testEngine(t)
	ens, err := eng.NewEnsemble(spec, 13)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, spec.NumParams())
	spec.Init(want, rng.Key{Seed: 13, Purpose: rng.Init, Step: engine.InitStepEnsemble})
	st := ens.State()
	for i, v := range st.Buffers["params"] {
		if v != want[i] {
			t.Fatalf("params[%d] = %g, want spec.Init's %g", i, v, want[i])
		}
	}
	if got := ens.Spec(); got.Members != spec.Members || len(got.Hidden) != len(spec.Hidden) {
		t.Errorf("Spec() = %+v", got)
	}

	// Train a little, then move the state into an ensemble from another seed.
	r := rand.New(rand.NewPCG(14, 15))
	const batch = 16
	x := randSlice(r, spec.Members*batch*spec.In, 1)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	ens.SetNormalizer(randSlice(r, spec.In, 1), []float32{1, 2, 0, 3, 0.5}) // 0: treated as 1
	for i := 0; i < 3; i++ {
		if _, err := ens.TrainStep(x, y, batch); err != nil {
			t.Fatal(err)
		}
	}
	st = ens.State()
	other, _ := eng.NewEnsemble(spec, 14)
	if err := other.SetState(st); err != nil {
		t.Fatal(err)
	}
	st.Buffers["params"][0] += 1 // State returned a copy: no effect on either
	n := 10
	xs := randSlice(r, n*spec.In, 1)
	outs := make([][]float32, 4)
	for i := range outs {
		outs[i] = make([]float32, spec.Members*n*spec.Out)
	}
	ens.ForwardAll(xs, n, outs[0], outs[1])
	other.ForwardAll(xs, n, outs[2], outs[3])
	for i := range outs[0] {
		if outs[0][i] != outs[2][i] || outs[1][i] != outs[3][i] {
			t.Fatalf("restored ensemble differs at %d: %g, %g vs %g, %g", i, outs[2][i], outs[3][i], outs[0][i], outs[1][i])
		}
	}
	l1, _ := ens.TrainStep(x, y, batch)
	l2, _ := other.TrainStep(x, y, batch)
	if l1 != l2 || ens.State().Step != 4 || other.State().Step != 4 {
		t.Errorf("after restoring, the next step differs: loss %g vs %g, steps %d, %d", l1, l2, ens.State().Step, other.State().Step)
	}
	a, b := ens.State().Buffers, other.State().Buffers
	for name := range a {
		for i := range a[name] {
			if a[name][i] != b[name][i] {
				t.Fatalf("buffer %s differs at %d after the same step", name, i)
			}
		}
	}
}

func TestEnsembleSetStateRejectsMismatches(t *testing.T) {
	spec := smallSpec()
	ens, err := testEngine(t).NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	good := ens.State()
	for _, c := range []struct {
		name   string
		edit   func(engine.State) engine.State
		errHas string
	}{
		{"missing", func(s engine.State) engine.State { delete(s.Buffers, "adam_v"); return s }, `"adam_v"`},
		{"short", func(s engine.State) engine.State { s.Buffers["params"] = s.Buffers["params"][1:]; return s }, `"params"`},
		{"long", func(s engine.State) engine.State { s.Buffers["norm_std"] = append(s.Buffers["norm_std"], 1); return s }, `"norm_std"`},
		{"unknown", func(s engine.State) engine.State { s.Buffers["policy"] = []float32{1}; return s }, `"policy"`},
		{"negative step", func(s engine.State) engine.State { s.Step = -1; return s }, "step"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := ens.State()
			st.Buffers["params"][0] = 42 // must not land on a failed SetState
			err := ens.SetState(c.edit(st))
			if err == nil || !strings.Contains(err.Error(), c.errHas) {
				t.Fatalf("SetState error = %v, want one naming %s", err, c.errHas)
			}
			if ens.State().Buffers["params"][0] != good.Buffers["params"][0] {
				t.Fatal("a rejected SetState changed the parameters")
			}
		})
	}
}

func TestEnsembleArgumentErrors(t *testing.T) {
	spec := smallSpec()
	ens, err := testEngine(t).NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 4*spec.In)
	out := make([]float32, 4*spec.Out*spec.Members)
	checks := []struct {
		name string
		err  error
	}{
		{"TrainStep short x", func() error { _, err := ens.TrainStep(x, out, 4); return err }()},
		{"TrainStep batch 0", func() error { _, err := ens.TrainStep(x, out, 0); return err }()},
		{"Evaluate short y", ens.Evaluate(x, out[:3], 4, make([]float32, 3), make([]float32, 3))},
		{"Evaluate short mse", ens.Evaluate(x, out, 4, make([]float32, 2), make([]float32, 3))},
		{"ForwardAll short out", ens.ForwardAll(x, 4, out[:5], out)},
		{"Predict bad member", ens.Predict(x, []int32{0, 1, 3, 0}, 4, out, out)},
		{"Predict short x", ens.Predict(x, []int32{0, 0, 0, 0, 0}, 5, out, out)},
	}
	for _, c := range checks {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	if _, err := testEngine(t).NewEnsemble(engine.EnsembleSpec{Members: 1, In: 1, Out: 1}, 1); err == nil {
		t.Error("NewEnsemble accepted a spec without hidden layers")
	}
}

func TestEnsembleSaveRestoreMembers(t *testing.T) {
	eng := New(Options{Threads: 2})
	defer eng.Close()
	enginetest.SaveRestore(t, eng)
}
