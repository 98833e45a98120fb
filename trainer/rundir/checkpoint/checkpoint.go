// Package checkpoint is the container format of a run's checkpoint file
// (checkpoint.mbpo): a JSON header and typed sections behind a magic number
// and a version, closed by a CRC-32 over everything:
//
//	"MBPOCKPT" | u32 version | u64 header length | header (JSON) |
//	sections, in the header's order | u32 CRC-32 (IEEE) of all before
//
// All numbers are little-endian. The header is a JSON object: the caller's
// fields (what a run saves; package trainer decides), then "sections", the
// list this package keeps of the payloads that follow, each a name, a kind
// and a length:
//
//	"f32"     Len float32 values (a network's parameters, Adam moments, ...)
//	"replay"  Len bytes of a replay buffer (stages.Replay's WriteTo format),
//	          written and read by the caller
//
// A Writer collects the sections and writes the file to a temporary name in
// its directory and renames it into place, so that a crash never leaves a
// half-written checkpoint. ReadHeader reads only the header; ReadFile reads
// everything and verifies the checksum, and any damage (a flipped bit, a
// truncation, a section that does not fit) is an error naming the file and
// saying that it is corrupt or truncated.
//
// Run: go test ./trainer/rundir/checkpoint
package checkpoint

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/mbpogo/mbpo/trainer/rundir"
)

// The file's magic number and the version this package writes and reads.
const (
	Magic   = "MBPOCKPT"
	Version = 1
)

// The kinds of section.
const (
	KindFloat32 = "f32"    // Len float32 values
	KindReplay  = "replay" // Len bytes of a replay buffer
)

// Section is one entry of the header's section list.
type Section struct {
	Name string `json:"name"`
	Kind string `json:"kind"`
	Len  int64  `json:"len"` // values of an f32 section, bytes of a replay section
}

// Writer collects the sections of a checkpoint, in the order they are
// added, and writes the file.
type Writer struct {
	sections []Section
	floats   [][]float32   // per section, for f32
	replays  []io.WriterTo // per section, for replay
}

// Floats adds a section of float32 values. v is read when the file is
// written.
func (w *Writer) Floats(name string, v []float32) {
	w.sections = append(w.sections, Section{Name: name, Kind: KindFloat32, Len: int64(len(v))})
	w.floats = append(w.floats, v)
	w.replays = append(w.replays, nil)
}

// Replay adds a replay buffer's section, the bytes r writes (written twice:
// once to count them for the header, once into the file).
func (w *Writer) Replay(name string, r io.WriterTo) {
	w.sections = append(w.sections, Section{Name: name, Kind: KindReplay})
	w.floats = append(w.floats, nil)
	w.replays = append(w.replays, r)
}

