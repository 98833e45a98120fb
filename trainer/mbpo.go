// mbpo.go: the MBPO training loop, readable top to bottom.
//
// Data flows env → real buffer → ensemble → rollouts → model buffer → SAC →
// policy → env. Each heavy stage is a call on engine.Stages, whose host
// reference lives in package stages (the file named beside each step) and
// whose GPU twin the GPU engine runs on its device:
//
//	for every env step:
//	    every ModelTrainFreq steps (after the random phase):
//	        retrain the ensemble on the real buffer   st.Fit       (stages/fit.go)
//	        set k from the schedule                               (schedule.go)
//	        resize the model buffer, branch RolloutBatch k-step
//	        rollouts into it                          st.Rollout   (stages/rollout.go)
//	    act in the real env, store the transition     st.Real()    (stages/replay.go)
//	    G SAC updates on batches of RealRatio real    st.Update    (stages/sac.go)
//	    every EpochLength steps: evaluate (eval.go), watch for divergence
//	    (health.go), write metrics (metrics.go), checkpoint (checkpoint.go)
//
// Package trainer owns the algorithm and the run's state; the arithmetic
// runs on an engine.Engine (CPU or GPU), the physics in package env, and the
// run directory (its files and lock, the metrics files, the checkpoint's
// container) is package rundir's, which trainer hands its rows, headers and
// sections.
package trainer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// Hooks let the caller follow a run; any may be nil.
type Hooks struct {
	Step  func(envSteps, total int) // after every env step
	Epoch func(m Metrics)           // after every epoch's metrics are written
}

// Trainer is one MBPO (or SAC) training run.
type Trainer struct {
	Cfg    Config
	RunDir string
	spec   env.Spec
	eng    engine.Engine
	log    zerolog.Logger

	agent   engine.Agent
	ens     engine.Ensemble  // the dynamics model; nil without one (SAC, the no-model ablation)
	st      engine.Stages    // the buffers and stages, in the engine's memory (engine/stages.go)
	check   *stages.Rollouts // host rollouts of the model-vs-real return check; nil without a model
	pending *stages.Replay   // --real-add episode: the current episode's transitions, not yet in the real buffer
	env     *env.Env
	lock    *rundir.Lock // the run directory's, held until Close

	// Progress, all of it checkpointed.
	envSteps     int
	updates      int64
	retrains     uint64
	epRet        float64
	epLen        int
	obs          []float32
	k            int
	elites       []int   // the ensemble members rollouts use, best first
	realAdded    int64   // transitions ever added to the real buffer
	rMax         float64 // the largest |reward| of a real transition so far (divergence watch)
	wallBefore   float64 // wall seconds of earlier sessions of this run
	savedAt      int     // env steps of the checkpoint this process saved last (-1: none; a resumed run's settings may differ from its checkpoint's)
	capWarned    bool    // said that checkpoints leave out the model buffer (over the cap)
	lastModel    engine.FitResult
	lastRollout  engine.RolloutResult
	epochAcc     epochAccumulator
	sessionStart time.Time
	prevCritic   float64 // the last epoch's mean critic loss (0 before any), for the divergence watch
}

// epochAccumulator gathers one epoch's statistics.
type epochAccumulator struct {
	sac                                                engine.UpdateSums
	trainReturns                                       []float64
	timeEnv, timeModel, timeRollout, timeSAC, timeEval float64
	modelRows, rolloutSteps                            int64
	envStepsAtStart                                    int
	wallAtStart                                        time.Time
	nonFinite                                          int
	terminations                                       int // real episodes ended by the termination rule
	// wallBefore is the seconds the epoch ran in earlier sessions, restored
	// from a checkpoint taken inside it, until startSession takes them.
	wallBefore float64
	// sacUntimed counts the updates in sac that no clock of timeSAC covers:
	// those of an epoch restored from a checkpoint written before the
	// clocks were kept. The SAC rate leaves them out.
	sacUntimed int
}

