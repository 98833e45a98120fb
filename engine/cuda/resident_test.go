// resident_test.go: the device-resident stages against the trainer's own
// code on the CPU engine: rings against stages.Replay (appends, wrapping,
// resizing), rounds of device rollouts against stages.Rollouts.Run (the
// same start states, elites, noise, terminations and model-buffer rows, up
// to terminations that differ where a next observation lies within an ulp or
// so of a threshold), and runs of device SAC updates against the CPU
// engine's updates on minibatches drawn as trainer's sacBatcher draws them.

package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
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
func checkRing(t *testing.T, what string, got engine.Transitions, want *stages.Replay) {
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
	ring, err := newTransitions(e.m, od, ad, 10)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ring)
	rep := stages.NewReplay(od, ad, 10)
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

// rolloutRig is one rollout case run by the trainer on the CPU engine: the
// reference that the device's rollouts are compared with.
type rolloutRig struct {
	es                 engine.EnsembleSpec
	est                engine.State
	mean, std          []float32
	as                 engine.AgentSpec
	ast                engine.State
	elites             []int
	o, a, r, nx, d     []float32 // the real buffer's rows
	real               *stages.Replay
	batch, k, realRows int
	od, ad             int
	seed               uint64
	cpuEns             engine.Ensemble
	cpuAgent           engine.Agent
	terminal           env.TerminalFunc
}

