// resident.go: the GPU engine's stages (stages.go puts them together as
// engine.Stages): transition rings in device
// memory, branched rollouts whose k steps run on the device (captured once
// per k as a graph and replayed), and runs of SAC updates on minibatches
// gathered on the device (captured per run length and replayed). Only the
// random-number keys (a few bytes per step) go up and the summed statistics
// come down.

package cuda

import (
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
)

// keyStride is the room each rng key takes in device memory.
const keyStride = 32

// uploadKeys writes keys to consecutive slots at dst.
func uploadKeys(m kernels.Machine, dst kernels.Ptr, keys []rng.Key) error {
	b := make([]byte, keyStride*len(keys))
	for i, k := range keys {
		copy(b[i*keyStride:], kernels.EncodeKey(k))
	}
	return m.Upload(dst, b)
}

// transitions implements engine.Transitions: a ring in device memory.
type transitions struct {
	m      kernels.Machine
	mem    arena
	ring   kernels.Ring
	stage  [5]kernels.Ptr // obs, act, rew, next, done staging for Append
	staged int            // rows the staging holds
	fixed  int
	gen    int // counts reallocations of the ring, which invalidate recorded graphs
}

func newTransitions(m kernels.Machine, od, ad, capacity int) (*transitions, error) {
	if od < 1 || ad < 1 || capacity < 1 {
		return nil, fmt.Errorf("cuda engine: a ring of %d transitions of obs %d, act %d", capacity, od, ad)
	}
	t := &transitions{m: m, mem: arena{m: m}}
	t.ring = allocRing(&t.mem, od, ad, capacity)
	t.fixed = len(t.mem.ptrs)
	if t.mem.err != nil {
		t.Close()
		return nil, t.mem.err
	}
	return t, nil
}

func allocRing(a *arena, od, ad, capacity int) kernels.Ring {
	return kernels.Ring{
		Obs: a.floats(capacity * od), Act: a.floats(capacity * ad), Rew: a.floats(capacity),
		Next: a.floats(capacity * od), Done: a.floats(capacity), State: a.bytes(kernels.RingStateBytes),
		Cap: capacity, ObsDim: od, ActDim: ad,
	}
}

func (t *transitions) Close() error { return t.mem.release(0) }

func (t *transitions) Cap() int { return t.ring.Cap }

// state reads the ring's next row, size and rows ever added.
func (t *transitions) state() (next, size int, added int64, err error) {
	v := make([]int64, 3)
	if err := kernels.Download(t.m, v, t.ring.State); err != nil {
		return 0, 0, 0, err
	}
	return int(v[0]), int(v[1]), v[2], nil
}

func (t *transitions) Next() (int, error) {
	next, _, _, err := t.state()
	return next, err
}

func (t *transitions) Len() (int, error) {
	_, size, _, err := t.state()
	return size, err
}

func (t *transitions) Append(obs, act, rew, next, done []float32) error {
	n, od, ad := len(rew), t.ring.ObsDim, t.ring.ActDim
	if len(obs) != n*od || len(next) != n*od || len(act) != n*ad || len(done) != n {
		return fmt.Errorf("cuda engine: Append of %d transitions needs obs and next of %d, act of %d and done of %d values; got %d, %d, %d, %d",
			n, n*od, n*ad, n, len(obs), len(next), len(act), len(done))
	}
	if n == 0 {
		return nil
	}
	if n > t.staged {
		if err := t.mem.release(t.fixed); err != nil {
			return err
		}
		t.staged = 0
		a := &t.mem
		t.stage = [5]kernels.Ptr{a.floats(n * od), a.floats(n * ad), a.floats(n), a.floats(n * od), a.floats(n)}
		if err := a.settle(t.fixed); err != nil {
			return err
		}
		t.staged = n
	}
	s := t.stage
	if err := firstErr(kernels.Upload(t.m, s[0], obs), kernels.Upload(t.m, s[1], act), kernels.Upload(t.m, s[2], rew),
		kernels.Upload(t.m, s[3], next), kernels.Upload(t.m, s[4], done)); err != nil {
		return err
	}
	return kernels.RingAppend(t.m, t.ring, s[0], s[1], s[2], s[3], s[4], n, 0)
}

