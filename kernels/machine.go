// machine.go: Machine, what the GPU engine runs on: memory, ordered
// launches of this package's kernels, and graphs of them. OnGPU runs them on
// a CUDA device; OnHost runs the very same kernel sources on the CPU (host.c,
// a pthread per GPU thread), so the engine's whole sequence of launches is
// tested where there is no GPU.

package kernels

/*
#include <stdlib.h>
#include <string.h>
#include "dispatch.h"

static void *mbpo_addr(unsigned long long a) { return (void *)(unsigned long)a; }
static unsigned long long mbpo_uaddr(void *p) { return (unsigned long long)(unsigned long)p; }
*/
import "C"

import (
	"fmt"
	"syscall"
	"time"
	"unsafe"

	"github.com/mbpogo/mbpo/gpu"
)

// Kernel is one of this package's kernels, as Machine.Launch takes it. The
// numbers come from dispatch.h.
type Kernel int

// The kernels a Machine launches: every kernel of this package (their
// sources: ensemble.cu, train.cu, sac.cu, rollout.cu, rng.cu, bench.cu; each
// entry's comment there names its CPU twin and the tests comparing them, and
// its arguments are documented in the header it calls). ops.go launches them.
const (
	KEnsembleForward Kernel = C.MBPO_K_ENSEMBLE_FORWARD
	KEnsemblePredict Kernel = C.MBPO_K_ENSEMBLE_PREDICT
	KGemm            Kernel = C.MBPO_K_GEMM
	KNormalize       Kernel = C.MBPO_K_NORMALIZE
	KColsum          Kernel = C.MBPO_K_COLSUM
	KGaussNLLGrad    Kernel = C.MBPO_K_GAUSS_NLL_GRAD
	KGaussBounds     Kernel = C.MBPO_K_GAUSS_BOUNDS
	KTick            Kernel = C.MBPO_K_TICK
	KAdam            Kernel = C.MBPO_K_ADAM
	KLossFinish      Kernel = C.MBPO_K_LOSS_FINISH
	KGaussEvalPart   Kernel = C.MBPO_K_GAUSS_EVAL_PART
	KGaussEvalFinish Kernel = C.MBPO_K_GAUSS_EVAL_FINISH
	KPolicyAct       Kernel = C.MBPO_K_POLICY_ACT
	KPolicySample    Kernel = C.MBPO_K_POLICY_SAMPLE
	KConcat          Kernel = C.MBPO_K_CONCAT
	KTDTarget        Kernel = C.MBPO_K_TD_TARGET
	KCriticGrad      Kernel = C.MBPO_K_CRITIC_GRAD
	KActorGrad       Kernel = C.MBPO_K_ACTOR_GRAD
	KPolicyBackward  Kernel = C.MBPO_K_POLICY_BACKWARD
	KRingStore       Kernel = C.MBPO_K_RING_STORE
	KRingAdvance     Kernel = C.MBPO_K_RING_ADVANCE
	KRolloutStart    Kernel = C.MBPO_K_ROLLOUT_START
	KPickElites      Kernel = C.MBPO_K_PICK_ELITES
	KCountMembers    Kernel = C.MBPO_K_COUNT_MEMBERS
	KGroupRows       Kernel = C.MBPO_K_GROUP_ROWS
	KModelSample     Kernel = C.MBPO_K_MODEL_SAMPLE
	KLiveCount       Kernel = C.MBPO_K_LIVE_COUNT
	KLiveScan        Kernel = C.MBPO_K_LIVE_SCAN
	KLiveMove        Kernel = C.MBPO_K_LIVE_MOVE
	KSACGather       Kernel = C.MBPO_K_SAC_GATHER
	KTerminalRows    Kernel = C.MBPO_K_TERMINAL_ROWS
	KModelRows       Kernel = C.MBPO_K_MODEL_ROWS
	KGatherBatch     Kernel = C.MBPO_K_GATHER_BATCH
	KColumnStats     Kernel = C.MBPO_K_COLUMN_STATS
	KSwish           Kernel = C.MBPO_K_SWISH
	KGaussianHead    Kernel = C.MBPO_K_GAUSSIAN_HEAD
	KRNGFill         Kernel = C.MBPO_K_RNG_FILL
	KEmpty           Kernel = C.MBPO_K_EMPTY
	KAddOne          Kernel = C.MBPO_K_ADD_ONE
	kernelCount             = int(C.MBPO_K_COUNT)
)

// kernelInfo is where a Kernel lives: its entry name and its module.
type kernelInfo struct{ name, module string }

