// mem.go: device memory owned by one network: an arena of allocations freed
// together, uploads and downloads of float32 buffers, and the named buffers'
// way in and out of State and SetState.

package cuda

import (
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
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

// settle returns the allocation error that stuck, if any, after freeing
// every allocation since mark and clearing the error, so that the arena can
// allocate again; nil when every allocation succeeded.
func (a *arena) settle(mark int) error {
	err := a.err
	if err == nil {
		return nil
	}
	a.err = nil
	a.release(mark)
	return err
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

// readState reads a network's State: its named buffers and the step count
// of its Adam schedule sched. It panics if the device fails, as a lost
// device leaves nothing to return; what names the network kind in the
// message.
func readState(m kernels.Machine, what string, bufs map[string]named, sched kernels.Ptr) engine.State {
	step, err := readStep(m, sched)
	if err == nil {
		var st engine.State
		if st, err = download(m, bufs, step); err == nil {
			return st
		}
	}
	panic(fmt.Sprintf("%s: reading the %s's state: %v", who, what, err))
}

// writeState restores a State into a network's named buffers and Adam
// schedule after checking that its buffers are exactly bufs' names and
// lengths (engine.CheckState); what names the network kind in messages.
func writeState(m kernels.Machine, what string, bufs map[string]named, sched kernels.Ptr, st engine.State) error {
	want := make(map[string]int, len(bufs))
	for name, b := range bufs {
		want[name] = b.n
	}
	if err := engine.CheckState(who, what, want, st); err != nil {
		return err
	}
	return firstErr(upload(m, bufs, st), setStep(m, sched, st.Step))
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
