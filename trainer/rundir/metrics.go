// metrics.go: the metrics files of a run, metrics.jsonl (one JSON row a
// line) and metrics.csv (the same rows under a header of column names),
// for rows of any type R that a MetricsFormat describes (package trainer's
// Metrics). A MetricsWriter appends to them; TrimMetrics checks them against
// a checkpoint before a resume and drops the rows written after it; a
// damaged or missing file is a *MetricsError naming the file and line, never
// a silent loss. RepairMetrics rebuilds each file from what is readable in
// either and says what is lost.

package rundir

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MetricsFormat says how rows of type R are kept in the metrics files:
// metrics.jsonl holds each row as its JSON (encoding/json), metrics.csv as
// its cells under the header Columns.
type MetricsFormat[R any] struct {
	Columns []string         // metrics.csv's header
	Cells   func(R) []string // a row's cells, under Columns
	// FromCSV reads a row back from the cells of a metrics.csv by the
	// column names of its header, which an earlier build may have written.
	FromCSV func(header, cells []string) (R, error)
	// CSVDigits are the significant digits the CSV keeps of a number: a row
	// RepairMetrics rebuilds from the CSV has them.
	CSVDigits int
	// EnvSteps are a row's env steps: they increase down the files, and a
	// run writes a row at every epoch's end.
	EnvSteps func(R) int
}

// MetricsError is a damaged or missing metrics file of a run being resumed.
type MetricsError struct {
	Path string
	Line int // 0: the whole file
	Msg  string
}

func (e *MetricsError) Error() string {
	where := e.Path
	if e.Line > 0 {
		where = fmt.Sprintf("%s:%d", e.Path, e.Line)
	}
	return fmt.Sprintf("%s: %s; nothing was changed. Resume with --repair-metrics to rebuild both metrics files "+
		"from what is readable in either (it lists what is lost), or restore the file", where, e.Msg)
}

// MetricsWriter appends rows to a run's metrics.jsonl and metrics.csv.
type MetricsWriter[R any] struct {
	jsonl, csvf *os.File
	format      MetricsFormat[R]
}

// OpenMetrics opens the metrics files of dir for appending, creating them
// if need be; a new metrics.csv gets its header.
func OpenMetrics[R any](dir string, f MetricsFormat[R]) (*MetricsWriter[R], error) {
	j, err := os.OpenFile(filepath.Join(dir, MetricsJSONLFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	c, err := os.OpenFile(filepath.Join(dir, MetricsCSVFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		j.Close()
		return nil, err
	}
	w := &MetricsWriter[R]{jsonl: j, csvf: c, format: f}
	if st, err := c.Stat(); err == nil && st.Size() == 0 {
		cw := csv.NewWriter(c)
		cw.Write(f.Columns)
		cw.Flush()
		if err := cw.Error(); err != nil {
			w.Close()
			return nil, err
		}
	}
	return w, nil
}

// Write appends one row to both files, each line whole in one write.
func (w *MetricsWriter[R]) Write(m R) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if _, err := w.jsonl.Write(append(b, '\n')); err != nil {
		return err
	}
	cw := csv.NewWriter(w.csvf)
	cw.Write(w.format.Cells(m))
	cw.Flush()
	return cw.Error()
}

// Close closes both files.
func (w *MetricsWriter[R]) Close() error {
	e1 := w.jsonl.Close()
	e2 := w.csvf.Close()
	if e1 != nil {
		return e1
	}
	return e2
}

// ReadMetrics reads every row of a metrics.jsonl. A line that is not a
// valid row is an error naming the file (name) and line.
func ReadMetrics[R any](r io.Reader, name string) ([]R, error) {
	var rows []R
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var m R
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			return rows, fmt.Errorf("%s:%d: not a metrics row: %v", name, line, err)
		}
		rows = append(rows, m)
	}
	return rows, sc.Err()
}

// metricsRow is a row of a metrics file with its env steps and line number.
type metricsRow[R any] struct {
	m     R
	steps int
	line  int
}

