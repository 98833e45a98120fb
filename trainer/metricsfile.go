// metricsfile.go: the metrics files of a resumed run. Resume checks
// metrics.jsonl and metrics.csv against the checkpoint and drops the rows
// written after it (they are written again); a damaged or missing file is an
// error naming the file and line, never a silent loss. RepairMetrics rebuilds
// each file from what is readable in either and says what is lost.

package trainer

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/rundir/checkpoint"
)

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

// metricsRow is a row of a metrics file with its line number.
type metricsRow struct {
	m    Metrics
	line int
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
func readJSONLRows(path string, b []byte, strict bool) (rows []metricsRow, bad []int, err error) {
	ls, _ := lines(b)
	for i, text := range ls {
		if strings.TrimSpace(text) == "" {
			continue
		}
		var m Metrics
		if err := json.Unmarshal([]byte(text), &m); err != nil {
			if strict {
				return nil, nil, &MetricsError{path, i + 1, fmt.Sprintf("not a metrics row (%v)", err)}
			}
			bad = append(bad, i+1)
			continue
		}
		rows = append(rows, metricsRow{m, i + 1})
	}
	return rows, bad, nil
}

// readCSVRows parses a metrics.csv written by this or an earlier build (its
// header names its columns). Strictly, a bad row is an error; leniently it
// is skipped and listed in bad.
func readCSVRows(path string, b []byte, strict bool) (rows []metricsRow, bad []int, err error) {
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
		var m Metrics
		if err == nil {
			if len(rec) != len(header) {
				err = fmt.Errorf("%d cells, the header has %d", len(rec), len(header))
			} else {
				m, err = metricsFromCSV(header, rec)
			}
		}
		if err != nil {
			if strict {
				return nil, nil, &MetricsError{path, line, fmt.Sprintf("not a metrics row (%v)", err)}
			}
			bad = append(bad, line)
			continue
		}
		rows = append(rows, metricsRow{m, line})
	}
	return rows, bad, nil
}

// metricsFromCSV reads a CSV row back into Metrics (floats to the CSV's 7
// significant digits; an empty cell is NaN). Columns the header lacks
// (metrics added since) read as NaN or zero.
func metricsFromCSV(header, rec []string) (Metrics, error) {
	cell := map[string]string{}
	for i, h := range header {
		cell[h] = rec[i]
	}
	var m Metrics
	v := reflect.ValueOf(&m).Elem()
	for i, name := range metricFields() {
		f := v.Field(i)
		if f.Kind() == reflect.Slice && name != "model/elites" {
			var vals []string
			for e := 0; ; e++ {
				s, ok := cell[fmt.Sprintf("%s_%d", name, e)]
				if !ok {
					break
				}
				vals = append(vals, s)
			}
			for len(vals) > 0 && vals[len(vals)-1] == "" {
				vals = vals[:len(vals)-1]
			}
			list := reflect.MakeSlice(f.Type(), len(vals), len(vals))
			for j, s := range vals {
				if err := setCell(list.Index(j), s); err != nil {
					return m, fmt.Errorf("%s_%d: %v", name, j, err)
				}
			}
			if len(vals) > 0 {
				f.Set(list)
			}
			continue
		}
		s, ok := cell[name]
		if !ok {
			if f.Kind() == reflect.Float64 || f.Kind() == reflect.Float32 {
				f.SetFloat(math.NaN())
			}
			continue
		}
		if name == "model/elites" {
			for _, p := range strings.Split(s, ";") {
				if p == "" {
					continue
				}
				e, err := strconv.Atoi(p)
				if err != nil {
					return m, fmt.Errorf("%s: %q", name, s)
				}
				m.ModelElites = append(m.ModelElites, e)
			}
			continue
		}
		if err := setCell(f, s); err != nil {
			return m, fmt.Errorf("%s: %v", name, err)
		}
	}
	return m, nil
}