// kernelTable lists every Kernel's entry and module, by number.
func kernelTable() [kernelCount]kernelInfo {
	return [kernelCount]kernelInfo{
		KEnsembleForward: {"mbpo_ensemble_forward", "ensemble"},
		KEnsemblePredict: {"mbpo_ensemble_predict", "ensemble"},
		KGemm:            {"mbpo_gemm", "train"},
		KNormalize:       {"mbpo_normalize", "train"},
		KColsum:          {"mbpo_colsum", "train"},
		KGaussNLLGrad:    {"mbpo_gauss_nll_grad", "train"},
		KGaussBounds:     {"mbpo_gauss_bounds", "train"},
		KTick:            {"mbpo_tick", "train"},
		KAdam:            {"mbpo_adam", "train"},
		KLossFinish:      {"mbpo_loss_finish", "train"},
		KGaussEvalPart:   {"mbpo_gauss_eval_part", "train"},
		KGaussEvalFinish: {"mbpo_gauss_eval_finish", "train"},
		KPolicyAct:       {"mbpo_policy_act", "sac"},
		KPolicySample:    {"mbpo_policy_sample", "sac"},
		KConcat:          {"mbpo_concat", "sac"},
		KTDTarget:        {"mbpo_td_target", "sac"},
		KCriticGrad:      {"mbpo_critic_grad", "sac"},
		KActorGrad:       {"mbpo_actor_grad", "sac"},
		KPolicyBackward:  {"mbpo_policy_backward", "sac"},
		KRingStore:       {"mbpo_ring_store", "rollout"},
		KRingAdvance:     {"mbpo_ring_advance", "rollout"},
		KRolloutStart:    {"mbpo_rollout_start", "rollout"},
		KPickElites:      {"mbpo_pick_elites", "rollout"},
		KCountMembers:    {"mbpo_count_members", "rollout"},
		KGroupRows:       {"mbpo_group_rows", "rollout"},
		KModelSample:     {"mbpo_model_sample", "rollout"},
		KLiveCount:       {"mbpo_live_count", "rollout"},
		KLiveScan:        {"mbpo_live_scan", "rollout"},
		KLiveMove:        {"mbpo_live_move", "rollout"},
		KSACGather:       {"mbpo_sac_gather", "rollout"},
		KTerminalRows:    {"mbpo_terminal_rows", "rollout"},
		KModelRows:       {"mbpo_model_rows", "rollout"},
		KGatherBatch:     {"mbpo_gather_batch", "rollout"},
		KColumnStats:     {"mbpo_column_stats", "rollout"},
		KSwish:           {"mbpo_swish", "ensemble"},
		KGaussianHead:    {"mbpo_gaussian_head", "ensemble"},
		KRNGFill:         {"mbpo_rng_fill", "rng"},
		KEmpty:           {"mbpo_empty", "bench"},
		KAddOne:          {"mbpo_add_one", "bench"},
	}
}

// String is the kernel's entry name.
func (k Kernel) String() string {
	if k < 0 || int(k) >= kernelCount {
		return fmt.Sprintf("Kernel(%d)", int(k))
	}
	return kernelTable()[k].name
}

// Ptr is an address in a Machine's memory (device memory on a GPU, C memory
// on the host).
type Ptr = gpu.DevicePtr

// Machine runs this package's kernels and holds the memory they work on.
// All work is queued in order on one stream: a launch sees everything queued
// before it. A Machine is not safe for concurrent use.
type Machine interface {
	// Name describes the machine for logs: the GPU, or "host".
	Name() string
	// SMs is the number of multiprocessors, for sizing grid-stride grids.
	SMs() int
	// Alloc returns bytes of memory, zeroed.
	Alloc(bytes int) (Ptr, error)
	// Free releases memory from Alloc, after the work queued so far.
	Free(p Ptr) error
	// Upload copies src to dst; src may be reused when it returns. It
	// cannot be recorded in a graph.
	Upload(dst Ptr, src []byte) error
	// Download waits for the queued work, then copies src into dst.
	Download(dst []byte, src Ptr) error
	// Memset32 queues setting n 32-bit words at dst to v.
	Memset32(dst Ptr, v uint32, n int) error
	// Copy queues copying bytes from src to dst (not overlapping).
	Copy(dst, src Ptr, bytes int) error
	// Launch queues kernel k over grid blocks of block threads with shared
	// bytes of dynamic shared memory; args are the kernel's arguments in the
	// order of its signature.
	Launch(k Kernel, grid, block gpu.Dim3, shared int, args *gpu.Args) error
	// Capture records what record queues (launches, memsets, copies) into
	// a graph instead of running it.
	Capture(record func() error) (Graph, error)
	// Synchronize waits for the queued work and returns its first error.
	Synchronize() error
	// Time runs f (which queues work), waits for it and returns the time the
	// work took: device time between events on a GPU, wall time on the host.
	Time(f func() error) (time.Duration, error)
	// Close frees the machine's own resources (not memory from Alloc).
	Close() error
}

