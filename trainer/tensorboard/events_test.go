// events_test.go: event files read back byte by byte, with a decoder of the
// test's own (the record framing, the masked CRC-32C of the length and of
// the data, the Event, Summary and SessionLog fields by number), not the
// package's; the package's reader against damage; Trim.
//
//	go test ./trainer/tensorboard

package tensorboard

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
)

// The CRC is CRC-32C (Castagnoli): its check value, the CRC of "123456789",
// is 0xe3069283; TFRecord masks it as ((c >> 15) | (c << 17)) + 0xa282ead8.
func TestMaskedCRC(t *testing.T) {
	c := uint32(0xe3069283)
	if got, want := MaskedCRC([]byte("123456789")), ((c>>15)|(c<<17))+0xa282ead8; got != want {
		t.Errorf("MaskedCRC(123456789) = %#08x, want %#08x", got, want)
	}
}

// rawRecord is one record as the test reads it.
type rawRecord struct {
	length              uint64
	lengthCRC, dataCRC  uint32
	data                []byte
	wantLenCRC, wantCRC uint32
}

// readRaw splits a file into records by the TFRecord layout, computing the
// masked CRCs itself.
func readRaw(t *testing.T, b []byte) []rawRecord {
	t.Helper()
	table := crc32.MakeTable(crc32.Castagnoli)
	mask := func(p []byte) uint32 {
		c := crc32.Checksum(p, table)
		return ((c >> 15) | (c << 17)) + 0xa282ead8
	}
	var recs []rawRecord
	for len(b) > 0 {
		if len(b) < 12 {
			t.Fatalf("%d bytes left, less than a record header", len(b))
		}
		r := rawRecord{length: binary.LittleEndian.Uint64(b), lengthCRC: binary.LittleEndian.Uint32(b[8:]), wantLenCRC: mask(b[:8])}
		end := 12 + int(r.length) + 4
		if end > len(b) {
			t.Fatalf("record of %d bytes runs past the file's end", r.length)
		}
		r.data = b[12 : 12+r.length]
		r.dataCRC, r.wantCRC = binary.LittleEndian.Uint32(b[12+r.length:]), mask(r.data)
		recs = append(recs, r)
		b = b[end:]
	}
	return recs
}

// field is one protobuf field as the test decodes it.
type field struct {
	num protowire.Number
	typ protowire.Type
	raw []byte // a length-delimited field's bytes
	x   uint64 // a varint's or fixed field's value
}

func decode(t *testing.T, b []byte) []field {
	t.Helper()
	var fs []field
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			t.Fatalf("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		f := field{num: num, typ: typ}
		switch typ {
		case protowire.VarintType:
			f.x, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			f.x, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var y uint32
			y, n = protowire.ConsumeFixed32(b)
			f.x = uint64(y)
		case protowire.BytesType:
			f.raw, n = protowire.ConsumeBytes(b)
		default:
			t.Fatalf("field %d has wire type %d, which no field of an Event uses", num, typ)
		}
		if n < 0 {
			t.Fatalf("field %d: %v", num, protowire.ParseError(n))
		}
		b = b[n:]
		fs = append(fs, f)
	}
	return fs
}

