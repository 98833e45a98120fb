// data.go: what the engine benchmarks start from: random-policy
// transitions of the environment (the run's initial exploration), and how an
// engine says it runs the matrix products.

package bench

import (
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// CollectRandom plays steps random-policy steps of cfg's environment (the
// initial exploration phase: uniform actions keyed by cfg.Seed, episodes
// reset where they end) into a new replay buffer of that capacity.
func CollectRandom(cfg trainer.Config, steps int) (*stages.Replay, error) {
	real, _, err := collectRandom(cfg, steps)
	return real, err
}

// collectRandom is CollectRandom that also returns the wall time of the
// steps alone (not the environment's creation and first reset).
func collectRandom(cfg trainer.Config, steps int) (*stages.Replay, time.Duration, error) {
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

// Products describes how eng runs the matrix products of precision p (the
// CPU engine says, e.g. "bf16 products through oneDNN ..."; other engines
// multiply in fp32).
func Products(eng engine.Engine, p string) string {
	if d, ok := eng.(interface{ Products(engine.Precision) string }); ok {
		return d.Products(engine.Precision(p))
	}
	return "fp32 products on the " + eng.Name() + " engine"
}

// Setup says what an engine benchmark ran: its JSON fields open the
// results of ModelTrain, Rollouts and SAC.
type Setup struct {
	Engine    string `json:"engine"`    // the engine's name: cpu, cuda, cuda-host
	Machine   string `json:"machine"`   // "cpu", or the GPU engine's kernels.Machine
	Path      string `json:"path"`      // the code that ran, in words
	Precision string `json:"precision"` // of the matrix products: fp32 or bf16
	Products  string `json:"products"`  // how the engine runs them (Products)
	Env       string `json:"env"`
}

// setupOf is the Setup of a benchmark of cfg's environment spec on eng,
// with path the code it runs on the CPU engine and gpuPath on the GPU
// engine; it says which engine it is.
func setupOf(eng engine.Engine, cfg trainer.Config, spec env.Spec, path, gpuPath string) (Setup, bool) {
	s := Setup{Engine: eng.Name(), Machine: "cpu", Path: path, Precision: cfg.Precision,
		Products: Products(eng, cfg.Precision), Env: spec.ID}
	ce, gpu := eng.(*cuda.Engine)
	if gpu {
		s.Machine, s.Path = ce.Machine().Name(), gpuPath
	}
	return s, gpu
}

// closeNet frees a network's device memory where it has any.
func closeNet(net any) {
	if c, ok := net.(interface{ Close() error }); ok {
		c.Close()
	}
}
