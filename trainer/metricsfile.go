// metricsfile.go: the Metrics row in a run's metrics files, which package
// rundir writes, reads back, trims on resume and repairs (metricsFormat
// tells it how); the CSV read back into a row; the writer that also feeds
// the TensorBoard event file; RepairMetrics.

package trainer

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/rundir/checkpoint"
)

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

// metricsFormat is how the metrics files of a run with an ensemble of
// members hold its rows.
func metricsFormat(members int) rundir.MetricsFormat[Metrics] {
	return rundir.MetricsFormat[Metrics]{
		Columns:   Columns(members),
		Cells:     func(m Metrics) []string { return m.row(members) },
		FromCSV:   metricsFromCSV,
		CSVDigits: csvDigits,
		EnvSteps:  func(m Metrics) int { return m.EnvSteps },
	}
}

// metricsWriter appends a run's rows to its metrics files and, when on, its
// TensorBoard event file.
type metricsWriter struct {
	files *rundir.MetricsWriter[Metrics]
	tb    *tensorBoardSink // tensorboard.go
}

// openMetrics opens the metrics files of runDir for appending.
func openMetrics(runDir string, members int) (*metricsWriter, error) {
	files, err := rundir.OpenMetrics(runDir, metricsFormat(members))
	if err != nil {
		return nil, err
	}
	return &metricsWriter{files: files}, nil
}

// Write appends one row to the files.
func (w *metricsWriter) Write(m Metrics) error {
	if err := w.files.Write(m); err != nil || w.tb == nil {
		return err
	}
	return w.tb.write(m)
}

// Close closes the files.
func (w *metricsWriter) Close() error {
	err := w.files.Close()
	if w.tb != nil {
		err = errors.Join(err, w.tb.close())
	}
	return err
}

// ReadMetrics reads every row of a metrics.jsonl. A line that is not a
// valid row is an error naming the file (name) and line.
func ReadMetrics(r io.Reader, name string) ([]Metrics, error) {
	return rundir.ReadMetrics[Metrics](r, name)
}

// RepairMetrics rebuilds the metrics files of the run in runDir up to its
// checkpoint (rundir.RepairMetrics): each epoch's row is taken from
// metrics.jsonl where a line of it reads, else from metrics.csv (to its 7
// significant digits). It holds the run's lock while it works and returns
// what it did and what is lost, one item a line.
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
	return rundir.RepairMetrics(runDir, metricsFormat(h.Config.EnsembleSize), h.EnvSteps, h.Config.EpochLength)
}
