// Package tensorboard writes and reads TensorBoard event files: the TFRecord
// framing and the few fields of TensorFlow's Event, Summary and SessionLog
// protos that scalars need, encoded with protowire (no TensorFlow, no
// generated code).
//
// A file is a sequence of records, each
//
//	uint64 length (little endian)
//	uint32 masked CRC-32C of those 8 bytes
//	length bytes of data: one serialized Event
//	uint32 masked CRC-32C of the data
//
// where masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8. The first Event of
// a file holds only file_version "brain.Event:2". The fields used, from
// tensorflow/core/util/event.proto and tensorflow/core/framework/summary.proto:
//
//	Event      { double wall_time = 1; int64 step = 2; string file_version = 3;
//	             Summary summary = 5; SessionLog session_log = 6; }
//	Summary    { repeated Value value = 1; }
//	Value      { string tag = 1; float simple_value = 2; }
//	SessionLog { SessionStatus status = 1; string checkpoint_path = 2; string msg = 3; }
//	             (START = 1, STOP = 2, CHECKPOINT = 3)
//
// TensorBoard finds the files by name (events.out.tfevents.*) in every
// directory under --logdir, each directory one run, and reads them in name
// order; a name starts with the creation time, so the files of one run's
// sessions sort in the order they were written.
package tensorboard

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mbpogo/mbpo/trainer/rundir"
)

// FileVersion is the file_version of the first Event of every file.
const FileVersion = "brain.Event:2"

// FilePrefix starts the name of every event file.
const FilePrefix = "events.out.tfevents."

// SessionLog statuses.
const (
	SessionStart      = 1
	SessionStop       = 2
	SessionCheckpoint = 3
)

// Scalar is one value of a Summary: a tag and its simple_value.
type Scalar struct {
	Tag   string
	Value float32
}

