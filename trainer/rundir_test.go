package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/trainer/rundir"
)

// snapshot reads every file of dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

func sameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// New never starts a run over another: it refuses a directory that holds
// one, touching nothing, and says how to continue it or start over.
// RemoveRun (--overwrite) is the explicit way to start over.
func TestNewRefusesADirectoryHoldingARun(t *testing.T) {
	c := tinyConfig(t)
	c.Steps = 300
	dir := t.TempDir()
	run(t, c, dir)
	before := snapshot(t, dir)
	other := c
	other.Seed = 99
	_, err := New(other, newEngine(t), dir, zerolog.Nop())
	var re *rundir.RunExistsError
	if !errors.As(err, &re) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "--resume "+dir) ||
		!strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("New on a run directory: %v; want a rundir.RunExistsError naming it, --resume and --overwrite", err)
	}
	if !sameFiles(before, snapshot(t, dir)) {
		t.Errorf("the refused New changed the run directory")
	}
	// Only metrics files (a run killed before writing anything else) count too.
	only := t.TempDir()
	os.WriteFile(filepath.Join(only, rundir.MetricsJSONLFile), nil, 0o644)
	if _, err := New(c, newEngine(t), only, zerolog.Nop()); !errors.As(err, &re) {
		t.Errorf("New on a directory with a metrics.jsonl: %v", err)
	}

	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("mine"), 0o644)
	if err := RemoveRun(dir); err != nil {
		t.Fatal(err)
	}
	rows := run(t, other, dir)
	if len(rows) != 1 || rows[0].Epoch != 1 {
		t.Errorf("after RemoveRun the new run has rows %+v, want one, epoch 1", rows)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "notes.txt")); string(b) != "mine" {
		t.Errorf("RemoveRun removed a file that is not the run's")
	}
}

