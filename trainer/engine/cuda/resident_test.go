// resident_test.go: the device-resident stages against the trainer's own
// code on the CPU engine: rings against trainer.Replay (appends, wrapping,
// resizing), a round of device rollouts against trainer.Rollouts.Run (the
// same start states, elites, noise, terminations and model-buffer rows), and
// runs of device SAC updates against the CPU engine's updates on minibatches
// drawn as trainer's sacBatcher draws them.

package cuda

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// randomTransitions are n transitions of widths od, ad; obs column 0 near
// 1.25 and column 1 near 0 (a healthy Hopper), the rest standard normal.
func randomTransitions(od, ad, n int, seed uint64) (obs, act, rew, next, done []float32) {
	k := func(s uint64) rng.Key { return rng.Key{Seed: seed, Purpose: rng.Test, Step: s} }
	obs, act, rew, next, done = make([]float32, n*od), make([]float32, n*ad), make([]float32, n), make([]float32, n*od), make([]float32, n)
	k(1).FillNormal(obs)
	k(2).FillNormal(next)
	k(3).FillNormal(rew)
	for i := range act {
		act[i] = 2*k(4).Uniform(uint64(i)) - 1
	}
	for i := 0; i < n; i++ {
		obs[i*od] = 1.25 + 0.05*obs[i*od]
		obs[i*od+1] = 0.05 * obs[i*od+1]
		if k(5).Intn(uint64(i), 5) == 0 {
			done[i] = 1
		}
	}
	return
}

// checkRing compares every row of a device ring with a Replay's.
func checkRing(t *testing.T, what string, got engine.Transitions, want *trainer.Replay) {
	t.Helper()
	n, err := got.Len()
	if err != nil {
		t.Fatal(err)
	}
	if n != want.Len() || got.Cap() != want.Cap() {
		t.Fatalf("%s: ring holds %d of %d, Replay %d of %d", what, n, got.Cap(), want.Len(), want.Cap())
	}
	o0, a0, _, _, _ := want.Row(0)
	od, ad := len(o0), len(a0)
	obs, act, rew, next, done := make([]float32, n*od), make([]float32, n*ad), make([]float32, n), make([]float32, n*od), make([]float32, n)
	if err := got.Rows(0, n, obs, act, rew, next, done); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		o, a, r, nx, d := want.Row(i)
		row := func(v []float32, w int) []float32 { return v[i*w : (i+1)*w] }
		if compare(row(obs, od), o).abs != 0 || compare(row(act, ad), a).abs != 0 || rew[i] != r ||
			compare(row(next, od), nx).abs != 0 || done[i] != d {
			t.Fatalf("%s: row %d differs from the Replay's", what, i)
		}
	}
}

func checkTransitions(t *testing.T, e *Engine) {
	const od, ad = 4, 2
	ring, err := e.NewTransitions(od, ad, 10)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ring)
	rep := trainer.NewReplay(od, ad, 10)
	for i, n := range []int{3, 1, 7, 25, 2} { // wraps, and once more rows than the capacity
		o, a, r, nx, d := randomTransitions(od, ad, n, uint64(i))
		if err := ring.Append(o, a, r, nx, d); err != nil {
			t.Fatal(err)
		}
		rep.Add(o, a, r, nx, d)
		checkRing(t, "after appends", ring, rep)
	}
	for _, c := range []int{16, 5, 5, 12} {
		if err := ring.Resize(c); err != nil {
			t.Fatal(err)
		}
		rep.Resize(c)
		checkRing(t, "after a resize", ring, rep)
		o, a, r, nx, d := randomTransitions(od, ad, 3, uint64(c))
		if err := ring.Append(o, a, r, nx, d); err != nil {
			t.Fatal(err)
		}
		rep.Add(o, a, r, nx, d)
		checkRing(t, "after a resize and an append", ring, rep)
	}
	if err := ring.Append(make([]float32, od), make([]float32, ad), []float32{0, 1}, make([]float32, od), []float32{0}); err == nil {
		t.Error("an Append with short slices did not fail")
	}
}

// rolloutCase is an ensemble and an agent on Hopper's sizes, small, with
// log-variances low enough that rollouts last a few steps.
func rolloutCase(t *testing.T, hidden int) (engine.EnsembleSpec, engine.State, []float32, []float32, engine.AgentSpec, engine.State) {
	spec, err := env.Lookup("Hopper-v4")
	if err != nil {
		t.Fatal(err)
	}
	es := engine.PaperEnsemble(spec.ObsDim, spec.ActDim, hidden)
	ens, err := cpuEngine(t).NewEnsemble(es, 8)
	if err != nil {
		t.Fatal(err)
	}
	est := ens.State()
	for j := 0; j < es.Out; j++ {
		est.Buffers["params"][es.MaxLogVar()+j] = -4
	}
	mean, std := make([]float32, es.In), make([]float32, es.In)
	for j := range std {
		mean[j], std[j] = 0.1, 1.5
	}
	as := engine.PaperAgent(spec.ObsDim, spec.ActDim, -3)
	as.Hidden = []int{hidden, hidden}
	return es, est, mean, std, as, agentState(t, as, 8)
}