// Event is the part of TensorFlow's Event message that scalars use.
type Event struct {
	WallTime    float64 // seconds since the Unix epoch
	Step        int64
	FileVersion string   // only in a file's first event
	Summary     []Scalar // scalar values; nil when the event holds none
	// SessionStatus is the SessionLog's status (0: the event has none).
	// A START at step s tells TensorBoard to drop what it holds of the run
	// at steps >= s: the run restarted from an earlier point.
	SessionStatus int
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// MaskedCRC is TFRecord's masked CRC-32C of b.
func MaskedCRC(b []byte) uint32 {
	c := crc32.Checksum(b, castagnoli)
	return ((c >> 15) | (c << 17)) + 0xa282ead8
}

// AppendRecord appends data framed as one TFRecord.
func AppendRecord(b, data []byte) []byte {
	var head [8]byte
	binary.LittleEndian.PutUint64(head[:], uint64(len(data)))
	b = append(b, head[:]...)
	b = binary.LittleEndian.AppendUint32(b, MaskedCRC(head[:]))
	b = append(b, data...)
	return binary.LittleEndian.AppendUint32(b, MaskedCRC(data))
}

// ErrCorrupt marks a record whose length or CRC is wrong, or that the file
// ends inside of (a writer killed mid-record).
var ErrCorrupt = errors.New("corrupt or truncated record")

// maxRecord bounds a record's length: a length beyond it is corruption.
const maxRecord = 1 << 30

// ReadRecord reads one record's data from r. At the end of r it returns
// io.EOF; a short or damaged record is an error wrapping ErrCorrupt.
func ReadRecord(r io.Reader) ([]byte, error) {
	var head [12]byte
	if n, err := io.ReadFull(r, head[:]); err == io.EOF {
		return nil, io.EOF
	} else if err != nil {
		return nil, fmt.Errorf("%w: %d bytes of a 12-byte record header", ErrCorrupt, n)
	}
	if got, want := binary.LittleEndian.Uint32(head[8:]), MaskedCRC(head[:8]); got != want {
		return nil, fmt.Errorf("%w: length CRC %#08x, want %#08x", ErrCorrupt, got, want)
	}
	n := binary.LittleEndian.Uint64(head[:8])
	if n > maxRecord {
		return nil, fmt.Errorf("%w: length %d", ErrCorrupt, n)
	}
	data := make([]byte, n+4)
	if _, err := io.ReadFull(r, data); err != nil {
		return nil, fmt.Errorf("%w: the file ends inside a %d-byte record", ErrCorrupt, n)
	}
	if got, want := binary.LittleEndian.Uint32(data[n:]), MaskedCRC(data[:n]); got != want {
		return nil, fmt.Errorf("%w: data CRC %#08x, want %#08x", ErrCorrupt, got, want)
	}
	return data[:n], nil
}

// Marshal encodes e as a serialized Event.
func (e Event) Marshal() []byte {
	var b []byte
	if e.WallTime != 0 {
		b = protowire.AppendTag(b, 1, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(e.WallTime))
	}
	if e.Step != 0 {
		b = protowire.AppendTag(b, 2, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(e.Step))
	}
	if e.FileVersion != "" {
		b = protowire.AppendTag(b, 3, protowire.BytesType)
		b = protowire.AppendString(b, e.FileVersion)
	}
	if e.Summary != nil {
		var s []byte
		for _, v := range e.Summary {
			var val []byte
			val = protowire.AppendTag(val, 1, protowire.BytesType)
			val = protowire.AppendString(val, v.Tag)
			val = protowire.AppendTag(val, 2, protowire.Fixed32Type)
			val = protowire.AppendFixed32(val, math.Float32bits(v.Value))
			s = protowire.AppendTag(s, 1, protowire.BytesType)
			s = protowire.AppendBytes(s, val)
		}
		b = protowire.AppendTag(b, 5, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	if e.SessionStatus != 0 {
		var s []byte
		s = protowire.AppendTag(s, 1, protowire.VarintType)
		s = protowire.AppendVarint(s, uint64(e.SessionStatus))
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	return b
}

// Unmarshal decodes a serialized Event, skipping fields it does not know
// (other kinds of summary value are left out of Summary).
func Unmarshal(b []byte) (Event, error) {
	var e Event
	err := fields(b, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
		switch {
		case num == 1 && typ == protowire.Fixed64Type:
			e.WallTime = math.Float64frombits(x)
		case num == 2 && typ == protowire.VarintType:
			e.Step = int64(x)
		case num == 3 && typ == protowire.BytesType:
			e.FileVersion = string(v)
		case num == 5 && typ == protowire.BytesType:
			if e.Summary == nil {
				e.Summary = []Scalar{}
			}
			return fields(v, func(num protowire.Number, typ protowire.Type, v []byte, _ uint64) error {
				if num != 1 || typ != protowire.BytesType {
					return nil
				}
				var s Scalar
				simple := false
				err := fields(v, func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error {
					switch {
					case num == 1 && typ == protowire.BytesType:
						s.Tag = string(v)
					case num == 2 && typ == protowire.Fixed32Type:
						s.Value, simple = math.Float32frombits(uint32(x)), true
					}
					return nil
				})
				if err == nil && simple {
					e.Summary = append(e.Summary, s)
				}
				return err
			})
		case num == 6 && typ == protowire.BytesType:
			return fields(v, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == 1 && typ == protowire.VarintType {
					e.SessionStatus = int(x)
				}
				return nil
			})
		}
		return nil
	})
	return e, err
}

// fields calls f for each field of the message b: its bytes for a
// length-delimited field, its value for the others.
func fields(b []byte, f func(num protowire.Number, typ protowire.Type, v []byte, x uint64) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		var v []byte
		var x uint64
		switch typ {
		case protowire.VarintType:
			x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			x = uint64(y)
		case protowire.Fixed64Type:
			x, n = protowire.ConsumeFixed64(b)
		case protowire.BytesType:
			v, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return protowire.ParseError(n)
		}
		b = b[n:]
		if err := f(num, typ, v, x); err != nil {
			return err
		}
	}
	return nil
}

// Writer appends events to one new event file.
type Writer struct {
	f    *os.File
	path string
}

// Create starts a new event file in dir (which must exist), named
// events.out.tfevents.SECONDS.HOST.PID.N after the time now, and writes its
// file_version event.
func Create(dir string, now time.Time) (*Writer, error) {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.NewReplacer("/", "_", " ", "_").Replace(host)
	for n := 0; ; n++ {
		name := fmt.Sprintf("%s%010d.%s.%d.%d", FilePrefix, now.Unix(), host, os.Getpid(), n)
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if errors.Is(err, os.ErrExist) && n < 1000 {
			continue
		}
		if err != nil {
			return nil, err
		}
		w := &Writer{f: f, path: path}
		if err := w.Write(Event{WallTime: wallTime(now), FileVersion: FileVersion}); err != nil {
			f.Close()
			os.Remove(path)
			return nil, err
		}
		return w, nil
	}
}

// Path is the file's path.
func (w *Writer) Path() string { return w.path }

// Write appends one event, as a single write of its whole record.
func (w *Writer) Write(e Event) error {
	_, err := w.f.Write(AppendRecord(nil, e.Marshal()))
	return err
}

// WriteScalars appends one event holding values at step, stamped with the
// wall time now.
func (w *Writer) WriteScalars(now time.Time, step int64, values []Scalar) error {
	if values == nil {
		values = []Scalar{}
	}
	return w.Write(Event{WallTime: wallTime(now), Step: step, Summary: values})
}

// Close closes the file.
func (w *Writer) Close() error { return w.f.Close() }

// wallTime is t in seconds since the Unix epoch (TensorFlow's wall_time),
// to the float64's precision: whole seconds and their fraction summed apart.
func wallTime(t time.Time) float64 { return float64(t.Unix()) + float64(t.Nanosecond())/1e9 }

// WallTime is t as an Event's wall_time.
func WallTime(t time.Time) float64 { return wallTime(t) }

// Files lists the event files in dir in name order (TensorBoard's reading
// order).
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), FilePrefix) && e.Type().IsRegular() {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	slices.Sort(files)
	return files, nil
}

