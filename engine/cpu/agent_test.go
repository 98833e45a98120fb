// agent_test.go: the SAC agent: gradients of the critic, actor and
// temperature losses against finite differences, one Update against the
// float64 reference (noise numbering, order, targets), a one-step bandit it
// must solve, determinism, state round trips and argument errors.

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// smallAgentSpec is an agent small enough for float64 finite differences,
// with a narrow log σ clip so that some raw log σ fall outside it.
func smallAgentSpec() engine.AgentSpec {
	s := engine.PaperAgent(4, 3, -3)
	s.Hidden = []int{16, 12}
	s.LogStdMin, s.LogStdMax = -1, 0.5
	return s
}

// newTestAgent builds an agent whose targets differ from its critics, whose
// temperature is not 1 and whose policy's raw log σ spread past the clip.
func newTestAgent(t testing.TB, spec engine.AgentSpec, seed uint64) *agent {
	t.Helper()
	ag, err := testEngine(t).NewAgent(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	a := ag.(*agent)
	r := rand.New(rand.NewPCG(seed, 77))
	for i := range a.q1t {
		a.q1t[i] += float32(0.05 * r.NormFloat64())
		a.q2t[i] += float32(0.05 * r.NormFloat64())
	}
	for _, p := range [][]float32{a.pol, a.q1, a.q2} {
		for i := range p {
			if p[i] == 0 { // biases
				p[i] = float32(0.1 * r.NormFloat64())
			}
		}
	}
	pol := spec.Policy()
	L := pol.Layers()
	in, out := pol.Sizes[L-1], pol.Sizes[L]
	for k := 0; k < in; k++ {
		for j := spec.Act; j < out; j++ { // log σ columns
			a.pol[pol.Weight(L-1)+k*out+j] *= 6
		}
	}
	a.logAlpha[0] = float32(math.Log(0.3))
	return a
}

// allIndices samples offsets of every layer's weights and biases of shape.
func layerIndices(r *rand.Rand, shape engine.MLP) []int {
	var idx []int
	for l := 0; l < shape.Layers(); l++ {
		w := shape.Weight(l)
		idx = append(idx, sampleIndices(r, w, w+shape.Sizes[l]*shape.Sizes[l+1], 8)...)
		idx = append(idx, sampleIndices(r, shape.Bias(l), shape.Bias(l)+shape.Sizes[l+1], 4)...)
	}
	return idx
}

// batchSizes are the batches the SAC checks run on: one block of the
// policy update smaller than policyBlockRows, and several blocks whose last
// is partial (the paper's batch of 256 is two).
var batchSizes = []int{13, 2*policyBlockRows + 44}

// forBatchSizes runs test on each of batchSizes.
func forBatchSizes(t *testing.T, test func(t *testing.T, n int)) {
	for _, n := range batchSizes {
		t.Run(fmt.Sprintf("batch_%d", n), func(t *testing.T) { test(t, n) })
	}
}

func TestCriticGradient(t *testing.T) {
	forBatchSizes(t, testCriticGradient)
}

func testCriticGradient(t *testing.T, n int) {
	spec := smallAgentSpec()
	a := newTestAgent(t, spec, 1)
	r := rand.New(rand.NewPCG(2, 3))
	b := randomBatch(r, spec, n)
	eps := randSlice(r, n*spec.Act, 1)
	alpha := float32(math.Exp(float64(a.logAlpha[0])))
	a.updateScratch(n)
	l1, l2, qmean := a.criticGradients(b, eps, alpha)

	rb := toRef(b)
	y := refTargets(spec, to64(a.pol), to64(a.q1t), to64(a.q2t), rb, to64(eps), float64(alpha))
	for i := range y {
		if !near(a.upd.y[i], y[i], 1e-5) {
			t.Fatalf("target y[%d] = %g, reference %g", i, a.upd.y[i], y[i])
		}
	}
	q1, q2 := to64(a.q1), to64(a.q2)
	if want := refCriticLoss(spec, q1, rb, y); !near(l1, want, 1e-5) {
		t.Errorf("Q1 loss = %g, reference %g", l1, want)
	}
	if want := refCriticLoss(spec, q2, rb, y); !near(l2, want, 1e-5) {
		t.Errorf("Q2 loss = %g, reference %g", l2, want)
	}
	v := refForward(spec.Critic(), refReLU, q1, refConcat(rb.obs, rb.act, n, spec.Obs, spec.Act), n)
	mean := 0.0
	for _, q := range v {
		mean += q / float64(n)
	}
	if !near(qmean, mean, 1e-5) {
		t.Errorf("mean Q1 = %g, reference %g", qmean, mean)
	}
	idx := layerIndices(r, spec.Critic())
	gradCheck(t, "critic 1", func(p []float64) float64 { return refCriticLoss(spec, p, rb, y) }, q1, a.gQ1, idx, 2e-3)
	gradCheck(t, "critic 2", func(p []float64) float64 { return refCriticLoss(spec, p, rb, y) }, q2, a.gQ2, idx, 2e-3)
}

func TestActorGradient(t *testing.T) {
	forBatchSizes(t, testActorGradient)
}

func testActorGradient(t *testing.T, n int) {
	spec := smallAgentSpec()
	a := newTestAgent(t, spec, 4)
	r := rand.New(rand.NewPCG(5, 6))
	obs := randSlice(r, n*spec.Obs, 1)
	eps := randSlice(r, n*spec.Act, 1)
	alpha := float32(math.Exp(float64(a.logAlpha[0])))
	a.updateScratch(n)
	loss, meanLogp := a.actorGradients(obs, n, eps, alpha)

	pol, q1, q2, o64, e64 := to64(a.pol), to64(a.q1), to64(a.q2), to64(obs), to64(eps)
	f := func(p []float64) float64 {
		l, _ := refActorLoss(spec, p, q1, q2, o64, e64, n, float64(alpha))
		return l
	}
	wantLoss, wantLogp := refActorLoss(spec, pol, q1, q2, o64, e64, n, float64(alpha))
	if !near(loss, wantLoss, 1e-5) || math.Abs(meanLogp-wantLogp) > 1e-5*math.Max(1, math.Abs(wantLogp)) {
		t.Errorf("actor loss, mean logπ = %g, %g, reference %g, %g", loss, meanLogp, wantLoss, wantLogp)
	}

	// The sample must exercise the clip: some raw log σ outside it, some in.
	head := refForward(spec.Policy(), refReLU, pol, o64, n)
	clipped, free := 0, 0
	for i := 0; i < n; i++ {
		for j := 0; j < spec.Act; j++ {
			if ls := head[i*2*spec.Act+spec.Act+j]; ls < float64(spec.LogStdMin) || ls > float64(spec.LogStdMax) {
				clipped++
			} else {
				free++
			}
		}
	}
	if clipped == 0 || free == 0 {
		t.Fatalf("%d clipped and %d free log σ: the check would miss the clip", clipped, free)
	}
	gradCheck(t, "actor", f, pol, a.gPol[0], layerIndices(r, spec.Policy()), 2e-3)
	for i, g := range a.gQ1 {
		if g != 0 {
			t.Fatalf("the actor pass wrote critic gradient %d", i)
		}
	}
}

// TestUpdateFollowsSpec checks one Update against the float64 reference:
// the noise numbering (s' draws numbers [0, N·Act), s draws [N·Act, 2·N·Act)),
// the critic losses, the actor loss under the critics as updated in this
// step, the temperature loss and step, and the Polyak-averaged targets.
func TestUpdateFollowsSpec(t *testing.T) {
	forBatchSizes(t, testUpdateFollowsSpec)
}

func testUpdateFollowsSpec(t *testing.T, n int) {
	spec := smallAgentSpec()
	spec.LR = 1e-2 // large enough that the critics' step shows in the actor loss
	a := newTestAgent(t, spec, 7)
	r := rand.New(rand.NewPCG(8, 9))
	b := randomBatch(r, spec, n)
	key := rng.Key{Seed: 5, Purpose: rng.SACNoise, Step: 3}
	before := a.State()
	st, err := a.Update(b, key)
	if err != nil {
		t.Fatal(err)
	}
	after := a.State()
	buf0, buf1 := before.Buffers, after.Buffers

	A := spec.Act
	epsNext, epsNow := normals(key, 0, n*A), normals(key, uint64(n*A), n*A)
	alpha0 := math.Exp(float64(buf0["log_alpha"][0]))
	rb := toRef(b)
	y := refTargets(spec, to64(buf0["policy"]), to64(buf0["q1_target"]), to64(buf0["q2_target"]), rb, epsNext, alpha0)
	checks := []struct {
		name string
		got  float32
		want float64
	}{
		{"Alpha", st.Alpha, alpha0},
		{"Q1Loss", st.Q1Loss, refCriticLoss(spec, to64(buf0["q1"]), rb, y)},
		{"Q2Loss", st.Q2Loss, refCriticLoss(spec, to64(buf0["q2"]), rb, y)},
	}
	newLoss, meanLogp := refActorLoss(spec, to64(buf0["policy"]), to64(buf1["q1"]), to64(buf1["q2"]), rb.obs, epsNow, n, alpha0)
	oldLoss, _ := refActorLoss(spec, to64(buf0["policy"]), to64(buf0["q1"]), to64(buf0["q2"]), rb.obs, epsNow, n, alpha0)
	logAlpha0 := float64(buf0["log_alpha"][0])
	checks = append(checks, []struct {
		name string
		got  float32
		want float64
	}{
		{"PolicyLoss", st.PolicyLoss, newLoss},
		{"Entropy", st.Entropy, -meanLogp},
		{"AlphaLoss", st.AlphaLoss, -logAlpha0 * (meanLogp + float64(spec.TargetEntropy))},
	}...)
	for _, c := range checks {
		if !near(c.got, c.want, 1e-5) {
			t.Errorf("%s = %.7g, reference %.7g", c.name, c.got, c.want)
		}
	}
	if math.Abs(newLoss-oldLoss) < 1e-3*math.Max(1, math.Abs(newLoss)) {
		t.Fatalf("actor loss under old (%g) and new (%g) critics too close to tell the order apart", oldLoss, newLoss)
	}

	// Temperature: Adam's first step moves logα by lr against the gradient
	// -(mean logπ + target entropy).
	wantLogAlpha := logAlpha0 + float64(spec.LR)*math.Copysign(1, meanLogp+float64(spec.TargetEntropy))
	if !near(buf1["log_alpha"][0], wantLogAlpha, 1e-6) {
		t.Errorf("log α after the step = %g, want %g", buf1["log_alpha"][0], wantLogAlpha)
	}
	for _, q := range []string{"q1", "q2"} {
		for i, v := range buf1[q+"_target"] {
			want := float64(spec.Tau)*float64(buf1[q][i]) + (1-float64(spec.Tau))*float64(buf0[q+"_target"][i])
			if !near(v, want, 1e-6) {
				t.Fatalf("%s_target[%d] = %g, want τ·new + (1-τ)·old = %g", q, i, v, want)
			}
		}
	}
	for _, name := range engine.AgentTrained() {
		if same(buf0[name], buf1[name]) {
			t.Errorf("Update left %s unchanged", name)
		}
	}
	if after.Step != 1 {
		t.Errorf("step after one update = %d, want 1", after.Step)
	}
}

func same(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// TestSACSolvesBandit trains on a one-step bandit: reward -(a - 0.5)², every
// transition done, observations irrelevant. The policy's deterministic action
// must approach 0.5 (a sign error in the critic, actor or reparameterisation
// sends it elsewhere or diverges) and the temperature must fall from 1 toward
// the regime where the entropy meets its target (a sign error in the
// temperature loss makes α grow).
func TestSACSolvesBandit(t *testing.T) {
	spec := engine.PaperAgent(2, 1, -1)
	spec.Hidden = []int{32, 32}
	spec.LR = 3e-3
	ag, err := testEngine(t).NewAgent(spec, 11)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(12, 13))
	const n, updates = 128, 2000
	b := engine.Batch{N: n, Obs: make([]float32, n*2), Act: make([]float32, n), Rew: make([]float32, n),
		NextObs: make([]float32, n*2), Done: make([]float32, n)}
	var st engine.UpdateStats
	for u := 0; u < updates; u++ {
		for i := 0; i < n; i++ {
			b.Obs[2*i], b.Obs[2*i+1] = float32(r.NormFloat64()), float32(r.NormFloat64())
			b.NextObs[2*i], b.NextObs[2*i+1] = float32(r.NormFloat64()), float32(r.NormFloat64())
			a := 2*r.Float64() - 1
			b.Act[i] = float32(a)
			b.Rew[i] = float32(-(a - 0.5) * (a - 0.5))
			b.Done[i] = 1
		}
		if st, err = ag.Update(b, rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(u)}); err != nil {
			t.Fatal(err)
		}
	}
	obs := randSlice(r, 64*2, 1)
	act := make([]float32, 64)
	if err := ag.Act(obs, 64, true, rng.Key{}, act); err != nil {
		t.Fatal(err)
	}
	mean := 0.0
	for _, v := range act {
		mean += float64(v) / 64
	}
	t.Logf("after %d updates: mean action %.3f, α %.4f, entropy %.3f (target %g), Q1 loss %.2g",
		updates, mean, st.Alpha, st.Entropy, spec.TargetEntropy, st.Q1Loss)
	if math.Abs(mean-0.5) > 0.1 {
		t.Errorf("deterministic action %.3f, want 0.5 ± 0.1", mean)
	}
	if !(st.Alpha < 0.5) {
		t.Errorf("α = %g, want it well below its initial 1 (the policy's entropy starts above the target)", st.Alpha)
	}
	if st.Entropy > 0 || st.Entropy < 3*spec.TargetEntropy {
		t.Errorf("entropy %g, want it driven toward the target %g", st.Entropy, spec.TargetEntropy)
	}
}