func (t *transitions) Rows(from, n int, obs, act, rew, next, done []float32) error {
	r := t.ring
	od, ad := r.ObsDim, r.ActDim
	if from < 0 || n < 0 || from+n > r.Cap || len(obs) < n*od || len(act) < n*ad || len(rew) < n || len(next) < n*od || len(done) < n {
		return fmt.Errorf("cuda engine: Rows(%d, %d) of a ring of %d, or destinations too short", from, n, r.Cap)
	}
	return firstErr(
		kernels.Download(t.m, obs[:n*od], at(r.Obs, from*od)), kernels.Download(t.m, act[:n*ad], at(r.Act, from*ad)),
		kernels.Download(t.m, rew[:n], at(r.Rew, from)), kernels.Download(t.m, next[:n*od], at(r.Next, from*od)),
		kernels.Download(t.m, done[:n], at(r.Done, from)))
}

// Resize moves the newest transitions that fit into a new ring, oldest
// first, on the device.
func (t *transitions) Resize(capacity int) error {
	if capacity == t.ring.Cap {
		return nil
	}
	if capacity < 1 {
		return fmt.Errorf("cuda engine: Resize to %d transitions", capacity)
	}
	next, size, added, err := t.state()
	if err != nil {
		return err
	}
	old, oldMem := t.ring, t.mem
	t.mem = arena{m: t.m}
	t.ring = allocRing(&t.mem, old.ObsDim, old.ActDim, capacity)
	t.fixed, t.staged = len(t.mem.ptrs), 0
	t.gen++
	if t.mem.err != nil {
		err := t.mem.err
		t.mem.release(0)
		t.ring, t.mem = old, oldMem
		t.fixed = len(t.mem.ptrs)
		return err
	}
	// The held rows, oldest first: [next, cap) then [0, next) when full.
	type span struct{ from, n int }
	spans := []span{{0, size}}
	if size == old.Cap {
		spans = []span{{next, old.Cap - next}, {0, next}}
	}
	skip := size - min(size, capacity)
	for _, s := range spans {
		d := min(skip, s.n)
		s.from, s.n, skip = s.from+d, s.n-d, skip-d
		if s.n == 0 {
			continue
		}
		od, ad := old.ObsDim, old.ActDim
		if err := kernels.RingAppend(t.m, t.ring, at(old.Obs, s.from*od), at(old.Act, s.from*ad), at(old.Rew, s.from),
			at(old.Next, s.from*od), at(old.Done, s.from), s.n, 0); err != nil {
			return err
		}
	}
	keep := min(size, capacity)
	if err := kernels.Upload(t.m, t.ring.State, []int64{int64(keep % capacity), int64(keep), added}); err != nil {
		return err
	}
	return oldMem.release(0)
}

// rollouts are branched model rollouts on the device: start states drawn
// from the real ring, the agent's stochastic policy, a random elite per
// sample and step, the Gaussian sample of [Δs, r], the environment's
// termination rule, every transition appended to the model ring; finished
// samples drop out. Random numbers follow stages.Rollouts.Run (its CPU twin).
type rollouts struct {
	m           kernels.Machine
	ens         *ensemble
	ag          *agent
	real, model *transitions
	cfg         rolloutConfig
	term        kernels.Terminal
	mem         arena

	obs, next, act, x, head, mean, logvar, rew, done kernels.Ptr
	members, counts, cursor, list, elites            kernels.Ptr
	nbuf, part, rewPart, stats, keys, scratch        kernels.Ptr

	graphs  map[[2]int]kernels.Graph // by k and the number of elites
	gens    [2]int                   // the rings' generations the graphs were recorded with
	profile *RolloutStages           // set by Profile
}

// rolloutConfig sizes device rollouts.
type rolloutConfig struct {
	Batch int    // rollouts started per round
	MaxK  int    // the longest rollout a round may ask for
	Env   string // environment id, for its termination rule
	Seed  uint64 // the run's seed
}