func newRolloutRig(t *testing.T, hidden, batch, k, realRows int) *rolloutRig {
	const seed = 21
	es, est, mean, std, as, ast := rolloutCase(t, hidden)
	spec, _ := env.Lookup("Hopper-v4")
	g := &rolloutRig{es: es, est: est, mean: mean, std: std, as: as, ast: ast, elites: []int{4, 1, 6, 2, 0},
		batch: batch, k: k, realRows: realRows, od: as.Obs, ad: as.Act, seed: seed, terminal: spec.Terminal}
	cpuEng := cpuEngine(t)
	ens, err := cpuEng.NewEnsemble(es, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := ens.SetState(est); err != nil {
		t.Fatal(err)
	}
	ens.SetNormalizer(mean, std)
	cag, err := cpuEng.NewAgent(as, seed)
	if err != nil {
		t.Fatal(err)
	}
	if err := cag.SetState(ast); err != nil {
		t.Fatal(err)
	}
	g.cpuEns, g.cpuAgent = ens, cag
	g.real = stages.NewReplay(g.od, g.ad, realRows)
	g.o, g.a, g.r, g.nx, g.d = randomTransitions(g.od, g.ad, realRows, 5)
	g.real.Add(g.o, g.a, g.r, g.nx, g.d)
	return g
}

// trainerRollouts are the trainer's rollouts of the rig under rule (the
// environment's own, or another for the tests of the comparison) into a
// model buffer of batch·k rows.
func (g *rolloutRig) trainerRollouts(rule env.TerminalFunc) (*stages.Rollouts, *stages.Replay) {
	return stages.NewRollouts(g.cpuEns, g.cpuAgent, rule, g.od, g.ad, g.seed), stages.NewReplay(g.od, g.ad, g.batch*g.k)
}

// runTrainer runs round call of ro into out and returns its rows and totals.
func (g *rolloutRig) runTrainer(t *testing.T, ro *stages.Rollouts, out *stages.Replay, call uint64) (roundRows, roundTotals) {
	t.Helper()
	st, err := ro.Run(g.real, out, g.elites, g.batch, g.k, call)
	if err != nil {
		t.Fatal(err)
	}
	return replayRound(t, out, int(st.Steps)), roundTotals{steps: st.Steps, finished: st.Finished, rewardSum: st.RewardSum}
}

// roundRows are one round's transitions as a model buffer holds them, in the
// order they were appended: step 0's batch rows, then each step's rows of the
// rollouts still live.
type roundRows struct {
	od, ad                    int
	obs, act, rew, next, done []float32
}

func (r *roundRows) n() int                  { return len(r.rew) }
func (r *roundRows) obsRow(i int) []float32  { return r.obs[i*r.od : (i+1)*r.od] }
func (r *roundRows) actRow(i int) []float32  { return r.act[i*r.ad : (i+1)*r.ad] }
func (r *roundRows) nextRow(i int) []float32 { return r.next[i*r.od : (i+1)*r.od] }

// add appends a transition.
func (r *roundRows) add(obs, act []float32, rew float32, next []float32, done float32) {
	r.obs, r.act, r.rew = append(r.obs, obs...), append(r.act, act...), append(r.rew, rew)
	r.next, r.done = append(r.next, next...), append(r.done, done)
}

// replayRound is the last m transitions added to a Replay (never resized
// nor cleared).
func replayRound(t *testing.T, rep *stages.Replay, m int) roundRows {
	t.Helper()
	if m > rep.Len() {
		t.Fatalf("a round of %d transitions in a Replay holding %d", m, rep.Len())
	}
	o0, a0, _, _, _ := rep.Row(0)
	r := roundRows{od: len(o0), ad: len(a0)}
	c := int64(rep.Cap())
	for j := int64(0); j < int64(m); j++ {
		r.add(rep.Row(int(((rep.Added()-int64(m)+j)%c + c) % c)))
	}
	return r
}

// ringRound is the last m transitions appended to a device ring.
func ringRound(t *testing.T, ring engine.Transitions, od, ad, m int) roundRows {
	t.Helper()
	n, err := ring.Len()
	if err != nil {
		t.Fatal(err)
	}
	next, err := ring.Next()
	if err != nil {
		t.Fatal(err)
	}
	if m > n {
		t.Fatalf("a round of %d transitions in a ring holding %d", m, n)
	}
	obs, act, rew, nx, done := make([]float32, n*od), make([]float32, n*ad), make([]float32, n), make([]float32, n*od), make([]float32, n)
	if err := ring.Rows(0, n, obs, act, rew, nx, done); err != nil {
		t.Fatal(err)
	}
	r := roundRows{od: od, ad: ad}
	c := ring.Cap()
	for j := 0; j < m; j++ {
		i := ((next-m+j)%c + c) % c
		r.add(obs[i*od:(i+1)*od], act[i*ad:(i+1)*ad], rew[i], nx[i*od:(i+1)*od], done[i])
	}
	return r
}

// roundTotals are a round's reported counts.
type roundTotals struct {
	steps     int64
	finished  int
	rewardSum float64
}

// stepLengths cuts a round's rows into its steps: batch rows at step 0, then
// at each step as many as did not terminate at the step before, for at most
// k steps; the steps must hold every row.
func stepLengths(r *roundRows, batch, k int) ([]int, error) {
	var lens []int
	off, n := 0, batch
	for s := 0; s < k && n > 0; s++ {
		if off+n > r.n() {
			return lens, fmt.Errorf("step %d needs rows %d to %d, the round has %d", s, off, off+n, r.n())
		}
		lens = append(lens, n)
		live := 0
		for i := off; i < off+n; i++ {
			if r.done[i] == 0 {
				live++
			}
		}
		off, n = off+n, live
	}
	if off != r.n() {
		return lens, fmt.Errorf("the %d steps hold %d rows, the round has %d", len(lens), off, r.n())
	}
	return lens, nil
}

// hopperGap is how close a next observation lies to one of Hopper's
// termination thresholds (z = 0.7, angle = ±0.2, any of next[1:] = ±100):
// a transition this close may end on one machine and not on another that
// computed next an ulp or so apart. NaN for a non-finite observation.
func hopperGap(next []float32) float64 {
	z, angle := float64(next[0]), float64(next[1])
	g := min(math.Abs(z-0.7), math.Abs(angle+0.2), math.Abs(angle-0.2))
	for _, v := range next[1:] {
		g = min(g, math.Abs(float64(v)-100), math.Abs(float64(v)+100))
	}
	return g
}

// nearThreshold is the gap to a termination threshold within which a
// transition's termination may differ between the device and the CPU: the
// device's ex2/lg2 approximations, its normals and its fused multiply-adds
// put next observations an ulp or a few apart from the CPU's.
const nearThreshold = 1e-5

// rolloutComparison is what compareRounds found.
type rolloutComparison struct {
	aligned             int  // rows compared one by one
	flips               int  // compared rows whose termination differs
	near                int  // the reference's transitions within nearThreshold of a threshold
	obs, act, rew, next diff // over the compared rows
	problems            []string
}

func (c *rolloutComparison) fail(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// compareRounds compares a round of rollouts (got, reported gt, made under
// rule) with the trainer's (want, wt). Both must be well formed: their rows
// cut into steps by their done flags, their totals those of their rows, each
// of got's done flags rule's verdict on its next observation.
//
// Random numbers are keyed by a row's position in its step, so the rows line
// up one for one until a termination differs. Such a flip is allowed where
// the reference's next observation lies within margin (or the rows' distance
// apart, if more) of a threshold: a flipped row is then live in one round
// and not in the other, and every later row of its step and what follows
// from them draw other random numbers. So step by step, only the rows before
// the first flip's descendants are compared (within outTol); without a flip
// that is every row, and the totals must agree too.
func compareRounds(got, want *roundRows, gt, wt roundTotals, batch, k int, rule env.TerminalFunc, margin float64) rolloutComparison {
	var c rolloutComparison
	for i := 0; i < want.n(); i++ {
		if hopperGap(want.nextRow(i)) <= nearThreshold {
			c.near++
		}
	}
	for _, x := range []struct {
		who string
		r   *roundRows
		t   roundTotals
	}{{"device", got, gt}, {"trainer", want, wt}} {
		finished, sum := 0, 0.0
		for i := 0; i < x.r.n(); i++ {
			if x.r.done[i] != 0 {
				finished++
			}
			sum += float64(x.r.rew[i])
		}
		if x.t.steps != int64(x.r.n()) || x.t.finished != finished || math.Abs(x.t.rewardSum-sum) > 1e-4*max(1, math.Abs(sum)) {
			c.fail("%s: reported %d transitions, %d finished, reward sum %.6g; its rows hold %d, %d, %.6g",
				x.who, x.t.steps, x.t.finished, x.t.rewardSum, x.r.n(), finished, sum)
		}
	}
	for i := 0; i < got.n(); i++ {
		d := float32(0)
		if rule(got.obsRow(i), got.actRow(i), got.nextRow(i)) {
			d = 1
		}
		if got.done[i] != d {
			c.fail("device row %d: done %v, the rule says %v of next %v", i, got.done[i], d, got.nextRow(i))
			break
		}
	}
	lg, errG := stepLengths(got, batch, k)
	lw, errW := stepLengths(want, batch, k)
	if errG != nil || errW != nil {
		c.fail("the rounds are not made of steps: device: %v; trainer: %v", errG, errW)
		return c
	}

	var g, w roundRows
	offG, offW, p := 0, 0, batch // p: the leading rows of the step that line up
	for s := 0; s < len(lg) && s < len(lw) && p > 0; s++ {
		p = min(p, lg[s], lw[s])
		first := p
		for i := 0; i < p; i++ {
			gi, wi := offG+i, offW+i
			g.add(got.obsRow(gi), got.actRow(gi), got.rew[gi], got.nextRow(gi), got.done[gi])
			w.add(want.obsRow(wi), want.actRow(wi), want.rew[wi], want.nextRow(wi), want.done[wi])
			if got.done[gi] == want.done[wi] {
				continue
			}
			c.flips++
			first = min(first, i)
			apart := compare(got.nextRow(gi), want.nextRow(wi)).abs
			if gap := hopperGap(want.nextRow(wi)); !(gap <= max(margin, apart)) {
				c.fail("step %d row %d: device done %v, trainer %v, %.3g from a threshold (rows %.3g apart, allowed %g)",
					s, i, got.done[gi], want.done[wi], gap, apart, margin)
			}
		}
		live := 0
		for i := 0; i < first; i++ {
			if want.done[offW+i] == 0 {
				live++
			}
		}
		offG, offW, p = offG+lg[s], offW+lw[s], live
	}
	c.aligned = g.n()
	c.obs, c.act, c.rew, c.next = compare(g.obs, w.obs), compare(g.act, w.act), compare(g.rew, w.rew), compare(g.next, w.next)
	for _, x := range []struct {
		name string
		d    diff
	}{{"obs", c.obs}, {"act", c.act}, {"rew", c.rew}, {"next", c.next}} {
		if !(x.d.rel <= outTol) {
			c.fail("%s of the %d rows that line up differs beyond %g: %s", x.name, c.aligned, outTol, x.d)
		}
	}
	if c.flips == 0 {
		if c.aligned != got.n() || c.aligned != want.n() || gt.finished != wt.finished ||
			math.Abs(gt.rewardSum-wt.rewardSum) > 1e-4*max(1, math.Abs(wt.rewardSum)) {
			c.fail("no termination differs, yet the device made %d transitions (%d finished, reward sum %.6g), the trainer %d (%d, %.6g)",
				got.n(), gt.finished, gt.rewardSum, want.n(), wt.finished, wt.rewardSum)
		}
	} else if ratio := float64(got.n()) / float64(want.n()); !(ratio > 0.75 && ratio < 1.25) {
		// After a flip the rest of the round is another sample of the same
		// process: its length may differ, not grossly.
		c.fail("the device made %d transitions, the trainer %d", got.n(), want.n())
	}
	return c
}

// checkRound compares a device round with the trainer's and reports.
func checkRound(t *testing.T, what string, got, want *roundRows, gt, wt roundTotals, batch, k int, rule env.TerminalFunc) {
	t.Helper()
	c := compareRounds(got, want, gt, wt, batch, k, rule, nearThreshold)
	t.Logf("%s, %d rollouts of up to %d steps: device %d transitions, %d finished, reward sum %.6g; trainer %d, %d, %.6g",
		what, batch, k, gt.steps, gt.finished, gt.rewardSum, wt.steps, wt.finished, wt.rewardSum)
	t.Logf("%s: %d rows line up; %d terminations differ; %d of the trainer's transitions lie within %g of a threshold",
		what, c.aligned, c.flips, c.near, nearThreshold)
	t.Logf("%s: model buffer obs %s; act %s; rew %s; next %s", what, c.obs, c.act, c.rew, c.next)
	for _, p := range c.problems {
		t.Errorf("%s: %s", what, p)
	}
}

func checkRollouts(t *testing.T, e *Engine, hidden, batch, k, realRows int) {
	const call = 3
	g := newRolloutRig(t, hidden, batch, k, realRows)
	ro, out := g.trainerRollouts(g.terminal)
	want, wt := g.runTrainer(t, ro, out, call)

	// The device's.
	gens, err := e.NewEnsemble(g.es, g.seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gens)
	if err := gens.SetState(g.est); err != nil {
		t.Fatal(err)
	}
	gens.SetNormalizer(g.mean, g.std)
	gag, err := e.NewAgent(g.as, g.seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gag)
	if err := gag.SetState(g.ast); err != nil {
		t.Fatal(err)
	}
	greal, err := newTransitions(e.m, g.od, g.ad, realRows)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, greal)
	if err := greal.Append(g.o, g.a, g.r, g.nx, g.d); err != nil {
		t.Fatal(err)
	}
	gout, err := newTransitions(e.m, g.od, g.ad, batch*k)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gout)
	gro, err := e.newRollouts(gens, gag, greal, gout, rolloutConfig{Batch: batch, MaxK: k, Env: "Hopper-v4", Seed: g.seed})
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gro)
	for round := uint64(0); round < 2; round++ { // the second replays the recorded graph with new keys
		if round == 1 {
			want, wt = g.runTrainer(t, ro, out, call+round)
		}
		res, err := gro.Run(g.elites, k, call+round)
		if err != nil {
			t.Fatal(err)
		}
		got := ringRound(t, gout, g.od, g.ad, int(res.Steps))
		what := [...]string{"first round", "second round"}[round]
		checkRound(t, what, &got, &want, roundTotals{res.Steps, res.Finished, res.RewardSum}, wt, batch, k, g.terminal)
		if wt.finished == 0 || wt.steps == int64(batch*k) {
			t.Errorf("%s: no rollout finished early: the case does not exercise the compaction", what)
		}
	}
}