func TestActNoiseAndDeterminism(t *testing.T) {
	spec := smallAgentSpec()
	a := newTestAgent(t, spec, 14)
	r := rand.New(rand.NewPCG(15, 16))
	n := actChunk + 5 // two chunks
	obs := randSlice(r, n*spec.Obs, 1)
	k1 := rng.Key{Seed: 1, Purpose: rng.PolicyNoise, Step: 7}
	k2 := rng.Key{Seed: 1, Purpose: rng.PolicyNoise, Step: 8}
	act := func(det bool, key rng.Key) []float32 {
		out := make([]float32, n*spec.Act)
		if err := a.Act(obs, n, det, key, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if !same(act(true, k1), act(true, k2)) {
		t.Error("deterministic actions depend on the key")
	}
	s1, s2 := act(false, k1), act(false, k2)
	if !same(s1, act(false, k1)) {
		t.Error("stochastic actions differ for the same key")
	}
	if same(s1, s2) {
		t.Error("stochastic actions are equal for different keys")
	}
	// Row i, dimension j uses number i·Act + j of the key.
	pol := to64(a.pol)
	for _, i := range []int{0, 1, actChunk - 1, actChunk, n - 1} {
		head := refForward(spec.Policy(), refReLU, pol, to64(obs[i*spec.Obs:(i+1)*spec.Obs]), 1)
		for j := 0; j < spec.Act; j++ {
			ls := math.Min(math.Max(head[spec.Act+j], float64(spec.LogStdMin)), float64(spec.LogStdMax))
			want := math.Tanh(head[j] + math.Exp(ls)*float64(k1.Normal(uint64(i*spec.Act+j))))
			if !near(s1[i*spec.Act+j], want, 1e-5) {
				t.Fatalf("act[%d][%d] = %g, reference %g", i, j, s1[i*spec.Act+j], want)
			}
		}
	}
	for _, v := range s1 {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("action %g outside [-1, 1]", v)
		}
	}
}

func TestFillNormalMatchesRNG(t *testing.T) {
	key := rng.Key{Seed: 3, Purpose: rng.PolicyNoise, Step: 1 << 40}
	for _, c := range []struct{ first, n int }{{0, 1}, {0, 8}, {1, 6}, {3, 1}, {5, 11}, {4093, 300}} {
		dst := make([]float32, c.n)
		fillNormal(key, dst, uint64(c.first))
		for i, v := range dst {
			if want := key.Normal(uint64(c.first + i)); v != want {
				t.Fatalf("first %d: number %d = %g, rng gives %g", c.first, c.first+i, v, want)
			}
		}
	}
}

func TestAgentDeterminismAndState(t *testing.T) {
	spec := smallAgentSpec()
	eng := testEngine(t)
	ag1, _ := eng.NewAgent(spec, 21)
	ag2, _ := eng.NewAgent(spec, 21)
	want := spec.Init(rng.Key{Seed: 21, Purpose: rng.Init, Step: engine.InitStepAgent})
	for name, buf := range ag1.State().Buffers {
		if !same(buf, want[name]) {
			t.Fatalf("initial %s differs from spec.Init", name)
		}
	}
	r := rand.New(rand.NewPCG(22, 23))
	b := randomBatch(r, spec, 32)
	for u := 0; u < 3; u++ {
		key := rng.Key{Seed: 2, Purpose: rng.SACNoise, Step: uint64(u)}
		s1, err1 := ag1.Update(b, key)
		s2, err2 := ag2.Update(b, key)
		if err1 != nil || err2 != nil || s1 != s2 {
			t.Fatalf("update %d: %+v (%v) vs %+v (%v)", u, s1, err1, s2, err2)
		}
	}

	// Round trip into an agent from another seed: identical from then on.
	ag3, _ := eng.NewAgent(spec, 99)
	if err := ag3.SetState(ag1.State()); err != nil {
		t.Fatal(err)
	}
	key := rng.Key{Seed: 2, Purpose: rng.SACNoise, Step: 10}
	s1, _ := ag1.Update(b, key)
	s3, _ := ag3.Update(b, key)
	if s1 != s3 {
		t.Errorf("restored agent's update %+v, original %+v", s3, s1)
	}
	st1, st3 := ag1.State(), ag3.State()
	if st1.Step != 4 || st3.Step != 4 {
		t.Errorf("steps %d, %d, want 4", st1.Step, st3.Step)
	}
	for name := range st1.Buffers {
		if !same(st1.Buffers[name], st3.Buffers[name]) {
			t.Errorf("buffer %s differs after restoring", name)
		}
	}

	for _, c := range []struct {
		name   string
		edit   func(engine.State)
		errHas string
	}{
		{"missing", func(s engine.State) { delete(s.Buffers, "q2_target") }, `"q2_target"`},
		{"short", func(s engine.State) { s.Buffers["policy_adam_v"] = s.Buffers["policy_adam_v"][2:] }, `"policy_adam_v"`},
		{"unknown", func(s engine.State) { s.Buffers["params"] = nil }, `"params"`},
	} {
		st := ag3.State()
		c.edit(st)
		if err := ag3.SetState(st); err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: SetState error = %v, want one naming %s", c.name, err, c.errHas)
		}
	}
}