func TestWrittenFileReadsBack(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1_800_000_000, 250_000_000)
	w, err := Create(dir, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(Event{WallTime: 1_800_000_000.5, Step: 42, SessionStatus: SessionStart}); err != nil {
		t.Fatal(err)
	}
	rows := []struct {
		step int64
		vals []Scalar
	}{
		{0, []Scalar{{"eval/return_mean", 9.5}, {"sac/alpha", 0.125}}},
		{250, []Scalar{{"eval/return_mean", 1000}, {"model/holdout_mse_0", 3.25e-4}, {"perf/env_steps_per_s", -1.5}}},
		{1 << 40, []Scalar{{"big", float32(math.MaxFloat32)}}},
	}
	for i, r := range rows {
		if err := w.WriteScalars(t0.Add(time.Duration(i+1)*time.Second), r.step, r.vals); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	name := filepath.Base(w.Path())
	host, _ := os.Hostname()
	if !strings.HasPrefix(name, "events.out.tfevents.1800000000.") || !strings.Contains(name, host) {
		t.Errorf("file name %q: want events.out.tfevents.SECONDS.HOST.PID.N", name)
	}

	b, err := os.ReadFile(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	recs := readRaw(t, b)
	if len(recs) != 2+len(rows) {
		t.Fatalf("%d records, want %d", len(recs), 2+len(rows))
	}
	for i, r := range recs {
		if r.length != uint64(len(r.data)) || r.lengthCRC != r.wantLenCRC || r.dataCRC != r.wantCRC {
			t.Errorf("record %d: length %d, length CRC %#x (want %#x), data CRC %#x (want %#x)",
				i, r.length, r.lengthCRC, r.wantLenCRC, r.dataCRC, r.wantCRC)
		}
	}

	// The first event: wall time (field 1, double) and file_version (3).
	f := decode(t, recs[0].data)
	if len(f) != 2 || f[0].num != 1 || f[0].typ != protowire.Fixed64Type || math.Float64frombits(f[0].x) != 1_800_000_000.25 ||
		f[1].num != 3 || string(f[1].raw) != "brain.Event:2" {
		t.Errorf("first event %+v: want wall_time 1800000000.25 and file_version brain.Event:2", f)
	}
	// The SessionLog (6) with status START (its field 1 = 1) at step 42 (2).
	f = decode(t, recs[1].data)
	if len(f) != 3 || f[1].num != 2 || f[1].x != 42 || f[2].num != 6 {
		t.Fatalf("session event %+v", f)
	}
	if s := decode(t, f[2].raw); len(s) != 1 || s[0].num != 1 || s[0].typ != protowire.VarintType || s[0].x != 1 {
		t.Errorf("session_log %+v: want status START (1)", s)
	}
	// Each row: wall_time, step (absent at 0, proto3's default), and a
	// Summary (5) of Values (1), each a tag (1) and a simple_value (2, float).
	for i, r := range rows {
		f := decode(t, recs[2+i].data)
		if r.step == 0 {
			f = append(f[:1], append([]field{{num: 2, typ: protowire.VarintType}}, f[1:]...)...)
		}
		if len(f) != 3 || f[0].num != 1 || math.Float64frombits(f[0].x) != 1_800_000_000.25+float64(i+1) ||
			f[1].num != 2 || f[1].typ != protowire.VarintType || int64(f[1].x) != r.step || f[2].num != 5 || f[2].typ != protowire.BytesType {
			t.Fatalf("row %d: event fields %+v", i, f)
		}
		var got []Scalar
		for _, v := range decode(t, f[2].raw) {
			if v.num != 1 || v.typ != protowire.BytesType {
				t.Fatalf("row %d: summary field %d, want only values (1)", i, v.num)
			}
			vf := decode(t, v.raw)
			if len(vf) != 2 || vf[0].num != 1 || vf[1].num != 2 || vf[1].typ != protowire.Fixed32Type {
				t.Fatalf("row %d: value fields %+v, want tag (1) and simple_value (2)", i, vf)
			}
			got = append(got, Scalar{string(vf[0].raw), math.Float32frombits(uint32(vf[1].x))})
		}
		if !reflect.DeepEqual(got, r.vals) {
			t.Errorf("row %d: values %v, want %v", i, got, r.vals)
		}
	}

	// The package's own reader agrees.
	events, err := ReadFile(w.Path())
	if err != nil || len(events) != 5 || events[0].FileVersion != FileVersion || events[1].SessionStatus != SessionStart ||
		events[4].Step != 1<<40 || !reflect.DeepEqual(events[3].Summary, rows[1].vals) {
		t.Errorf("ReadFile: %v, %+v", err, events)
	}
}

func TestDamagedRecordsAreErrors(t *testing.T) {
	dir := t.TempDir()
	w, _ := Create(dir, time.Now())
	w.WriteScalars(time.Now(), 1, []Scalar{{"a", 1}})
	w.WriteScalars(time.Now(), 2, []Scalar{{"a", 2}})
	w.Close()
	good, _ := os.ReadFile(w.Path())
	recs := readRaw(t, good)
	second := 12 + len(recs[0].data) + 4 // offset of the second record
	for name, damage := range map[string]func([]byte) []byte{
		"length":    func(b []byte) []byte { b[second] ^= 1; return b },
		"data":      func(b []byte) []byte { b[second+12] ^= 0x80; return b },
		"data CRC":  func(b []byte) []byte { b[second+12+len(recs[1].data)] ^= 1; return b },
		"torn tail": func(b []byte) []byte { return b[:len(b)-3] },
	} {
		b := damage(append([]byte(nil), good...))
		os.WriteFile(w.Path(), b, 0o644)
		events, err := ReadFile(w.Path())
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s damaged: %v, want ErrCorrupt", name, err)
			continue
		}
		if name != "torn tail" && (len(events) != 1 || !strings.Contains(err.Error(), "record at byte")) {
			t.Errorf("%s damaged: %d events before the error %v, want the 1 before it and the offset", name, len(events), err)
		}
	}
}

// Trim drops the summaries after a step, and a torn record, from every
// file, keeping the rest (and files it need not change) as they were.
func TestTrim(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Unix(1_700_000_000, 0)
	a, _ := Create(dir, t0)
	for _, s := range []int64{0, 250, 500, 750} {
		a.WriteScalars(t0, s, []Scalar{{"x", float32(s)}})
	}
	a.Close()
	b, _ := Create(dir, t0.Add(time.Hour))
	b.WriteScalars(t0, 100, []Scalar{{"x", 100}})
	b.Close()
	// A process killed inside its last write.
	raw, _ := os.ReadFile(b.Path())
	extra := AppendRecord(nil, Event{Step: 120, Summary: []Scalar{{"x", 120}}}.Marshal())
	os.WriteFile(b.Path(), append(raw, extra[:len(extra)-5]...), 0o644)
	c, _ := Create(dir, t0.Add(2*time.Hour))
	c.WriteScalars(t0, 300, []Scalar{{"x", 300}})
	c.Close()
	cBefore, _ := os.ReadFile(c.Path())

	trimmed, err := Trim(dir, 500)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Base(a.Path()), filepath.Base(b.Path())}; !reflect.DeepEqual(trimmed, want) {
		t.Errorf("trimmed %v, want %v", trimmed, want)
	}
	steps := func(path string) []int64 {
		events, err := ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if events[0].FileVersion != FileVersion {
			t.Errorf("%s lost its file_version event", path)
		}
		var s []int64
		for _, e := range events[1:] {
			s = append(s, e.Step)
		}
		return s
	}
	if got := steps(a.Path()); !reflect.DeepEqual(got, []int64{0, 250, 500}) {
		t.Errorf("first file's steps %v, want 0 250 500", got)
	}
	if got := steps(b.Path()); !reflect.DeepEqual(got, []int64{100}) {
		t.Errorf("second file's steps %v, want 100 (the torn record gone)", got)
	}
	if cAfter, _ := os.ReadFile(c.Path()); string(cAfter) != string(cBefore) {
		t.Errorf("a file with nothing to trim was changed")
	}
	if files, _ := Files(dir); len(files) != 3 {
		t.Errorf("%d event files after Trim, want 3 (no temporary left): %v", len(files), files)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 3 {
		t.Errorf("%d entries in the directory, want the 3 event files", len(entries))
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if files, _ := Files(dir); len(files) != 0 {
		t.Errorf("Remove left %v", files)
	}
}