func checkRollouts(t *testing.T, e *Engine, hidden, batch, k, realRows int) {
	const seed, call = 21, 3
	es, est, mean, std, as, ast := rolloutCase(t, hidden)
	od, ad := as.Obs, as.Act
	spec, _ := env.Lookup("Hopper-v4")
	elites := []int{4, 1, 6, 2, 0}

	// The trainer's rollouts on the CPU engine.
	cpuEng := cpuEngine(t)
	model, err := trainer.NewModel(cpuEng, es, od, ad, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Ens.SetState(est); err != nil {
		t.Fatal(err)
	}
	model.Ens.SetNormalizer(mean, std)
	model.Elites = elites
	cag, err := cpuEng.NewAgent(as, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := cag.SetState(ast); err != nil {
		t.Fatal(err)
	}
	real := trainer.NewReplay(od, ad, realRows)
	o, a, r, nx, d := randomTransitions(od, ad, realRows, 5)
	real.Add(o, a, r, nx, d)
	outCap := batch * k
	out := trainer.NewReplay(od, ad, outCap)
	ro := trainer.NewRollouts(model, cag, spec.Terminal, od, ad, seed)
	want, err := ro.Run(real, out, batch, k, call)
	if err != nil {
		t.Fatal(err)
	}

	// The device's.
	gens, err := e.NewEnsemble(es, seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gens)
	if err := gens.SetState(est); err != nil {
		t.Fatal(err)
	}
	gens.SetNormalizer(mean, std)
	gag, err := e.NewAgent(as, seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gag)
	if err := gag.SetState(ast); err != nil {
		t.Fatal(err)
	}
	greal, err := e.NewTransitions(od, ad, realRows)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, greal)
	if err := greal.Append(o, a, r, nx, d); err != nil {
		t.Fatal(err)
	}
	gout, err := e.NewTransitions(od, ad, outCap)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gout)
	gro, err := e.NewRollouts(gens, gag, greal, gout, engine.RolloutConfig{Batch: batch, MaxK: k, Env: "Hopper-v4", Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gro)
	got, err := gro.Run(elites, k, call)
	if err != nil {
		t.Fatal(err)
	}
	wantRew := want.MeanRew * float64(want.Steps)
	t.Logf("%d rollouts of up to %d steps: device %d transitions, %d finished, reward sum %.6g; trainer %d, %d, %.6g",
		batch, k, got.Steps, got.Finished, got.RewardSum, want.Steps, want.Finished, wantRew)
	if got.Steps != want.Steps || got.Finished != want.Finished || math.Abs(got.RewardSum-wantRew) > 1e-4*max(1, math.Abs(wantRew)) {
		t.Fatalf("device rollouts differ from the trainer's")
	}
	if want.Finished == 0 || want.Steps == int64(batch*k) {
		t.Errorf("no rollout finished early: the case does not exercise the compaction")
	}
	// Row by row, the model buffers.
	n := out.Len()
	gobs, gact, grew, gnext, gdone := make([]float32, n*od), make([]float32, n*ad), make([]float32, n), make([]float32, n*od), make([]float32, n)
	if err := gout.Rows(0, n, gobs, gact, grew, gnext, gdone); err != nil {
		t.Fatal(err)
	}
	var wobs, wact, wrew, wnext, wdone []float32
	for i := 0; i < n; i++ {
		o, a, r, nx, d := out.Row(i)
		wobs, wact, wrew, wnext, wdone = append(wobs, o...), append(wact, a...), append(wrew, r), append(wnext, nx...), append(wdone, d)
	}
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"obs", gobs, wobs}, {"act", gact, wact}, {"rew", grew, wrew}, {"next", gnext, wnext}, {"done", gdone, wdone}} {
		dd := compare(c.got, c.want)
		t.Logf("model buffer %-4s %s", c.name, dd)
		if dd.rel > outTol {
			t.Errorf("model buffer %s differs from the trainer's beyond %g", c.name, outTol)
		}
	}
	// A second round replays the recorded graph with new keys.
	got2, err := gro.Run(elites, k, call+1)
	if err != nil {
		t.Fatal(err)
	}
	want2, err := ro.Run(real, out, batch, k, call+1)
	if err != nil {
		t.Fatal(err)
	}
	if got2.Steps != want2.Steps || got2.Finished != want2.Finished {
		t.Errorf("second round: device %d transitions, %d finished; trainer %d, %d", got2.Steps, got2.Finished, want2.Steps, want2.Finished)
	}
}

