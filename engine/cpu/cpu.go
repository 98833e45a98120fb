// Package cpu is the CPU implementation of engine.Engine: MBPO's dynamics
// ensemble and SAC agent trained with OpenBLAS's sgemm for every matrix
// product (or, for networks of precision engine.BF16, oneDNN's bf16 products
// with float32 accumulation) and multiversioned C kernels (AVX-512, AVX2,
// baseline) for the element-wise work, each call split over a team of
// goroutines.
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
	"fmt"
	"runtime"
	"sync"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/stages"
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
	// OneDNNLibrary is the oneDNN shared object that bf16 networks load
	// ("": libdnnl.so.2, Debian's libdnnl2).
	OneDNNLibrary string
}

// Engine is the CPU engine. Create it with New.
type Engine struct {
	blas    *blas
	err     error // why OpenBLAS could not be loaded
	threads int

	onednnLibrary string
	onednnOnce    sync.Once
	onednn        *onednn // opened by the first bf16 network
	onednnErr     error
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
	return &Engine{blas: b, err: err, threads: threads, onednnLibrary: opts.OneDNNLibrary}
}

// products returns the matrix products of precision p: OpenBLAS's sgemm for
// engine.FP32, oneDNN's bf16 products for engine.BF16 (loaded on first use).
func (e *Engine) products(p engine.Precision) (matmul, error) {
	if e.err != nil {
		return matmul{}, e.err
	}
	if err := p.Check(); err != nil {
		return matmul{}, fmt.Errorf("%s: %w", who, err)
	}
	if p.OrFP32() == engine.FP32 {
		return matmul{blas: e.blas}, nil
	}
	e.onednnOnce.Do(func() { e.onednn, e.onednnErr = openOneDNN(e.onednnLibrary) })
	if e.onednnErr != nil {
		return matmul{}, e.onednnErr
	}
	return matmul{blas: e.blas, bf16: e.onednn}, nil
}

// CheckPrecision reports whether the engine can run networks of precision p
// on this machine: for engine.BF16, whether oneDNN loads and the processor
// has bf16 matrix instructions (AVX512-BF16 or AMX). The error says what is
// missing.
func (e *Engine) CheckPrecision(p engine.Precision) error {
	_, err := e.products(p)
	return err
}

// Products describes how the matrix products of precision p run, e.g.
// "OpenBLAS sgemm (SkylakeX)" or "oneDNN 2.6.3 gemm:jit, avx512_core_bf16",
// or "" if they cannot.
func (e *Engine) Products(p engine.Precision) string {
	mm, err := e.products(p)
	switch {
	case err != nil:
		return ""
	case mm.bf16 != nil:
		return "bf16 products through " + mm.bf16.describe()
	}
	return fmt.Sprintf("fp32 products through OpenBLAS sgemm (%s)", e.blas.core)
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
	mm, err := e.products(spec.Precision)
	if err != nil {
		return nil, err
	}
	return newEnsemble(mm, e.threads, spec, seed)
}

// NewAgent creates a SAC agent initialised from seed's rng.Init stream (step
// engine.InitStepAgent).
func (e *Engine) NewAgent(spec engine.AgentSpec, seed uint64) (engine.Agent, error) {
	mm, err := e.products(spec.Precision)
	if err != nil {
		return nil, err
	}
	return newAgent(mm, e.threads, spec, seed)
}

// NewStages returns the host stages (package stages, the plain reference)
// on this engine's networks.
func (e *Engine) NewStages(cfg engine.StagesConfig, ens engine.Ensemble, agent engine.Agent) (engine.Stages, error) {
	return stages.New(cfg, ens, agent)
}

// Close releases nothing: OpenBLAS and oneDNN stay loaded for the life of
// the process (unloading them under running networks or their own thread
// pools is unsafe), and the networks' memory belongs to the garbage
// collector.
func (e *Engine) Close() error { return nil }