// lines splits b into lines, numbered from 1, without a half-written last
// line (no newline: a process died while appending it); torn reports one.
func lines(b []byte) (out []string, torn bool) {
	s := string(b)
	if s != "" && !strings.HasSuffix(s, "\n") {
		torn = true
		s = s[:strings.LastIndexByte(s, '\n')+1]
	}
	if s == "" {
		return nil, torn
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n"), torn
}

// readJSONLRows parses a metrics.jsonl. Strictly, a line that is not a row
// is an error; leniently it is skipped and listed in bad.
func (f MetricsFormat[R]) readJSONLRows(path string, b []byte, strict bool) (rows []metricsRow[R], bad []int, err error) {
	ls, _ := lines(b)
	for i, text := range ls {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var m R
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			if strict {
				return nil, nil, &MetricsError{path, i + 1, fmt.Sprintf("not a metrics row (%v)", err)}
			}
			bad = append(bad, i+1)
			continue
		}
		rows = append(rows, metricsRow[R]{m, f.EnvSteps(m), i + 1})
	}
	return rows, bad, nil
}

// readCSVRows parses a metrics.csv written by this or an earlier build (its
// header names its columns). Strictly, a bad row is an error; leniently it
// is skipped and listed in bad.
func (f MetricsFormat[R]) readCSVRows(path string, b []byte, strict bool) (rows []metricsRow[R], bad []int, err error) {
	ls, _ := lines(b)
	if len(ls) == 0 {
		if strict {
			return nil, nil, &MetricsError{path, 1, "no header line"}
		}
		return nil, nil, nil
	}
	r := csv.NewReader(strings.NewReader(strings.Join(ls, "\n") + "\n"))
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if err != nil || !slices.Contains(header, "env_steps") {
		if strict {
			return nil, nil, &MetricsError{path, 1, "not the header of a metrics.csv"}
		}
		return nil, []int{1}, nil
	}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := 0
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			line = pe.StartLine
		} else if err == nil {
			line, _ = r.FieldPos(0)
		}
		var m R
		if err == nil {
			if len(rec) != len(header) {
				err = fmt.Errorf("%d cells, the header has %d", len(rec), len(header))
			} else {
				m, err = f.FromCSV(header, rec)
			}
		}
		if err != nil {
			if strict {
				return nil, nil, &MetricsError{path, line, fmt.Sprintf("not a metrics row (%v)", err)}
			}
			bad = append(bad, line)
			continue
		}
		rows = append(rows, metricsRow[R]{m, f.EnvSteps(m), line})
	}
	return rows, bad, nil
}

// expectedSteps are the env steps at which a run that reached envSteps has
// written a row for certain: every epoch end.
func expectedSteps(envSteps, epochLength int) []int {
	var s []int
	for e := epochLength; e <= envSteps; e += epochLength {
		s = append(s, e)
	}
	return s
}

// RepairFile records, in a run directory, what RepairMetrics did and the
// rows it could not rebuild, which later resumes then do not ask for.
const RepairFile = "metrics-repair.json"

type repairRecord struct {
	Repaired time.Time `json:"repaired"`
	Notes    []string  `json:"notes"`
	Lost     []int     `json:"lost_env_steps"`
}

// lostSteps returns the env steps whose rows a repair of dir recorded as
// lost.
func lostSteps(dir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(dir, RepairFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var r []repairRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %v", filepath.Join(dir, RepairFile), err)
	}
	var lost []int
	for _, x := range r {
		lost = append(lost, x.Lost...)
	}
	return lost, nil
}