// Graph is recorded work that replays with one call.
type Graph interface {
	// Launch queues the recorded work once more.
	Launch() error
	// Close frees the graph.
	Close() error
}

// Upload copies src into a Machine's memory at dst.
func Upload[T gpu.Elem](m Machine, dst Ptr, src []T) error {
	if len(src) == 0 {
		return nil
	}
	return m.Upload(dst, unsafe.Slice((*byte)(unsafe.Pointer(&src[0])), len(src)*int(unsafe.Sizeof(src[0]))))
}

// Download copies a Machine's memory at src into dst.
func Download[T gpu.Elem](m Machine, dst []T, src Ptr) error {
	if len(dst) == 0 {
		return nil
	}
	return m.Download(unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), len(dst)*int(unsafe.Sizeof(dst[0]))), src)
}

// gpuMachine is a Machine on a CUDA device: one stream, the kernels loaded.
type gpuMachine struct {
	dev     *gpu.Device
	s       *gpu.Stream
	modules []*gpu.Module
	fns     [kernelCount]*gpu.Function
	bufs    map[Ptr]*gpu.Buffer
	events  [2]*gpu.Event
}

// OnGPU loads the kernels on d (every module JIT-compiled from the embedded
// PTX) and returns a Machine that runs them there. Closing the Machine
// unloads them and frees its stream, not d.
func OnGPU(d *gpu.Device) (Machine, error) {
	m := &gpuMachine{dev: d, bufs: map[Ptr]*gpu.Buffer{}}
	if err := m.load(); err != nil {
		m.unload()
		return nil, err
	}
	var err error
	if m.s, err = d.NewStream(); err != nil {
		m.unload()
		return nil, err
	}
	for i := range m.events {
		if m.events[i], err = d.NewEvent(); err != nil {
			m.Close()
			return nil, err
		}
	}
	return m, nil
}

// load JIT-compiles every module for the device and looks up the kernels.
func (m *gpuMachine) load() error {
	table := kernelTable()
	for _, name := range Modules() {
		src, err := PTX(name)
		if err != nil {
			return err
		}
		mod, err := m.dev.LoadModule(src)
		if err != nil {
			return fmt.Errorf("kernels: loading module %s: %w", name, err)
		}
		m.modules = append(m.modules, mod)
		for k, info := range table {
			if info.module != name {
				continue
			}
			if m.fns[k], err = mod.Function(info.name); err != nil {
				return fmt.Errorf("kernels: module %s: %w", name, err)
			}
		}
	}
	// The forward kernels keep a block's activations in shared memory.
	for _, k := range []Kernel{KEnsembleForward, KEnsemblePredict} {
		if err := m.fns[k].SetMaxDynamicShared(m.dev.Info().MaxSharedPerBlockOpt); err != nil {
			return err
		}
	}
	return nil
}

// unload unloads the modules.
func (m *gpuMachine) unload() error {
	var first error
	for _, mod := range m.modules {
		if err := mod.Close(); err != nil && first == nil {
			first = err
		}
	}
	m.modules, m.fns = nil, [kernelCount]*gpu.Function{}
	return first
}

// KernelAttribute reads attribute a (registers, local memory...) of kernel k
// as loaded on m's device; it is an error on a Machine that is not a GPU.
func KernelAttribute(m Machine, k Kernel, a gpu.FuncAttr) (int, error) {
	g, ok := m.(*gpuMachine)
	if !ok {
		return 0, fmt.Errorf("kernels: %v on %s has no device attributes", k, m.Name())
	}
	if k < 0 || int(k) >= kernelCount {
		return 0, fmt.Errorf("kernels: no kernel %d", int(k))
	}
	return g.fns[k].Attribute(a)
}

func (m *gpuMachine) Name() string { return m.dev.Info().String() }
func (m *gpuMachine) SMs() int     { return max(1, m.dev.Info().SMs) }

func (m *gpuMachine) Alloc(bytes int) (Ptr, error) {
	b, err := m.dev.Alloc(max(bytes, 4))
	if err != nil {
		return 0, err
	}
	if err := m.s.Memset8(b.Ptr(), 0, max(bytes, 4)); err != nil {
		b.Close()
		return 0, err
	}
	m.bufs[b.Ptr()] = b
	return b.Ptr(), nil
}

