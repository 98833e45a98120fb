// Package cuda is the GPU implementation of engine.Engine: MBPO's dynamics
// ensemble and SAC agent trained with package kernels' CUDA kernels, every
// ensemble member (and both critics) in the same launches.
//
// The engine runs on a kernels.Machine. On a GPU (kernels.OnGPU) that is the
// device; on the host (kernels.OnHost) the same kernel sources run on the
// CPU over the same grids, slowly, so that the engine's whole sequence of
// launches, its buffer offsets and its argument lists are tested against the
// CPU engine on machines without a GPU.
//
// Parameters live in device memory in package engine's flat layouts, so
// State and SetState move checkpoints between engines unchanged. Randomness
// comes from the rng keys the caller passes, drawn on the device with the
// stream numbering of engine.go, so both engines draw the same numbers.
//
// Networks are not safe for concurrent use, and an Engine's networks share
// its Machine's one stream: calls from several goroutines must be serialised
// by the caller (the trainer calls one at a time).
package cuda

import (
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/kernels"
)

// who starts the engine's error messages.
const who = "cuda engine"

// Engine is the GPU engine. Create it with New or Open.
type Engine struct {
	m     kernels.Machine
	close func() error // frees what Open opened; nil after New
}

var _ engine.Engine = (*Engine)(nil)

// New returns an engine on m. Closing the engine does not close m.
func New(m kernels.Machine) *Engine { return &Engine{m: m} }

// Open returns an engine on device d (loading the kernels there). Closing the
// engine unloads them and closes d.
func Open(d *gpu.Device) (*Engine, error) {
	m, err := kernels.OnGPU(d)
	if err != nil {
		return nil, fmt.Errorf("cuda engine: %w", err)
	}
	return &Engine{m: m, close: func() error {
		err := m.Close()
		if cerr := d.Close(); err == nil {
			err = cerr
		}
		return err
	}}, nil
}

// Name is "cuda", or "cuda-host" when the kernels run on the host machine.
func (e *Engine) Name() string {
	if e.m.Name() == "host" {
		return "cuda-host"
	}
	return "cuda"
}

// Machine is what the engine runs on.
func (e *Engine) Machine() kernels.Machine { return e.m }

// NewEnsemble creates a dynamics ensemble initialised from seed's rng.Init
// stream (step engine.InitStepEnsemble), as the CPU engine does.
func (e *Engine) NewEnsemble(spec engine.EnsembleSpec, seed uint64) (engine.Ensemble, error) {
	if err := fp32Only(spec.Precision); err != nil {
		return nil, err
	}
	return newEnsemble(e.m, spec, seed)
}

// NewAgent creates a SAC agent initialised from seed's rng.Init stream (step
// engine.InitStepAgent), as the CPU engine does.
func (e *Engine) NewAgent(spec engine.AgentSpec, seed uint64) (engine.Agent, error) {
	if err := fp32Only(spec.Precision); err != nil {
		return nil, err
	}
	return newAgent(e.m, spec, seed)
}

// fp32Only refuses a precision other than FP32: the GPU engine's kernels
// multiply in float32.
func fp32Only(p engine.Precision) error {
	if p.OrFP32() != engine.FP32 {
		return fmt.Errorf("cuda engine: precision %s: the GPU engine multiplies in fp32 only; %s runs on the CPU engine (--device cpu)", p, p)
	}
	return nil
}

// Close closes what Open opened. The networks' memory is freed by their own
// Close (they have one through the io.Closer interface), or with the device.
func (e *Engine) Close() error {
	if e.close == nil {
		return nil
	}
	c := e.close
	e.close = nil
	return c()
}
