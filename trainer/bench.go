// bench.go: throughput of every stage of MBPO on one configuration, for
// `mbpo bench train`: env steps, ensemble training, rollouts and SAC updates,
// and what they add up to per 1,000 env steps; and CollectRandom, the
// random-policy data every benchmark starts from.

package trainer

import (
	"fmt"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
)

// BenchOptions sizes a training benchmark.
type BenchOptions struct {
	RealSteps   int // random-policy env steps collected first (the model's data)
	SACUpdates  int // SAC updates timed
	K           int // rollout length timed (0: the schedule's first k)
	ModelEpochs int // epochs of the timed retrain (0: until early stopping)
}

// BenchResult holds the measured rates of BenchTrain.
type BenchResult struct {
	EnvStepsPerSec float64 // one env, random actions

	SACUpdatesPerSec float64
	SACGFLOPs        float64 // achieved GFLOP/s of the SAC updates

	ModelRows        int     // real transitions the ensemble trained on
	ModelEpochs      int     // epochs of the timed retrain
	ModelRetrainSec  float64 // wall time of that retrain
	ModelRowsPerSec  float64 // member-rows trained per second
	ModelTrainGFLOPs float64

	RolloutBatch       int
	RolloutK           int
	RolloutSec         float64 // one round of rollouts
	ModelStepsPerSec   float64 // rollout transitions per second
	RolloutGFLOPs      float64
	RolloutPolicyShare float64 // share of rollout time in the policy

	// SecPer1000 is the wall time 1,000 env steps would take at these rates:
	// env steps + G·1000 SAC updates + (1000 / ModelTrainFreq) retrains and
	// rollout rounds (at the benchmark's data size and k).
	SecPer1000 float64
	G          int
}

// SACFLOPs counts the floating-point operations of one SAC update of spec
// at batch size b: both critics forward and backward (a backward pass costs
// two forwards: 6·Fq), the target (policy forward on s' and both target
// critics: Fp + 2·Fq), the actor (policy forward and backward: 3·Fp; both
// critics forward and their input gradients: 4·Fq), with F the forward FLOPs
// per row of a network: 12·Fq + 4·Fp per row.
func SACFLOPs(spec engine.AgentSpec, b int) float64 {
	fq, fp := float64(spec.Critic().FLOPs()), float64(spec.Policy().FLOPs())
	return float64(b) * (12*fq + 4*fp)
}

// CollectRandom plays steps random-policy steps of cfg's environment (the
// initial exploration phase: uniform actions keyed by cfg.Seed, episodes
// reset where they end) into a new replay buffer of that capacity.
func CollectRandom(cfg Config, steps int) (*stages.Replay, error) {
	real, _, err := collectRandom(cfg, steps)
	return real, err
}

// collectRandom is CollectRandom that also returns the wall time of the
// steps alone (not the environment's creation and first reset).
func collectRandom(cfg Config, steps int) (*stages.Replay, time.Duration, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return nil, 0, err
	}
	e, err := env.Make(cfg.Env)
	if err != nil {
		return nil, 0, err
	}
	defer e.Close()
	e.Seed(rng.Key{Seed: cfg.Seed, Purpose: rng.EnvReset})
	od, ad := spec.ObsDim, spec.ActDim
	real := stages.NewReplay(od, ad, steps)
	obs, next := make([]float32, od), make([]float32, od)
	act, envAct := make([]float32, ad), make([]float32, ad)
	e.Reset(obs)
	t0 := time.Now()
	for i := 0; i < steps; i++ {
		key := rng.Key{Seed: cfg.Seed, Purpose: rng.Exploration, Step: uint64(i)}
		for j := range act {
			act[j] = 2*key.Uniform(uint64(j)) - 1
		}
		spec.ActionFromUnit(envAct, act)
		st, err := e.Step(envAct, next)
		if err != nil {
			return nil, 0, err
		}
		real.AddOne(obs, act, float32(st.Reward), next, st.Terminated)
		copy(obs, next)
		if st.Terminated || st.Truncated {
			e.Reset(obs)
		}
	}
	return real, time.Since(t0), nil
}

