// replay.go: the ring buffers of transitions. The same type holds the real
// replay buffer (env → real buffer) and the model buffer (rollouts → model
// buffer); SAC draws its minibatches from both.

package stages

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/mbpogo/mbpo/engine"
)

// Replay is a fixed-capacity ring buffer of transitions (s, a, r, s', done)
// stored as contiguous float32 arrays. When full, new transitions overwrite
// the oldest.
type Replay struct {
	obsDim, actDim int
	capacity       int
	size           int // valid rows
	next           int // row the next Add writes
	added          int64

	obs, act, rew, nextObs, done []float32
}

// NewReplay returns an empty buffer for capacity transitions.
func NewReplay(obsDim, actDim, capacity int) *Replay {
	r := &Replay{obsDim: obsDim, actDim: actDim}
	r.alloc(capacity)
	return r
}

func (r *Replay) alloc(capacity int) {
	r.capacity = capacity
	r.obs = make([]float32, capacity*r.obsDim)
	r.act = make([]float32, capacity*r.actDim)
	r.rew = make([]float32, capacity)
	r.nextObs = make([]float32, capacity*r.obsDim)
	r.done = make([]float32, capacity)
}

// Len is the number of transitions held.
func (r *Replay) Len() int { return r.size }

// Cap is the capacity.
func (r *Replay) Cap() int { return r.capacity }

// Added is the number of transitions ever added.
func (r *Replay) Added() int64 { return r.added }

// Add appends n transitions given as row-major arrays: obs and next [n][obs],
// act [n][act], rew and done [n]. Beyond capacity, only the newest are kept.
func (r *Replay) Add(obs, act, rew, next, done []float32) {
	n := len(rew)
	r.added += int64(n)
	if n > r.capacity { // only the newest capacity rows survive
		skip := n - r.capacity
		obs, act, rew = obs[skip*r.obsDim:], act[skip*r.actDim:], rew[skip:]
		next, done = next[skip*r.obsDim:], done[skip:]
		n = r.capacity
	}
	for n > 0 {
		m := min(n, r.capacity-r.next) // rows until the end of the ring
		i := r.next
		copy(r.obs[i*r.obsDim:], obs[:m*r.obsDim])
		copy(r.act[i*r.actDim:], act[:m*r.actDim])
		copy(r.rew[i:], rew[:m])
		copy(r.nextObs[i*r.obsDim:], next[:m*r.obsDim])
		copy(r.done[i:], done[:m])
		obs, act, rew, next, done = obs[m*r.obsDim:], act[m*r.actDim:], rew[m:], next[m*r.obsDim:], done[m:]
		r.next = (r.next + m) % r.capacity
		r.size = min(r.size+m, r.capacity)
		n -= m
	}
}

// Dims returns the observation and action widths.
func (r *Replay) Dims() (obs, act int) { return r.obsDim, r.actDim }

// InOrder reports whether the held rows are rows 0, 1, ... in the order
// they were added (the buffer has not wrapped), as Rows needs.
func (r *Replay) InOrder() bool { return r.next == r.size || r.size == 0 }

// Rows returns views of the held rows' fields, row-major, for a buffer
// whose rows are InOrder.
func (r *Replay) Rows() (obs, act, rew, next, done []float32) {
	n, od, ad := r.size, r.obsDim, r.actDim
	return r.obs[:n*od], r.act[:n*ad], r.rew[:n], r.nextObs[:n*od], r.done[:n]
}

