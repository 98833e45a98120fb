// bench_env.go is "mbpo bench env": env pool throughput for 1..W workers
// against the raw MuJoCo speed of the same model, measured in the same run.

package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
)

// runBenchEnv measures env steps/s of an env pool running a uniformly random
// policy, for 1 to --workers workers, and the raw physics speed (mj_step/s ÷
// frame skip, one thread, replaying a random-policy run of the same model).
// Measurements are interleaved and repeated; the best of each is reported,
// which keeps other load on the machine out of the comparison.
func runBenchEnv(a *app, args []string) error {
	fs := a.newFlags("bench env", "[flags]", "Measure env pool throughput (env steps/s) for 1..W workers against the raw physics\n"+
		"speed of the same model (mj_step calls/s ÷ frame_skip on one thread), in the same run.")
	id := fs.String("env", "Humanoid-v4", "environment id (see 'mbpo envs')")
	numEnvs := fs.Int("num-envs", 64, "environments in the pool")
	steps := fs.Int("steps", 20000, "env steps per measurement (all environments together)")
	workers := fs.Int("workers", runtime.NumCPU(), "largest worker count to measure")
	repeat := fs.Int("repeat", 3, "rounds of measurements; the best of each is reported")
	seed := fs.Uint64("seed", 1, "seed of the random actions and reset noise")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected arguments %q", fs.Args())
	case *numEnvs < 1:
		return usagef("--num-envs %d: want at least 1", *numEnvs)
	case *steps < *numEnvs:
		return usagef("--steps %d: want at least --num-envs (%d)", *steps, *numEnvs)
	case *workers < 1:
		return usagef("--workers %d: want at least 1", *workers)
	case *repeat < 1:
		return usagef("--repeat %d: want at least 1", *repeat)
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	if *workers > *numEnvs {
		log.Warn().Int("workers", *workers).Int("num_envs", *numEnvs).Msg("a pool has at most one worker per environment: measuring up to --num-envs workers")
		*workers = *numEnvs
	}
	spec, err := env.Lookup(*id)
	if err != nil {
		return usagef("%v", err)
	}

	log.Info().Str("env", spec.ID).Int("num_envs", *numEnvs).Int("steps", *steps).Int("workers", *workers).
		Int("repeat", *repeat).Uint64("seed", *seed).Int("cpus", runtime.NumCPU()).Msg("bench env")
	if load, ok := loadAverage(); ok && load > 0.5 {
		log.Warn().Float64("load_average", load).Msg("other work is running on this machine: timings will be low and noisy")
	}
	rec, err := env.RecordPhysics(spec.ID, *steps, *seed)
	if err != nil {
		return err
	}
	defer rec.Close()

	pools := make([]*env.Pool, *workers)
	for w := range pools {
		p, err := env.NewPool(spec.ID, *numEnvs, env.PoolConfig{Workers: w + 1, Seed: *seed})
		if err != nil {
			return err
		}
		defer p.Close()
		p.Reset()
		pools[w] = p
	}
	actions := randomActions(spec, *steps, *seed)

	// Each measurement keeps its best wall time and, apart, its best process
	// CPU time: the CPU-time ratio shows the pool's own overhead even when
	// other work on the machine takes turns on the CPUs.
	envSteps := float64(*steps / *numEnvs * *numEnvs)
	var raw timing
	best := make([]timing, *workers)
	rawTogether := make([]time.Duration, *workers) // best wall time of w+1 replays at once
	for r := range *repeat {
		var s env.PhysicsSpeed
		t, err := measure(func() (err error) { s, err = rec.Measure(); return err })
		if err != nil {
			return err
		}
		t.wall = s.Elapsed // the replay's own time, without the check after it
		raw.keepBest(t, r == 0)
		log.Info().Int("round", r+1).Float64("mj_step_per_s", s.MjStepsPerSecond()).
			Float64("mj_step_per_cpu_s", float64(s.MjSteps)/t.cpu.Seconds()).Msg("raw physics")
		for w := range rawTogether {
			s := s
			if w > 0 {
				if s, err = rec.MeasureParallel(w + 1); err != nil {
					return err
				}
				log.Info().Int("round", r+1).Int("threads", w+1).Float64("mj_step_per_s", s.MjStepsPerSecond()).Msg("raw physics")
			}
			if r == 0 || s.Elapsed < rawTogether[w] {
				rawTogether[w] = s.Elapsed
			}
		}
		for w, p := range pools {
			t, err := measure(func() error { return runPool(p, actions, *steps / *numEnvs) })
			if err != nil {
				return err
			}
			best[w].keepBest(t, r == 0)
			log.Info().Int("round", r+1).Int("workers", w+1).Float64("env_steps_per_s", envSteps/t.wall.Seconds()).
				Float64("env_steps_per_cpu_s", envSteps/t.cpu.Seconds()).Msg("pool")
		}
	}

	rawRate, rawCPURate := float64(rec.Steps())/raw.wall.Seconds(), float64(rec.Steps())/raw.cpu.Seconds()
	fmt.Fprintf(a.stdout, "%s: %d envs, %.0f env steps a measurement, frame_skip %d, best of %d, %d CPUs\n",
		spec.ID, *numEnvs, envSteps, spec.FrameSkip, *repeat, runtime.NumCPU())
	fmt.Fprintf(a.stdout, "raw physics, one thread: %.0f mj_step/s = %.0f env steps/s; %.0f env steps per CPU second\n\n",
		rawRate*float64(spec.FrameSkip), rawRate, rawCPURate)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tenv steps/s\tper worker\traw env steps/s\tratio\tCPU-time ratio\traw on W threads\tratio to it\t")
	for w, t := range best {
		rate := envSteps / t.wall.Seconds()
		perWorker := rate / float64(w+1)
		cpuRatio := envSteps / t.cpu.Seconds() / rawCPURate
		together := float64((w+1)*rec.Steps()) / rawTogether[w].Seconds()
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.0f\t%.2f\t\n",
			w+1, rate, perWorker, rawRate, perWorker/rawRate, cpuRatio, together, rate/together)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\nratio: env steps/s per worker ÷ raw env steps/s of one thread; CPU-time ratio: the same per CPU second;")
	fmt.Fprintln(a.stdout, "raw on W threads: W replays at once, each on its own thread, the most this machine's cores give together.")
	return nil
}

// loadAverage is the one-minute load average of the machine, where the
// system tells it (/proc/loadavg on Linux).
func loadAverage() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, false
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	return load, err == nil
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

// timing is the wall time and the CPU time of the whole process (all
// threads, user and system) that some work took.
type timing struct{ wall, cpu time.Duration }

// keepBest keeps the smaller of each time, or t's when first is set.
func (t *timing) keepBest(u timing, first bool) {
	if first || u.wall < t.wall {
		t.wall = u.wall
	}
	if first || u.cpu < t.cpu {
		t.cpu = u.cpu
	}
}

// measure times work.
func measure(work func() error) (timing, error) {
	cpu0, start := processCPU(), time.Now()
	err := work()
	return timing{wall: time.Since(start), cpu: processCPU() - cpu0}, err
}

// processCPU is the CPU time the process has used so far, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
