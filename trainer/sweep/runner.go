// runner.go: running the cells of a grid, several at once, each into its
// run directory; a finished cell is skipped, an interrupted one resumed from
// its checkpoint, and a failing one recorded in its error.txt without
// stopping the others.

package sweep

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// ErrorFile is the file, in a failed cell's run directory, that says why it
// failed.
const ErrorFile = "error.txt"

// Runner runs cells of a grid into its output directory.
type Runner struct {
	Grid     Grid
	Out      string // output directory; cell c runs in Out/c.Dir()
	Parallel int    // cells run at once (at least 1)
	Device   string // --device of every cell: auto, cpu, cuda or cuda:N ("" keeps the config's)
	// Devices, when given, are the GPUs the cells run on (cuda:0, cuda:1,
	// ...), overriding Device: a cell starting takes the one with the fewest
	// cells running (the first such), for its whole run, so that Parallel
	// cells spread evenly, several to a GPU when Parallel exceeds them.
	Devices []string
	Threads int // engine threads per cell (0: Threads(Parallel)); a threads flag in Grid.Set wins
	// NewEngine creates the engine of one cell, for the device asked and
	// the cell's share of the CPU threads. Each cell gets its own engine (on
	// a GPU engine: its own stream), closed when the cell ends.
	NewEngine func(device string, threads int) (engine.Engine, error)
	Log       zerolog.Logger
	Board     *Board // optional: follows the cells' progress
	// RepairMetrics rebuilds the metrics files of every cell it resumes
	// (trainer.RepairMetrics) before resuming it.
	RepairMetrics bool
	// Until, when positive, pauses every cell at that many env steps,
	// checkpointed as a Ctrl-C stop is (exact while the checkpoint holds
	// the model buffer: Config.CheckpointModelBufferMiB), its configuration
	// (length included) unchanged, so that a sweep can take every cell to a
	// milestone before any goes on: a later run with a larger Until, or
	// none, continues each from there.
	Until int
}

// StopAt returns the env steps at which a cell whose run is steps long
// stops when the sweep pauses cells at until (0: no pause).
func StopAt(steps, until int) int {
	if until > 0 {
		return min(steps, until)
	}
	return steps
}

// Result is the outcome of one cell.
type Result struct {
	Cell     Cell
	State    State
	EnvSteps int   // env steps the cell has reached
	Err      error // why it failed (State == Failed)
}

// Summary is the outcome of Runner.Run.
type Summary struct {
	Results []Result
}

// Count returns the number of cells that ended in state s.
func (s Summary) Count(st State) int {
	n := 0
	for _, r := range s.Results {
		if r.State == st {
			n++
		}
	}
	return n
}

// Err is nil when no cell failed, else an error listing the failed cells.
func (s Summary) Err() error {
	var lines []string
	for _, r := range s.Results {
		if r.State == Failed {
			lines = append(lines, fmt.Sprintf("  %s: %v", r.Cell, r.Err))
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d cells failed (each run directory's %s says why; re-running the same command retries them):\n%s",
		len(lines), len(s.Results), ErrorFile, strings.Join(lines, "\n"))
}

// Threads is each cell's share of the CPU when parallel cells run at once:
// max(1, NumCPU/parallel).
func Threads(parallel int) int { return max(1, runtime.NumCPU()/max(parallel, 1)) }

// Run runs cells (a subset of r.Grid's, in the order given), r.Parallel at a
// time. Cancelling ctx interrupts the running cells, which save a
// checkpoint, and starts no others. It returns when every started cell has
// stopped.
func (r *Runner) Run(ctx context.Context, cells []Cell) Summary {
	parallel := max(r.Parallel, 1)
	threads := Threads(parallel)
	if r.Threads > 0 {
		threads = r.Threads
	}
	results := make([]Result, len(cells))
	next := make(chan int)
	var wg sync.WaitGroup
	place := newPlacement(r.Devices)
	for w := 0; w < min(parallel, len(cells)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				device, release := place.take()
				results[i] = r.runCell(ctx, cells[i], threads, device)
				release()
				r.Board.finish(cells[i].Index, results[i])
			}
		}()
	}
	for i := range cells {
		if ctx.Err() != nil {
			results[i] = Result{Cell: cells[i], State: NotStarted}
			continue
		}
		select {
		case next <- i:
		case <-ctx.Done():
			results[i] = Result{Cell: cells[i], State: NotStarted}
		}
	}
	close(next)
	wg.Wait()
	return Summary{Results: results}
}

// placement hands out devices to the running cells, the least busy first.
type placement struct {
	mu      sync.Mutex
	devices []string
	running []int // cells running on each device
}

