// load.go: reading run directories for a report. Nothing a run directory
// holds makes loading fail: a missing, partial, corrupt or mismatched file
// becomes a Warning naming it, and only the data that can be trusted is
// kept.

package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

// Warning is a problem with one file of the inputs.
type Warning struct {
	File string
	Msg  string
}

// String writes the warning as "FILE: message".
func (w Warning) String() string { return w.File + ": " + w.Msg }

// Run is one training run directory as the report reads it.
type Run struct {
	Dir      string // as found under the report's root
	Config   trainer.Config
	Env      string
	Ablation string // sweep ablation name (none, no-model, sac, kN)
	Seed     uint64
	Rows     []trainer.Metrics // valid rows, by increasing env steps, each env step once
}

// Last is the run's last row.
func (r Run) Last() trainer.Metrics { return r.Rows[len(r.Rows)-1] }

// EnvSteps is how far the run got.
func (r Run) EnvSteps() int { return r.Last().EnvSteps }

// Finished reports whether the run reached its configured steps.
func (r Run) Finished() bool { return r.EnvSteps() >= r.Config.Steps }

// StepsPerSec is the run's env steps per wall-clock second, start to last row.
func (r Run) StepsPerSec() float64 {
	if w := r.Last().WallSec; w > 0 {
		return float64(r.EnvSteps()) / w
	}
	return math.NaN()
}

// Load finds every run directory under root (a directory holding
// metrics.jsonl, config.json or a checkpoint) and reads it. expected lists
// run directories, relative to root, that should exist (a sweep's cells): a
// missing one is a warning. The error is for a root that cannot be read.
func Load(root string, expected []string) ([]Run, []Warning, error) {
	if st, err := os.Stat(root); err != nil {
		return nil, nil, fmt.Errorf("report: %w", err)
	} else if !st.IsDir() {
		return nil, nil, fmt.Errorf("report: %s is not a directory: give the --out directory of mbpo sweep (or a parent of run directories)", root)
	}
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable corner: skip it
		}
		if !d.IsDir() {
			return nil
		}
		for _, f := range []string{"metrics.jsonl", "config.json", trainer.CheckpointFile} {
			if _, err := os.Stat(filepath.Join(path, f)); err == nil {
				dirs = append(dirs, path)
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var warns []Warning
	found := map[string]bool{}
	var runs []Run
	for _, dir := range dirs {
		rel, _ := filepath.Rel(root, dir)
		found[rel] = true
		run, ws, ok := loadRun(dir, rel)
		warns = append(warns, ws...)
		if ok {
			runs = append(runs, run)
		}
	}
	for _, rel := range expected {
		if !found[rel] {
			warns = append(warns, Warning{filepath.Join(root, rel), "no run directory: the sweep has not run this cell yet"})
		}
	}
	return runs, warns, nil
}

// loadRun reads one run directory.
func loadRun(dir, rel string) (Run, []Warning, bool) {
	var warns []Warning
	warn := func(file, format string, args ...any) {
		warns = append(warns, Warning{filepath.Join(dir, file), fmt.Sprintf(format, args...)})
	}
	run := Run{Dir: dir}
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		warn("config.json", "missing or unreadable (%v): run left out, its env and ablation are unknown", unwrapPath(err))
		return run, warns, false
	}
	if err := json.Unmarshal(b, &run.Config); err != nil || run.Config.Env == "" {
		if err == nil {
			err = errors.New("no env")
		}
		warn("config.json", "not a run configuration (%v): run left out", err)
		return run, warns, false
	}
	run.Env, run.Ablation, run.Seed = run.Config.Env, sweep.AblationOf(run.Config), run.Config.Seed

	// In a sweep's layout (ENV/ABLATION/seed_N) the path must agree.
	if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) >= 3 && strings.HasPrefix(parts[len(parts)-1], "seed_") {
		env, abl, seed := parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
		if env != run.Env || abl != run.Ablation || seed != fmt.Sprintf("seed_%d", run.Seed) {
			warn("config.json", "is a run of %s/%s/seed_%d but lies in %s: run left out (moved or mixed-up directory?)",
				run.Env, run.Ablation, run.Seed, rel)
			return run, warns, false
		}
	}

	rows, ws := readRows(filepath.Join(dir, "metrics.jsonl"))
	warns = append(warns, ws...)
	if len(rows) == 0 {
		if len(ws) == 0 {
			warn("metrics.jsonl", "no metrics rows yet: run left out")
		}
		return run, warns, false
	}
	run.Rows = rows
	if last := run.Last().EnvSteps; last > run.Config.Steps {
		warn("metrics.jsonl", "reaches env step %d, past the %d steps of its config.json (resumed with more --steps?)", last, run.Config.Steps)
	}
	return run, warns, true
}

// readRows reads a metrics.jsonl leniently: a line that is not a row, or a
// row without an evaluation return, is skipped with a warning; rows that
// repeat env steps (a run resumed from an older checkpoint) keep the later
// row.
func readRows(path string) ([]trainer.Metrics, []Warning) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, []Warning{{path, fmt.Sprintf("missing or unreadable (%v): run left out", unwrapPath(err))}}
	}
	var warns []Warning
	lines := strings.Split(string(b), "\n")
	var bad, noReturn []int
	byStep := map[int]trainer.Metrics{}
	var order []int
	repeats := 0
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m trainer.Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil || m.EnvSteps <= 0 {
			bad = append(bad, i+1)
			continue
		}
		if math.IsNaN(m.EvalReturnMean) || math.IsInf(m.EvalReturnMean, 0) {
			noReturn = append(noReturn, i+1)
			continue
		}
		if _, dup := byStep[m.EnvSteps]; dup {
			repeats++
		} else {
			order = append(order, m.EnvSteps)
		}
		byStep[m.EnvSteps] = m
	}
	if n := len(bad); n > 0 && bad[n-1] == lastLine(lines) && !strings.HasSuffix(string(b), "\n") {
		warns = append(warns, Warning{path, fmt.Sprintf("line %d is cut short (the run is still writing, or was killed): skipped", bad[n-1])})
		bad = bad[:n-1]
	}
	if len(bad) > 0 {
		warns = append(warns, Warning{path, fmt.Sprintf("%s not a metrics row: skipped", lineList(bad))})
	}
	if len(noReturn) > 0 {
		warns = append(warns, Warning{path, fmt.Sprintf("%s no finite eval/return_mean: skipped", lineList(noReturn))})
	}
	if repeats > 0 {
		warns = append(warns, Warning{path, fmt.Sprintf("%d rows repeat earlier env steps (resumed from an older checkpoint?): the later rows kept", repeats)})
	}
	sort.Ints(order)
	rows := make([]trainer.Metrics, len(order))
	for i, s := range order {
		rows[i] = byStep[s]
	}
	return rows, warns
}

func lineList(lines []int) string {
	if len(lines) == 1 {
		return fmt.Sprintf("line %d is", lines[0])
	}
	var s []string
	for i, l := range lines {
		if i == 5 {
			s = append(s, fmt.Sprintf("and %d more", len(lines)-5))
			break
		}
		s = append(s, fmt.Sprint(l))
	}
	return "lines " + strings.Join(s, ", ") + " are"
}

// lastLine is the number of the last non-blank line.
func lastLine(lines []string) int {
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			return i + 1
		}
	}
	return 0
}

// unwrapPath drops the path from an *fs.PathError: the warning names the
// file already.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
