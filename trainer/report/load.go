// load.go: reading run directories for a report. Nothing a run directory
// holds makes loading fail: a missing, partial, corrupt or mismatched file
// becomes a Warning naming it, and only the data that can be trusted is
// kept. Rows come from metrics.jsonl, or from metrics.csv where a directory
// keeps only that (committed results often do).

package report

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
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
	Ablation string // sweep ablation name (none, no-model, no-restore, sac, kN)
	Seed     uint64
	Rows     []trainer.Metrics // valid rows, by increasing env steps, each env step once
}

// Last is the run's last row.
func (r Run) Last() trainer.Metrics { return r.Rows[len(r.Rows)-1] }

// EnvSteps is how far the run got.
func (r Run) EnvSteps() int { return r.Last().EnvSteps }

// Timesteps returns the row's place on the paper's axis: its env steps
// after the run's Config.InitSteps random ones (negative inside the random
// phase). It is computed from the config, not read from the row's
// timesteps, which rows written before that metric existed lack.
func (r Run) Timesteps(m trainer.Metrics) int { return m.EnvSteps - r.Config.InitSteps }

// LastTimesteps is how far the run got on the paper's axis.
func (r Run) LastTimesteps() int { return r.Timesteps(r.Last()) }

// Best returns the run's highest evaluation return after the random phase
// (timesteps > 0) and its timesteps; ok is false when it has none (a run
// still in its random phase, or only non-finite returns).
func (r Run) Best() (ret float64, timesteps int, ok bool) {
	for _, m := range r.Rows {
		t := r.Timesteps(m)
		if t > 0 && finite(m.EvalReturnMean) && (!ok || m.EvalReturnMean > ret) {
			ret, timesteps, ok = m.EvalReturnMean, t, true
		}
	}
	return ret, timesteps, ok
}

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
// metrics.jsonl, metrics.csv, config.json or a checkpoint) and reads it.
// expected lists run directories, relative to root, that should exist (a
// sweep's cells): a missing one is a warning. The error is for a root that
// cannot be read.
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
		for _, f := range []string{"metrics.jsonl", "metrics.csv", "config.json", rundir.CheckpointFile} {
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
	run.Env, run.Ablation, run.Seed = run.Config.Env, sweep.AblationOf(run.Config).Name, run.Config.Seed

	// In a sweep's layout (ENV/ABLATION/seed_N) the path must agree.
	if parts := strings.Split(filepath.ToSlash(rel), "/"); len(parts) >= 3 && strings.HasPrefix(parts[len(parts)-1], "seed_") {
		env, abl, seed := parts[len(parts)-3], parts[len(parts)-2], parts[len(parts)-1]
		if env != run.Env || abl != run.Ablation || seed != fmt.Sprintf("seed_%d", run.Seed) {
			warn("config.json", "is a run of %s/%s/seed_%d but lies in %s: run left out (moved or mixed-up directory?)",
				run.Env, run.Ablation, run.Seed, rel)
			return run, warns, false
		}
	}

	// metrics.jsonl is the full record; metrics.csv stands in for it only
	// where it is the one there.
	file := "metrics.jsonl"
	if _, err := os.Stat(filepath.Join(dir, file)); errors.Is(err, fs.ErrNotExist) {
		if _, err := os.Stat(filepath.Join(dir, "metrics.csv")); err == nil {
			file = "metrics.csv"
		}
	}
	var rows []trainer.Metrics
	var ws []Warning
	if file == "metrics.csv" {
		rows, ws = readCSVRows(filepath.Join(dir, file))
	} else {
		rows, ws = readRows(filepath.Join(dir, file))
	}
	warns = append(warns, ws...)
	if len(rows) == 0 {
		if len(ws) == 0 {
			warn(file, "no metrics rows yet: run left out")
		}
		return run, warns, false
	}
	run.Rows = rows
	if last := run.Last().EnvSteps; last > run.Config.Steps {
		warn(file, "reaches env step %d, past the %d steps of its config.json (resumed with more --steps?)", last, run.Config.Steps)
	}
	if run.LastTimesteps() < 0 {
		warn(file, "all rows lie in the %d random steps of its config.json (last at env step %d): nothing on the paper's axis yet, run left out",
			run.Config.InitSteps, run.EnvSteps())
		return run, warns, false
	}
	// A row's own timesteps (written since that metric exists) must agree
	// with the config; a row without it reads 0.
	var odd []int
	for _, m := range rows {
		if m.Timesteps != 0 && m.Timesteps != run.Timesteps(m) {
			odd = append(odd, m.EnvSteps)
		}
	}
	if len(odd) > 0 {
		warn(file, "%d rows (first at env step %d) give timesteps other than env_steps - init_steps (%d) of config.json: the report uses env_steps - %d",
			len(odd), odd[0], run.Config.InitSteps, run.Config.InitSteps)
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
	lines := strings.Split(string(b), "\n")
	parsed := make([]*trainer.Metrics, len(lines))
	for i, line := range lines {
		var m trainer.Metrics
		if strings.TrimSpace(line) != "" && json.Unmarshal([]byte(line), &m) == nil {
			parsed[i] = &m
		}
	}
	return keepRows(path, string(b), lines, parsed)
}

// keepRows applies readRows' rules to the rows parsed from lines (nil: not a
// row).
func keepRows(path, text string, lines []string, parsed []*trainer.Metrics) ([]trainer.Metrics, []Warning) {
	var warns []Warning
	var bad, noReturn []int
	byStep := map[int]trainer.Metrics{}
	var order []int
	repeats := 0
	for i, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		m := parsed[i]
		if m == nil || m.EnvSteps <= 0 {
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
		byStep[m.EnvSteps] = *m
	}
	if n := len(bad); n > 0 && bad[n-1] == lastLine(lines) && !strings.HasSuffix(text, "\n") {
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

// readCSVRows reads a metrics.csv by the names in its header, so a file
// written by an older build (fewer columns: no timesteps, say) reads like
// its metrics.jsonl would: a missing number is NaN, a missing count 0.
// Per-member columns NAME_0, NAME_1, ... become the list NAME, and the
// elites' "a;b;c" a list of ids. Rows are then kept as readRows keeps them.
func readCSVRows(path string) ([]trainer.Metrics, []Warning) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, []Warning{{path, fmt.Sprintf("missing or unreadable (%v): run left out", unwrapPath(err))}}
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) == 0 || strings.TrimSpace(lines[0]) == "" {
		return nil, nil
	}
	header, err := csv.NewReader(strings.NewReader(lines[0])).Read()
	if err != nil || !slices.Contains(header, "env_steps") {
		return nil, []Warning{{path, "line 1 is not the header of a metrics.csv: run left out"}}
	}
	// Each line is read on its own, so a bad line costs only itself (the
	// metrics have no quoted newlines).
	parsed := make([]*trainer.Metrics, len(lines))
	for i := 1; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		cells, err := csv.NewReader(strings.NewReader(lines[i])).Read()
		if err != nil || len(cells) != len(header) {
			continue
		}
		if m, err := csvRow(header, cells); err == nil {
			parsed[i] = &m
		}
	}
	lines[0] = "" // the header is no row
	return keepRows(path, string(b), lines, parsed)
}