func (m *gpuMachine) Free(p Ptr) error {
	b, ok := m.bufs[p]
	if !ok {
		return fmt.Errorf("kernels: Free(%#x): not an allocation of this machine", uint64(p))
	}
	if err := m.s.Synchronize(); err != nil {
		return err
	}
	delete(m.bufs, p)
	return b.Close()
}

func (m *gpuMachine) Upload(dst Ptr, src []byte) error   { return gpu.Upload(m.s, dst, src) }
func (m *gpuMachine) Download(dst []byte, src Ptr) error { return gpu.Download(m.s, dst, src) }
func (m *gpuMachine) Memset32(dst Ptr, v uint32, n int) error {
	if n == 0 {
		return nil
	}
	return m.s.Memset32(dst, v, n)
}
func (m *gpuMachine) Copy(dst, src Ptr, bytes int) error {
	if bytes == 0 {
		return nil
	}
	return m.s.Copy(dst, src, bytes)
}

func (m *gpuMachine) Launch(k Kernel, grid, block gpu.Dim3, shared int, args *gpu.Args) error {
	if k < 0 || int(k) >= kernelCount || m.fns[k] == nil {
		return fmt.Errorf("kernels: %v is not loaded", k)
	}
	f := m.fns[k]
	return m.s.Launch(f, grid, block, shared, args)
}

func (m *gpuMachine) Capture(record func() error) (Graph, error) {
	g, err := m.s.Capture(func(*gpu.Stream) error { return record() })
	if err != nil {
		return nil, err
	}
	defer g.Close()
	e, err := g.Instantiate()
	if err != nil {
		return nil, err
	}
	return gpuGraph{e: e, s: m.s}, nil
}

func (m *gpuMachine) Synchronize() error { return m.s.Synchronize() }

func (m *gpuMachine) Time(f func() error) (time.Duration, error) {
	if err := m.events[0].Record(m.s); err != nil {
		return 0, err
	}
	if err := f(); err != nil {
		return 0, err
	}
	if err := m.events[1].Record(m.s); err != nil {
		return 0, err
	}
	if err := m.events[1].Synchronize(); err != nil {
		return 0, err
	}
	return gpu.Elapsed(m.events[0], m.events[1])
}

func (m *gpuMachine) Close() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	if m.s != nil {
		keep(m.s.Synchronize())
	}
	for _, e := range m.events {
		keep(e.Close())
	}
	keep(m.s.Close())
	keep(m.unload())
	return first
}

type gpuGraph struct {
	e *gpu.GraphExec
	s *gpu.Stream
}

func (g gpuGraph) Launch() error { return g.e.Launch(g.s) }
func (g gpuGraph) Close() error  { return g.e.Close() }

// hostMachine is a Machine on the CPU: memory from C's allocator, kernels
// run by host.c when they are queued (in order, so "queued" is "done").
type hostMachine struct {
	allocs    map[Ptr]int
	recording *hostGraph // the graph being captured, or nil
}

// OnHost returns a Machine that runs the kernels' host builds: slow (a
// pthread per GPU thread where a kernel synchronises its block) but the same
// code over the same grids, for tests without a GPU.
func OnHost() Machine { return &hostMachine{allocs: map[Ptr]int{}} }

func (h *hostMachine) Name() string { return "host" }
func (h *hostMachine) SMs() int     { return 1 }

func (h *hostMachine) Alloc(bytes int) (Ptr, error) {
	p := C.calloc(C.size_t(max(bytes, 16)), 1)
	if p == nil {
		return 0, fmt.Errorf("kernels: host machine: cannot allocate %d bytes", bytes)
	}
	a := Ptr(C.mbpo_uaddr(p))
	h.allocs[a] = bytes
	return a, nil
}

func (h *hostMachine) Free(p Ptr) error {
	if _, ok := h.allocs[p]; !ok {
		return fmt.Errorf("kernels: Free(%#x): not an allocation of this machine", uint64(p))
	}
	delete(h.allocs, p)
	C.free(C.mbpo_addr(C.ulonglong(p)))
	return nil
}

func (h *hostMachine) Upload(dst Ptr, src []byte) error {
	if h.recording != nil {
		return fmt.Errorf("kernels: an upload from Go memory cannot be recorded in a graph")
	}
	if len(src) > 0 {
		C.memcpy(C.mbpo_addr(C.ulonglong(dst)), unsafe.Pointer(&src[0]), C.size_t(len(src)))
	}
	return nil
}

