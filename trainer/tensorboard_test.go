// tensorboard_test.go: a run's event files hold every metrics row past the
// random phase, at step timesteps, with the row's values; a resumed run
// continues them in a new file, the rows a killed process wrote after its
// last checkpoint dropped; --tensorboard=false writes none.
//
//	go test ./trainer -run TensorBoard

package trainer

import (
	"context"
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/tensorboard"
)

// checkEvents checks the events of dir's files against the rows of its
// metrics.jsonl: each file opens with file_version and a SessionLog START;
// then one event per row past the random phase, at step timesteps, with a
// wall time within [from, to], holding every value of the row.
func checkEvents(t *testing.T, dir string, c Config, files int, from, to time.Time) {
	t.Helper()
	paths, err := tensorboard.Files(dir)
	if err != nil || len(paths) != files {
		t.Fatalf("%d event files (%v), want %d", len(paths), err, files)
	}
	var rowsOut []tensorboard.Event
	lastWall := 0.0
	for _, p := range paths {
		events, err := tensorboard.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(events) < 2 || events[0].FileVersion != tensorboard.FileVersion || events[1].SessionStatus != tensorboard.SessionStart {
			t.Fatalf("%s does not open with file_version and a SessionLog START: %+v", p, events[:min(2, len(events))])
		}
		for _, e := range events {
			if e.WallTime < float64(from.Unix()) || e.WallTime > float64(to.Unix()+1) || e.WallTime < lastWall {
				t.Errorf("wall time %.3f outside the run's [%d, %d] or before the previous event's", e.WallTime, from.Unix(), to.Unix()+1)
			}
			lastWall = e.WallTime
		}
		rowsOut = append(rowsOut, events[2:]...)
	}
	// The rows as metrics.csv has them (7 significant digits), past the
	// random phase.
	f, err := os.Open(filepath.Join(dir, rundir.MetricsCSVFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	table, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	header := table[0]
	rows := readMetrics(t, dir)
	var want []int // indexes into rows
	for i, m := range rows {
		if m.EnvSteps >= c.InitSteps {
			want = append(want, i)
		}
	}
	if len(rowsOut) != len(want) {
		t.Fatalf("%d scalar events, want one per row past the random phase: %d", len(rowsOut), len(want))
	}
	for i, r := range want {
		e, m, cells := rowsOut[i], rows[r], table[1+r]
		if e.Step != int64(m.Timesteps) || e.Step != int64(m.EnvSteps-c.InitSteps) {
			t.Errorf("event %d at step %d, want the row's timesteps %d", i, e.Step, m.Timesteps)
		}
		got := map[string]float32{}
		for _, s := range e.Summary {
			got[s.Tag] = s.Value
		}
		if len(got) != len(e.Summary) {
			t.Errorf("event %d repeats a tag", i)
		}
		if got["eval/return_mean"] != float32(m.EvalReturnMean) || got["env_steps"] != float32(m.EnvSteps) || got["epoch"] != float32(m.Epoch) {
			t.Errorf("event %d: return %v, env steps %v, epoch %v; the row's %v, %d, %d",
				i, got["eval/return_mean"], got["env_steps"], got["epoch"], m.EvalReturnMean, m.EnvSteps, m.Epoch)
		}
		// Every CSV column that holds a number, under its name, but
		// timesteps (the step) and the elites (a list).
		for j, col := range header {
			v, ok := got[col]
			if col == "timesteps" || col == "model/elites" {
				if ok {
					t.Errorf("event %d holds %s", i, col)
				}
				continue
			}
			if cells[j] == "" {
				if ok {
					t.Errorf("event %d: %s = %v for a row without it", i, col, v)
				}
				continue
			}
			x, err := strconv.ParseFloat(cells[j], 64)
			if err != nil {
				t.Fatal(err)
			}
			if !ok || math.Abs(float64(v)-x) > 1e-6*math.Abs(x) {
				t.Errorf("event %d: %s = %v (present %v), the CSV's %v", i, col, v, ok, x)
			}
		}
	}
	if rows[want[len(want)-1]].Timesteps == 0 {
		t.Fatalf("the test's run ends in its random phase")
	}
}

func TestTensorBoardEventsOfARun(t *testing.T) {
	c := tinyConfig(t)
	c.Steps = 1200 // four epochs, the first random
	dir := t.TempDir()
	from := time.Now()
	run(t, c, dir)
	checkEvents(t, dir, c, 1, from, time.Now())
	// --overwrite (RemoveRun) deletes them with the run.
	if err := RemoveRun(dir); err != nil {
		t.Fatal(err)
	}
	if files, _ := tensorboard.Files(dir); len(files) != 0 {
		t.Errorf("RemoveRun left %v", files)
	}

	off := c
	off.TensorBoard = false
	dir = t.TempDir()
	run(t, off, dir)
	if files, _ := tensorboard.Files(dir); len(files) != 0 {
		t.Errorf("--tensorboard=false wrote %v", files)
	}
}

// A run killed after writing a row but before its checkpoint: the resumed
// run writes that row again, into a new file, and the earlier file no
// longer holds the first attempt's.
func TestTensorBoardResumeContinuesTheFiles(t *testing.T) {
	c := tinyConfig(t)
	c.Steps, c.CheckpointEvery = 1500, 2 // rows at 300 (random) ... 1500; checkpoints at 600, 1200, 1500
	dir := t.TempDir()
	from := time.Now()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	func() {
		defer func() {
			if p := recover(); p != "killed" {
				t.Fatalf("the run ended with %v, want the test's kill", p)
			}
		}()
		tr.Run(context.Background(), Hooks{Step: func(done, total int) {
			if done == 1000 { // the row at 900 written, the checkpoint still at 600
				panic("killed")
			}
		}})
	}()
	tr.Close()
	if steps, _ := CheckpointEnvSteps(dir); steps != 600 {
		t.Fatalf("checkpoint at %d, want 600", steps)
	}
	events, _ := tensorboard.ReadDir(dir)
	if last := events[len(events)-1]; last.Step != 600 {
		t.Fatalf("the killed run's last event at step %d, want 600 (env step 900)", last.Step)
	}

	tr, err = Resume(dir, newEngine(t), 0, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	checkEvents(t, dir, c, 2, from, time.Now())
	paths, _ := tensorboard.Files(dir)
	second, _ := tensorboard.ReadFile(paths[1])
	if second[1].Step != 301 || second[2].Step != 600 {
		t.Errorf("the resumed file starts with START at %d and a row at %d, want 301 and 600", second[1].Step, second[2].Step)
	}
	if entries, _ := os.ReadDir(dir); len(entries) == 0 {
		t.Fatal("empty run directory")
	} else {
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				t.Errorf("temporary file left: %s", filepath.Join(dir, e.Name()))
			}
		}
	}
}
