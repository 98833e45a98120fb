// state.go: copying named parameter buffers in and out of engine.State.

package cpu

import (
	"fmt"
	"sort"

	"github.com/mbpogo/mbpo/trainer/engine"
)

// copyBuffers returns deep copies of bufs.
func copyBuffers(bufs map[string][]float32) map[string][]float32 {
	out := make(map[string][]float32, len(bufs))
	for name, b := range bufs {
		out[name] = append([]float32(nil), b...)
	}
	return out
}

// setBuffers copies st's buffers into dst after checking that st has exactly
// dst's names with dst's lengths; on error nothing is copied. what names the
// network kind in messages.
func setBuffers(what string, dst map[string][]float32, st engine.State) error {
	names := make([]string, 0, len(dst))
	for name := range dst {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, ok := st.Buffers[name]
		if !ok {
			return fmt.Errorf("cpu engine: %s state has no buffer %q; it needs %v (was it saved from another kind of network?)",
				what, name, names)
		}
		if len(b) != len(dst[name]) {
			return fmt.Errorf("cpu engine: %s state buffer %q has %d values, want %d (was it saved with another spec?)",
				what, name, len(b), len(dst[name]))
		}
	}
	for name := range st.Buffers {
		if _, ok := dst[name]; !ok {
			return fmt.Errorf("cpu engine: %s state has an unknown buffer %q; it takes exactly %v", what, name, names)
		}
	}
	if st.Step < 0 {
		return fmt.Errorf("cpu engine: %s state step %d, want ≥ 0", what, st.Step)
	}
	for name, b := range dst {
		copy(b, st.Buffers[name])
	}
	return nil
}
