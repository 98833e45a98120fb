// bench_env.go is "mbpo bench env": env pool throughput for 1..W workers
// against the raw MuJoCo speed of the same model, measured in the same run
// (bench.EnvPools): its flags and its printed table.

package main

import (
	"fmt"
	"runtime"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/env"
)

// runBenchEnv measures env steps/s of an env pool running a uniformly random
// policy, for 1 to --workers workers, against the raw physics speed
// (bench.EnvPools), and prints the table.
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
	if load, ok := bench.LoadAverage(); ok && load > 0.5 {
		log.Warn().Float64("load_average", load).Msg("other work is running on this machine: timings will be low and noisy")
	}
	res, err := bench.EnvPools(spec.ID, bench.EnvOptions{NumEnvs: *numEnvs, Steps: *steps, Workers: *workers, Repeat: *repeat, Seed: *seed, Log: log})
	if err != nil {
		return err
	}

	fmt.Fprintf(a.stdout, "%s: %d envs, %.0f env steps a measurement, frame_skip %d, best of %d, %d CPUs\n",
		spec.ID, res.NumEnvs, res.EnvSteps, spec.FrameSkip, res.Repeat, runtime.NumCPU())
	fmt.Fprintf(a.stdout, "raw physics, one thread: %.0f mj_step/s = %.0f env steps/s; %.0f env steps per CPU second\n\n",
		res.RawStepsPerSec*float64(spec.FrameSkip), res.RawStepsPerSec, res.RawStepsPerCPUSec)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "workers\tenv steps/s\tper worker\traw env steps/s\tratio\tCPU-time ratio\traw on W threads\tratio to it\t")
	for _, p := range res.Pools {
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.0f\t%.2f\t\n",
			p.Workers, p.StepsPerSec, p.PerWorker, res.RawStepsPerSec, p.RatioToRaw, p.CPURatio, p.RawTogether, p.RatioToTogether)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, "\nratio: env steps/s per worker ÷ raw env steps/s of one thread; CPU-time ratio: the same per CPU second;")
	fmt.Fprintln(a.stdout, "raw on W threads: W replays at once, each on its own thread, the most this machine's cores give together.")
	return nil
}
