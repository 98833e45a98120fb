package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// row is a metrics row for the tests: env steps and one number, kept to 3
// significant digits in the CSV.
type row struct {
	Steps int     `json:"env_steps"`
	Loss  float64 `json:"loss"`
}

var rowFormat = MetricsFormat[row]{
	Columns: []string{"env_steps", "loss"},
	Cells: func(r row) []string {
		return []string{strconv.Itoa(r.Steps), strconv.FormatFloat(r.Loss, 'g', 3, 64)}
	},
	FromCSV: func(header, cells []string) (row, error) {
		var r row
		for i, h := range header {
			var err error
			switch h {
			case "env_steps":
				r.Steps, err = strconv.Atoi(cells[i])
			case "loss":
				r.Loss, err = strconv.ParseFloat(cells[i], 64)
			}
			if err != nil {
				return r, fmt.Errorf("%s: %q", h, cells[i])
			}
		}
		return r, nil
	},
	CSVDigits: 3,
	EnvSteps:  func(r row) int { return r.Steps },
}

// writeRows writes rows at env steps 100, 200, ... into a new run directory.
func writeRows(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	w, err := OpenMetrics(dir, rowFormat)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if err := w.Write(row{100 * i, 1 + float64(i)/7}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func readRows(t *testing.T, dir string) []row {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, MetricsJSONLFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadMetrics[row](f, MetricsJSONLFile)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestMetricsWriteAndTrim(t *testing.T) {
	dir := writeRows(t, 3)
	if rows := readRows(t, dir); len(rows) != 3 || rows[2] != (row{300, 1 + 3.0/7}) {
		t.Fatalf("read back %v", rows)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, MetricsCSVFile)); string(b) != "env_steps,loss\n100,1.14\n200,1.29\n300,1.43\n" {
		t.Errorf("metrics.csv holds %q", b)
	}
	// A checkpoint at 250: the row at 300 was written after it.
	dropped, err := TrimMetrics(dir, rowFormat, 250, 100)
	if err != nil || dropped != 1 {
		t.Fatalf("TrimMetrics: dropped %d, %v; want 1", dropped, err)
	}
	if rows := readRows(t, dir); len(rows) != 2 || rows[1].Steps != 200 {
		t.Errorf("after trimming: %v", rows)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, MetricsCSVFile)); string(b) != "env_steps,loss\n100,1.14\n200,1.29\n" {
		t.Errorf("metrics.csv after trimming holds %q", b)
	}
	// A run stopped before its first row has no files yet.
	if dropped, err := TrimMetrics(t.TempDir(), rowFormat, 50, 100); err != nil || dropped != 0 {
		t.Errorf("TrimMetrics before the first row: %d, %v", dropped, err)
	}
}

// A damaged file is an error naming the file and line, and nothing is
// changed; RepairMetrics rebuilds what either file has and records what is
// lost, which later trims do not ask for.
func TestMetricsDamageAndRepair(t *testing.T) {
	dir := writeRows(t, 3)
	jpath, cpath := filepath.Join(dir, MetricsJSONLFile), filepath.Join(dir, MetricsCSVFile)
	jb, _ := os.ReadFile(jpath)
	cb, _ := os.ReadFile(cpath)
	jl, cl := strings.SplitAfter(string(jb), "\n"), strings.SplitAfter(string(cb), "\n")
	for _, tt := range []struct {
		name, jsonl, csv, want string
	}{
		{"garbage", jl[0] + "}{\n" + jl[1] + jl[2], string(cb), "metrics.jsonl:2: not a metrics row"},
		{"row missing", jl[1] + jl[2], string(cb), "metrics.jsonl:1: no row for env step 100"},
		{"two runs", jl[0] + jl[1] + jl[0], string(cb), "metrics.jsonl:3: a row at env step 100 after one at 200"},
		{"files disagree", string(jb), cl[0] + cl[1] + cl[1] + cl[2], "metrics.csv:3: a row at env step 100 after one at 100"},
		{"csv short", string(jb), cl[0] + cl[1] + cl[2], "metrics.csv: no row for env step 300"},
		{"csv header", string(jb), "a,b\n", "metrics.csv:1: not the header of a metrics.csv"},
	} {
		os.WriteFile(jpath, []byte(tt.jsonl), 0o644)
		os.WriteFile(cpath, []byte(tt.csv), 0o644)
		_, err := TrimMetrics(dir, rowFormat, 300, 100)
		var me *MetricsError
		if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--repair-metrics") {
			t.Errorf("%s: %v, want a MetricsError saying %q and the way out", tt.name, err, tt.want)
		}
		if b, _ := os.ReadFile(jpath); string(b) != tt.jsonl {
			t.Errorf("%s: the refused trim changed metrics.jsonl", tt.name)
		}
	}

	// The row at 100 only in the CSV, the one at 200 in neither, a torn line.
	os.WriteFile(jpath, []byte(jl[2]+`{"env_steps":4`), 0o644)
	os.WriteFile(cpath, []byte(cl[0]+cl[1]), 0o644)
	notes, err := RepairMetrics(dir, rowFormat, 300, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dropped a half-written last line", "rows of env steps 100 rebuilt from " + cpath + " (3 significant digits)",
		"rows of env steps 300 rebuilt from " + jpath, "LOST: the rows of env steps 200", "wrote 2 rows"} {
		if !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, want) }) {
			t.Errorf("RepairMetrics notes %q lack %q", notes, want)
		}
	}
	if rows := readRows(t, dir); len(rows) != 2 || rows[0] != (row{100, 1.14}) || rows[1] != (row{300, 1 + 3.0/7}) {
		t.Errorf("repaired rows %v", rows)
	}
	if _, err := os.Stat(filepath.Join(dir, RepairFile)); err != nil {
		t.Errorf("no %s: %v", RepairFile, err)
	}
	if dropped, err := TrimMetrics(dir, rowFormat, 300, 100); err != nil || dropped != 0 {
		t.Errorf("TrimMetrics after the repair: %d, %v; want the lost row not asked for", dropped, err)
	}
}
