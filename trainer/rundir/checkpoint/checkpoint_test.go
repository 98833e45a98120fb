package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// blob is a replay section's stand-in: its bytes, written on every WriteTo.
type blob []byte

func (b blob) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b)
	return int64(n), err
}

// failing is a replay section whose WriteTo fails.
type failing struct{}

func (failing) WriteTo(io.Writer) (int64, error) { return 0, errors.New("device lost") }

type header struct {
	Env   string    `json:"env"`
	Steps int       `json:"env_steps"`
	Obs   []float32 `json:"obs"`
}

var (
	testHeader = header{Env: "Hopper-v4", Steps: 250, Obs: []float32{0.5, -1}}
	testFloats = map[string][]float32{
		"agent/policy": {1, -2.5, float32(math.Inf(1)), math.Float32frombits(0x7fc00001), float32(math.Copysign(0, -1))},
		"agent/empty":  {},
	}
	testReplay = blob("a replay buffer's bytes")
)

// write writes the test checkpoint to dir/checkpoint.mbpo.
func write(t *testing.T, dir string) string {
	t.Helper()
	var w Writer
	w.Floats("agent/policy", testFloats["agent/policy"])
	w.Floats("agent/empty", testFloats["agent/empty"])
	w.Replay("real", testReplay)
	path := filepath.Join(dir, "checkpoint.mbpo")
	if err := w.WriteFile(path, testHeader); err != nil {
		t.Fatal(err)
	}
	return path
}

// read reads the checkpoint at path as the test wrote it.
func read(path string) (header, map[string][]float32, map[string][]byte, error) {
	var h header
	replays := map[string][]byte{}
	floats, err := ReadFile(path, &h, func(name string, body io.Reader) error {
		b, err := io.ReadAll(body)
		replays[name] = b
		return err
	})
	return h, floats, replays, err
}

func TestRoundTrip(t *testing.T) {
	path := write(t, t.TempDir())
	h, floats, replays, err := read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(h, testHeader) {
		t.Errorf("header %+v, want %+v", h, testHeader)
	}
	for name, want := range testFloats {
		got := floats[name]
		if len(got) != len(want) {
			t.Fatalf("section %s: %d values, want %d", name, len(got), len(want))
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Errorf("section %s[%d] = %x, want the bits %x", name, i, math.Float32bits(got[i]), math.Float32bits(want[i]))
			}
		}
	}
	if !bytes.Equal(replays["real"], testReplay) {
		t.Errorf("replay section %q, want %q", replays["real"], testReplay)
	}
	var only header
	if err := ReadHeader(path, &only); err != nil || !reflect.DeepEqual(only, testHeader) {
		t.Errorf("ReadHeader: %+v, %v", only, err)
	}
}

// The file is the layout of the package doc, and its header the bytes of a
// struct whose last field is the section list: the header checkpoints held
// before this package kept the list.
func TestLayout(t *testing.T) {
	b, err := os.ReadFile(write(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	n := binary.LittleEndian.Uint64(b[12:])
	want, _ := json.Marshal(struct {
		header
		Sections []Section `json:"sections"`
	}{testHeader, []Section{{"agent/policy", "f32", 5}, {"agent/empty", "f32", 0}, {"real", "replay", int64(len(testReplay))}}})
	if string(b[:8]) != Magic || binary.LittleEndian.Uint32(b[8:]) != Version || string(b[20:20+n]) != string(want) {
		t.Fatalf("file opens %q, want %q, version %d, then the header %s", b[:20+n], Magic, Version, want)
	}
	if size := 20 + int(n) + 4*5 + len(testReplay) + 4; len(b) != size {
		t.Errorf("%d bytes, want %d", len(b), size)
	}
}

// Any damage is an error naming the file; nothing is read from a damaged
// file.
func TestDamageIsAnError(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	hlen := int(binary.LittleEndian.Uint64(good[12:]))
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   string
	}{
		{"flipped bit in a section", func(b []byte) []byte { b[20+hlen+3] ^= 0x10; return b }, "corrupt or truncated: checksum"},
		{"flipped bit in the checksum", func(b []byte) []byte { b[len(b)-1] ^= 1; return b }, "corrupt or truncated: checksum"},
		{"header not JSON", func(b []byte) []byte { b[20] = '['; return b }, "corrupt or truncated: header"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-10] }, "corrupt or truncated"},
		{"only a few bytes", func(b []byte) []byte { return b[:12] }, "corrupt or truncated: only 12 bytes"},
		{"bad magic", func(b []byte) []byte { return []byte("hello, this is not a checkpoint file at all") }, "not an mbpo checkpoint"},
		{"another version", func(b []byte) []byte { b[8] = 2; return b }, "has checkpoint version 2; this mbpo reads version 1"},
		{"huge header", func(b []byte) []byte { b[19] = 1; return b }, "corrupt or truncated: header length"},
		{"unknown kind", func(b []byte) []byte { return bytes.Replace(b, []byte(`"replay"`), []byte(`"replaz"`), 1) }, `unknown kind "replaz"`},
		{"replay section longer than its buffer", func(b []byte) []byte {
			return bytes.Replace(b, []byte(`"len":23`), []byte(`"len":22`), 1)
		}, "corrupt or truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := filepath.Join(dir, "bad.mbpo")
			if err := os.WriteFile(bad, tt.mutate(append([]byte(nil), good...)), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := read(bad)
			if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReadFile: %v, want an error naming %s and saying %q", err, bad, tt.want)
			}
		})
	}
	// A replay section the caller cannot read, or reads only in part.
	var h header
	for _, replay := range []func(string, io.Reader) error{
		func(string, io.Reader) error { return errors.New("bad magic") },
		func(_ string, r io.Reader) error { _, err := io.ReadFull(r, make([]byte, 3)); return err },
	} {
		if _, err := ReadFile(path, &h, replay); err == nil || !strings.Contains(err.Error(), "corrupt or truncated: section real") {
			t.Errorf("ReadFile with a replay section not read whole: %v", err)
		}
	}
	if _, _, _, err := read(filepath.Join(dir, "none.mbpo")); err == nil || !strings.Contains(err.Error(), "no checkpoint at") {
		t.Errorf("ReadFile of a missing file: %v", err)
	}
}

// WriteFile replaces the file whole or not at all, and leaves no temporary
// file behind.
func TestWriteFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := write(t, dir)
	before, _ := os.ReadFile(path)
	for _, tt := range []struct {
		name   string
		header any
		add    func(*Writer)
		want   string
	}{
		{"a replay section that fails", testHeader, func(w *Writer) { w.Replay("real", failing{}) }, "checkpoint real: device lost"},
		{"a header that is not an object", []int{1}, func(*Writer) {}, "not a JSON object"},
		{"a header with sections", map[string]int{"sections": 1}, func(*Writer) {}, `field "sections"`},
	} {
		var w Writer
		w.Floats("agent/policy", []float32{9})
		tt.add(&w)
		if err := w.WriteFile(path, tt.header); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("a failed write changed the checkpoint")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the directory holds %v, want only the checkpoint", entries)
	}
}
