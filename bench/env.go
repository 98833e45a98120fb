// env.go: env pool throughput for 1..W workers against the raw MuJoCo
// speed of the same model, measured in the same run (mbpo bench env).

package bench

import (
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
)

// EnvOptions sizes EnvPools.
type EnvOptions struct {
	NumEnvs int    // environments in the pool
	Steps   int    // env steps per measurement, all environments together (at least NumEnvs)
	Workers int    // largest worker count measured (at most NumEnvs)
	Repeat  int    // rounds of measurements; the best of each is kept
	Seed    uint64 // seed of the random actions and reset noise
	// Log gets one info line per measurement as it is taken.
	Log zerolog.Logger
}

// EnvResult is what EnvPools measures: the best of each measurement over
// the rounds.
type EnvResult struct {
	Env      env.Spec
	NumEnvs  int
	Repeat   int
	EnvSteps float64 // env steps a pool measurement makes (whole pool steps)

	RawStepsPerSec    float64 // raw physics on one thread: env steps/s (mj_step/s ÷ frame skip)
	RawStepsPerCPUSec float64 // the same per CPU second of the process

	Pools []EnvPoolResult // 1 to Workers workers
}

// EnvPoolResult is one worker count's row of EnvResult.
type EnvPoolResult struct {
	Workers     int
	StepsPerSec float64 // env steps/s of the pool
	PerWorker   float64 // StepsPerSec ÷ Workers
	RatioToRaw  float64 // PerWorker ÷ RawStepsPerSec
	CPURatio    float64 // env steps per CPU second ÷ RawStepsPerCPUSec: the pool's own overhead
	// RawTogether is the env steps/s of Workers replays of the raw physics
	// at once, each on its own thread: the most this machine's cores give
	// together; RatioToTogether is StepsPerSec ÷ RawTogether.
	RawTogether     float64
	RatioToTogether float64
}

// EnvPools measures env steps/s of a pool of o.NumEnvs environments id
// running a uniformly random policy, for 1 to o.Workers workers, and the raw
// physics speed (mj_step/s ÷ frame skip, one thread and o.Workers threads at
// once, replaying a random-policy run of the same model). Measurements are
// interleaved and repeated o.Repeat times; the best of each is kept, which
// keeps other load on the machine out of the comparison.
func EnvPools(id string, o EnvOptions) (EnvResult, error) {
	spec, err := env.Lookup(id)
	if err != nil {
		return EnvResult{}, err
	}
	log := o.Log
	rec, err := env.RecordPhysics(spec.ID, o.Steps, o.Seed)
	if err != nil {
		return EnvResult{}, err
	}
	defer rec.Close()

	pools := make([]*env.Pool, o.Workers)
	for w := range pools {
		p, err := env.NewPool(spec.ID, o.NumEnvs, env.PoolConfig{Workers: w + 1, Seed: o.Seed})
		if err != nil {
			return EnvResult{}, err
		}
		defer p.Close()
		p.Reset()
		pools[w] = p
	}
	actions := randomActions(spec, o.Steps, o.Seed)

	// Each measurement keeps its best wall time and, apart, its best process
	// CPU time: the CPU-time ratio shows the pool's own overhead even when
	// other work on the machine takes turns on the CPUs.
	envSteps := float64(o.Steps / o.NumEnvs * o.NumEnvs)
	var raw timing
	best := make([]timing, o.Workers)
	rawTogether := make([]time.Duration, o.Workers) // best wall time of w+1 replays at once
	for r := range o.Repeat {
		var s env.PhysicsSpeed
		t, err := measure(func() (err error) { s, err = rec.Measure(); return err })
		if err != nil {
			return EnvResult{}, err
		}
		t.wall = s.Elapsed // the replay's own time, without the check after it
		raw.keepBest(t, r == 0)
		log.Info().Int("round", r+1).Float64("mj_step_per_s", s.MjStepsPerSecond()).
			Float64("mj_step_per_cpu_s", float64(s.MjSteps)/t.cpu.Seconds()).Msg("raw physics")
		for w := range rawTogether {
			s := s
			if w > 0 {
				if s, err = rec.MeasureParallel(w + 1); err != nil {
					return EnvResult{}, err
				}
				log.Info().Int("round", r+1).Int("threads", w+1).Float64("mj_step_per_s", s.MjStepsPerSecond()).Msg("raw physics")
			}
			if r == 0 || s.Elapsed < rawTogether[w] {
				rawTogether[w] = s.Elapsed
			}
		}
		for w, p := range pools {
			t, err := measure(func() error { return runPool(p, actions, o.Steps/o.NumEnvs) })
			if err != nil {
				return EnvResult{}, err
			}
			best[w].keepBest(t, r == 0)
			log.Info().Int("round", r+1).Int("workers", w+1).Float64("env_steps_per_s", envSteps/t.wall.Seconds()).
				Float64("env_steps_per_cpu_s", envSteps/t.cpu.Seconds()).Msg("pool")
		}
	}

	res := EnvResult{Env: spec, NumEnvs: o.NumEnvs, Repeat: o.Repeat, EnvSteps: envSteps,
		RawStepsPerSec: float64(rec.Steps()) / raw.wall.Seconds(), RawStepsPerCPUSec: float64(rec.Steps()) / raw.cpu.Seconds()}
	for w, t := range best {
		row := EnvPoolResult{Workers: w + 1, StepsPerSec: envSteps / t.wall.Seconds()}
		row.PerWorker = row.StepsPerSec / float64(w+1)
		row.RatioToRaw = row.PerWorker / res.RawStepsPerSec
		row.CPURatio = envSteps / t.cpu.Seconds() / res.RawStepsPerCPUSec
		row.RawTogether = float64((w+1)*rec.Steps()) / rawTogether[w].Seconds()
		row.RatioToTogether = row.StepsPerSec / row.RawTogether
		res.Pools = append(res.Pools, row)
	}
	return res, nil
}

// randomActions returns n uniformly random actions over spec's range, one
// row each, drawn before any timing.
func randomActions(spec env.Spec, n int, seed uint64) []float32 {
	key := rng.Key{Seed: seed, Purpose: rng.Exploration, Step: 1}
	out := make([]float32, n*spec.ActDim)
	unit := make([]float32, spec.ActDim)
	for i := range n {
		for j := range unit {
			unit[j] = 2*key.Uniform(uint64(i*spec.ActDim+j)) - 1
		}
		spec.ActionFromUnit(out[i*spec.ActDim:(i+1)*spec.ActDim], unit)
	}
	return out
}

// runPool makes steps pool steps, taking actions row after row.
func runPool(p *env.Pool, actions []float32, steps int) error {
	row := p.N() * p.Spec().ActDim
	for i := range steps {
		if err := p.Step(actions[i*row : (i+1)*row]); err != nil {
			return err
		}
	}
	return nil
}