func (h *hostMachine) Download(dst []byte, src Ptr) error {
	if h.recording != nil {
		return fmt.Errorf("kernels: a download into Go memory cannot be recorded in a graph")
	}
	if len(dst) > 0 {
		C.memcpy(unsafe.Pointer(&dst[0]), C.mbpo_addr(C.ulonglong(src)), C.size_t(len(dst)))
	}
	return nil
}

func (h *hostMachine) Memset32(dst Ptr, v uint32, n int) error {
	return h.do(func() error {
		if n > 0 {
			w := unsafe.Slice((*uint32)(C.mbpo_addr(C.ulonglong(dst))), n)
			for i := range w {
				w[i] = v
			}
		}
		return nil
	})
}

func (h *hostMachine) Copy(dst, src Ptr, bytes int) error {
	return h.do(func() error {
		if bytes > 0 {
			C.memmove(C.mbpo_addr(C.ulonglong(dst)), C.mbpo_addr(C.ulonglong(src)), C.size_t(bytes))
		}
		return nil
	})
}

func (h *hostMachine) Launch(k Kernel, grid, block gpu.Dim3, shared int, args *gpu.Args) error {
	if k < 0 || int(k) >= kernelCount {
		return fmt.Errorf("kernels: no kernel %d", int(k))
	}
	// The values are copied now: the caller may change args after queueing.
	n := 0
	if args != nil {
		n = args.Len()
	}
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = append([]byte(nil), args.Value(i)...)
	}
	return h.do(func() error { return hostRun(k, grid, block, shared, vals) })
}

// do runs op now, or records it while a graph is being captured.
func (h *hostMachine) do(op func() error) error {
	if h.recording != nil {
		h.recording.ops = append(h.recording.ops, op)
		return nil
	}
	return op()
}

// hostRun runs kernel k on the host with the argument values vals.
func hostRun(k Kernel, grid, block gpu.Dim3, shared int, vals [][]byte) error {
	if grid.Z > 1 || block.Y > 1 || block.Z > 1 {
		return fmt.Errorf("kernels: host machine: %v with grid %v, block %v: only x-y grids of x blocks", k, grid, block)
	}
	// The argument bytes and the pointers to them live in C memory for the
	// call (C may not keep Go pointers to Go pointers).
	total := 0
	for _, v := range vals {
		total += (len(v) + 7) &^ 7
	}
	mem := C.malloc(C.size_t(max(total, 8) + 8*max(len(vals), 1)))
	defer C.free(mem)
	params := unsafe.Slice((*unsafe.Pointer)(mem), max(len(vals), 1))
	data := unsafe.Add(mem, 8*max(len(vals), 1))
	off := 0
	for i, v := range vals {
		dst := unsafe.Add(data, off)
		if len(v) > 0 {
			C.memcpy(dst, unsafe.Pointer(&v[0]), C.size_t(len(v)))
		}
		params[i] = dst
		off += (len(v) + 7) &^ 7
	}
	gx, gy, bx := max(grid.X, 1), max(grid.Y, 1), max(block.X, 1)
	rc := C.mbpo_host_run(C.int(k), C.int(gx), C.int(gy), C.int(bx), C.int(shared), (*unsafe.Pointer)(mem))
	if rc != 0 {
		return fmt.Errorf("kernels: host machine: %v (grid %v, block %v): %w", k, grid, block, syscall.Errno(rc))
	}
	return nil
}

func (h *hostMachine) Capture(record func() error) (Graph, error) {
	if h.recording != nil {
		return nil, fmt.Errorf("kernels: a capture is already under way")
	}
	g := &hostGraph{h: h}
	h.recording = g
	err := record()
	h.recording = nil
	if err != nil {
		return nil, fmt.Errorf("kernels: recording a graph: %w", err)
	}
	return g, nil
}

func (h *hostMachine) Synchronize() error { return nil }

func (h *hostMachine) Time(f func() error) (time.Duration, error) {
	start := time.Now()
	err := f()
	return time.Since(start), err
}

func (h *hostMachine) Close() error { return nil }

// Live is the allocations not yet freed, for leak checks in tests.
func (h *hostMachine) Live() int { return len(h.allocs) }

// hostGraph is recorded host work, replayed in order.
type hostGraph struct {
	h   *hostMachine
	ops []func() error
}

func (g *hostGraph) Launch() error {
	if g.h.recording != nil {
		return fmt.Errorf("kernels: a graph cannot be launched while another is being recorded")
	}
	for _, op := range g.ops {
		if err := op(); err != nil {
			return err
		}
	}
	return nil
}

func (g *hostGraph) Close() error {
	g.ops = nil
	return nil
}