func newPlacement(devices []string) *placement {
	return &placement{devices: devices, running: make([]int, len(devices))}
}

// take returns the device with the fewest running cells (the first such;
// "" when there are no devices) and the function that gives it back.
func (p *placement) take() (string, func()) {
	if len(p.devices) == 0 {
		return "", func() {}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	k := 0
	for i, n := range p.running {
		if n < p.running[k] {
			k = i
		}
	}
	p.running[k]++
	return p.devices[k], func() {
		p.mu.Lock()
		p.running[k]--
		p.mu.Unlock()
	}
}

// runCell brings one cell to its end: skip, resume or start it, then train,
// on device when one is given (else on r.Device or the grid's).
func (r *Runner) runCell(ctx context.Context, c Cell, threads int, device string) (res Result) {
	res = Result{Cell: c}
	dir := filepath.Join(r.Out, c.Dir())
	log := r.Log.With().Str("cell", c.String()).Logger()
	fail := func(err error) Result {
		res.State, res.Err = Failed, err
		log.Error().Err(err).Str("run_dir", dir).Msg("cell failed")
		var locked *rundir.LockedError
		if errors.As(err, &locked) {
			return res // another process runs the cell: its directory is not ours to write
		}
		msg := fmt.Sprintf("%s %s failed at %s:\n%v\n", time.Now().UTC().Format(time.RFC3339), c, dir, err)
		if werr := os.MkdirAll(dir, 0o755); werr == nil {
			os.WriteFile(filepath.Join(dir, ErrorFile), []byte(msg), 0o644)
		}
		return res
	}
	// A panic inside one cell fails that cell, not the sweep.
	defer func() {
		if p := recover(); p != nil {
			res = fail(fmt.Errorf("panic: %v\n%s", p, debug.Stack()))
		}
	}()

	cfg, err := r.Grid.Config(c)
	if err != nil {
		return fail(err)
	}
	if r.Device != "" {
		cfg.Device = r.Device
	}
	if device != "" {
		cfg.Device = device
	}
	if !r.Grid.Set.Has("threads") {
		cfg.Threads = threads
	}
	p, err := Inspect(dir, cfg)
	if err != nil {
		return fail(err)
	}
	res.EnvSteps = p.EnvSteps
	if p.Phase == Finished {
		res.State = Skipped
		log.Debug().Int("env_steps", p.EnvSteps).Msg("already finished: skipped")
		return res
	}
	stopAt := StopAt(cfg.Steps, r.Until)
	if p.EnvSteps >= stopAt {
		res.State = Paused
		log.Info().Int("env_steps", p.EnvSteps).Int("until", r.Until).Msg("at or past --until: left where it is")
		return res
	}
	eng, err := r.NewEngine(cfg.Device, cfg.Threads)
	if err != nil {
		return fail(err)
	}
	defer eng.Close()
	r.Board.setDevice(c.Index, deviceLabel(cfg.Device, eng.Name()))

	// Resume takes the cell's lock; it also starts over, from its
	// config.json, an attempt that died before its first checkpoint.
	var t *trainer.Trainer
	if rundir.HoldsRun(dir) {
		if r.RepairMetrics && p.Phase == Resumable {
			notes, err := trainer.RepairMetrics(dir)
			for _, n := range notes {
				log.Warn().Msg("repair-metrics: " + n)
			}
			if err != nil {
				return fail(err)
			}
		}
		// Checkpoint settings the sweep's --set names replace the cell's
		// own; those it leaves out stay as the cell has them.
		rs := trainer.ResumeSettings{Steps: cfg.Steps}
		if r.Grid.Set.Has("checkpoint-every") {
			rs.CheckpointEvery = &cfg.CheckpointEvery
		}
		if r.Grid.Set.Has("checkpoint-model-buffer-mib") {
			rs.CheckpointModelBufferMiB = &cfg.CheckpointModelBufferMiB
		}
		if t, err = trainer.ResumeWith(dir, eng, rs, log); err != nil {
			return fail(err)
		}
		log.Info().Int("env_steps", t.EnvSteps()).Int("total", cfg.Steps).Msg("resuming cell")
	} else {
		if t, err = trainer.New(cfg, eng, dir, log); err != nil {
			return fail(err)
		}
		log.Info().Int("total", cfg.Steps).Int("threads", cfg.Threads).Msg("starting cell")
	}
	defer t.Close()
	os.Remove(filepath.Join(dir, ErrorFile)) // of an earlier attempt; the lock is ours now
	r.Board.start(c.Index, t.EnvSteps(), t.Cfg.InitSteps, stopAt, p.Return)
	// Reaching stopAt short of the run's end stops it as Ctrl-C would: the
	// trainer checkpoints where it is, inside an epoch or not.
	runCtx, pause := context.WithCancel(ctx)
	defer pause()
	err = t.Run(runCtx, trainer.Hooks{
		Step: func(done, total int) {
			r.Board.progress(c.Index, done)
			if done >= stopAt {
				pause()
			}
		},
		Epoch: func(m trainer.Metrics) {
			r.Board.eval(c.Index, m.EvalReturnMean)
			log.Debug().Int("env_steps", m.EnvSteps).Float64("eval_return", m.EvalReturnMean).Msg("epoch")
		},
	})
	res.EnvSteps = t.EnvSteps()
	if err != nil {
		return fail(err)
	}
	if t.EnvSteps() < cfg.Steps && t.EnvSteps() >= stopAt {
		res.State = Paused
		log.Info().Int("env_steps", t.EnvSteps()).Msg("cell paused at --until: checkpoint saved, a sweep with a larger --until or none goes on")
		return res
	}
	if t.EnvSteps() < cfg.Steps {
		res.State = Interrupted
		log.Info().Int("env_steps", t.EnvSteps()).Msg("cell interrupted: checkpoint saved, re-run to resume")
		return res
	}
	res.State = Done
	log.Info().Int("env_steps", t.EnvSteps()).Msg("cell finished")
	return res
}

// Phase is where a cell's run directory stands.
type Phase int

// The phases of a cell's run directory.
const (
	Fresh     Phase = iota // nothing to resume: start from scratch
	Resumable              // a checkpoint short of the cell's steps
	Finished               // the checkpoint reached the cell's steps (its metrics were written before it)
)

// Progress is what a cell's run directory holds.
type Progress struct {
	Phase    Phase
	EnvSteps int     // env steps of the checkpoint (0 if none)
	Return   float64 // eval/return_mean of the metrics row at the checkpoint (NaN if none)
}

// Inspect reads the run directory dir of a cell that should run cfg. A
// directory holding another configuration is an error: the sweep will not
// train over someone else's run.
func Inspect(dir string, cfg trainer.Config) (Progress, error) {
	p := Progress{Return: nan()}
	if b, err := os.ReadFile(filepath.Join(dir, "config.json")); err == nil {
		var saved trainer.Config
		if err := json.Unmarshal(b, &saved); err != nil {
			return p, fmt.Errorf("%s is corrupt (%v): delete the cell's directory to start it again", filepath.Join(dir, "config.json"), err)
		}
		if f := configDiff(saved, cfg); f != "" {
			return p, fmt.Errorf("%s holds another configuration (%s): move that directory away or choose a new --out", dir, f)
		}
	}
	ckpt := filepath.Join(dir, rundir.CheckpointFile)
	if _, err := os.Stat(ckpt); errors.Is(err, fs.ErrNotExist) {
		return p, nil // Fresh
	}
	// The checkpoint, not the metrics, says how far the run got: rows may
	// have been written after it by a process that then died.
	steps, err := trainer.CheckpointEnvSteps(dir)
	if err != nil {
		return p, err
	}
	p.EnvSteps = steps
	if last, ok := lastRow(filepath.Join(dir, "metrics.jsonl")); ok && last.EnvSteps == steps {
		p.Return = last.EvalReturnMean
	}
	p.Phase = Resumable
	if steps >= cfg.Steps {
		p.Phase = Finished
	}
	return p, nil
}

// configDiff names the first setting (by JSON name) in which a and b differ,
// ignoring those that leave the numbers as they are (Config.Numerics).
func configDiff(a, b trainer.Config) string {
	if k, x, y := a.NumericsDiff(b); k != "" {
		return fmt.Sprintf("%s %v, the grid wants %v", k, x, y)
	}
	return ""
}

// lastRow returns the last valid row of a metrics.jsonl.
func lastRow(path string) (trainer.Metrics, bool) {
	f, err := os.Open(path)
	if err != nil {
		return trainer.Metrics{}, false
	}
	defer f.Close()
	var last trainer.Metrics
	ok := false
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var m trainer.Metrics
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			last, ok = m, true
		}
	}
	return last, ok
}

// deviceLabel is what the status table shows of where a cell runs: cpu, or
// the GPU as cuda:N.
func deviceLabel(device, engineName string) string {
	switch {
	case strings.HasPrefix(device, "cuda:"): // never the CPU: no GPU N is an error
		return device
	case engineName == "cpu":
		return "cpu"
	}
	return "cuda:0" // --device auto or cuda on a GPU: the first one
}