// sacBatchFromReplays draws update u's minibatch as trainer's sacBatcher does.
func sacBatchFromReplays(real, model *trainer.Replay, size int, ratio float64, seed uint64, u int64) engine.Batch {
	o0, a0, _, _, _ := real.Row(0)
	od, ad := len(o0), len(a0)
	b := engine.Batch{N: size, Obs: make([]float32, size*od), Act: make([]float32, size*ad), Rew: make([]float32, size),
		NextObs: make([]float32, size*od), Done: make([]float32, size)}
	key := rng.Key{Seed: seed, Purpose: rng.SACBatch, Step: uint64(u)}
	nReal := size
	if model != nil && model.Len() > 0 {
		nReal = int(float64(size) * ratio)
	}
	idx := make([]int32, size)
	for i := 0; i < size; i++ {
		src := real
		if i >= nReal {
			src = model
		}
		idx[i] = int32(key.Intn(uint64(i), src.Len()))
	}
	real.Gather(idx[:nReal], &b, 0)
	if nReal < size {
		model.Gather(idx[nReal:], &b, nReal)
	}
	return b
}

// checkSACUpdates runs rounds of updates after adding fills[r] transitions
// to the model buffer (0: an empty model buffer, all rows real).
func checkSACUpdates(t *testing.T, e *Engine, spec engine.AgentSpec, batch, updates int, fills []int) {
	const seed, ratio = 31, 0.25
	od, ad := spec.Obs, spec.Act
	st := agentState(t, spec, 6)
	want, got := agentPair(t, e, spec, st)
	real, model := trainer.NewReplay(od, ad, 300), trainer.NewReplay(od, ad, 200)
	greal, err := e.NewTransitions(od, ad, 300)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, greal)
	gmodel, err := e.NewTransitions(od, ad, 200)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gmodel)
	o, a, r, nx, d := randomTransitions(od, ad, 250, 1)
	real.Add(o, a, r, nx, d)
	if err := greal.Append(o, a, r, nx, d); err != nil {
		t.Fatal(err)
	}
	upd, err := e.NewSACUpdates(got, greal, gmodel, batch, ratio, seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, upd)
	first := int64(40)
	for round, fill := range fills {
		if fill > 0 {
			o, a, r, nx, d := randomTransitions(od, ad, fill, 2)
			model.Add(o, a, r, nx, d)
			if err := gmodel.Append(o, a, r, nx, d); err != nil {
				t.Fatal(err)
			}
		}
		var ws engine.UpdateSums
		for u := first; u < first+int64(updates); u++ {
			s, err := want.Update(sacBatchFromReplays(real, model, batch, ratio, seed, u), rng.Key{Seed: seed, Purpose: rng.SACNoise, Step: uint64(u)})
			if err != nil {
				t.Fatal(err)
			}
			ws.Q1Loss, ws.Q2Loss, ws.PolicyLoss = ws.Q1Loss+float64(s.Q1Loss), ws.Q2Loss+float64(s.Q2Loss), ws.PolicyLoss+float64(s.PolicyLoss)
			ws.AlphaLoss, ws.Alpha, ws.Entropy, ws.QMean = ws.AlphaLoss+float64(s.AlphaLoss), ws.Alpha+float64(s.Alpha), ws.Entropy+float64(s.Entropy), ws.QMean+float64(s.QMean)
		}
		gs, err := upd.Run(first, updates)
		if err != nil {
			t.Fatal(err)
		}
		first += int64(updates)
		wv := []float32{float32(ws.Q1Loss), float32(ws.Q2Loss), float32(ws.PolicyLoss), float32(ws.AlphaLoss), float32(ws.Alpha), float32(ws.Entropy), float32(ws.QMean)}
		gv := []float32{float32(gs.Q1Loss), float32(gs.Q2Loss), float32(gs.PolicyLoss), float32(gs.AlphaLoss), float32(gs.Alpha), float32(gs.Entropy), float32(gs.QMean)}
		dd := compare(gv, wv)
		t.Logf("round %d: %d device updates, summed stats %v; CPU engine %v; %s", round, gs.Updates, gv, wv, dd)
		if gs.Updates != updates || dd.rel > outTol {
			t.Errorf("round %d: device updates differ from the CPU engine's beyond %g", round, outTol)
		}
		compareStates(t, "after the round", got.State(), want.State(), outTol, func(d diff) float64 { return d.rel })
	}
}

func TestHostTransitions(t *testing.T) { checkTransitions(t, onHost(t)) }