// New prepares a fresh run of cfg on eng, writing into runDir (created). It
// holds runDir's lock until Close, and refuses a directory that already
// holds a run (a *rundir.RunExistsError): RemoveRun starts one over.
func New(cfg Config, eng engine.Engine, runDir string, log zerolog.Logger) (*Trainer, error) {
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	lock, err := rundir.Create(runDir)
	if err != nil {
		return nil, err
	}
	logLock(lock, runDir, log)
	return start(cfg, eng, runDir, lock, log)
}

// start builds a fresh run of cfg in runDir, whose lock the caller holds
// (the Trainer then holds it), and writes its config.json.
func start(cfg Config, eng engine.Engine, runDir string, lock *rundir.Lock, log zerolog.Logger) (*Trainer, error) {
	t, err := build(cfg, eng, runDir, log)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	t.lock = lock
	if err := rundir.WriteJSON(filepath.Join(runDir, rundir.ConfigFile), cfg); err != nil {
		t.Close()
		return nil, err
	}
	t.env.Reset(t.obs)
	return t, nil
}

// build creates the networks, buffers and env of cfg (the state a checkpoint
// then overwrites on resume).
func build(cfg Config, eng engine.Engine, runDir string, log zerolog.Logger) (*Trainer, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return nil, err
	}
	od, ad := spec.ObsDim, spec.ActDim
	t := &Trainer{Cfg: cfg, RunDir: runDir, spec: spec, eng: eng, log: log, obs: make([]float32, od), k: cfg.Schedule().K(0), savedAt: -1}
	if t.agent, err = eng.NewAgent(cfg.AgentSpec(spec.ObsDim, spec.ActDim), cfg.Seed); err != nil {
		return nil, err
	}
	if cfg.RealAdd == "episode" {
		t.pending = stages.NewReplay(od, ad, spec.MaxEpisodeSteps+1)
	}
	sc := stagesConfig(cfg, spec)
	if cfg.Model() {
		if t.ens, err = eng.NewEnsemble(cfg.EnsembleSpec(spec.ObsDim, spec.ActDim), cfg.Seed); err != nil {
			return nil, err
		}
		t.elites = make([]int, cfg.EnsembleSize) // every member until the first fit
		for i := range t.elites {
			t.elites[i] = i
		}
		t.check = stages.NewRollouts(t.ens, t.agent, spec.Terminal, od, ad, cfg.Seed)
		sc.ModelCapacity = t.modelCapacity(t.k)
	}
	if t.st, err = eng.NewStages(sc, t.ens, t.agent); err != nil {
		return nil, err
	}
	if t.env, err = env.Make(cfg.Env); err != nil {
		t.st.Close()
		return nil, err
	}
	t.env.Seed(rng.Key{Seed: cfg.Seed, Purpose: rng.EnvReset})
	return t, nil
}

// stagesConfig sizes the stages of cfg on spec's env (the model buffer
// empty: a run sets it for its first k).
func stagesConfig(cfg Config, spec env.Spec) engine.StagesConfig {
	return engine.StagesConfig{
		Env: cfg.Env, ObsDim: spec.ObsDim, ActDim: spec.ActDim, Seed: cfg.Seed, RealCapacity: cfg.ReplaySize,
		RolloutBatch: cfg.RolloutBatch, MaxK: cfg.Schedule().MaxK(), Batch: cfg.BatchSize, RealRatio: cfg.RealRatio,
		Fit: engine.FitSettings{
			Batch: cfg.ModelBatch, HoldoutRatio: cfg.HoldoutRatio, MaxHoldout: cfg.MaxHoldout, EarlyStop: cfg.EarlyStop,
			Improvement: cfg.ModelImprovement, MaxEpochs: cfg.ModelMaxEpochs, Elites: cfg.Elites, Seed: cfg.Seed,
			NoRestore: cfg.Ablation == "no-restore",
		},
	}
}

