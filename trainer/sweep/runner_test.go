// runner_test.go: a tiny real sweep on the CPU engine: every cell runs,
// re-running skips finished cells and resumes interrupted ones, and a failing
// cell does not stop the others.

package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// tinyGrid is four second-long cells on InvertedPendulum with small
// networks (the values of the trainer's own tiny test run).
func tinyGrid() Grid {
	return Grid{
		Envs: []string{"InvertedPendulum-v4"}, Ablations: []string{"none", "no-model"}, Seeds: Seeds{0, 1},
		Steps: 600,
		Set: Settings{"epoch-length=300", "init-steps=300", "G=2", "hidden=32", "model-hidden=32",
			"model-train-freq=150", "rollout-batch=400", "model-max-epochs=3", "eval-episodes=2",
			"model-return-horizon=50", "checkpoint-every=1"},
	}
}

func newRunner(g Grid, out string, parallel int) *Runner {
	return &Runner{
		Grid: g, Out: out, Parallel: parallel, Device: "cpu", Log: zerolog.Nop(),
		NewEngine: func(device string, threads int) (engine.Engine, error) {
			return cpu.New(cpu.Options{Threads: threads}), nil
		},
	}
}

func metricsOf(t *testing.T, dir string) []trainer.Metrics {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := trainer.ReadMetrics(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func stepsOf(rows []trainer.Metrics) []int {
	var s []int
	for _, r := range rows {
		s = append(s, r.EnvSteps)
	}
	return s
}

func TestSweepRunsResumesAndSkips(t *testing.T) {
	g := tinyGrid()
	out := t.TempDir()
	cells := g.Cells()

	// Cell 1 was interrupted at env step 450 by an earlier sweep: a
	// checkpoint there, a metrics row at 300, and (as if the process died
	// while writing) a row past the checkpoint and half a line.
	cfg1, err := g.Config(cells[1])
	if err != nil {
		t.Fatal(err)
	}
	cfg1.Device, cfg1.Threads = "cpu", Threads(2)
	dir1 := filepath.Join(out, cells[1].Dir())
	eng := cpu.New(cpu.Options{Threads: 1})
	tr, err := trainer.New(cfg1, eng, dir1, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tr.Run(ctx, trainer.Hooks{Step: func(done, total int) {
		if done == 450 {
			cancel()
		}
	}})
	tr.Close()
	eng.Close()
	stale := trainer.Metrics{Epoch: 2, EnvSteps: 600, EvalReturnMean: 12345}
	b, _ := stale.MarshalJSON()
	f, _ := os.OpenFile(filepath.Join(dir1, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(append(b, '\n'))
	f.WriteString(`{"epoch":3,"env_st`)
	f.Close()
	if p, err := Inspect(dir1, cfg1); err != nil || p.Phase != Resumable {
		t.Fatalf("interrupted cell: phase %v, %v; want Resumable", p.Phase, err)
	}

	if err := Claim(out, g); err != nil {
		t.Fatal(err)
	}
	board := NewBoard(cells, func(Cell) int { return g.Steps })
	r := newRunner(g, out, 2)
	r.Board = board
	sum := r.Run(context.Background(), cells)
	if err := sum.Err(); err != nil || sum.Count(Done) != 4 {
		t.Fatalf("first run: %d done, error %v", sum.Count(Done), err)
	}
	for _, c := range cells {
		dir := filepath.Join(out, c.Dir())
		rows := metricsOf(t, dir)
		if s := stepsOf(rows); len(s) != 2 || s[0] != 300 || s[1] != 600 {
			t.Errorf("%v: metrics at env steps %v, want [300 600]", c, s)
		}
		for _, m := range rows {
			if m.EvalReturnMean == 12345 {
				t.Errorf("%v: the stale row past the checkpoint survived the resume", c)
			}
		}
		cfg, _ := trainer.ReadCheckpointConfig(dir)
		if cfg.Seed != c.Seed || AblationOf(cfg).Name != c.Ablation || cfg.Threads != Threads(2) {
			t.Errorf("%v: checkpoint of seed %d ablation %s threads %d", c, cfg.Seed, AblationOf(cfg).Name, cfg.Threads)
		}
	}
	var table strings.Builder
	board.Render(&table)
	if !strings.Contains(table.String(), "600/600") || !strings.Contains(table.String(), "4 done") {
		t.Errorf("status table after the sweep:\n%s", table.String())
	}

	// The same sweep again: every cell is finished and left untouched.
	before, _ := os.Stat(filepath.Join(out, cells[0].Dir(), rundir.CheckpointFile))
	sum = newRunner(g, out, 2).Run(context.Background(), cells)
	if sum.Count(Skipped) != 4 || sum.Err() != nil {
		t.Fatalf("second run: %d skipped, error %v", sum.Count(Skipped), sum.Err())
	}
	after, _ := os.Stat(filepath.Join(out, cells[0].Dir(), rundir.CheckpointFile))
	if !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a finished cell's checkpoint was rewritten")
	}
}

func TestFailingCellDoesNotStopTheSweep(t *testing.T) {
	g := tinyGrid()
	g.Ablations = []string{"no-model"}
	out := t.TempDir()
	cells := g.Cells()
	bad := filepath.Join(out, cells[0].Dir())
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, rundir.CheckpointFile), []byte("not a checkpoint at all, but long enough"), 0o644)

	sum := newRunner(g, out, 1).Run(context.Background(), cells)
	if sum.Count(Failed) != 1 || sum.Count(Done) != 1 {
		t.Fatalf("%d failed and %d done, want 1 and 1: %+v", sum.Count(Failed), sum.Count(Done), sum.Results)
	}
	err := sum.Err()
	if err == nil || !strings.Contains(err.Error(), cells[0].String()) || !strings.Contains(err.Error(), "not an mbpo checkpoint") {
		t.Errorf("summary error %v, want one naming %s and the cause", err, cells[0])
	}
	msg, rerr := os.ReadFile(filepath.Join(bad, ErrorFile))
	if rerr != nil || !strings.Contains(string(msg), "not an mbpo checkpoint") {
		t.Errorf("%s: %q, %v", ErrorFile, msg, rerr)
	}

	// A cell directory holding another run is refused, not overwritten.
	other := g
	other.Set = append(append(Settings(nil), g.Set...), "hidden=48")
	sum = newRunner(other, out, 1).Run(context.Background(), cells[1:])
	if err := sum.Err(); err == nil || !strings.Contains(err.Error(), "another configuration (hidden 32, the grid wants 48)") {
		t.Errorf("cell over another run: %v", err)
	}
}

func TestInterruptedSweepResumes(t *testing.T) {
	g := tinyGrid()
	g.Seeds = Seeds{0}
	out := t.TempDir()
	// Ctrl-C as the first cell starts: it saves a checkpoint and stops, the
	// second never starts.
	ctx, cancel := context.WithCancel(context.Background())
	r := newRunner(g, out, 1)
	newEngine := r.NewEngine
	r.NewEngine = func(device string, threads int) (engine.Engine, error) {
		cancel()
		return newEngine(device, threads)
	}
	sum := r.Run(ctx, g.Cells())
	if sum.Results[0].State != Interrupted || sum.Results[1].State != NotStarted || sum.Err() != nil {
		t.Fatalf("after Ctrl-C: %+v", sum.Results)
	}
	dir := filepath.Join(out, g.Cells()[0].Dir())
	if steps, err := trainer.CheckpointEnvSteps(dir); err != nil || steps != 0 {
		t.Fatalf("interrupted cell: checkpoint at %d, %v", steps, err)
	}
	// A re-run that sets the model buffer's checkpoint cap (a checkpoint
	// setting a later run may change), interrupted again at once: the
	// resumed cell takes the cap.
	plain := g
	g.Set = append(g.Set[:len(g.Set):len(g.Set)], "checkpoint-model-buffer-mib=7")
	ctx, cancel = context.WithCancel(context.Background())
	r = newRunner(g, out, 1)
	r.NewEngine = func(device string, threads int) (engine.Engine, error) {
		cancel()
		return newEngine(device, threads)
	}
	if sum := r.Run(ctx, g.Cells()); sum.Results[0].State != Interrupted {
		t.Fatalf("second Ctrl-C: %+v", sum.Results)
	}
	if c, err := trainer.ReadConfig(dir); err != nil || c.CheckpointModelBufferMiB != 7 {
		t.Errorf("resumed cell's config: cap %d MiB, %v; want the re-run's 7", c.CheckpointModelBufferMiB, err)
	}
	// A re-run that leaves the setting out keeps the cell's.
	sum = newRunner(plain, out, 1).Run(context.Background(), plain.Cells())
	if sum.Count(Done) != 2 {
		t.Fatalf("re-run: %+v", sum.Results)
	}
	if s := stepsOf(metricsOf(t, dir)); len(s) != 2 || s[1] != 600 {
		t.Errorf("resumed cell: metrics at %v, want [300 600]", s)
	}
	if c, err := trainer.ReadConfig(dir); err != nil || c.CheckpointModelBufferMiB != 7 {
		t.Errorf("cell resumed by a sweep without the setting: cap %d MiB, %v; want its own 7", c.CheckpointModelBufferMiB, err)
	}
}

// A cell whose directory another process holds fails at once with an error
// naming the holder, and the sweep writes nothing into that directory; a
// cell whose earlier attempt died before its first checkpoint starts over
// from its config.json.
func TestSweepCellsLockedOrWithoutCheckpoint(t *testing.T) {
	g := tinyGrid()
	g.Ablations = []string{"no-model"}
	out := t.TempDir()
	cells := g.Cells()

	busy := filepath.Join(out, cells[0].Dir())
	os.MkdirAll(busy, 0o755)
	lock, err := rundir.Acquire(busy)
	if err != nil {
		t.Fatal(err)
	}
	sum := newRunner(g, out, 1).Run(context.Background(), cells[:1])
	lock.Unlock()
	if err := sum.Err(); err == nil || !strings.Contains(err.Error(), "in use by another mbpo process (pid "+strconv.Itoa(os.Getpid())) {
		t.Errorf("cell locked by another process: %v", err)
	}
	if _, err := os.Stat(filepath.Join(busy, ErrorFile)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the sweep wrote %s into a directory another process holds", ErrorFile)
	}

	// Cell 1 died before its first checkpoint: config.json and a row.
	cfg, _ := g.Config(cells[1])
	cfg.Device, cfg.Threads = "cpu", 1
	dir := filepath.Join(out, cells[1].Dir())
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	tr, err := trainer.New(cfg, eng, dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), trainer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	os.Remove(filepath.Join(dir, rundir.CheckpointFile))
	sum = newRunner(g, out, 1).Run(context.Background(), cells)
	if sum.Count(Done) != 2 || sum.Err() != nil {
		t.Fatalf("re-run: %+v", sum.Results)
	}
	if s := stepsOf(metricsOf(t, dir)); len(s) != 2 || s[0] != 300 || s[1] != 600 {
		t.Errorf("cell started over: metrics at %v, want [300 600]", s)
	}
}

// Until pauses every cell at that env step, on an epoch's end or inside an
// epoch, leaves cells at or past it alone, and a sweep without it finishes
// them with the numbers of cells that never paused.
func TestSweepPausesAtUntil(t *testing.T) {
	g := tinyGrid()
	g.Ablations = []string{"none"}
	cells := g.Cells()
	out := t.TempDir()

	// 300: the end of the random epoch, a checkpoint of its own.
	r := newRunner(g, out, 2)
	r.Until = 300
	sum := r.Run(context.Background(), cells)
	if sum.Count(Paused) != 2 || sum.Results[1].EnvSteps != 300 {
		t.Fatalf("until 300: %+v", sum.Results)
	}
	// 450: inside the first learning epoch, just before its second retrain.
	board := NewBoard(cells, func(c Cell) int { return StopAt(g.Steps, 450) })
	r = newRunner(g, out, 2)
	r.Until, r.Board = 450, board
	sum = r.Run(context.Background(), cells)
	if sum.Count(Paused) != 2 || sum.Err() != nil {
		t.Fatalf("until 450: %+v", sum.Results)
	}
	var table strings.Builder
	board.Render(&table)
	if !strings.Contains(table.String(), "450/450") || !strings.Contains(table.String(), "0 done, 2 paused") {
		t.Errorf("status table of paused cells:\n%s", table.String())
	}
	for _, c := range cells {
		dir := filepath.Join(out, c.Dir())
		if steps, err := trainer.CheckpointEnvSteps(dir); err != nil || steps != 450 {
			t.Errorf("%s: checkpoint at %d (%v), want 450", c, steps, err)
		}
		if s := stepsOf(metricsOf(t, dir)); len(s) != 1 || s[0] != 300 {
			t.Errorf("%s: metrics at %v, want [300]", c, s)
		}
	}

	// Again, and below where the cells are: nothing moves.
	for _, until := range []int{450, 300} {
		r = newRunner(g, out, 2)
		r.Until = until
		sum = r.Run(context.Background(), cells)
		if sum.Count(Paused) != 2 || sum.Results[0].EnvSteps != 450 {
			t.Fatalf("until %d after 450: %+v", until, sum.Results)
		}
	}

	sum = newRunner(g, out, 2).Run(context.Background(), cells)
	if sum.Count(Done) != 2 || sum.Err() != nil {
		t.Fatalf("without until: %+v", sum.Results)
	}
	whole := t.TempDir()
	if sum := newRunner(g, whole, 2).Run(context.Background(), cells); sum.Count(Done) != 2 {
		t.Fatalf("never paused: %+v", sum.Results)
	}
	for _, c := range cells {
		got, want := metricsOf(t, filepath.Join(out, c.Dir())), metricsOf(t, filepath.Join(whole, c.Dir()))
		if len(got) != 2 || len(want) != 2 {
			t.Fatalf("%s: %d and %d rows, want 2", c, len(got), len(want))
		}
		for i := range got {
			a, _ := json.Marshal(got[i].Untimed())
			b, _ := json.Marshal(want[i].Untimed())
			if string(a) != string(b) {
				t.Errorf("%s row %d: paused and resumed\n%s\nnever paused\n%s", c, i, a, b)
			}
		}
	}
}
