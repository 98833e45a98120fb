// bench_engine.go: what the engine benchmarks (bench rollout, model-train
// and sac) share: their common flags, the set-up they all start with (the
// paper's configuration, the logger, the engine, random-policy data from
// bench.CollectRandom) and writing their JSON. The measuring is package
// bench's.

package main

import (
	"encoding/json"
	"flag"
	"os"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// deviceHost is the --device value of the engine benchmarks that runs the GPU
// engine's kernels on the host machine: slow, for testing the GPU paths of
// the benchmarks where there is no GPU.
const deviceHost = "cuda-host"

// engineBenchFlags are the flags every engine benchmark takes: --env,
// --device, --threads, --precision, --json and the logging flags.
type engineBenchFlags struct {
	env, device, json, precision string
	threads                      int
	log                          logFlags
}

// register binds the flags to fs.
func (f *engineBenchFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.env, "env", "Hopper-v4", "environment id")
	fs.StringVar(&f.device, "device", "auto", "engine: auto, cpu or cuda ("+deviceHost+": the GPU engine's kernels on the host, for tests)")
	fs.IntVar(&f.threads, "threads", 0, "CPU engine threads (0: all)")
	fs.StringVar(&f.precision, "precision", "fp32", "matrix products: fp32, or bf16 (bfloat16 operands, fp32 accumulation: the CPU engine on AMX or AVX512-BF16)")
	fs.StringVar(&f.json, "json", "", "also write the results to this JSON file")
	f.log.register(fs)
}

// config is the paper's configuration for --env in --precision; an unknown
// id or precision is a usage error.
func (f *engineBenchFlags) config() (trainer.Config, error) {
	cfg, err := trainer.PaperConfig(f.env)
	if err != nil {
		return cfg, usageError{err.Error()}
	}
	if err := engine.Precision(f.precision).Check(); err != nil || f.precision == "" {
		return cfg, usagef("--precision %q: want fp32 or bf16", f.precision)
	}
	cfg.Precision = f.precision
	return cfg, nil
}

// engineBench is what an engine benchmark runs with; close frees the engine.
type engineBench struct {
	log  zerolog.Logger
	eng  engine.Engine
	real *stages.Replay // random-policy transitions of cfg's environment
}

// prepare builds the logger the flags ask for, the engine --device names and
// rows random-policy env steps of cfg's environment (bench.CollectRandom).
func (f *engineBenchFlags) prepare(a *app, cfg trainer.Config, rows int) (*engineBench, error) {
	log, err := f.log.logger(a.stderr)
	if err != nil {
		return nil, err
	}
	eng, err := benchEngine(f.device, f.threads, log)
	if err != nil {
		return nil, err
	}
	if err := checkPrecision(eng, f.precision); err != nil {
		eng.Close()
		return nil, err
	}
	real, err := bench.CollectRandom(cfg, rows)
	if err != nil {
		eng.Close()
		return nil, err
	}
	return &engineBench{log: log, eng: eng, real: real}, nil
}

// close frees the engine.
func (b *engineBench) close() { b.eng.Close() }

// benchEngine is the engine --device names, or the GPU engine on the host.
func benchEngine(device string, threads int, log zerolog.Logger) (engine.Engine, error) {
	if device == deviceHost {
		return cuda.New(kernels.OnHost()), nil
	}
	return selectEngine(device, threads, log)
}

// writeJSON writes v to path (when path is not empty).
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
