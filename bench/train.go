// train.go: the throughput of every stage of MBPO on one configuration
// (mbpo bench train): env steps, ensemble training, rollouts and SAC
// updates, what they add up to per 1,000 env steps, and the machine's
// matrix-multiply peak to compare them with.

package bench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/trainer"
)

// TrainOptions sizes Train.
type TrainOptions struct {
	RealSteps   int // random-policy env steps collected first (the model's data)
	SACUpdates  int // SAC updates timed
	K           int // rollout length timed (0: the schedule's first k)
	ModelEpochs int // epochs of the timed retrain (0: until early stopping)
}

// TrainResult holds the measured rates of Train.
type TrainResult struct {
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

	Threads    int     // CPU threads (cfg.Threads, or all CPUs)
	Products   string  // how the engine runs the matrix products (Products)
	PeakGFLOPs float64 // this machine's matrix-multiply peak at 1024³ on Threads threads, in cfg's precision
	PeakName   string  // what that peak multiplies: "sgemm" or "bf16 product"
}

// Train measures the stages of cfg's configuration on eng: o.RealSteps
// random-policy env steps, then, with those as the real buffer of the run's
// own stages (trainer.BenchStages), one ensemble retrain, one round of
// rollouts at the benchmark's k, and o.SACUpdates SAC updates on mixed
// batches; last, the CPU's matrix-multiply peak.
func Train(eng engine.Engine, cfg trainer.Config, o TrainOptions) (TrainResult, error) {
	res, err := trainStages(eng, cfg, o)
	if err != nil {
		return res, err
	}
	// The peak the achieved GFLOP/s are read against, measured once the
	// stages are closed.
	res.Threads = cfg.Threads
	if res.Threads == 0 {
		res.Threads = runtime.NumCPU()
	}
	p := engine.Precision(cfg.Precision)
	res.Products, res.PeakName = Products(eng, cfg.Precision), "sgemm"
	if p == engine.BF16 {
		res.PeakName = "bf16 product"
	}
	res.PeakGFLOPs = cpu.MatmulPeakPrecision(res.Threads, 1024, p)
	return res, nil
}

// trainStages is Train without the peak: the rates of the stages.
func trainStages(eng engine.Engine, cfg trainer.Config, o TrainOptions) (TrainResult, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return TrainResult{}, err
	}
	if o.RealSteps < cfg.BatchSize || o.SACUpdates < 1 {
		return TrainResult{}, fmt.Errorf("bench: want at least %d real steps and 1 SAC update", cfg.BatchSize)
	}
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return TrainResult{}, err
	}
	res := TrainResult{G: cfg.G}

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
	st, err := trainer.BenchStages(eng.NewStages, cfg, ens, agent, real, k, o.ModelEpochs)
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