// newRollouts prepares device rollouts of ens under agent's policy from real
// into model; all four must come from this engine.
func (e *Engine) newRollouts(ens engine.Ensemble, ag engine.Agent, real, model engine.Transitions, cfg rolloutConfig) (*rollouts, error) {
	ce, ok1 := ens.(*ensemble)
	ca, ok2 := ag.(*agent)
	cr, ok3 := real.(*transitions)
	cm, ok4 := model.(*transitions)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return nil, fmt.Errorf("cuda engine: device rollouts need this engine's ensemble, agent and rings")
	}
	term, err := kernels.TerminalFor(cfg.Env)
	if err != nil {
		return nil, err
	}
	s, as := ce.spec, ca.spec
	if s.In != as.Obs+as.Act || s.Out != as.Obs+1 || cr.ring.ObsDim != as.Obs || cm.ring.ObsDim != as.Obs {
		return nil, fmt.Errorf("cuda engine: rollouts of an ensemble of in %d, out %d with an agent of obs %d, act %d do not fit", s.In, s.Out, as.Obs, as.Act)
	}
	if cfg.Batch < 1 || cfg.MaxK < 1 {
		return nil, fmt.Errorf("cuda engine: rollouts of batch %d up to k %d", cfg.Batch, cfg.MaxK)
	}
	r := &rollouts{m: e.m, ens: ce, ag: ca, real: cr, model: cm, cfg: cfg, term: term, mem: arena{m: e.m}, graphs: map[[2]int]kernels.Graph{}}
	n, O, A, E := cfg.Batch, as.Obs, as.Act, s.Members
	a := &r.mem
	r.obs, r.next, r.act, r.x = a.floats(n*O), a.floats(n*O), a.floats(n*A), a.floats(n*(O+A))
	r.head, r.mean, r.logvar = a.floats(n*2*A), a.floats(n*s.Out), a.floats(n*s.Out)
	r.rew, r.done, r.scratch = a.floats(n), a.floats(n), a.floats(n)
	r.members, r.counts, r.cursor, r.list, r.elites = a.floats(n), a.floats(E), a.floats(E), a.floats(n), a.floats(E)
	r.nbuf, r.part, r.rewPart = a.floats(2), a.floats(kernels.CompactBlocks(n)), a.doubles(kernels.CompactBlocks(n))
	r.stats, r.keys = a.doubles(kernels.RolloutStats), a.bytes(keyStride*(1+3*cfg.MaxK))
	if a.err != nil {
		r.Close()
		return nil, a.err
	}
	return r, nil
}

func (r *rollouts) Close() error {
	for _, g := range r.graphs {
		g.Close()
	}
	r.graphs = nil
	return r.mem.release(0)
}

// key returns slot i of the keys: 0 the start states', then per step s the
// policy's (1+3s), the elites' (2+3s) and the model noise's (3+3s).
func (r *rollouts) key(i int) kernels.Ptr { return r.keys.Add(keyStride * i) }

func (r *rollouts) Run(elites []int, k int, call uint64) (engine.RolloutResult, error) {
	res := engine.RolloutResult{Started: r.cfg.Batch}
	E := r.ens.spec.Members
	if k < 1 || k > r.cfg.MaxK {
		return res, fmt.Errorf("cuda engine: a rollout of k = %d, these rollouts were made for 1 to %d", k, r.cfg.MaxK)
	}
	if len(elites) < 1 || len(elites) > E {
		return res, fmt.Errorf("cuda engine: %d elites of %d members", len(elites), E)
	}
	el := make([]int32, len(elites))
	for i, v := range elites {
		if v < 0 || v >= E {
			return res, fmt.Errorf("cuda engine: elite %d of %d members", v, E)
		}
		el[i] = int32(v)
	}
	if size, err := r.real.Len(); err != nil || size < 1 {
		return res, fmt.Errorf("cuda engine: rollouts from an empty real buffer (%v)", err)
	}
	// The host stages' keys: RolloutStart of the call, then per step s the
	// policy, elite and noise streams of step s of the call.
	seed := r.cfg.Seed
	keys := []rng.Key{{Seed: seed, Purpose: rng.RolloutStart, Step: call}}
	for s := 0; s < k; s++ {
		keys = append(keys, rng.RolloutKey(seed, rng.RolloutPolicy, call, s),
			rng.RolloutKey(seed, rng.RolloutElite, call, s), rng.RolloutKey(seed, rng.RolloutNoise, call, s))
	}
	m := r.m
	if err := firstErr(uploadKeys(m, r.keys, keys), kernels.Upload(m, r.elites, el),
		kernels.Upload(m, r.stats, make([]float64, kernels.RolloutStats))); err != nil {
		return res, err
	}
	if r.profile != nil {
		if err := r.queue(k, len(elites)); err != nil {
			return res, err
		}
	} else {
		g, err := r.graph(k, len(elites))
		if err != nil {
			return res, err
		}
		if err := g.Launch(); err != nil {
			return res, err
		}
	}
	st := make([]float64, kernels.RolloutStats)
	if err := kernels.Download(m, st, r.stats); err != nil {
		return res, err
	}
	res.Steps, res.Finished, res.RewardSum = int64(st[0]), int(st[1]), st[2]
	return res, nil
}

// graph returns the recorded k-step rollout with nElites elites.
func (r *rollouts) graph(k, nElites int) (kernels.Graph, error) {
	if gens := [2]int{r.real.gen, r.model.gen}; gens != r.gens {
		for _, g := range r.graphs {
			g.Close()
		}
		r.graphs, r.gens = map[[2]int]kernels.Graph{}, gens
	}
	if g, ok := r.graphs[[2]int{k, nElites}]; ok {
		return g, nil
	}
	g, err := r.m.Capture(func() error { return r.queue(k, nElites) })
	if err != nil {
		return nil, err
	}
	r.graphs[[2]int{k, nElites}] = g
	return g, nil
}