// TrimMetrics checks dir's metrics files against a checkpoint at envSteps,
// of a run writing a row every epochLength env steps, and rewrites them
// without the rows written after it. A file that is damaged, missing or
// disagrees with the other is a *MetricsError and nothing is changed. It
// returns the number of rows dropped.
func TrimMetrics[R any](dir string, f MetricsFormat[R], envSteps, epochLength int) (dropped int, err error) {
	jpath, cpath := filepath.Join(dir, MetricsJSONLFile), filepath.Join(dir, MetricsCSVFile)
	lost, err := lostSteps(dir)
	if err != nil {
		return 0, err
	}
	want := slices.DeleteFunc(expectedSteps(envSteps, epochLength), func(s int) bool { return slices.Contains(lost, s) })
	jb, jerr := os.ReadFile(jpath)
	cb, cerr := os.ReadFile(cpath)
	for _, file := range []struct {
		path string
		err  error
	}{{jpath, jerr}, {cpath, cerr}} {
		if errors.Is(file.err, os.ErrNotExist) {
			if len(want) == 0 {
				continue
			}
			return 0, &MetricsError{file.path, 0, fmt.Sprintf("missing, but the checkpoint is at env step %d, after %d epochs' rows were written", envSteps, len(want))}
		} else if file.err != nil {
			return 0, file.err
		}
	}
	jrows, _, err := f.readJSONLRows(jpath, jb, true)
	if err != nil {
		return 0, err
	}
	var crows []metricsRow[R]
	if cerr == nil {
		if crows, _, err = f.readCSVRows(cpath, cb, true); err != nil {
			return 0, err
		}
	}
	keep, err := checkMetricRows(jpath, jrows, envSteps, want, len(jb))
	if err != nil {
		return 0, err
	}
	if cerr == nil {
		ckeep, err := checkMetricRows(cpath, crows, envSteps, want, len(cb))
		if err != nil {
			return 0, err
		}
		for i := 0; i < max(len(keep), len(ckeep)); i++ {
			switch {
			case i >= len(ckeep):
				return 0, &MetricsError{cpath, 0, fmt.Sprintf("ends before env step %d, which %s:%d has", keep[i].steps, jpath, keep[i].line)}
			case i >= len(keep):
				return 0, &MetricsError{cpath, ckeep[i].line, fmt.Sprintf("a row at env step %d, which %s lacks", ckeep[i].steps, jpath)}
			case keep[i].steps != ckeep[i].steps:
				return 0, &MetricsError{cpath, ckeep[i].line, fmt.Sprintf("a row at env step %d where %s:%d has env step %d: the files disagree",
					ckeep[i].steps, jpath, keep[i].line, keep[i].steps)}
			}
		}
	}
	rows := make([]R, len(keep))
	for i, r := range keep {
		rows[i] = r.m
	}
	return len(jrows) - len(keep), writeMetricsFiles(dir, rows, f)
}

// checkMetricRows checks that rows (read from path, size bytes) increase in env
// steps and hold every epoch end in want, and returns those at or before
// envSteps.
func checkMetricRows[R any](path string, rows []metricsRow[R], envSteps int, want []int, size int) ([]metricsRow[R], error) {
	var keep []metricsRow[R]
	for i, r := range rows {
		if i > 0 && r.steps <= rows[i-1].steps {
			return nil, &MetricsError{path, r.line, fmt.Sprintf("a row at env step %d after one at %d (line %d): rows out of order or of two runs",
				r.steps, rows[i-1].steps, rows[i-1].line)}
		}
		if r.steps <= envSteps {
			keep = append(keep, r)
		}
	}
	have := map[int]bool{}
	for _, r := range keep {
		have[r.steps] = true
	}
	for _, s := range want {
		if !have[s] {
			line := 0
			for _, r := range keep {
				if r.steps > s {
					line = r.line
					break
				}
			}
			msg := fmt.Sprintf("no row for env step %d, though the checkpoint is at env step %d", s, envSteps)
			if size == 0 {
				msg = fmt.Sprintf("empty, though the checkpoint is at env step %d, after %d epochs' rows were written", envSteps, len(want))
			}
			return nil, &MetricsError{path, line, msg}
		}
	}
	return keep, nil
}

// writeMetricsFiles replaces dir's metrics files with rows.
func writeMetricsFiles[R any](dir string, rows []R, f MetricsFormat[R]) error {
	var js, cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	cw.Write(f.Columns)
	for _, m := range rows {
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		js.Write(append(line, '\n'))
		cw.Write(f.Cells(m))
	}
	cw.Flush()
	if err := WriteFile(filepath.Join(dir, MetricsJSONLFile), js.Bytes()); err != nil {
		return err
	}
	return WriteFile(filepath.Join(dir, MetricsCSVFile), cs.Bytes())
}