func (t *Trainer) modelCapacity(k int) int {
	c := t.Cfg
	return ModelBufferCapacity(c.RetainEpochs, k, c.RolloutBatch, c.EpochLength, c.ModelTrainFreq)
}

// Close frees the env and the buffers of the run (not the engine or its
// networks) and releases the run directory's lock.
func (t *Trainer) Close() error {
	return errors.Join(t.st.Close(), t.env.Close(), t.lock.Unlock())
}

// EnvSteps is the number of real env steps taken so far.
func (t *Trainer) EnvSteps() int { return t.envSteps }

// Run trains until Cfg.Steps env steps, or until ctx is cancelled; either way
// it leaves a checkpoint of where it stopped. A non-finite loss stops it with
// an error naming the quantity, keeping the last good checkpoint. Run once
// per Trainer: New or Resume makes the Trainer of each session, and the
// clocks of the run and of its epoch in progress start with it.
func (t *Trainer) Run(ctx context.Context, hooks Hooks) error {
	c := t.Cfg
	t.sessionStart = time.Now()
	t.epochAcc.startSession() // keeps the sums and clocks of an epoch a checkpoint stopped inside
	mw, err := openMetrics(t.RunDir, c.EnsembleSize)
	if err != nil {
		return err
	}
	defer mw.Close()
	if c.TensorBoard {
		if mw.tb, err = openTensorBoard(t.RunDir, c, t.envSteps); err != nil {
			return err
		}
	}

	act := make([]float32, t.spec.ActDim)    // policy action in [-1, 1], what the buffers store
	envAct := make([]float32, t.spec.ActDim) // the same in the env's ctrlrange
	next := make([]float32, t.spec.ObsDim)
	for t.envSteps < c.Steps {
		if ctx.Err() != nil {
			if t.savedAt == t.envSteps {
				t.log.Info().Int("env_steps", t.envSteps).Msg("stopped: the checkpoint of this step is saved")
				return nil
			}
			t.log.Info().Int("env_steps", t.envSteps).Msg("stopped: saving a checkpoint")
			return t.SaveCheckpoint()
		}
		learning := t.envSteps >= c.InitSteps

		// Model stage: retrain, reschedule k, resize the model buffer, roll out.
		if t.ens != nil && learning && (t.envSteps-c.InitSteps)%c.ModelTrainFreq == 0 && t.realLen() >= 2 {
			if err := t.trainModelAndRollout(); err != nil {
				return err
			}
		}

		// Env stage: random actions first, then the stochastic policy.
		t0 := time.Now()
		if !learning {
			key := rng.Key{Seed: c.Seed, Purpose: rng.Exploration, Step: uint64(t.envSteps)}
			for j := range act {
				act[j] = 2*key.Uniform(uint64(j)) - 1
			}
		} else if err := t.agent.Act(t.obs, 1, false, rng.Key{Seed: c.Seed, Purpose: rng.PolicyNoise, Step: uint64(t.envSteps)}, act); err != nil {
			return err
		}
		t.spec.ActionFromUnit(envAct, act)
		st, err := t.env.Step(envAct, next)
		if err != nil {
			return fmt.Errorf("env step %d: %w", t.envSteps, err)
		}
		if st.Info.NonFinite {
			// The simulator blew up: the step's reward and observation mean
			// nothing, so the transition is not stored; the episode ends.
			t.epochAcc.nonFinite++
			t.log.Warn().Int("env_steps", t.envSteps).Msg("simulation became non-finite: episode ended, transition dropped")
		} else {
			// Only termination stops bootstrapping; a time-limit truncation does not.
			if err := t.store(act, float32(st.Reward), next, st.Terminated); err != nil {
				return err
			}
			t.epRet += st.Reward
		}
		t.epLen++
		copy(t.obs, next)
		if st.Terminated && !st.Info.NonFinite {
			t.epochAcc.terminations++
		}
		if st.Terminated || st.Truncated {
			if err := t.flushEpisode(); err != nil {
				return err
			}
			t.epochAcc.trainReturns = append(t.epochAcc.trainReturns, t.epRet)
			t.epRet, t.epLen = 0, 0
			t.env.Reset(t.obs)
		}
		t.envSteps++
		t.epochAcc.timeEnv += time.Since(t0).Seconds()

		// SAC stage: G updates per env step once learning has started.
		if learning && t.realLen() >= c.BatchSize {
			t0 = time.Now()
			if err := t.sacUpdates(c.G); err != nil {
				return err
			}
			t.epochAcc.timeSAC += time.Since(t0).Seconds()
		}

		if hooks.Step != nil {
			hooks.Step(t.envSteps, c.Steps)
		}
		if t.envSteps%c.EpochLength == 0 || t.envSteps == c.Steps {
			m, err := t.endEpoch()
			if err != nil {
				return err
			}
			if err := mw.Write(m); err != nil {
				return fmt.Errorf("metrics: %w", err)
			}
			if m.HealthDiverging == 1 && c.StopOnDivergence {
				return fmt.Errorf("the run diverged at env step %d (--stop-on-divergence; the warnings above say how): its last good checkpoint is in %s", t.envSteps, t.RunDir)
			}
			t.epochAcc.begin(t.envSteps) // before the checkpoint, which saves the new epoch's (empty) sums
			epoch := t.envSteps / c.EpochLength
			if t.envSteps == c.Steps || (c.CheckpointEvery > 0 && epoch%c.CheckpointEvery == 0) {
				if err := t.SaveCheckpoint(); err != nil {
					return err
				}
			}
			if hooks.Epoch != nil {
				hooks.Epoch(m)
			}
		}
	}
	return nil
}

