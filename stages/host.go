// host.go: engine.Stages in host memory, the plain reference of MBPO's
// stages that the CPU engine runs and the GPU engine is tested against: the
// buffers are Replay rings (replay.go), and the stages are Fit (fit.go),
// Rollouts.Run (rollout.go) and the SAC batcher (sac.go), on any engine's
// networks.
//
//	env → real buffer ─ Fit ─→ ensemble ─ Rollout ─→ model buffer
//	          └──────────── Update (real ratio) ←──────────┘ → policy → env

package stages

import (
	"errors"
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
)

// host implements engine.Stages.
type host struct {
	cfg         engine.StagesConfig
	ens         engine.Ensemble
	real, model *Ring
	rollouts    *Rollouts
	sac         *sacBatcher
}

// New returns the host stages of cfg around ens (nil without a model) and
// agent.
func New(cfg engine.StagesConfig, ens engine.Ensemble, agent engine.Agent) (engine.Stages, error) {
	if cfg.ObsDim < 1 || cfg.ActDim < 1 || cfg.RealCapacity < 1 || cfg.Batch < 1 || cfg.ModelCapacity < 0 {
		return nil, fmt.Errorf("stages: obs %d, act %d, real capacity %d, batch %d, model capacity %d", cfg.ObsDim, cfg.ActDim, cfg.RealCapacity, cfg.Batch, cfg.ModelCapacity)
	}
	if (ens == nil) != (cfg.ModelCapacity == 0) {
		return nil, fmt.Errorf("stages: an ensemble needs a model buffer and a model buffer an ensemble (model capacity %d)", cfg.ModelCapacity)
	}
	h := &host{cfg: cfg, ens: ens, real: &Ring{NewReplay(cfg.ObsDim, cfg.ActDim, cfg.RealCapacity)}}
	var model *Replay
	if ens != nil {
		spec, err := env.Lookup(cfg.Env)
		if err != nil {
			return nil, err
		}
		model = NewReplay(cfg.ObsDim, cfg.ActDim, cfg.ModelCapacity)
		h.model = &Ring{model}
		h.rollouts = NewRollouts(ens, agent, spec.Terminal, cfg.ObsDim, cfg.ActDim, cfg.Seed)
	}
	h.sac = newSACBatcher(agent, h.real.R, model, cfg.Batch, cfg.RealRatio, cfg.Seed)
	return h, nil
}

func (h *host) Real() engine.Transitions { return h.real }

func (h *host) Model() engine.Transitions {
	if h.model == nil {
		return nil
	}
	return h.model
}

func (h *host) Fit(call uint64) (engine.FitResult, error) {
	if h.ens == nil {
		return engine.FitResult{}, errors.New("stages: Fit of a run without a model")
	}
	return Fit(h.ens, h.real.R, h.cfg.Fit, call)
}

func (h *host) Rollout(elites []int, k int, call uint64) (engine.RolloutResult, error) {
	if h.ens == nil {
		return engine.RolloutResult{}, errors.New("stages: Rollout of a run without a model")
	}
	if k < 1 || k > h.cfg.MaxK {
		return engine.RolloutResult{}, fmt.Errorf("stages: rollouts of %d steps, want within [1, %d]", k, h.cfg.MaxK)
	}
	return h.rollouts.Run(h.real.R, h.model.R, elites, h.cfg.RolloutBatch, k, call)
}

func (h *host) Update(first int64, n int, sums *engine.UpdateSums) error {
	return h.sac.updates(first, n, sums)
}

func (h *host) Close() error { return nil }

// Ring is a Replay seen as an engine.Transitions, the buffers of the host
// stages.
type Ring struct{ R *Replay }

func (r *Ring) Append(obs, act, rew, next, done []float32) error {
	if n := len(rew); len(obs) != n*r.R.obsDim || len(next) != n*r.R.obsDim || len(act) != n*r.R.actDim || len(done) != n {
		return fmt.Errorf("stages: Append of %d transitions with obs %d, act %d, next %d, done %d values", n, len(obs), len(act), len(next), len(done))
	}
	r.R.Add(obs, act, rew, next, done)
	return nil
}
func (r *Ring) Len() (int, error)         { return r.R.Len(), nil }
func (r *Ring) Cap() int                  { return r.R.Cap() }
func (r *Ring) Resize(capacity int) error { r.R.Resize(capacity); return nil }
func (r *Ring) Next() (int, error)        { return r.R.next, nil }
func (r *Ring) Close() error              { return nil }

func (r *Ring) Rows(from, n int, obs, act, rew, next, done []float32) error {
	od, ad := r.R.obsDim, r.R.actDim
	if from < 0 || n < 0 || from+n > r.R.capacity {
		return fmt.Errorf("stages: Rows(%d, %d) of a ring of %d", from, n, r.R.capacity)
	}
	copy(obs, r.R.obs[from*od:(from+n)*od])
	copy(act, r.R.act[from*ad:(from+n)*ad])
	copy(rew, r.R.rew[from:from+n])
	copy(next, r.R.nextObs[from*od:(from+n)*od])
	copy(done, r.R.done[from:from+n])
	return nil
}

// Download returns the rows of tr in a host Replay with the same physical
// layout, for checkpoints: a host ring's own Replay, or a copy of a device
// ring's.
func Download(tr engine.Transitions, obsDim, actDim int) (*Replay, error) {
	if r, ok := tr.(*Ring); ok {
		return r.R, nil
	}
	size, err := tr.Len()
	if err != nil {
		return nil, err
	}
	next, err := tr.Next()
	if err != nil {
		return nil, err
	}
	r := NewReplay(obsDim, actDim, tr.Cap())
	if err := tr.Rows(0, size, r.obs, r.act, r.rew, r.nextObs, r.done); err != nil {
		return nil, err
	}
	r.size, r.next = size, next
	return r, nil
}

// Upload gives an empty ring tr the rows of r in the same physical layout
// (resizing it to r's capacity): a host ring takes r itself; a device ring
// gets the rows in ring order, then, when r is full with next row p, rows
// 0..p-1 once more, which leaves the ring's next row at p.
func Upload(tr engine.Transitions, r *Replay) error {
	if h, ok := tr.(*Ring); ok {
		*h.R = *r
		return nil
	}
	if err := tr.Resize(r.capacity); err != nil {
		return err
	}
	od, ad := r.obsDim, r.actDim
	rows := func(from, to int) error {
		return tr.Append(r.obs[from*od:to*od], r.act[from*ad:to*ad], r.rew[from:to], r.nextObs[from*od:to*od], r.done[from:to])
	}
	if err := rows(0, r.size); err != nil {
		return err
	}
	if r.size == r.capacity && r.next > 0 {
		return rows(0, r.next)
	}
	return nil
}