// RolloutStages is where the time of a profiled rollout went, in seconds of
// device time: Sampling includes the termination rule (one fused kernel);
// Termination is the rule alone, run once more on the same rows to measure it.
type RolloutStages struct {
	Start, Policy, Ensemble, Sampling, Termination, Buffer, Compaction float64
}

// Profile runs one round like Run, but launch by launch, waiting after each
// stage to time it (slower than Run: for benchmarks).
func (r *rollouts) Profile(elites []int, k int, call uint64) (RolloutStages, engine.RolloutResult, error) {
	var st RolloutStages
	r.profile = &st
	defer func() { r.profile = nil }()
	res, err := r.Run(elites, k, call)
	return st, res, err
}

// queue queues a k-step rollout with nElites elites. While r.profile is set
// it waits after each stage and adds the stage's device time there (never
// while recording a graph).
func (r *rollouts) queue(k, nElites int) error {
	m, e, a := r.m, r.ens, r.ag
	n, O := r.cfg.Batch, a.spec.Obs
	stage := func(dst func(*RolloutStages) *float64, f func() error) error {
		if r.profile == nil {
			return f()
		}
		d, err := m.Time(f)
		*dst(r.profile) += d.Seconds()
		return err
	}
	if err := stage(func(t *RolloutStages) *float64 { return &t.Start }, func() error {
		return kernels.RolloutStart(m, r.obs, r.nbuf, r.real.ring, r.key(0), n)
	}); err != nil {
		return err
	}
	for s := 0; s < k; s++ {
		cur, nxt := r.nbuf.Add(4*(s%2)), r.nbuf.Add(4*((s+1)%2))
		steps := []struct {
			dst func(*RolloutStages) *float64
			f   func() error
		}{
			{func(t *RolloutStages) *float64 { return &t.Policy }, func() error {
				return a.queueAct(r.obs, n, cur, r.head, r.act, r.x, r.key(1+3*s), false)
			}},
			{func(t *RolloutStages) *float64 { return &t.Ensemble }, func() error {
				if err := kernels.PickElites(m, r.members, r.counts, r.elites, nElites, e.spec.Members, r.key(2+3*s), n, cur); err != nil {
					return err
				}
				if err := kernels.GroupRows(m, r.list, r.cursor, r.members, r.counts, e.spec.Members, n, cur); err != nil {
					return err
				}
				return kernels.Predict(m, e.plan, r.mean, r.logvar, r.x, e.params, e.normMean, e.normStd, r.counts, r.list, n)
			}},
			{func(t *RolloutStages) *float64 { return &t.Sampling }, func() error {
				return kernels.ModelSample(m, r.next, r.rew, r.done, r.obs, r.mean, r.logvar, r.key(3+3*s), n, cur, O, r.term)
			}},
			{func(t *RolloutStages) *float64 { return &t.Termination }, func() error {
				if r.profile == nil {
					return nil
				}
				return kernels.TerminalRows(m, r.scratch, r.next, n, O, r.term)
			}},
			{func(t *RolloutStages) *float64 { return &t.Buffer }, func() error {
				return kernels.RingAppend(m, r.model.ring, r.obs, r.act, r.rew, r.next, r.done, n, cur)
			}},
			{func(t *RolloutStages) *float64 { return &t.Compaction }, func() error {
				return kernels.Compact(m, r.obs, nxt, r.stats, r.next, r.done, r.rew, cur, r.part, r.rewPart, n, O)
			}},
		}
		for _, st := range steps {
			if err := stage(st.dst, st.f); err != nil {
				return err
			}
		}
	}
	return nil
}

// sacUpdates run SAC updates on minibatches drawn on the device from a real
// ring and a model ring as stages' SAC batcher (its CPU twin) draws them.
type sacUpdates struct {
	m           kernels.Machine
	ag          *agent
	real, model *transitions // model may be nil
	batch       int
	nReal       int
	seed        uint64
	mem         arena
	keys, acc   kernels.Ptr
	maxRun      int                   // updates the keys have room for
	graphs      map[int]kernels.Graph // by run length
	gens        [3]int                // the agent's and rings' generations the graphs were recorded with
}