// store adds one real transition to the real buffer, or with --real-add
// episode to the episode's pending transitions.
func (t *Trainer) store(act []float32, rew float32, next []float32, terminated bool) error {
	if t.pending != nil {
		t.pending.AddOne(t.obs, act, rew, next, terminated)
		return nil
	}
	done := float32(0)
	if terminated {
		done = 1
	}
	return t.addReal(t.obs, act, []float32{rew}, next, []float32{done})
}

// flushEpisode moves an ended episode's pending transitions into the real
// buffer (--real-add episode; nothing to do otherwise).
func (t *Trainer) flushEpisode() error {
	if t.pending == nil || t.pending.Len() == 0 {
		return nil
	}
	// Rows 0..n-1 in order: pending is cleared at every episode's end and
	// holds a whole episode.
	obs, act, rew, next, done := t.pending.Rows()
	err := t.addReal(obs, act, rew, next, done)
	t.pending.Clear()
	return err
}

// addReal appends transitions to the real buffer, counting them and their
// largest |reward|.
func (t *Trainer) addReal(obs, act, rew, next, done []float32) error {
	for _, r := range rew {
		t.rMax = max(t.rMax, math.Abs(float64(r)))
	}
	t.realAdded += int64(len(rew))
	return t.st.Real().Append(obs, act, rew, next, done)
}

// realLen is the number of transitions the real buffer holds (counted here,
// so that a device buffer is not asked at every step).
func (t *Trainer) realLen() int { return int(min(t.realAdded, int64(t.Cfg.ReplaySize))) }

// sacUpdates is the SAC stage of one env step: n updates on mixed batches.
func (t *Trainer) sacUpdates(n int) error {
	a := &t.epochAcc
	if err := t.st.Update(t.updates, n, &a.sac); err != nil {
		return err
	}
	if err := checkFinite(a.sac); err != nil {
		return fmt.Errorf("SAC updates %d-%d (env step %d): %w; the last good checkpoint is in %s", t.updates, t.updates+int64(n)-1, t.envSteps, err, t.RunDir)
	}
	t.updates += int64(n)
	return nil
}

