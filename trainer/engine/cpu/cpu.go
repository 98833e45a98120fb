// Package cpu is the CPU implementation of engine.Engine: MBPO's dynamics
// ensemble and SAC agent trained with OpenBLAS's sgemm for every matrix
// product and multiversioned C kernels (AVX-512, AVX2, baseline) for the
// element-wise work, each call split over a team of goroutines.
//
// Parameters live in the flat float32 buffers of package engine's layout.go,
// so State snapshots move between engines unchanged. All randomness comes from
// the rng keys the caller passes, with the stream numbering of engine.go.
//
// Networks are not safe for concurrent use: each Ensemble and Agent owns
// preallocated scratch that its calls reuse, so the hot paths (Update,
// TrainStep, Act, Predict) do not allocate once warm.
package cpu

import (
	"runtime"

	"github.com/mbpogo/mbpo/trainer/engine"
)

// who starts the engine's error messages.
const who = "cpu engine"

// Options configures the CPU engine.
type Options struct {
	// Threads is how many CPU threads each call may use; 0 means
	// runtime.NumCPU(). A network splits a call into independent pieces
	// (ensemble members, chunks of rows, the two critics, halves of a batch)
	// run by that many goroutines, each calling OpenBLAS single-threaded:
	// New sets openblas_set_num_threads(1) for the whole process, which
	// measured faster here than multi-threaded OpenBLAS (parallel.go).
	Threads int
	// BLASCore picks OpenBLAS's kernel family, as OPENBLAS_CORETYPE would,
	// when that variable is not set (a set variable always wins): "" chooses
	// SkylakeX on processors with AVX-512 and OpenBLAS's own detection
	// otherwise; "detect" always uses OpenBLAS's detection; any other value
	// is passed to OpenBLAS as is. Only the first engine of a process can
	// choose: OpenBLAS reads it once, when it is loaded.
	BLASCore string
}

// Engine is the CPU engine. Create it with New.
type Engine struct {
	blas    *blas
	err     error // why OpenBLAS could not be loaded
	threads int
}

var _ engine.Engine = (*Engine)(nil)

// New loads OpenBLAS and returns the engine. If OpenBLAS cannot be loaded,
// NewEnsemble and NewAgent return the reason.
func New(opts Options) *Engine {
	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	b, err := openBLAS(opts.BLASCore, 1)
	return &Engine{blas: b, err: err, threads: threads}
}

// Name is "cpu".
func (e *Engine) Name() string { return "cpu" }

// Threads is the number of goroutines a call is split over.
func (e *Engine) Threads() int { return e.threads }

// BLASCore is the kernel family OpenBLAS runs (openblas_get_corename), or ""
// if it could not be loaded.
func (e *Engine) BLASCore() string {
	if e.blas == nil {
		return ""
	}
	return e.blas.core
}

// NewEnsemble creates a dynamics ensemble initialised from seed's rng.Init
// stream (step engine.InitStepEnsemble).
func (e *Engine) NewEnsemble(spec engine.EnsembleSpec, seed uint64) (engine.Ensemble, error) {
	if e.err != nil {
		return nil, e.err
	}
	return newEnsemble(e.blas, e.threads, spec, seed)
}

// NewAgent creates a SAC agent initialised from seed's rng.Init stream (step
// engine.InitStepAgent).
func (e *Engine) NewAgent(spec engine.AgentSpec, seed uint64) (engine.Agent, error) {
	if e.err != nil {
		return nil, e.err
	}
	return newAgent(e.blas, e.threads, spec, seed)
}

// Close releases nothing: OpenBLAS stays loaded for the life of the process
// (unloading it under running networks or its own thread pool is unsafe), and
// the networks' memory belongs to the garbage collector.
func (e *Engine) Close() error { return nil }