// StagesMaker makes a run's stages: an engine's NewStages, or stages.New for
// the host stages on any engine's networks.
type StagesMaker func(engine.StagesConfig, engine.Ensemble, engine.Agent) (engine.Stages, error)

// BenchStages makes the stages of cfg's run with newStages around ens (nil
// without a model) and agent, for a benchmark: their real buffer holds real
// (random-policy data, see CollectRandom), the model buffer holds the
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

// BenchTrain measures the stages of cfg's configuration on eng.
func BenchTrain(cfg Config, eng engine.Engine, o BenchOptions) (BenchResult, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return BenchResult{}, err
	}
	if o.RealSteps < cfg.BatchSize || o.SACUpdates < 1 {
		return BenchResult{}, fmt.Errorf("bench: want at least %d real steps and 1 SAC update", cfg.BatchSize)
	}
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{G: cfg.G}

	// Env: random actions, as in the initial exploration.
	real, envTime, err := collectRandom(cfg, o.RealSteps)
	if err != nil {
		return res, err
	}
	res.EnvStepsPerSec = rate(float64(o.RealSteps), envTime.Seconds())

	// The run's own stages, sized for the collected data and the
	// benchmark's k, with that data as their real buffer.
	as := cfg.AgentSpec(spec.ObsDim, spec.ActDim)
	agent, err := eng.NewAgent(as, cfg.Seed)
	if err != nil {
		return res, err
	}
	k := o.K
	if k == 0 {
		k = cfg.Schedule().K(0)
	}
	var ens engine.Ensemble
	es := cfg.EnsembleSpec(spec.ObsDim, spec.ActDim)
	if cfg.Model() {
		if ens, err = eng.NewEnsemble(es, cfg.Seed); err != nil {
			return res, err
		}
	}
	st, err := BenchStages(eng.NewStages, cfg, ens, agent, real, k, o.ModelEpochs)
	if err != nil {
		return res, err
	}
	defer st.Close()
	perK := 0.0
	if cfg.Model() {
		// Ensemble: one retrain on the collected data.
		t0 := time.Now()
		fit, err := st.Fit(0)
		if err != nil {
			return res, err
		}
		res.ModelRetrainSec = time.Since(t0).Seconds()
		res.ModelRows, res.ModelEpochs = real.Len(), fit.Epochs
		res.ModelRowsPerSec = rate(float64(fit.Rows), res.ModelRetrainSec)
		res.ModelTrainGFLOPs = res.ModelRowsPerSec * 3 * float64(es.Net().FLOPs()) / 1e9

		// Rollouts: one round at the benchmark's k.
		t0 = time.Now()
		rs, err := st.Rollout(fit.Elites, k, 0)
		if err != nil {
			return res, err
		}
		res.RolloutSec = time.Since(t0).Seconds()
		res.RolloutBatch, res.RolloutK = cfg.RolloutBatch, k
		res.ModelStepsPerSec = rate(float64(rs.Steps), res.RolloutSec)
		res.RolloutGFLOPs = res.ModelStepsPerSec * float64(as.Policy().FLOPs()+es.Net().FLOPs()) / 1e9
		if tot := rs.PolicySec + rs.ModelSec; tot > 0 {
			res.RolloutPolicyShare = rs.PolicySec / tot
		}
		perK = float64(cfg.EpochLength) / float64(cfg.ModelTrainFreq) * (res.ModelRetrainSec + res.RolloutSec)
	}

	// SAC: updates on mixed batches, after a few warm-up updates.
	var sums engine.UpdateSums
	if err := st.Update(0, 5, &sums); err != nil {
		return res, err
	}
	t0 := time.Now()
	if err := st.Update(5, o.SACUpdates, &sums); err != nil {
		return res, err
	}
	res.SACUpdatesPerSec = rate(float64(o.SACUpdates), time.Since(t0).Seconds())
	res.SACGFLOPs = res.SACUpdatesPerSec * SACFLOPs(as, cfg.BatchSize) / 1e9

	res.SecPer1000 = 1000/res.EnvStepsPerSec + float64(cfg.G)*1000/res.SACUpdatesPerSec + perK*1000/float64(cfg.EpochLength)
	return res, nil
}