// A run directory is locked from New or Resume to Close: a second trainer
// on it gets an error naming this process.
func TestRunDirectoryIsLocked(t *testing.T) {
	c := tinyConfig(t)
	c.Steps = 300
	dir := t.TempDir()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	var le *rundir.LockedError
	if _, err := Resume(dir, newEngine(t), 0, zerolog.Nop()); !errors.As(err, &le) || le.Holder.PID != os.Getpid() {
		t.Errorf("Resume while New holds the directory: %v, want a LockedError naming pid %d", err, os.Getpid())
	}
	if err := RemoveRun(dir); !errors.As(err, &le) {
		t.Errorf("RemoveRun while New holds the directory: %v", err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr, err = Resume(dir, newEngine(t), 600, zerolog.Nop())
	if err != nil {
		t.Fatalf("Resume after Close: %v", err)
	}
	if err := RemoveRun(dir); !errors.As(err, &le) {
		t.Errorf("RemoveRun (--overwrite) while Resume holds the directory: %v", err)
	}
	tr.Close()
}

// A run killed before its first checkpoint (or out of disk space at its
// first write) resumes by starting over from its config.json, saying so;
// the temporary file of the checkpoint it was writing is removed.
func TestResumeBeforeTheFirstCheckpoint(t *testing.T) {
	c := tinyConfig(t)
	whole := run(t, c, t.TempDir())

	dir := t.TempDir()
	run(t, c, dir)
	// As if killed while writing the first checkpoint, after two rows.
	os.Remove(filepath.Join(dir, rundir.CheckpointFile))
	os.WriteFile(filepath.Join(dir, ".checkpoint-123.tmp"), []byte("half a checkpoint"), 0o644)
	var log bytes.Buffer
	tr, err := Resume(dir, newEngine(t), 0, zerolog.New(&log))
	if err != nil {
		t.Fatal(err)
	}
	if tr.EnvSteps() != 0 || !strings.Contains(log.String(), "starting it over from its config.json") {
		t.Errorf("resumed at env step %d, logging %s; want a start over that says so", tr.EnvSteps(), log.String())
	}
	if _, err := os.Stat(filepath.Join(dir, ".checkpoint-123.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the stale temporary checkpoint is still there: %v", err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	got := readMetrics(t, dir)
	if len(got) != len(whole) {
		t.Fatalf("%d rows, want %d", len(got), len(whole))
	}
	for i := range whole {
		a, _ := json.Marshal(learningFields(whole[i]))
		b, _ := json.Marshal(learningFields(got[i]))
		if string(a) != string(b) {
			t.Errorf("epoch %d differs from the uninterrupted run", i+1)
		}
	}

	// Only config.json (no space left for anything else): the same.
	os.Remove(filepath.Join(dir, rundir.CheckpointFile))
	os.Remove(filepath.Join(dir, rundir.MetricsJSONLFile))
	os.Remove(filepath.Join(dir, rundir.MetricsCSVFile))
	tr, err = Resume(dir, newEngine(t), 0, zerolog.Nop())
	if err != nil {
		t.Fatalf("resume of a directory holding only config.json: %v", err)
	}
	tr.Close()
}

// Resume refuses damaged or missing metrics files, naming the file and
// line and the way out, and changes nothing; RepairMetrics rebuilds what
// the other file holds and says what is lost; the resumed run then ends
// with every row.
func TestResumeRefusesDamagedMetrics(t *testing.T) {
	c := tinyConfig(t)
	short := c
	short.Steps = 600
	good := t.TempDir()
	run(t, short, good)
	files := snapshot(t, good)
	jsonl := strings.SplitAfter(files[rundir.MetricsJSONLFile], "\n") // rows at 300 and 600, then ""
	csvLines := strings.SplitAfter(files[rundir.MetricsCSVFile], "\n")

	tests := []struct {
		name    string
		damage  func(dir string)
		wantErr string   // in Resume's error
		notes   []string // in RepairMetrics's notes
		lost    bool
	}{
		{"garbage line", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.MetricsJSONLFile), []byte(jsonl[0]+"}garbage{\n"+jsonl[1]), 0o644)
		}, "metrics.jsonl:2: not a metrics row", []string{"dropped unreadable line(s) 2"}, false},
		{"lost row", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.MetricsJSONLFile), []byte(jsonl[1]), 0o644)
		}, "metrics.jsonl:1: no row for env step 300", []string{"rows of env steps 300 rebuilt from"}, false},
		{"jsonl deleted", func(dir string) {
			os.Remove(filepath.Join(dir, rundir.MetricsJSONLFile))
		}, "metrics.jsonl: missing, but the checkpoint is at env step 600", []string{"rows of env steps 300, 600 rebuilt from"}, false},
		{"two runs", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.MetricsJSONLFile), []byte(jsonl[0]+jsonl[1]+jsonl[0]), 0o644)
		}, "metrics.jsonl:3: a row at env step 300 after one at 600", []string{"line 3 repeats env step 300 of line 1"}, false},
		{"csv garbage", func(dir string) {
			os.WriteFile(filepath.Join(dir, rundir.MetricsCSVFile), []byte(csvLines[0]+csvLines[1]+"1,2,3\n"), 0o644)
		}, "metrics.csv:3: not a metrics row (3 cells", []string{"metrics.csv: dropped unreadable line(s) 3", "rows of env steps 600 rebuilt from"}, false},
		{"both deleted", func(dir string) {
			os.Remove(filepath.Join(dir, rundir.MetricsJSONLFile))
			os.Remove(filepath.Join(dir, rundir.MetricsCSVFile))
		}, "missing", []string{"LOST: the rows of env steps 300, 600 are in neither file"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, b := range files {
				os.WriteFile(filepath.Join(dir, name), []byte(b), 0o644)
			}
			tt.damage(dir)
			before := snapshot(t, dir)
			_, err := Resume(dir, newEngine(t), c.Steps, zerolog.Nop())
			var me *rundir.MetricsError
			if !errors.As(err, &me) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "--repair-metrics") {
				t.Fatalf("Resume: %v; want a MetricsError with %q and the way out", err, tt.wantErr)
			}
			delete(before, rundir.LockFile)
			after := snapshot(t, dir)
			delete(after, rundir.LockFile)
			if !sameFiles(before, after) {
				t.Errorf("the refused Resume changed the run directory")
			}
			notes, err := RepairMetrics(dir)
			if err != nil {
				t.Fatal(err)
			}
			all := strings.Join(notes, "\n")
			for _, n := range tt.notes {
				if !strings.Contains(all, n) {
					t.Errorf("repair notes lack %q:\n%s", n, all)
				}
			}
			tr, err := Resume(dir, newEngine(t), c.Steps, zerolog.Nop())
			if err != nil {
				t.Fatalf("Resume after RepairMetrics: %v", err)
			}
			if err := tr.Run(context.Background(), Hooks{}); err != nil {
				t.Fatal(err)
			}
			tr.Close()
			var steps []int
			for _, m := range readMetrics(t, dir) {
				steps = append(steps, m.EnvSteps)
			}
			want := []int{300, 600, 900}
			if tt.lost {
				want = []int{900}
			}
			if len(steps) != len(want) || steps[len(steps)-1] != 900 || steps[0] != want[0] {
				t.Errorf("rows at env steps %v after repair and resume, want %v", steps, want)
			}
		})
	}
}