// ReadFile returns the events of one event file, checking every record's
// length and CRCs. A damaged record is an error naming the file and the
// record's offset; the events before it are returned with it.
func ReadFile(path string) ([]Event, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var events []Event
	r := bytes.NewReader(b)
	for {
		off := len(b) - r.Len()
		data, err := ReadRecord(r)
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, fmt.Errorf("%s: record at byte %d: %w", path, off, err)
		}
		e, err := Unmarshal(data)
		if err != nil {
			return events, fmt.Errorf("%s: record at byte %d: not an Event: %w", path, off, err)
		}
		events = append(events, e)
	}
}

// ReadDir returns the events of every event file in dir, file after file
// in name order.
func ReadDir(dir string) ([]Event, error) {
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	var all []Event
	for _, f := range files {
		events, err := ReadFile(f)
		all = append(all, events...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

// Trim makes the event files of dir hold nothing past step last: a file
// with summaries at later steps (written after the checkpoint a run resumes
// from), or with a damaged or torn record (a process killed while writing
// it), is rewritten without them (rundir.WriteFile: a temporary file
// renamed over it).
// It returns the files it rewrote.
func Trim(dir string, last int64) ([]string, error) {
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	var trimmed []string
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			return trimmed, err
		}
		var kept []byte
		changed := false
		r := bytes.NewReader(b)
		for {
			data, err := ReadRecord(r)
			if err == io.EOF {
				break
			}
			if err != nil {
				changed = true // the rest of the file cannot be framed
				break
			}
			if e, err := Unmarshal(data); err != nil || (e.Summary != nil && e.Step > last) {
				changed = true
				continue
			}
			kept = AppendRecord(kept, data)
		}
		if !changed {
			continue
		}
		if err := rundir.WriteFile(path, kept); err != nil {
			return trimmed, err
		}
		trimmed = append(trimmed, filepath.Base(path))
	}
	return trimmed, nil
}

// Remove deletes every event file of dir.
func Remove(dir string) error {
	files, err := Files(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	} else if err != nil {
		return err
	}
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
