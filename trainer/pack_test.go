package trainer

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/trainer/rundir"
)

// stoppedRun is tinyConfig's run stopped, checkpoint saved, at env step
// stop, in a new directory.
func stoppedRun(t *testing.T, c Config, stop int) string {
	t.Helper()
	dir := t.TempDir()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := tr.Run(ctx, Hooks{Step: func(done, total int) {
		if done == stop {
			cancel()
		}
	}}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	return dir
}

// A packed run holds the run's checkpoint less the model buffer, and its
// config and metrics as they were; resumed, it refills the model buffer
// and trains to the end, its rows up to the checkpoint those of the run.
func TestPackResumesWithoutTheModelBuffer(t *testing.T) {
	c := tinyConfig(t)
	dir := stoppedRun(t, c, 600)
	// A run repaired once carries its record of lost rows along.
	if err := os.WriteFile(filepath.Join(dir, rundir.RepairFile), []byte("[]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dest := filepath.Join(t.TempDir(), "packed", "seed_0")
	p, err := Pack(dir, dest)
	if err != nil {
		t.Fatal(err)
	}
	if p.EnvSteps != 600 || p.Bytes <= 0 || p.Bytes >= p.From {
		t.Errorf("Pack: %+v; want 600 env steps and a checkpoint smaller than the run's", p)
	}
	h, secs, err := readCheckpoint(filepath.Join(dir, rundir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	ph, psecs, err := readCheckpoint(filepath.Join(dest, rundir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	if !h.ModelBufferSaved || secs.replay["model_buffer"] == nil {
		t.Fatal("the run's checkpoint holds no model buffer: the test needs one to leave out")
	}
	if ph.ModelBufferSaved || psecs.replay["model_buffer"] != nil {
		t.Errorf("packed checkpoint: model buffer saved %v, section present %v; want neither", ph.ModelBufferSaved, psecs.replay["model_buffer"] != nil)
	}
	ph.ModelBufferSaved = true
	if !reflect.DeepEqual(ph, h) {
		t.Errorf("packed header differs from the run's but for the model buffer:\n%+v\n%+v", ph, h)
	}
	if !reflect.DeepEqual(psecs.f32, secs.f32) {
		t.Error("packed networks and optimiser states differ from the run's")
	}
	var a, b bytes.Buffer
	secs.replay["real"].WriteTo(&a)
	psecs.replay["real"].WriteTo(&b)
	if a.Len() == 0 || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("packed real buffer (%d bytes) differs from the run's (%d)", b.Len(), a.Len())
	}
	for _, f := range []string{rundir.ConfigFile, rundir.MetricsJSONLFile, rundir.MetricsCSVFile, rundir.RepairFile} {
		x, err1 := os.ReadFile(filepath.Join(dir, f))
		y, err2 := os.ReadFile(filepath.Join(dest, f))
		if err1 != nil || err2 != nil || !bytes.Equal(x, y) {
			t.Errorf("%s: packed copy differs (%v, %v)", f, err1, err2)
		}
	}
	before := readMetrics(t, dir)

	var logs strings.Builder
	tr, err := Resume(dest, newEngine(t), 0, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if !strings.Contains(logs.String(), "refilling it with one round of rollouts") {
		t.Errorf("resume of a pack did not say it refills the model buffer:\n%s", logs.String())
	}
	after := readMetrics(t, dest)
	if len(after) != len(before)+1 || after[len(after)-1].EnvSteps != c.Steps {
		t.Fatalf("resumed pack: %d rows; want the run's %d and one more, to %d env steps", len(after), len(before), c.Steps)
	}
	for i := range before {
		x, _ := json.Marshal(learningFields(after[i]))
		y, _ := json.Marshal(learningFields(before[i]))
		if !bytes.Equal(x, y) {
			t.Errorf("row %d changed by the pack and resume:\n%s\n%s", i, x, y)
		}
	}
}

func TestPackRefusesToLoseWork(t *testing.T) {
	c := tinyConfig(t)
	dir := stoppedRun(t, c, 600)
	dest := t.TempDir()
	if _, err := Pack(dir, dest); err != nil {
		t.Fatal(err)
	}
	if _, err := Pack(dir, dest); err != nil {
		t.Errorf("packing the same checkpoint again: %v", err)
	}
	if _, err := Pack(dir, dir); err == nil || !strings.Contains(err.Error(), "run directory itself") {
		t.Errorf("packing a run into itself: %v", err)
	}
	if _, err := Pack(t.TempDir(), dest); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("packing a directory without a checkpoint: %v", err)
	}

	// The packed run trained on to its end is further than the run.
	tr, err := Resume(dest, newEngine(t), 0, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	want, _ := os.ReadFile(filepath.Join(dest, rundir.CheckpointFile))
	if _, err := Pack(dir, dest); err == nil || !strings.Contains(err.Error(), "further") {
		t.Errorf("packing an older checkpoint over the run further on: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(dest, rundir.CheckpointFile)); !bytes.Equal(got, want) {
		t.Error("a refused pack changed the destination's checkpoint")
	}

	other := c
	other.Seed = 1
	if _, err := Pack(stoppedRun(t, other, 600), dest); err == nil || !strings.Contains(err.Error(), "another run") || !strings.Contains(err.Error(), "seed 0, not 1") {
		t.Errorf("packing seed 1 over seed 0: %v", err)
	}
}