// TestRolloutComparison checks compareRounds on two trainer rounds, one
// under Hopper's rule and one under the rule with its angle thresholds moved
// by 0.01: their terminations differ exactly at transitions that close to a
// threshold, as a device's may within an ulp or so.
func TestRolloutComparison(t *testing.T) {
	const call, shift = 3, 0.01
	g := newRolloutRig(t, 16, 60, 4, 300)
	shifted := func(obs, act, next []float32) bool {
		moved := append([]float32(nil), next...)
		moved[1] += shift
		return g.terminal(obs, act, moved)
	}
	ro, out := g.trainerRollouts(g.terminal)
	want, wt := g.runTrainer(t, ro, out, call)
	sro, sout := g.trainerRollouts(shifted)
	got, gt := g.runTrainer(t, sro, sout, call)

	same := compareRounds(&want, &want, wt, wt, g.batch, g.k, g.terminal, nearThreshold)
	if len(same.problems) != 0 || same.flips != 0 || same.aligned != want.n() || same.next.abs != 0 {
		t.Errorf("a round against itself: %d of %d rows line up, %d flips, next %s, problems %q", same.aligned, want.n(), same.flips, same.next, same.problems)
	}

	c := compareRounds(&got, &want, gt, wt, g.batch, g.k, shifted, 1.01*shift)
	t.Logf("moved rule: %d and %d transitions, %d and %d finished; %d rows line up, %d flips", got.n(), want.n(), gt.finished, wt.finished, c.aligned, c.flips)
	if len(c.problems) != 0 || c.flips == 0 || c.aligned < g.batch || c.aligned >= want.n() || c.next.abs != 0 {
		t.Errorf("flips within the margin: %d rows line up, %d flips, next %s, problems %q; want some flips, step 0 compared and no problem",
			c.aligned, c.flips, c.next, c.problems)
	}
	if c := compareRounds(&got, &want, gt, wt, g.batch, g.k, shifted, nearThreshold); len(c.problems) == 0 {
		t.Errorf("flips %g from a threshold passed a margin of %g", shift, nearThreshold)
	}
	if c := compareRounds(&got, &want, gt, wt, g.batch, g.k, g.terminal, 1.01*shift); len(c.problems) == 0 {
		t.Error("done flags that are not the rule's verdict passed")
	}

	// A next observation off by 1e-2 at step 0, where no threshold is near.
	bad := want
	bad.next = append([]float32(nil), want.next...)
	bad.next[3*g.od+5] += 1e-2
	if c := compareRounds(&bad, &want, wt, wt, g.batch, g.k, g.terminal, nearThreshold); len(c.problems) == 0 || c.flips != 0 {
		t.Errorf("a next observation off by 1e-2: %d flips, problems %q", c.flips, c.problems)
	}
	// Totals that are not those of the rows.
	if c := compareRounds(&want, &want, roundTotals{wt.steps, wt.finished + 1, wt.rewardSum}, wt, g.batch, g.k, g.terminal, nearThreshold); len(c.problems) == 0 {
		t.Error("a finished count off by one passed")
	}
	// A round cut short.
	short := want
	short.rew, short.done = want.rew[:want.n()-1], want.done[:want.n()-1]
	if c := compareRounds(&short, &want, roundTotals{wt.steps - 1, wt.finished, wt.rewardSum}, wt, g.batch, g.k, g.terminal, nearThreshold); len(c.problems) == 0 {
		t.Error("a round one row short passed")
	}
}