// MaxAbsReward is the largest |reward| held (0 when empty).
func (r *Replay) MaxAbsReward() float64 {
	m := 0.0
	for _, v := range r.rew[:r.size] {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}

// Clear empties the buffer (Added keeps counting).
func (r *Replay) Clear() { r.size, r.next = 0, 0 }

// AddOne appends one transition.
func (r *Replay) AddOne(obs, act []float32, rew float32, next []float32, done bool) {
	d := float32(0)
	if done {
		d = 1
	}
	r.Add(obs, act, []float32{rew}, next, []float32{d})
}

// Gather copies the transitions at rows idx (each in [0, Len())) into
// b's arrays starting at row off of b.
func (r *Replay) Gather(idx []int32, b *engine.Batch, off int) {
	od, ad := r.obsDim, r.actDim
	for j, i := range idx {
		i := int(i)
		k := off + j
		copy(b.Obs[k*od:(k+1)*od], r.obs[i*od:(i+1)*od])
		copy(b.Act[k*ad:(k+1)*ad], r.act[i*ad:(i+1)*ad])
		b.Rew[k] = r.rew[i]
		copy(b.NextObs[k*od:(k+1)*od], r.nextObs[i*od:(i+1)*od])
		b.Done[k] = r.done[i]
	}
}

// Obs returns row i's observation (a view; valid until the row is overwritten).
func (r *Replay) Obs(i int) []float32 { return r.obs[i*r.obsDim : (i+1)*r.obsDim] }

// Row returns views of row i's fields.
func (r *Replay) Row(i int) (obs, act []float32, rew float32, next []float32, done float32) {
	od, ad := r.obsDim, r.actDim
	return r.obs[i*od : (i+1)*od], r.act[i*ad : (i+1)*ad], r.rew[i], r.nextObs[i*od : (i+1)*od], r.done[i]
}

// ordered calls f(i) for every held row from oldest to newest.
func (r *Replay) ordered(f func(i int)) {
	start := 0
	if r.size == r.capacity {
		start = r.next
	}
	for j := 0; j < r.size; j++ {
		f((start + j) % r.capacity)
	}
}

// Resize changes the capacity, keeping the newest transitions that fit.
func (r *Replay) Resize(capacity int) {
	if capacity == r.capacity {
		return
	}
	old := *r
	r.alloc(capacity)
	r.size, r.next = 0, 0
	keep := min(old.size, capacity)
	skip := old.size - keep
	j := 0
	old.ordered(func(i int) {
		if j >= skip {
			o, a, rw, n, d := old.Row(i)
			r.Add(o, a, []float32{rw}, n, []float32{d})
		}
		j++
	})
	r.added = old.added
}

// replayMagic starts a serialized Replay.
const replayMagic = uint32(0x4d42524c) // "MBRL"

// WriteTo writes the buffer in a little-endian binary form that keeps its
// physical layout (the rows in ring order and the next row to write), so a
// buffer read back draws the same rows for the same indices.
func (r *Replay) WriteTo(w io.Writer) (int64, error) {
	hdr := []uint64{uint64(replayMagic), uint64(r.obsDim), uint64(r.actDim), uint64(r.capacity), uint64(r.size), uint64(r.next), uint64(r.added)}
	if err := binary.Write(w, binary.LittleEndian, hdr); err != nil {
		return 0, err
	}
	n := int64(8 * len(hdr))
	buf := make([]byte, 0, 4*(2*r.obsDim+r.actDim+2))
	for i := 0; i < r.size; i++ {
		o, a, rw, nx, d := r.Row(i)
		buf = buf[:0]
		for _, part := range [][]float32{o, a, {rw, d}, nx} {
			for _, v := range part {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
		m, err := w.Write(buf)
		n += int64(m)
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// ReadReplay reads a buffer written by WriteTo.
func ReadReplay(rd io.Reader) (*Replay, error) {
	hdr := make([]uint64, 7)
	if err := binary.Read(rd, binary.LittleEndian, hdr); err != nil {
		return nil, fmt.Errorf("replay buffer header: %w", err)
	}
	if uint32(hdr[0]) != replayMagic {
		return nil, fmt.Errorf("replay buffer: bad magic %#x (not a replay buffer, or corrupt)", hdr[0])
	}
	od, ad, capacity, size, next := int(hdr[1]), int(hdr[2]), int(hdr[3]), int(hdr[4]), int(hdr[5])
	if od < 1 || ad < 1 || capacity < 1 || size < 0 || size > capacity || next < 0 || next >= capacity ||
		(size < capacity && next != size) || od > 1<<16 || ad > 1<<16 || capacity > 1<<31 {
		return nil, fmt.Errorf("replay buffer: implausible header (obs %d, act %d, capacity %d, size %d, next %d)", od, ad, capacity, size, next)
	}
	r := NewReplay(od, ad, capacity)
	width := 2*od + ad + 2
	buf := make([]byte, 4*width)
	row := make([]float32, width)
	for i := 0; i < size; i++ {
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, fmt.Errorf("replay buffer: row %d of %d: %w", i, size, err)
		}
		for k := range row {
			row[k] = math.Float32frombits(binary.LittleEndian.Uint32(buf[4*k:]))
		}
		copy(r.obs[i*od:], row[:od])
		copy(r.act[i*ad:], row[od:od+ad])
		r.rew[i], r.done[i] = row[od+ad], row[od+ad+1]
		copy(r.nextObs[i*od:], row[od+ad+2:])
	}
	r.size, r.next, r.added = size, next, int64(hdr[6])
	return r, nil
}
