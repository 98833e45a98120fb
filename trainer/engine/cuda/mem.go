// mem.go: device memory owned by one network: an arena of allocations freed
// together, uploads and downloads of float32 buffers, and the named-buffer
// checks of State and SetState.

package cuda

import (
	"fmt"
	"sort"

	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/trainer/engine"
)

// arena allocates device memory and remembers it, so that a network frees
// everything at once. The first allocation error sticks: later calls return
// 0 and err says what failed.
type arena struct {
	m    kernels.Machine
	ptrs []kernels.Ptr
	err  error
}

// bytes allocates n bytes, zeroed.
func (a *arena) bytes(n int) kernels.Ptr {
	if a.err != nil {
		return 0
	}
	p, err := a.m.Alloc(n)
	if err != nil {
		a.err = fmt.Errorf("cuda engine: allocating %d bytes of device memory: %w", n, err)
		return 0
	}
	a.ptrs = append(a.ptrs, p)
	return p
}

// floats allocates n float32 values (int32s take the same room).
func (a *arena) floats(n int) kernels.Ptr { return a.bytes(4 * max(n, 1)) }

// doubles allocates n float64 values.
func (a *arena) doubles(n int) kernels.Ptr { return a.bytes(8 * max(n, 1)) }

// release frees every allocation made since mark (a count from len(a.ptrs)).
func (a *arena) release(mark int) error {
	var first error
	for _, p := range a.ptrs[mark:] {
		if err := a.m.Free(p); err != nil && first == nil {
			first = err
		}
	}
	a.ptrs = a.ptrs[:mark]
	return first
}

// at is p moved by i float32s.
func at(p kernels.Ptr, i int) kernels.Ptr { return p.Add(4 * i) }

// named is one State buffer: its device memory and length.
type named struct {
	p kernels.Ptr
	n int
}

// download copies the named buffers into a State.
func download(m kernels.Machine, bufs map[string]named, step int64) (engine.State, error) {
	st := engine.State{Step: step, Buffers: make(map[string][]float32, len(bufs))}
	for name, b := range bufs {
		v := make([]float32, b.n)
		if err := kernels.Download(m, v, b.p); err != nil {
			return engine.State{}, err
		}
		st.Buffers[name] = v
	}
	return st, nil
}

// checkState reports a State whose buffers are not exactly bufs' names and
// lengths; what names the network kind in messages.
func checkState(what string, bufs map[string]named, st engine.State) error {
	names := make([]string, 0, len(bufs))
	for name := range bufs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, ok := st.Buffers[name]
		if !ok {
			return fmt.Errorf("cuda engine: %s state has no buffer %q; it needs %v (was it saved from another kind of network?)", what, name, names)
		}
		if len(b) != bufs[name].n {
			return fmt.Errorf("cuda engine: %s state buffer %q has %d values, want %d (was it saved with another spec?)", what, name, len(b), bufs[name].n)
		}
	}
	for name := range st.Buffers {
		if _, ok := bufs[name]; !ok {
			return fmt.Errorf("cuda engine: %s state has an unknown buffer %q; it takes exactly %v", what, name, names)
		}
	}
	if st.Step < 0 {
		return fmt.Errorf("cuda engine: %s state step %d, want ≥ 0", what, st.Step)
	}
	return nil
}

// upload copies a checked State's buffers to the device.
func upload(m kernels.Machine, bufs map[string]named, st engine.State) error {
	for name, b := range bufs {
		if err := kernels.Upload(m, b.p, st.Buffers[name]); err != nil {
			return err
		}
	}
	return nil
}

// setStep writes an optimiser step count into an Adam schedule.
func setStep(m kernels.Machine, sched kernels.Ptr, step int64) error {
	return kernels.Upload(m, sched, []int64{step, 0})
}

// readStep reads the step count of an Adam schedule.
func readStep(m kernels.Machine, sched kernels.Ptr) (int64, error) {
	v := make([]int64, 1)
	err := kernels.Download(m, v, sched)
	return v[0], err
}