// csvRow turns one CSV row into Metrics through the row's JSON form.
func csvRow(header, cells []string) (trainer.Metrics, error) {
	obj := map[string]any{}
	lists := map[string][]string{}
	var listOrder []string
	for i, name := range header {
		cell := strings.TrimSpace(cells[i])
		if base, idx, ok := memberColumn(name); ok {
			if _, seen := lists[base]; !seen {
				listOrder = append(listOrder, base)
			}
			l := lists[base]
			for len(l) <= idx {
				l = append(l, "")
			}
			l[idx] = cell
			lists[base] = l
			continue
		}
		if cell == "" {
			continue // missing: NaN for a float, 0 for a count
		}
		if name == "model/elites" {
			var ids []int
			for _, p := range strings.Split(cell, ";") {
				id, err := strconv.Atoi(p)
				if err != nil {
					return trainer.Metrics{}, fmt.Errorf("%s %q", name, cell)
				}
				ids = append(ids, id)
			}
			obj[name] = ids
			continue
		}
		num, err := jsonNumber(cell)
		if err != nil {
			return trainer.Metrics{}, fmt.Errorf("%s: %v", name, err)
		}
		if num != "" {
			obj[name] = num
		}
	}
	for _, base := range listOrder {
		var nums []json.Number
		for _, c := range lists[base] {
			if c == "" { // a member without a value: the list is not known
				nums = nil
				break
			}
			num, err := jsonNumber(c)
			if err != nil {
				return trainer.Metrics{}, fmt.Errorf("%s: %v", base, err)
			}
			if num == "" {
				nums = nil
				break
			}
			nums = append(nums, num)
		}
		if nums != nil {
			obj[base] = nums
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return trainer.Metrics{}, err
	}
	var m trainer.Metrics
	err = json.Unmarshal(b, &m)
	return m, err
}

// jsonNumber checks a CSV cell as a number; NaN and Inf, which JSON cannot
// hold, give "" (read as missing).
func jsonNumber(cell string) (json.Number, error) {
	v, err := strconv.ParseFloat(cell, 64)
	if err != nil {
		return "", fmt.Errorf("%q is not a number", cell)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "", nil
	}
	return json.Number(cell), nil
}

// memberColumn splits a per-member column name, "model/holdout_mse_3", into
// its list's name and the member.
func memberColumn(name string) (string, int, bool) {
	i := strings.LastIndexByte(name, '_')
	if i < 0 || !strings.HasPrefix(name, "model/") {
		return "", 0, false
	}
	idx, err := strconv.Atoi(name[i+1:])
	if err != nil || idx < 0 {
		return "", 0, false
	}
	return name[:i], idx, true
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
