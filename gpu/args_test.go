// args_test.go: Args keeps each argument's bytes where Value finds them.

package gpu_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
)

func TestArgsValue(t *testing.T) {
	var a gpu.Args
	a.Int32(-3).Ptr(0x1122334455667788).Float32(1.5).Bytes([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}).Uint32(7)
	le := binary.LittleEndian
	want := [][]byte{
		le.AppendUint32(nil, uint32(0xfffffffd)),
		le.AppendUint64(nil, 0x1122334455667788),
		le.AppendUint32(nil, math.Float32bits(1.5)),
		{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		le.AppendUint32(nil, 7),
	}
	if a.Len() != len(want) {
		t.Fatalf("Len() = %d, want %d", a.Len(), len(want))
	}
	for i, w := range want {
		if got := a.Value(i); !bytes.Equal(got, w) {
			t.Errorf("Value(%d) = %v, want %v", i, got, w)
		}
	}
	a.Reset()
	a.Uint64(9)
	if got := a.Value(0); !bytes.Equal(got, le.AppendUint64(nil, 9)) {
		t.Errorf("after Reset, Value(0) = %v", got)
	}
}