func TestAgentArgumentErrors(t *testing.T) {
	spec := smallAgentSpec()
	ag, err := testEngine(t).NewAgent(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	good := randomBatch(r, spec, 8)
	for _, c := range []struct {
		name string
		edit func(*engine.Batch)
	}{
		{"N 0", func(b *engine.Batch) { b.N = 0 }},
		{"short obs", func(b *engine.Batch) { b.Obs = b.Obs[1:] }},
		{"short next obs", func(b *engine.Batch) { b.NextObs = nil }},
		{"short act", func(b *engine.Batch) { b.Act = b.Act[:5] }},
		{"short rew", func(b *engine.Batch) { b.Rew = b.Rew[:7] }},
		{"short done", func(b *engine.Batch) { b.Done = nil }},
	} {
		b := good
		c.edit(&b)
		if _, err := ag.Update(b, rng.Key{}); err == nil {
			t.Errorf("%s: Update accepted the batch", c.name)
		}
	}
	if err := ag.Act(good.Obs, 9, true, rng.Key{}, make([]float32, 9*spec.Act)); err == nil {
		t.Error("Act accepted 9 rows of 8 observations")
	}
	if err := ag.Act(good.Obs, 8, true, rng.Key{}, make([]float32, 8*spec.Act-1)); err == nil {
		t.Error("Act accepted a short action buffer")
	}
	bad := spec
	bad.LogStdMin = bad.LogStdMax
	if _, err := testEngine(t).NewAgent(bad, 1); err == nil {
		t.Error("NewAgent accepted an empty log-std clip")
	}
}
