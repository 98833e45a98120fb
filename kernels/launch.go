// launch.go: the kernels loaded on a device, with typed launchers.

package kernels

import (
	"fmt"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/rng"
)

// Set is this package's kernels JIT-compiled for one device.
type Set struct {
	dev     *gpu.Device
	modules []*gpu.Module

	forward, swish, head, rngFill, empty, addOne *gpu.Function
	byKernel                                     [kernelCount]*gpu.Function
}

// Load JIT-compiles every module for d and looks up the kernels.
func Load(d *gpu.Device) (*Set, error) {
	k := &Set{dev: d}
	byName := map[string]*gpu.Function{}
	for _, name := range Modules() {
		src, err := PTX(name)
		if err != nil {
			return nil, err
		}
		m, err := d.LoadModule(src)
		if err != nil {
			k.Close()
			return nil, fmt.Errorf("kernels: loading module %s: %w", name, err)
		}
		k.modules = append(k.modules, m)
		for _, fn := range moduleKernels(name) {
			f, err := m.Function(fn)
			if err != nil {
				k.Close()
				return nil, fmt.Errorf("kernels: module %s: %w", name, err)
			}
			byName[fn] = f
		}
	}
	k.forward, k.swish, k.head = byName["mbpo_ensemble_forward"], byName["mbpo_swish"], byName["mbpo_gaussian_head"]
	k.rngFill, k.empty, k.addOne = byName["mbpo_rng_fill"], byName["mbpo_empty"], byName["mbpo_add_one"]
	for id, info := range kernelTable() {
		k.byKernel[id] = byName[info.name]
	}
	// The forward kernels keep a block's activations in shared memory.
	for _, f := range []*gpu.Function{k.forward, k.byKernel[KEnsemblePredict]} {
		if err := f.SetMaxDynamicShared(d.Info().MaxSharedPerBlockOpt); err != nil {
			k.Close()
			return nil, err
		}
	}
	return k, nil
}

// fn is the loaded function of kernel id, or nil.
func (k *Set) fn(id Kernel) *gpu.Function {
	if id < 0 || int(id) >= kernelCount {
		return nil
	}
	return k.byKernel[id]
}

// moduleKernels lists the entry points of each module.
func moduleKernels(module string) []string {
	switch module {
	case "rng":
		return []string{"mbpo_rng_fill"}
	case "bench":
		return []string{"mbpo_empty", "mbpo_add_one"}
	}
	var names []string
	if module == "ensemble" {
		names = []string{"mbpo_swish", "mbpo_gaussian_head"}
	}
	for _, info := range kernelTable() {
		if info.module == module {
			names = append(names, info.name)
		}
	}
	return names
}

// Close unloads the modules.
func (k *Set) Close() error {
	var first error
	for _, m := range k.modules {
		if err := m.Close(); err != nil && first == nil {
			first = err
		}
	}
	k.modules = nil
	return first
}

// ForwardKernel is the forward kernel, for its attributes (registers, spills).
func (k *Set) ForwardKernel() *gpu.Function { return k.forward }

// ForwardArgs are the device buffers of an ensemble forward pass over N rows.
type ForwardArgs struct {
	Mean, Logvar gpu.DevicePtr // outputs, [Members][N][Out] float32 each
	X            gpu.DevicePtr // inputs, [N][In]
	Params       gpu.DevicePtr // the "params" buffer of engine.EnsembleSpec's layout
	NormMean     gpu.DevicePtr // [In]
	NormStd      gpu.DevicePtr // [In]
	N            int
}

// EnsembleForward queues the forward pass of every member of p.Spec on a.N
// rows: one launch.
func (k *Set) EnsembleForward(s *gpu.Stream, p ForwardPlan, a ForwardArgs) error {
	if a.N < 1 {
		return fmt.Errorf("kernels: forward over %d rows", a.N)
	}
	if limit := k.dev.Info().MaxSharedPerBlockOpt; p.SharedBytes > limit {
		return fmt.Errorf("kernels: the forward plan needs %d bytes of shared memory per block, the device allows %d", p.SharedBytes, limit)
	}
	return s.Launch(k.forward, p.Grid(a.N), gpu.Dim3{X: p.Threads}, p.SharedBytes, forwardArgs(p, a))
}

