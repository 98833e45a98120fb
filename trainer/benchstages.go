// benchstages.go: the run's own stages made for a benchmark (package bench
// times them: mbpo bench train, model-train, rollout and sac), so that a
// benchmark measures the stage objects a training run uses, never a copy of
// their loops.

package trainer

import (
	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
)

// StagesMaker makes a run's stages: an engine's NewStages, or stages.New for
// the host stages on any engine's networks.
type StagesMaker func(engine.StagesConfig, engine.Ensemble, engine.Agent) (engine.Stages, error)

// BenchStages makes the stages of cfg's run with newStages around ens (nil
// without a model) and agent, for a benchmark: their real buffer holds real
// (random-policy data, see bench.CollectRandom), the model buffer holds the
// rollouts of k steps that cfg's model buffer would, and a fit stops after
// modelEpochs epochs when that is positive (random-policy data keeps
// improving by 1% for hundreds of epochs, far longer than retrains in a run
// take, so a fixed epoch count gives the more telling figure).
func BenchStages(newStages StagesMaker, cfg Config, ens engine.Ensemble, agent engine.Agent, real *stages.Replay, k, modelEpochs int) (engine.Stages, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return nil, err
	}
	sc := stagesConfig(cfg, spec)
	sc.RealCapacity, sc.MaxK = real.Cap(), max(sc.MaxK, k)
	if ens != nil {
		sc.ModelCapacity = ModelBufferCapacity(cfg.RetainEpochs, k, cfg.RolloutBatch, cfg.EpochLength, cfg.ModelTrainFreq)
	}
	if modelEpochs > 0 {
		sc.Fit.MaxEpochs, sc.Fit.EarlyStop = modelEpochs, modelEpochs+1
	}
	st, err := newStages(sc, ens, agent)
	if err != nil {
		return nil, err
	}
	if err := stages.Upload(st.Real(), real); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}