// sacBatchFromReplays draws update u's minibatch as trainer's sacBatcher does.
func sacBatchFromReplays(real, model *stages.Replay, size int, ratio float64, seed uint64, u int64) engine.Batch {
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
	real, model := stages.NewReplay(od, ad, 300), stages.NewReplay(od, ad, 200)
	greal, err := newTransitions(e.m, od, ad, 300)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, greal)
	gmodel, err := newTransitions(e.m, od, ad, 200)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, gmodel)
	o, a, r, nx, d := randomTransitions(od, ad, 250, 1)
	real.Add(o, a, r, nx, d)
	if err := greal.Append(o, a, r, nx, d); err != nil {
		t.Fatal(err)
	}
	upd, err := e.newSACUpdates(got, greal, gmodel, batch, ratio, seed)
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
// engine with stages.Fit from the same Replay and seeds: epochs,
// rows, elites, holdout losses and the trained parameters must agree.
func checkFit(t *testing.T, e *Engine, hidden, rows, batch, maxEpochs int) {
	const seed, call = 17, 2
	spec, err := env.Lookup("Hopper-v4")
	if err != nil {
		t.Fatal(err)
	}
	od, ad := spec.ObsDim, spec.ActDim
	es := engine.PaperEnsemble(od, ad, hidden)
	real := stages.NewReplay(od, ad, rows)
	o, a, r, nx, d := randomTransitions(od, ad, rows, 9)
	real.Add(o, a, r, nx, d)
	settings := engine.FitSettings{Batch: batch, HoldoutRatio: 0.2, MaxHoldout: 5000, EarlyStop: 5, Improvement: 0.01, MaxEpochs: maxEpochs, Elites: 5, Seed: seed}
	cens, err := cpuEngine(t).NewEnsemble(es, seed)
	if err != nil {
		t.Fatal(err)
	}
	want, err := stages.Fit(cens, real, settings, call)
	if err != nil {
		t.Fatal(err)
	}

	ens, err := e.NewEnsemble(es, seed)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ens)
	ring, err := newTransitions(e.m, od, ad, rows)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, ring)
	if err := ring.Append(o, a, r, nx, d); err != nil {
		t.Fatal(err)
	}
	got, err := e.fit(ens, ring, settings, call)
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
	compareStates(t, "after the fit", ens.State(), cens.State(), 1e-3, func(d diff) float64 { return d.rel })
}

func TestHostFit(t *testing.T) { checkFit(t, onHost(t), 12, 120, 32, 2) }

func TestGPUFit(t *testing.T) {
	e := onGPU(t)
	checkFit(t, e, 12, 120, 32, 2)
	checkFit(t, e, 200, 10000, 256, 0) // MBPO's ensemble, to early stop
}
