// state.go: copying named parameter buffers in and out of engine.State.

package cpu

import "github.com/mbpogo/mbpo/engine"

// copyBuffers returns deep copies of bufs.
func copyBuffers(bufs map[string][]float32) map[string][]float32 {
	out := make(map[string][]float32, len(bufs))
	for name, b := range bufs {
		out[name] = append([]float32(nil), b...)
	}
	return out
}

// setBuffers copies st's buffers into dst after checking that st has exactly
// dst's names with dst's lengths (engine.CheckState); on error nothing is
// copied. what names the network kind in messages.
func setBuffers(what string, dst map[string][]float32, st engine.State) error {
	want := make(map[string]int, len(dst))
	for name, b := range dst {
		want[name] = len(b)
	}
	if err := engine.CheckState(who, what, want, st); err != nil {
		return err
	}
	for name, b := range dst {
		copy(b, st.Buffers[name])
	}
	return nil
}