// newSACUpdates prepares SAC updates of ag on minibatches of batch rows
// drawn on the device from real and model (nil: all real).
func (e *Engine) newSACUpdates(ag engine.Agent, real, model engine.Transitions, batch int, realRatio float64, seed uint64) (*sacUpdates, error) {
	ca, ok1 := ag.(*agent)
	cr, ok2 := real.(*transitions)
	var cm *transitions
	ok3 := true
	if model != nil {
		cm, ok3 = model.(*transitions)
	}
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("cuda engine: device SAC updates need this engine's agent and rings")
	}
	if batch < 1 || !(realRatio >= 0 && realRatio <= 1) {
		return nil, fmt.Errorf("cuda engine: SAC updates of batch %d with real ratio %v", batch, realRatio)
	}
	if cr.ring.ObsDim != ca.spec.Obs || cr.ring.ActDim != ca.spec.Act || (cm != nil && (cm.ring.ObsDim != ca.spec.Obs || cm.ring.ActDim != ca.spec.Act)) {
		return nil, fmt.Errorf("cuda engine: rings of other widths than the agent's obs %d, act %d", ca.spec.Obs, ca.spec.Act)
	}
	if err := ca.scratch(batch); err != nil {
		return nil, err
	}
	u := &sacUpdates{m: e.m, ag: ca, real: cr, model: cm, batch: batch, nReal: engine.RealRows(batch, realRatio),
		seed: seed, mem: arena{m: e.m}, graphs: map[int]kernels.Graph{}}
	u.acc = u.mem.doubles(7)
	if u.mem.err != nil {
		return nil, u.mem.err
	}
	return u, nil
}

func (u *sacUpdates) Close() error {
	u.dropGraphs()
	return u.mem.release(0)
}

func (u *sacUpdates) dropGraphs() {
	for _, g := range u.graphs {
		g.Close()
	}
	u.graphs = map[int]kernels.Graph{}
}

func (u *sacUpdates) gensNow() [3]int {
	g := [3]int{u.ag.gen, u.real.gen, -1}
	if u.model != nil {
		g[2] = u.model.gen
	}
	return g
}

func (u *sacUpdates) Run(first int64, n int) (engine.UpdateSums, error) {
	var sums engine.UpdateSums
	if n < 1 || first < 0 {
		return sums, fmt.Errorf("cuda engine: SAC updates %d .. %d", first, first+int64(n)-1)
	}
	if size, err := u.real.Len(); err != nil || size < 1 {
		return sums, fmt.Errorf("cuda engine: SAC updates from an empty real buffer (%v)", err)
	}
	if err := u.ag.scratch(u.batch); err != nil {
		return sums, err
	}
	if n > u.maxRun {
		u.dropGraphs()
		if err := u.mem.release(1); err != nil {
			return sums, err
		}
		u.maxRun = 0
		if u.keys = u.mem.bytes(2 * keyStride * n); u.mem.err != nil {
			err := u.mem.err
			u.mem.err = nil
			return sums, err
		}
		u.maxRun = n
	}
	if g := u.gensNow(); g != u.gens {
		u.dropGraphs()
		u.gens = g
	}
	keys := make([]rng.Key, 0, 2*n)
	for i := 0; i < n; i++ {
		step := uint64(first + int64(i))
		keys = append(keys, rng.Key{Seed: u.seed, Purpose: rng.SACBatch, Step: step}, rng.Key{Seed: u.seed, Purpose: rng.SACNoise, Step: step})
	}
	if err := firstErr(uploadKeys(u.m, u.keys, keys), kernels.Upload(u.m, u.acc, make([]float64, 7))); err != nil {
		return sums, err
	}
	g, ok := u.graphs[n]
	if !ok {
		var err error
		if g, err = u.m.Capture(func() error { return u.queue(n) }); err != nil {
			return sums, err
		}
		u.graphs[n] = g
	}
	if err := g.Launch(); err != nil {
		return sums, err
	}
	acc := make([]float64, 7)
	if err := kernels.Download(u.m, acc, u.acc); err != nil {
		return sums, err
	}
	return engine.UpdateSums{Q1Loss: acc[0], Q2Loss: acc[1], PolicyLoss: acc[2], AlphaLoss: acc[3], Alpha: acc[4],
		Entropy: acc[5], QMean: acc[6], Updates: n}, nil
}

// queue queues n updates: each gathers its minibatch, then updates.
func (u *sacUpdates) queue(n int) error {
	a := u.ag
	var model kernels.Ring
	if u.model != nil {
		model = u.model.ring
	}
	for i := 0; i < n; i++ {
		if err := kernels.SACGather(u.m, a.obs, a.act, a.rew, a.next, a.done, u.real.ring, model,
			u.keys.Add(keyStride*2*i), u.nReal, u.batch); err != nil {
			return err
		}
		if err := a.queueUpdate(u.batch, u.keys.Add(keyStride*(2*i+1)), u.acc); err != nil {
			return err
		}
	}
	return nil
}
