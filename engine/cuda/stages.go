// stages.go: engine.Stages on the GPU: the real and model buffers as device
// rings, the ensemble's fit (fit.go), rollouts and SAC updates
// (resident.go) over them, all with the host stages' procedures and random
// numbers (package stages, their CPU twin).

package cuda

import (
	"errors"
	"fmt"

	"github.com/mbpogo/mbpo/engine"
)

// deviceStages implements engine.Stages.
type deviceStages struct {
	e           *Engine
	cfg         engine.StagesConfig
	ens         engine.Ensemble
	real, model *transitions
	rollouts    *rollouts
	sac         *sacUpdates
}

// NewStages makes the run's rings in device memory and prepares the device
// rollouts and SAC updates on ens (nil without a model) and agent, which
// must come from this engine.
func (e *Engine) NewStages(cfg engine.StagesConfig, ens engine.Ensemble, agent engine.Agent) (engine.Stages, error) {
	if (ens == nil) != (cfg.ModelCapacity == 0) {
		return nil, fmt.Errorf("cuda engine: an ensemble needs a model buffer and a model buffer an ensemble (model capacity %d)", cfg.ModelCapacity)
	}
	s := &deviceStages{e: e, cfg: cfg, ens: ens}
	fail := func(err error) (engine.Stages, error) {
		s.Close()
		return nil, fmt.Errorf("GPU buffers and stages: %w", err)
	}
	var err error
	if s.real, err = newTransitions(e.m, cfg.ObsDim, cfg.ActDim, cfg.RealCapacity); err != nil {
		return fail(err)
	}
	var model engine.Transitions
	if ens != nil {
		if s.model, err = newTransitions(e.m, cfg.ObsDim, cfg.ActDim, cfg.ModelCapacity); err != nil {
			return fail(err)
		}
		model = s.model
		rc := rolloutConfig{Batch: cfg.RolloutBatch, MaxK: cfg.MaxK, Env: cfg.Env, Seed: cfg.Seed}
		if s.rollouts, err = e.newRollouts(ens, agent, s.real, s.model, rc); err != nil {
			return fail(err)
		}
	}
	if s.sac, err = e.newSACUpdates(agent, s.real, model, cfg.Batch, cfg.RealRatio, cfg.Seed); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *deviceStages) Real() engine.Transitions { return s.real }

func (s *deviceStages) Model() engine.Transitions {
	if s.model == nil {
		return nil
	}
	return s.model
}

func (s *deviceStages) Fit(call uint64) (engine.FitResult, error) {
	if s.ens == nil {
		return engine.FitResult{}, errors.New("cuda engine: Fit of a run without a model")
	}
	return s.e.fit(s.ens, s.real, s.cfg.Fit, call)
}

func (s *deviceStages) Rollout(elites []int, k int, call uint64) (engine.RolloutResult, error) {
	if s.rollouts == nil {
		return engine.RolloutResult{}, errors.New("cuda engine: Rollout of a run without a model")
	}
	return s.rollouts.Run(elites, k, call)
}

// Update runs the n updates on the device at once and adds their sums.
func (s *deviceStages) Update(first int64, n int, sums *engine.UpdateSums) error {
	r, err := s.sac.Run(first, n)
	if err != nil {
		return err
	}
	sums.Q1Loss += r.Q1Loss
	sums.Q2Loss += r.Q2Loss
	sums.PolicyLoss += r.PolicyLoss
	sums.AlphaLoss += r.AlphaLoss
	sums.Alpha += r.Alpha
	sums.Entropy += r.Entropy
	sums.QMean += r.QMean
	sums.Updates += r.Updates
	return nil
}

// Profile runs one round of rollouts launch by launch, timing each stage
// (mbpo bench rollout's split).
func (s *deviceStages) Profile(elites []int, k int, call uint64) (RolloutStages, engine.RolloutResult, error) {
	if s.rollouts == nil {
		return RolloutStages{}, engine.RolloutResult{}, errors.New("cuda engine: Profile of a run without a model")
	}
	return s.rollouts.Profile(elites, k, call)
}

// Close frees the rings and the stages' scratch memory.
func (s *deviceStages) Close() error {
	var errs []error
	if s.sac != nil {
		errs = append(errs, s.sac.Close())
	}
	if s.rollouts != nil {
		errs = append(errs, s.rollouts.Close())
	}
	for _, tr := range []*transitions{s.model, s.real} {
		if tr != nil {
			errs = append(errs, tr.Close())
		}
	}
	return errors.Join(errs...)
}