// trainModelAndRollout is the model stage of the loop.
func (t *Trainer) trainModelAndRollout() error {
	c := t.Cfg
	t0 := time.Now()
	fit, err := t.st.Fit(t.retrains) // stages/fit.go
	if err != nil {
		return err
	}
	t.lastModel, t.elites = fit, fit.Elites
	t.epochAcc.timeModel += time.Since(t0).Seconds()
	t.epochAcc.modelRows += fit.Rows

	// k follows the schedule in MBPO's epochs, counted from the end of the
	// random phase; the model buffer holds RetainEpochs epochs of rollouts at
	// the current k, keeping its newest transitions when it is resized.
	t.k = c.Schedule().K((t.envSteps - c.InitSteps) / c.EpochLength)
	t0 = time.Now()
	rs, err := t.rollout(t.retrains)
	if err != nil {
		return err
	}
	t.lastRollout = rs
	t.epochAcc.timeRollout += time.Since(t0).Seconds()
	t.epochAcc.rolloutSteps += rs.Steps
	t.retrains++
	t.log.Debug().Int("env_steps", t.envSteps).Int("model_epochs", fit.Epochs).Ints("elites", fit.Elites).
		Int("k", t.k).Int64("rollout_steps", rs.Steps).Msg("model retrained")
	return nil
}

// rollout resizes the model buffer for the current k and runs round call of
// branched rollouts into it (stages/rollout.go).
func (t *Trainer) rollout(call uint64) (engine.RolloutResult, error) {
	if err := t.st.Model().Resize(t.modelCapacity(t.k)); err != nil {
		return engine.RolloutResult{}, err
	}
	return t.st.Rollout(t.elites, t.k, call)
}