func TestHostRollouts(t *testing.T) { checkRollouts(t, onHost(t), 16, 60, 4, 300) }

func TestHostSACUpdates(t *testing.T) {
	checkSACUpdates(t, onHost(t), smallAgentSpec(), 24, 2, []int{230}) // a wrapped model buffer
}

func TestGPUTransitions(t *testing.T) { checkTransitions(t, onGPU(t)) }

func TestGPURollouts(t *testing.T) {
	e := onGPU(t)
	checkRollouts(t, e, 16, 60, 4, 300)
	checkRollouts(t, e, 200, 20000, 5, 5000)
}

func TestGPUSACUpdates(t *testing.T) {
	e := onGPU(t)
	checkSACUpdates(t, e, smallAgentSpec(), 32, 3, []int{0, 230})
	checkSACUpdates(t, e, engine.PaperAgent(11, 3, -3), 256, 20, []int{0, 230})
}

// checkFit retrains an ensemble on the device from a ring and on the CPU
// engine with trainer.Model.Train from the same Replay and seeds: epochs,
// rows, elites, holdout losses and the trained parameters must agree.
func checkFit(t *testing.T, e *Engine, hidden, rows, batch, maxEpochs int) {
	const seed, call = 17, 2
	spec, err := env.Lookup("Hopper-v4")
	if err != nil {
		t.Fatal(err)
	}
	od, ad := spec.ObsDim, spec.ActDim
	es := engine.PaperEnsemble(od, ad, hidden)
	real := trainer.NewReplay(od, ad, rows)
	o, a, r, nx, d := randomTransitions(od, ad, rows, 9)
	real.Add(o, a, r, nx, d)
	settings := trainer.ModelSettings{Batch: batch, HoldoutRatio: 0.2, MaxHoldout: 5000, EarlyStop: 5, Improvement: 0.01, MaxEpochs: maxEpochs, Elites: 5}
	model, err := trainer.NewModel(cpuEngine(t), es, od, ad, seed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.Train(real, settings, call)
	if err != nil {
		t.Fatal(err)
	}

	ens, err := e.NewEnsemble(es, seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ens)
	ring, err := e.NewTransitions(od, ad, rows)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ring)
	if err := ring.Append(o, a, r, nx, d); err != nil {
		t.Fatal(err)
	}
	got, err := e.Fit(ens, ring, engine.FitSettings{Batch: settings.Batch, HoldoutRatio: settings.HoldoutRatio, MaxHoldout: settings.MaxHoldout,
		EarlyStop: settings.EarlyStop, Improvement: settings.Improvement, MaxEpochs: settings.MaxEpochs, Elites: settings.Elites, Seed: seed}, call)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("device fit: %d epochs, %d/%d rows, loss %v, holdout MSE %v, elites %v", got.Epochs, got.Train, got.Holdout, got.TrainLoss, got.HoldoutMSE, got.Elites)
	t.Logf("trainer:    %d epochs, %d/%d rows, loss %v, holdout MSE %v, elites %v", want.Epochs, want.Train, want.Holdout, want.TrainLoss, want.HoldoutMSE, want.Elites)
	if got.Epochs != want.Epochs || got.Train != want.Train || got.Holdout != want.Holdout || got.Rows != want.Rows {
		t.Errorf("device fit ran %d epochs on %d/%d rows (%d member-rows), the trainer %d on %d/%d (%d)", got.Epochs, got.Train, got.Holdout, got.Rows,
			want.Epochs, want.Train, want.Holdout, want.Rows)
	}
	for _, c := range []struct {
		name      string
		got, want []float32
	}{{"holdout MSE", got.HoldoutMSE, want.HoldoutMSE}, {"holdout NLL", got.HoldoutNLL, want.HoldoutNLL}, {"train loss", []float32{got.TrainLoss}, []float32{want.TrainLoss}}} {
		for i := range c.want {
			if dd := math.Abs(float64(c.got[i]-c.want[i])) / max(1e-3, math.Abs(float64(c.want[i]))); !(dd <= 0.02) {
				t.Errorf("%s[%d]: device %v, trainer %v (%.3g apart, above 2%%)", c.name, i, c.got[i], c.want[i], dd)
			}
		}
	}
	compareStates(t, "after the fit", ens.State(), model.Ens.State(), 1e-3, func(d diff) float64 { return d.rel })
}

func TestHostFit(t *testing.T) { checkFit(t, onHost(t), 12, 120, 32, 2) }

func TestGPUFit(t *testing.T) {
	e := onGPU(t)
	checkFit(t, e, 12, 120, 32, 2)
	checkFit(t, e, 200, 10000, 256, 0) // MBPO's ensemble, to early stop
}