// WriteFile writes header, a value that marshals to a JSON object without a
// "sections" field, and the sections to path, through a temporary file in
// path's directory (rundir.CreateTemp) renamed into place.
func (w *Writer) WriteFile(path string, header any) error {
	// A replay section's byte length is known only once serialised: count
	// it with a pass into io.Discard.
	for i, r := range w.replays {
		if r != nil {
			n, err := r.WriteTo(io.Discard)
			if err != nil {
				return fmt.Errorf("checkpoint %s: %w", w.sections[i].Name, err)
			}
			w.sections[i].Len = n
		}
	}
	hdr, err := headerJSON(header, w.sections)
	if err != nil {
		return fmt.Errorf("checkpoint header: %w", err)
	}

	stem := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	tmp, err := rundir.CreateTemp(filepath.Dir(path), "."+stem+"-*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	bw.WriteString(Magic)
	binary.Write(bw, binary.LittleEndian, uint32(Version))
	binary.Write(bw, binary.LittleEndian, uint64(len(hdr)))
	bw.Write(hdr)
	for i, s := range w.sections {
		if r := w.replays[i]; r != nil {
			if _, err := r.WriteTo(bw); err != nil {
				tmp.Close()
				return fmt.Errorf("checkpoint %s: %w", s.Name, err)
			}
			continue
		}
		writeFloats(bw, w.floats[i])
	}
	if err := bw.Flush(); err != nil { // also any earlier write's error
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	binary.Write(tmp, binary.LittleEndian, crc.Sum32())
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// headerJSON is header's JSON object with "sections" added as its last
// field: the bytes of a struct whose last field is the section list.
func headerJSON(header any, sections []Section) ([]byte, error) {
	b, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	if len(b) < 2 || b[0] != '{' || b[len(b)-1] != '}' {
		return nil, fmt.Errorf("a header of type %T is not a JSON object", header)
	}
	var own map[string]json.RawMessage
	if err := json.Unmarshal(b, &own); err != nil {
		return nil, err
	}
	if _, ok := own["sections"]; ok {
		return nil, errors.New(`the header has a field "sections", which the container keeps`)
	}
	list, err := json.Marshal(sections)
	if err != nil {
		return nil, err
	}
	b = b[:len(b)-1]
	if len(b) > 1 {
		b = append(b, ',')
	}
	b = append(b, `"sections":`...)
	b = append(append(b, list...), '}')
	return b, nil
}

// ReadHeader reads the header of the checkpoint at path into header (with
// encoding/json), without reading the sections or verifying the checksum.
func ReadHeader(path string, header any) error {
	r, err := open(path)
	if err != nil {
		return err
	}
	defer r.f.Close()
	return r.decode(header)
}

// ReadFile reads and verifies the whole checkpoint at path: its header into
// header, its f32 sections into the map it returns, by name, and each replay
// section through replay, called with a reader of exactly that section's
// bytes, in the file's order. An error of replay, or bytes it leaves unread,
// makes the file corrupt.
func ReadFile(path string, header any, replay func(name string, body io.Reader) error) (map[string][]float32, error) {
	r, err := open(path)
	if err != nil {
		return nil, err
	}
	defer r.f.Close()
	if err := r.decode(header); err != nil {
		return nil, err
	}
	return r.sections(replay)
}

// reader reads one checkpoint file: open reads and checks its magic,
// version and header, sections the payloads and the checksum.
type reader struct {
	path string
	f    *os.File
	size int64
	body io.Reader // the file before its checksum, through crc
	crc  hash.Hash32
	hdr  []byte
	list []Section
}

func (r *reader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%s is corrupt or truncated: %s", r.path, fmt.Sprintf(format, args...))
}

// open opens path and reads its magic, version and header.
func open(path string) (*reader, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no checkpoint at %s: is this a run directory of mbpo train?", path)
		}
		return nil, err
	}
	r := &reader{path: path, f: f, crc: crc32.NewIEEE()}
	fail := func(err error) (*reader, error) { f.Close(); return nil, err }
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if r.size = st.Size(); r.size < int64(len(Magic))+16 {
		return fail(r.corrupt("only %d bytes", r.size))
	}
	r.body = io.TeeReader(bufio.NewReaderSize(io.LimitReader(f, r.size-4), 1<<20), r.crc)
	magic := make([]byte, len(Magic))
	if _, err := io.ReadFull(r.body, magic); err != nil || string(magic) != Magic {
		return fail(fmt.Errorf("%s is not an mbpo checkpoint (bad magic)", path))
	}
	var version uint32
	var hlen uint64
	binary.Read(r.body, binary.LittleEndian, &version)
	if version != Version {
		return fail(fmt.Errorf("%s has checkpoint version %d; this mbpo reads version %d", path, version, Version))
	}
	if err := binary.Read(r.body, binary.LittleEndian, &hlen); err != nil || hlen > uint64(r.size) {
		return fail(r.corrupt("header length %d", hlen))
	}
	r.hdr = make([]byte, hlen)
	if _, err := io.ReadFull(r.body, r.hdr); err != nil {
		return fail(r.corrupt("header: %v", err))
	}
	var own struct {
		Sections []Section `json:"sections"`
	}
	if err := json.Unmarshal(r.hdr, &own); err != nil {
		return fail(r.corrupt("header: %v", err))
	}
	r.list = own.Sections
	return r, nil
}

// decode reads the header into v.
func (r *reader) decode(v any) error {
	if err := json.Unmarshal(r.hdr, v); err != nil {
		return r.corrupt("header: %v", err)
	}
	return nil
}

// sections reads every payload after the header and verifies the checksum.
func (r *reader) sections(replay func(string, io.Reader) error) (map[string][]float32, error) {
	floats := map[string][]float32{}
	for _, s := range r.list {
		switch s.Kind {
		case KindFloat32:
			if s.Len < 0 || s.Len*4 > r.size {
				return nil, r.corrupt("section %s of %d floats", s.Name, s.Len)
			}
			buf, err := readFloats(r.body, int(s.Len))
			if err != nil {
				return nil, r.corrupt("section %s: %v", s.Name, err)
			}
			floats[s.Name] = buf
		case KindReplay:
			if s.Len < 0 || s.Len > r.size {
				return nil, r.corrupt("section %s of %d bytes", s.Name, s.Len)
			}
			body := &io.LimitedReader{R: r.body, N: s.Len}
			if err := replay(s.Name, body); err != nil {
				return nil, r.corrupt("section %s: %v", s.Name, err)
			}
			if body.N > 0 {
				return nil, r.corrupt("section %s: %d of its %d bytes not read", s.Name, body.N, s.Len)
			}
		default:
			return nil, r.corrupt("section %s of unknown kind %q", s.Name, s.Kind)
		}
	}
	want := r.crc.Sum32()
	var got uint32
	if _, err := r.f.Seek(r.size-4, io.SeekStart); err != nil {
		return nil, err
	}
	if err := binary.Read(r.f, binary.LittleEndian, &got); err != nil {
		return nil, r.corrupt("checksum: %v", err)
	}
	if got != want {
		return nil, r.corrupt("checksum %08x, contents give %08x", got, want)
	}
	return floats, nil
}

func writeFloats(w io.Writer, v []float32) {
	buf := make([]byte, 0, 4096)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		if len(buf) == cap(buf) {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	w.Write(buf)
}

func readFloats(r io.Reader, n int) ([]float32, error) {
	raw := make([]byte, 4*n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, nil
}