// The argument lists of the kernels, in the order of their signatures.

func forwardArgs(p ForwardPlan, a ForwardArgs) *gpu.Args {
	var args gpu.Args
	return args.Ptr(a.Mean).Ptr(a.Logvar).Ptr(a.X).Ptr(a.Params).Ptr(a.NormMean).Ptr(a.NormStd).Int32(int32(a.N)).Ptr(0).Bytes(p.netBytes())
}

func swishArgs(y, x gpu.DevicePtr, n int) *gpu.Args {
	var args gpu.Args
	return args.Ptr(y).Ptr(x).Uint64(uint64(n))
}

func headArgs(mean, logvar, head, maxLogVar, minLogVar gpu.DevicePtr, rows, out int) *gpu.Args {
	var args gpu.Args
	return args.Ptr(mean).Ptr(logvar).Ptr(head).Ptr(maxLogVar).Ptr(minLogVar).Uint64(uint64(rows)).Int32(int32(out))
}

func rngArgs(dst gpu.DevicePtr, key rng.Key, first uint64, n int, kind RNGKind) *gpu.Args {
	var args gpu.Args
	return args.Ptr(dst).Uint64(first).Uint64(uint64(n)).Bytes(keyBytes(key)).Int32(int32(kind))
}

func addOneArgs(x gpu.DevicePtr, n int) *gpu.Args {
	var args gpu.Args
	return args.Ptr(x).Int32(int32(n))
}

func (k *Set) fillGrid(n int) gpu.Dim3 {
	return gpu.Dim3{X: fillBlocks(n, 32*max(1, k.dev.Info().SMs))}
}

// Swish queues y[i] = swish(x[i]) for n values.
func (k *Set) Swish(s *gpu.Stream, y, x gpu.DevicePtr, n int) error {
	return s.Launch(k.swish, k.fillGrid(n), gpu.Dim3{X: fillThreads}, 0, swishArgs(y, x, n))
}

// GaussianHead queues the split of head ([rows][2·out]) into mean and
// soft-bounded logvar ([rows][out] each) with the bounds maxLogVar, minLogVar
// ([out] each).
func (k *Set) GaussianHead(s *gpu.Stream, mean, logvar, head, maxLogVar, minLogVar gpu.DevicePtr, rows, out int) error {
	return s.Launch(k.head, k.fillGrid(rows*out), gpu.Dim3{X: fillThreads}, 0, headArgs(mean, logvar, head, maxLogVar, minLogVar, rows, out))
}

// RNGFill queues writing numbers first .. first+n-1 of key's stream to dst
// (n 32-bit words), as kind says.
func (k *Set) RNGFill(s *gpu.Stream, dst gpu.DevicePtr, key rng.Key, first uint64, n int, kind RNGKind) error {
	return s.Launch(k.rngFill, k.fillGrid(rngBlocks(first, n)), gpu.Dim3{X: fillThreads}, 0, rngArgs(dst, key, first, n, kind))
}

// keyBytes is rng.h's mbpo_key for key: seed, purpose and step as 32-bit words.
func keyBytes(key rng.Key) []byte {
	var b []byte
	for _, w := range []uint32{uint32(key.Seed), uint32(key.Seed >> 32), uint32(key.Purpose), uint32(key.Step), uint32(key.Step >> 32)} {
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return b
}

// Empty queues one launch of a kernel that does nothing, with one block of
// 32 threads.
func (k *Set) Empty(s *gpu.Stream) error {
	return s.Launch(k.empty, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, nil)
}

// AddOne queues x[i] += 1 for n float32 values.
func (k *Set) AddOne(s *gpu.Stream, x gpu.DevicePtr, n int) error {
	return s.Launch(k.addOne, gpu.Dim3{X: (n + 255) / 256}, gpu.Dim3{X: 256}, 0, addOneArgs(x, n))
}