// RepairMetrics rebuilds the metrics files of the run in dir, whose
// checkpoint is at envSteps and which writes a row every epochLength env
// steps, up to the checkpoint: each epoch's row is taken from metrics.jsonl
// where a line of it reads, else from metrics.csv (to its CSVDigits). It
// returns what it did and what is lost, one item a line, and appends them to
// RepairFile, whose lost rows later resumes do not ask for. The caller holds
// dir's lock.
func RepairMetrics[R any](dir string, f MetricsFormat[R], envSteps, epochLength int) ([]string, error) {
	jpath, cpath := filepath.Join(dir, MetricsJSONLFile), filepath.Join(dir, MetricsCSVFile)
	var notes []string
	read := func(path string, parse func(string, []byte, bool) ([]metricsRow[R], []int, error)) map[int]metricsRow[R] {
		byStep := map[int]metricsRow[R]{}
		b, err := os.ReadFile(path)
		if err != nil {
			notes = append(notes, fmt.Sprintf("%s: %v", path, err))
			return byStep
		}
		rows, bad, _ := parse(path, b, false)
		if _, torn := lines(b); torn {
			notes = append(notes, fmt.Sprintf("%s: dropped a half-written last line", path))
		}
		if len(bad) > 0 {
			notes = append(notes, fmt.Sprintf("%s: dropped unreadable line(s) %s", path, joinInts(bad)))
		}
		for _, r := range rows {
			if old, dup := byStep[r.steps]; dup {
				notes = append(notes, fmt.Sprintf("%s: line %d repeats env step %d of line %d: kept the later", path, r.line, r.steps, old.line))
			}
			byStep[r.steps] = r
		}
		return byStep
	}
	jrows := read(jpath, f.readJSONLRows)
	crows := read(cpath, f.readCSVRows)
	var steps []int
	for _, m := range []map[int]metricsRow[R]{jrows, crows} {
		for s := range m {
			if s > 0 && s <= envSteps && !slices.Contains(steps, s) {
				steps = append(steps, s)
			}
		}
	}
	slices.Sort(steps)
	var rows []R
	var fromCSV, fromJSONL []int
	for _, s := range steps {
		j, inJ := jrows[s]
		cr, inC := crows[s]
		switch {
		case inJ:
			rows = append(rows, j.m)
			if !inC {
				fromJSONL = append(fromJSONL, s)
			}
		default:
			rows = append(rows, cr.m)
			fromCSV = append(fromCSV, s)
		}
	}
	if len(fromCSV) > 0 {
		notes = append(notes, fmt.Sprintf("%s: rows of env steps %s rebuilt from %s (%d significant digits)", jpath, joinInts(fromCSV), cpath, f.CSVDigits))
	}
	if len(fromJSONL) > 0 {
		notes = append(notes, fmt.Sprintf("%s: rows of env steps %s rebuilt from %s", cpath, joinInts(fromJSONL), jpath))
	}
	known, err := lostSteps(dir)
	if err != nil {
		return notes, err
	}
	var lost []int
	for _, s := range expectedSteps(envSteps, epochLength) {
		_, inJ := jrows[s]
		_, inC := crows[s]
		if !inJ && !inC && !slices.Contains(known, s) {
			lost = append(lost, s)
		}
	}
	if len(lost) > 0 {
		notes = append(notes, fmt.Sprintf("LOST: the rows of env steps %s are in neither file; the run goes on without them (recorded in %s)",
			joinInts(lost), RepairFile))
	}
	if err := writeMetricsFiles(dir, rows, f); err != nil {
		return notes, err
	}
	notes = append(notes, fmt.Sprintf("wrote %d rows up to the checkpoint at env step %d into %s and %s", len(rows), envSteps, jpath, cpath))
	// The record of every repair of the run, appended to.
	var records []repairRecord
	if b, err := os.ReadFile(filepath.Join(dir, RepairFile)); err == nil {
		json.Unmarshal(b, &records)
	}
	records = append(records, repairRecord{Repaired: time.Now().UTC(), Notes: notes, Lost: lost})
	b, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return notes, err
	}
	return notes, WriteFile(filepath.Join(dir, RepairFile), append(b, '\n'))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