// endEpoch evaluates the policy and assembles the epoch's metrics row.
func (t *Trainer) endEpoch() (Metrics, error) {
	c := t.Cfg
	a := &t.epochAcc
	epoch := (t.envSteps + c.EpochLength - 1) / c.EpochLength
	t0 := time.Now()
	ev, err := t.Evaluate(c.EvalEpisodes, uint64(epoch))
	if err != nil {
		return Metrics{}, err
	}
	m := Metrics{
		Epoch: epoch, EnvSteps: t.envSteps, Timesteps: max(0, t.envSteps-c.InitSteps),
		EvalReturnMean: ev.ReturnMean, EvalReturnStd: ev.ReturnStd, EvalLengthMean: ev.LengthMean,
		TrainReturnMean: mean(a.trainReturns), TrainEpisodes: len(a.trainReturns), TrainNonFinite: a.nonFinite,
		TrainTermRate: rate(float64(a.terminations), float64(t.envSteps-(epoch-1)*c.EpochLength)),
		RolloutK:      t.k, Updates: t.updates,
		ModelReturnMean: math.NaN(), RealReturnMean: math.NaN(),
	}
	if t.ens != nil && t.retrains > 0 {
		m.ModelHoldoutMSE, m.ModelHoldoutNLL, m.ModelBestEpoch = t.lastModel.HoldoutMSE, t.lastModel.HoldoutNLL, t.lastModel.BestEpochs
		m.ModelElites, m.ModelEpochs, m.ModelTrainLoss = t.lastModel.Elites, t.lastModel.Epochs, t.lastModel.TrainLoss
		if m.ModelBufSize, err = t.st.Model().Len(); err != nil {
			return Metrics{}, err
		}
		m.ModelBufCap = t.st.Model().Cap()
		m.RolloutMeanLen = t.lastRollout.MeanLen()
		m.RolloutTermRate = rate(float64(t.lastRollout.Finished), float64(t.lastRollout.Steps))
		if c.ModelReturnHorz > 0 {
			mr, err := t.check.ModelReturns(t.elites, ev.Start, len(ev.Returns), c.ModelReturnHorz, uint64(epoch))
			if err != nil {
				return Metrics{}, err
			}
			m.ModelReturnMean, m.RealReturnMean = mean(mr), mean(ev.ReturnsWithin(c.ModelReturnHorz))
		}
	}
	a.timeEval = time.Since(t0).Seconds()
	if s := a.sac; s.Updates > 0 {
		n := float64(s.Updates)
		m.Q1Loss, m.Q2Loss, m.PolicyLoss = s.Q1Loss/n, s.Q2Loss/n, s.PolicyLoss/n
		m.AlphaLoss, m.Alpha, m.Entropy, m.QMean = s.AlphaLoss/n, s.Alpha/n, s.Entropy/n, s.QMean/n
	} else {
		m.Q1Loss, m.Q2Loss, m.PolicyLoss, m.AlphaLoss = math.NaN(), math.NaN(), math.NaN(), math.NaN()
		m.Alpha, m.Entropy, m.QMean = math.NaN(), math.NaN(), math.NaN()
	}
	if a.sac.Updates > 0 {
		critic := (m.Q1Loss + m.Q2Loss) / 2
		h := checkHealth(m.QMean, critic, t.prevCritic, t.rMax, c.Gamma, c.QBoundMargin)
		m.HealthQBound, m.HealthQRatio, m.HealthCriticGrowth = h.QBound, h.QRatio, h.CriticGrowth
		for _, p := range h.Problems {
			m.HealthDiverging = 1
			t.log.Warn().Int("epoch", epoch).Int("env_steps", t.envSteps).Msg("divergence: " + p)
		}
		t.prevCritic = critic
	} else {
		m.HealthQBound, m.HealthQRatio, m.HealthCriticGrowth = math.NaN(), math.NaN(), math.NaN()
	}
	m.TimeEnv, m.TimeModel, m.TimeRollout, m.TimeSAC, m.TimeEval = a.timeEnv, a.timeModel, a.timeRollout, a.timeSAC, a.timeEval
	m.WallSec = t.wallBefore + time.Since(t.sessionStart).Seconds()
	m.EnvStepsPerSec = rate(float64(t.envSteps-a.envStepsAtStart), time.Since(a.wallAtStart).Seconds())
	m.SACUpdatesPerSec = rate(float64(a.sac.Updates-a.sacUntimed), a.timeSAC)
	m.ModelStepsPerSec = rate(float64(a.rolloutSteps), a.timeRollout)
	m.ModelTrainRowsPerS = rate(float64(a.modelRows), a.timeModel)
	if !isFinite64(m.EvalReturnMean) {
		return m, fmt.Errorf("evaluation return is %v at env step %d", m.EvalReturnMean, t.envSteps)
	}
	return m, nil
}

func (a *epochAccumulator) begin(envSteps int) {
	*a = epochAccumulator{envStepsAtStart: envSteps, wallAtStart: time.Now()}
}

// startSession starts a session's clock of the epoch in progress, keeping
// what a checkpoint taken inside it restored: its statistics, and its time
// columns and rates, which then cover the whole epoch (the time between the
// sessions aside).
func (a *epochAccumulator) startSession() {
	a.wallAtStart = time.Now().Add(-time.Duration(a.wallBefore * float64(time.Second)))
	a.wallBefore = 0
}

// checkFinite names the first non-finite quantity of the SAC updates
// summed in s.
func checkFinite(s engine.UpdateSums) error {
	for _, q := range []struct {
		name string
		v    float64
	}{{"critic 1 loss", s.Q1Loss}, {"critic 2 loss", s.Q2Loss}, {"policy loss", s.PolicyLoss}, {"temperature loss", s.AlphaLoss}, {"alpha", s.Alpha}} {
		if !isFinite64(q.v) {
			return fmt.Errorf("%s is %v", q.name, q.v)
		}
	}
	return nil
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func rate(n, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return n / sec
}

func isFinite64(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