func setCell(f reflect.Value, s string) error {
	switch f.Kind() {
	case reflect.Float64, reflect.Float32:
		if s == "" {
			f.SetFloat(math.NaN())
			return nil
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		f.SetFloat(x)
	case reflect.Int, reflect.Int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("%q is not an integer", s)
		}
		f.SetInt(n)
	default:
		return fmt.Errorf("unsupported column kind %v", f.Kind())
	}
	return nil
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

// lostSteps returns the env steps whose rows a repair of runDir recorded as
// lost.
func lostSteps(runDir string) ([]int, error) {
	b, err := os.ReadFile(filepath.Join(runDir, RepairFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var r []repairRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s is corrupt: %v", filepath.Join(runDir, RepairFile), err)
	}
	var lost []int
	for _, x := range r {
		lost = append(lost, x.Lost...)
	}
	return lost, nil
}

// prepareMetrics checks runDir's metrics files against a checkpoint at
// envSteps and rewrites them without the rows written after it. A file that
// is damaged, missing or disagrees with the other is a *MetricsError and
// nothing is changed. It returns the number of rows dropped.
func prepareMetrics(runDir string, envSteps int, c Config) (dropped int, err error) {
	jpath, cpath := filepath.Join(runDir, rundir.MetricsJSONLFile), filepath.Join(runDir, rundir.MetricsCSVFile)
	lost, err := lostSteps(runDir)
	if err != nil {
		return 0, err
	}
	want := slices.DeleteFunc(expectedSteps(envSteps, c.EpochLength), func(s int) bool { return slices.Contains(lost, s) })
	jb, jerr := os.ReadFile(jpath)
	cb, cerr := os.ReadFile(cpath)
	for _, f := range []struct {
		path string
		err  error
	}{{jpath, jerr}, {cpath, cerr}} {
		if errors.Is(f.err, os.ErrNotExist) {
			if len(want) == 0 {
				continue
			}
			return 0, &MetricsError{f.path, 0, fmt.Sprintf("missing, but the checkpoint is at env step %d, after %d epochs' rows were written", envSteps, len(want))}
		} else if f.err != nil {
			return 0, f.err
		}
	}
	jrows, _, err := readJSONLRows(jpath, jb, true)
	if err != nil {
		return 0, err
	}
	var crows []metricsRow
	if cerr == nil {
		if crows, _, err = readCSVRows(cpath, cb, true); err != nil {
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
				return 0, &MetricsError{cpath, 0, fmt.Sprintf("ends before env step %d, which %s:%d has", keep[i].m.EnvSteps, jpath, keep[i].line)}
			case i >= len(keep):
				return 0, &MetricsError{cpath, ckeep[i].line, fmt.Sprintf("a row at env step %d, which %s lacks", ckeep[i].m.EnvSteps, jpath)}
			case keep[i].m.EnvSteps != ckeep[i].m.EnvSteps:
				return 0, &MetricsError{cpath, ckeep[i].line, fmt.Sprintf("a row at env step %d where %s:%d has env step %d: the files disagree",
					ckeep[i].m.EnvSteps, jpath, keep[i].line, keep[i].m.EnvSteps)}
			}
		}
	}
	rows := make([]Metrics, len(keep))
	for i, r := range keep {
		rows[i] = r.m
	}
	return len(jrows) - len(keep), writeMetricsFiles(runDir, rows, c.EnsembleSize)
}

// checkMetricRows checks that rows (read from path, size bytes) increase in env
// steps and hold every epoch end in want, and returns those at or before
// envSteps.
func checkMetricRows(path string, rows []metricsRow, envSteps int, want []int, size int) ([]metricsRow, error) {
	var keep []metricsRow
	for i, r := range rows {
		if i > 0 && r.m.EnvSteps <= rows[i-1].m.EnvSteps {
			return nil, &MetricsError{path, r.line, fmt.Sprintf("a row at env step %d after one at %d (line %d): rows out of order or of two runs",
				r.m.EnvSteps, rows[i-1].m.EnvSteps, rows[i-1].line)}
		}
		if r.m.EnvSteps <= envSteps {
			keep = append(keep, r)
		}
	}
	have := map[int]bool{}
	for _, r := range keep {
		have[r.m.EnvSteps] = true
	}
	for _, s := range want {
		if !have[s] {
			line := 0
			for _, r := range keep {
				if r.m.EnvSteps > s {
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

// writeMetricsFiles replaces runDir's metrics files with rows.
func writeMetricsFiles(runDir string, rows []Metrics, members int) error {
	var js, cs bytes.Buffer
	cw := csv.NewWriter(&cs)
	cw.Write(Columns(members))
	for _, m := range rows {
		line, err := json.Marshal(m)
		if err != nil {
			return err
		}
		js.Write(append(line, '\n'))
		cw.Write(m.row(members))
	}
	cw.Flush()
	if err := rundir.WriteFile(filepath.Join(runDir, rundir.MetricsJSONLFile), js.Bytes()); err != nil {
		return err
	}
	return rundir.WriteFile(filepath.Join(runDir, rundir.MetricsCSVFile), cs.Bytes())
}

// RepairMetrics rebuilds the metrics files of the run in runDir up to its
// checkpoint: each epoch's row is taken from metrics.jsonl where a line of it
// reads, else from metrics.csv (to its 7 significant digits). It holds the
// run's lock while it works and returns what it did and what is lost, one
// item a line.
func RepairMetrics(runDir string) ([]string, error) {
	if _, err := os.Stat(filepath.Join(runDir, rundir.CheckpointFile)); errors.Is(err, os.ErrNotExist) {
		return []string{"no checkpoint: resuming starts the run over from its config.json and writes every row again"}, nil
	}
	lock, err := rundir.Acquire(runDir)
	if err != nil {
		return nil, err
	}
	defer lock.Unlock()
	var h checkpointHeader
	if err := checkpoint.ReadHeader(filepath.Join(runDir, rundir.CheckpointFile), &h); err != nil {
		return nil, err
	}
	envSteps, c := h.EnvSteps, h.Config
	jpath, cpath := filepath.Join(runDir, rundir.MetricsJSONLFile), filepath.Join(runDir, rundir.MetricsCSVFile)
	var notes []string
	read := func(path string, parse func(string, []byte, bool) ([]metricsRow, []int, error)) map[int]metricsRow {
		byStep := map[int]metricsRow{}
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
			if old, dup := byStep[r.m.EnvSteps]; dup {
				notes = append(notes, fmt.Sprintf("%s: line %d repeats env step %d of line %d: kept the later", path, r.line, r.m.EnvSteps, old.line))
			}
			byStep[r.m.EnvSteps] = r
		}
		return byStep
	}
	jrows := read(jpath, readJSONLRows)
	crows := read(cpath, readCSVRows)
	var steps []int
	for _, m := range []map[int]metricsRow{jrows, crows} {
		for s := range m {
			if s > 0 && s <= envSteps && !slices.Contains(steps, s) {
				steps = append(steps, s)
			}
		}
	}
	slices.Sort(steps)
	var rows []Metrics
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
		notes = append(notes, fmt.Sprintf("%s: rows of env steps %s rebuilt from %s (7 significant digits)", jpath, joinInts(fromCSV), cpath))
	}
	if len(fromJSONL) > 0 {
		notes = append(notes, fmt.Sprintf("%s: rows of env steps %s rebuilt from %s", cpath, joinInts(fromJSONL), jpath))
	}
	known, err := lostSteps(runDir)
	if err != nil {
		return notes, err
	}
	var lost []int
	for _, s := range expectedSteps(envSteps, c.EpochLength) {
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
	if err := writeMetricsFiles(runDir, rows, c.EnsembleSize); err != nil {
		return notes, err
	}
	notes = append(notes, fmt.Sprintf("wrote %d rows up to the checkpoint at env step %d into %s and %s", len(rows), envSteps, jpath, cpath))
	// The record of every repair of the run, appended to.
	var records []repairRecord
	if b, err := os.ReadFile(filepath.Join(runDir, RepairFile)); err == nil {
		json.Unmarshal(b, &records)
	}
	records = append(records, repairRecord{Repaired: time.Now().UTC(), Notes: notes, Lost: lost})
	b, err := json.MarshalIndent(records, "", "  ")
	if err != nil {
		return notes, err
	}
	return notes, rundir.WriteFile(filepath.Join(runDir, RepairFile), append(b, '\n'))
}

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}
