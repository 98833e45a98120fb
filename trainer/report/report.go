// Package report turns training runs into the paper's comparisons, on the
// paper's axis (timesteps: env steps after the initial random ones, as its
// authors count them): learning curves per environment (mean eval return
// over seeds with a 95% bootstrap band, one line per ablation, the published
// result as a reference point), the seconds per epoch of each run, both as
// PNG and SVG, and a Markdown table of final return and timesteps to reach
// the published return beside the published values, with wall time and
// throughput per run. Beside them, the paper's analyses of one saved run
// (mbpo analyze; analyze.go, drawn by analysis.go): the saved ensemble's
// compounding open-loop error against rollout horizon, and the policy's
// return under the model against its real return. They read a run only
// through trainer's exported API (ReadNetworks, ReadMetrics).
//
// The report reads any tree of run directories: the --out directory of mbpo sweep
// (ENV/ABLATION/seed_N) or runs of mbpo train. What it cannot trust (a
// missing, partial, corrupt or mismatched file) it leaves out with a
// Warning naming the file, so a report never fails on its inputs and never
// averages what does not belong together. report.md names files relative
// to the root it was given, never by a path of the machine.
package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Options configure Build.
type Options struct {
	Bootstrap Bootstrap
	// Expected lists the run directories, relative to the root, that
	// should be there (a sweep's cells, from its sweep.json).
	Expected []string
}

// Report is everything a report shows.
type Report struct {
	Root      string
	Groups    []Group // by environment, then ablation
	Warnings  []Warning
	Bootstrap Bootstrap
}

// Build loads the runs under root and aggregates them. The error is for a
// root that cannot be read; problems with runs are Warnings.
func Build(root string, opt Options) (*Report, error) {
	if opt.Bootstrap.Resamples == 0 {
		opt.Bootstrap = DefaultBootstrap()
	}
	runs, warns, err := Load(root, opt.Expected)
	if err != nil {
		return nil, err
	}
	groups, gw := GroupRuns(runs, opt.Bootstrap)
	return &Report{Root: root, Groups: groups, Warnings: append(warns, gw...), Bootstrap: opt.Bootstrap}, nil
}

// Envs returns the environments of the report, in order.
func (r *Report) Envs() []string {
	var envs []string
	for _, g := range r.Groups {
		if len(envs) == 0 || envs[len(envs)-1] != g.Env {
			envs = append(envs, g.Env)
		}
	}
	return envs
}

// groupsOf returns the groups of one environment.
func (r *Report) groupsOf(env string) []Group {
	var gs []Group
	for _, g := range r.Groups {
		if g.Env == env {
			gs = append(gs, g)
		}
	}
	return gs
}

// Figures names one environment's figures: file names without extension,
// relative to the Markdown file.
type Figures struct {
	Curves string // eval return against timesteps
	Time   string // seconds per epoch against timesteps
	Health string // what to watch while it learns (PlotHealth) against timesteps
}

// Write writes the report into dir: per environment a learning-curve
// figure (curves_ENV.png and .svg), a seconds-per-epoch figure
// (time_ENV.png and .svg) and the panels of what to watch while it learns
// (health_ENV.png and .svg), and report.md. It returns the paths written.
func (r *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var files []string
	figures := map[string]Figures{}
	for _, env := range r.Envs() {
		fig := Figures{Curves: "curves_" + fileSafe(env), Time: "time_" + fileSafe(env), Health: "health_" + fileSafe(env)}
		paths, err := PlotCurves(env, r.groupsOf(env), filepath.Join(dir, fig.Curves))
		if err != nil {
			return files, err
		}
		files = append(files, paths...)
		paths, err = PlotTime(env, r.groupsOf(env), filepath.Join(dir, fig.Time))
		if err != nil {
			return files, err
		}
		files = append(files, paths...)
		paths, err = PlotHealth(env, r.groupsOf(env), filepath.Join(dir, fig.Health))
		if err != nil {
			return files, err
		}
		files = append(files, paths...)
		figures[env] = fig
	}
	path := filepath.Join(dir, "report.md")
	f, err := os.Create(path)
	if err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	r.Markdown(f, figures)
	if err := f.Close(); err != nil {
		return files, fmt.Errorf("report: %w", err)
	}
	return append(files, path), nil
}

// rel names path relative to the report's root, in slashes, when it lies
// under it; else its last element (never a path of the machine).
func (r *Report) rel(path string) string {
	if rel, err := filepath.Rel(r.Root, path); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return filepath.ToSlash(rel)
	}
	return filepath.Base(path)
}

// rootName is the report's root as report.md names it: its last element.
func (r *Report) rootName() string {
	abs, err := filepath.Abs(r.Root)
	if err != nil {
		abs = r.Root
	}
	return filepath.Base(abs) + "/"
}

// Markdown writes the report's tables; figures gives each environment's
// figures (nil: none).
func (r *Report) Markdown(w io.Writer, figures map[string]Figures) {
	runs := 0
	var all []Run
	for _, g := range r.Groups {
		runs += len(g.Runs)
		all = append(all, g.Runs...)
	}
	fmt.Fprintf(w, "# MBPO report\n\n")
	fmt.Fprintf(w, "%d runs in %d groups under `%s` (the directory given to mbpo report; the paths below are relative to it). "+
		"Returns are eval/return_mean (deterministic policy). "+
		"Curves: mean over seeds with a %.0f%% percentile bootstrap band (%d resamples, seed %d).\n\n",
		runs, len(r.Groups), r.rootName(), 100*r.Bootstrap.Level, r.Bootstrap.Resamples, r.Bootstrap.Seed)
	fmt.Fprintf(w, "**The x axis** of the curves, tables and figures — %s. "+
		"The MBPO authors' code counts its timesteps from the end of the random phase, and the paper's curves are drawn against them; "+
		"env_steps in the metrics counts every real step, the random ones included. "+
		"Rows inside the random phase (timesteps < 0) are left out; timestep 0 is its end.\n\n", AxisNote(all))

	fmt.Fprintf(w, "## Final return and sample efficiency\n\n")
	fmt.Fprintf(w, "Final return: mean ± std over seeds at the last timestep every seed reached. "+
		"Timesteps to the paper's return: the first evaluation, within those timesteps, at which the seed mean reaches the published MBPO return.\n\n")
	fmt.Fprintf(w, "| env | ablation | seeds | final return | at timesteps | timesteps to paper's return | published (MBPO) |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|\n")
	for _, g := range r.Groups {
		c := g.Curve
		mean, std := MeanStd(c.AtCommon)
		final := fmt.Sprintf("%s ± %s", number(mean), number(std))
		seeds := fmt.Sprint(c.Seeds)
		if short := shorter(g); short > 0 {
			seeds = fmt.Sprintf("%d (%d shorter than %s)", c.Seeds, short, steps(c.Longest))
		}
		if len(c.AtCommon) < c.Seeds {
			final += fmt.Sprintf(" (%d of %d seeds)", len(c.AtCommon), c.Seeds)
		}
		reach, pub := "—", "—"
		if p, ok := PublishedFor(g.Env); ok {
			if s, ok := c.StepsToReach(p.Return); ok {
				reach = steps(s)
			} else {
				reach = fmt.Sprintf("not reached (%s by %s)", number(p.Return), steps(c.Common))
			}
			if g.Ablation == "none" {
				pub = p.Text
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s |\n", g.Env, g.Label(), seeds, final, steps(c.Common), reach, pub)
	}
	fmt.Fprintf(w, "\nPublished values are approximate, read off the paper's figures (its axis: timesteps), "+
		"from the project's table in trainer/report/published.go.\n\n")

	r.milestones(w)

	if len(figures) > 0 {
		r.figureSection(w, "Learning curves", "", figures, func(f Figures) string { return f.Curves }, func(env string) (string, string) {
			return env, fmt.Sprintf(" The cross is the published MBPO result (%s).", publishedText(env))
		})
		r.figureSection(w, "Seconds per epoch", "Wall time between consecutive rows, per epoch, one line per seed: the cost growth of a run "+
			"(each model retrain fits all the real data; the rollout length grows with the schedule).",
			figures, func(f Figures) string { return f.Time }, func(env string) (string, string) { return env + ": seconds per epoch", "" })
		r.figureSection(w, "What to watch while it learns", "Per epoch, one line per seed: the elites' mean holdout MSE; "+
			"the deterministic policy's return under the model minus its real return from the same start states "+
			"(the paper finds the model's near and mostly below the real one); "+
			"the critics' |Q| over the largest value the rewards allow (`health/q_ratio`: diverging critics approach 1); "+
			"the critic loss; alpha; and the model rollouts' termination rate over the real env's (`rollout/termination_rate` / "+
			"`train/termination_rate`: near 1 the termination function ends model rollouts as often as the real env ends episodes; "+
			"no value in epochs without a real termination, and none for rows written before those metrics existed).",
			figures, func(f Figures) string { return f.Health }, func(env string) (string, string) { return env + ": what to watch", "" })
	}

	fmt.Fprintf(w, "## Wall time and throughput\n\n")
	fmt.Fprintf(w, "Env steps count every real step, the random ones included; timesteps only those after them. "+
		"Last return: the run's latest evaluation; best: its highest after the random phase, at the timesteps in parentheses. "+
		"Env steps/s: all of them over the wall time; SAC updates/s: the median over epochs of each epoch's rate.\n\n")
	fmt.Fprintf(w, "| env | ablation | seed | env steps | timesteps | last return | best return | wall time | env steps/s | SAC updates/s | run directory |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range r.Groups {
		for _, run := range g.Runs {
			of := fmt.Sprintf("%d", run.EnvSteps())
			if !run.Finished() {
				of = fmt.Sprintf("%d of %d", run.EnvSteps(), run.Config.Steps)
			}
			best := "—"
			if ret, at, ok := run.Best(); ok {
				best = fmt.Sprintf("%s (%s)", number(ret), steps(at))
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %d | %s | %s | %s | %s | %s | `%s` |\n", g.Env, g.Label(), run.Seed, of, run.LastTimesteps(),
				number(run.Last().EvalReturnMean), best,
				duration(run.Last().WallSec), number(run.StepsPerSec()), number(medianSACRate(run)), r.rel(run.Dir))
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "\n## Warnings\n\nLeft out of or flagged in the numbers above:\n\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(w, "- `%s`: %s\n", r.rel(wn.File), wn.Msg)
		}
	}
}

// milestones writes the return of each group at the learning epochs of
// Milestones (always the first four, 25, 50, 100 and 125, "—" where no seed
// got there; the longer ones where some group reached them), then the mean
// return over the WindowEpochs epochs ending at each.
func (r *Report) milestones(w io.Writer) {
	var cols []int
	for i, e := range Milestones {
		reached := i < 4
		for _, g := range r.Groups {
			reached = reached || len(g.ReturnsAtEpoch(e)) > 0
		}
		if reached {
			cols = append(cols, e)
		}
	}
	fmt.Fprintf(w, "## Return at learning epochs\n\n")
	fmt.Fprintf(w, "The evaluation at the end of learning epoch N (timesteps N × epoch length, the paper's axis): "+
		"mean ± std over the seeds that got there, their number in brackets when not all did; — where none did.\n\n")
	r.epochTable(w, cols, Group.ReturnsAtEpoch)
	fmt.Fprintf(w, "One evaluation swings a lot from one epoch to the next; the mean return over the %d learning "+
		"epochs N−%d … N, per seed, then mean ± std over the seeds that evaluated at all of them:\n\n",
		WindowEpochs, WindowEpochs-1)
	r.epochTable(w, cols, func(g Group, e int) []float64 { return g.MeanReturnsTo(e, WindowEpochs) })
}

// epochTable writes a table of each group's returns at the learning epochs
// cols, as returns gives them per seed, beside the published value.
func (r *Report) epochTable(w io.Writer, cols []int, returns func(Group, int) []float64) {
	fmt.Fprintf(w, "| env | ablation |")
	for _, e := range cols {
		fmt.Fprintf(w, " epoch %d |", e)
	}
	fmt.Fprintf(w, " published (MBPO) |\n|---|---|")
	for range cols {
		fmt.Fprintf(w, "---|")
	}
	fmt.Fprintf(w, "---|\n")
	for _, g := range r.Groups {
		fmt.Fprintf(w, "| %s | %s |", g.Env, g.Label())
		for _, e := range cols {
			v := returns(g, e)
			cell := "—"
			if len(v) > 0 {
				mean, std := MeanStd(v)
				cell = fmt.Sprintf("%s ± %s", number(mean), number(std))
				if len(v) < len(g.Runs) {
					cell += fmt.Sprintf(" (%d)", len(v))
				}
			}
			fmt.Fprintf(w, " %s |", cell)
		}
		pub := "—"
		if g.Ablation == "none" {
			pub = publishedText(g.Env)
		}
		fmt.Fprintf(w, " %s |\n", pub)
	}
	fmt.Fprintf(w, "\n")
}

// figureSection writes a section of report.md showing, for each
// environment, the figure of figures that pick names (none: skipped), with
// the alt text and the caption's extra sentence that caption gives, after an
// introduction (none if "").
func (r *Report) figureSection(w io.Writer, title, intro string, figures map[string]Figures,
	pick func(Figures) string, caption func(env string) (alt, extra string)) {
	fmt.Fprintf(w, "## %s\n\n", title)
	if intro != "" {
		fmt.Fprintf(w, "%s\n\n", intro)
	}
	for _, env := range r.Envs() {
		fig, ok := figures[env]
		if !ok || pick(fig) == "" {
			continue
		}
		name := pick(fig)
		alt, extra := caption(env)
		fmt.Fprintf(w, "![%s](%s.png)\n\n", alt, name)
		fmt.Fprintf(w, "*x axis* — %s.%s [%s.svg](%s.svg)\n\n", AxisNote(runsOf(r.groupsOf(env))), extra, name, name)
	}
}

// publishedText is the published result of env as the reference gives it.
func publishedText(env string) string {
	if p, ok := PublishedFor(env); ok {
		return p.Text
	}
	return "none for this environment"
}

// shorter counts the group's seeds that stop before its longest, on the
// paper's axis.
func shorter(g Group) int {
	n := 0
	for _, r := range g.Runs {
		if r.LastTimesteps() < g.Curve.Longest {
			n++
		}
	}
	return n
}

// medianSACRate is the median of perf/sac_updates_per_s over the rows that
// did SAC updates (NaN where none did). The median, not the mean: builds
// before ceb8ce7, whose checkpoints lacked the clocks of the epoch in
// progress, divided all the updates of an epoch resumed inside by the
// resumed session's SAC time alone, a rate up to hundreds of times too high.
func medianSACRate(r Run) float64 {
	var v []float64
	for _, m := range r.Rows {
		if m.SACUpdatesPerSec > 0 && finite(m.SACUpdatesPerSec) {
			v = append(v, m.SACUpdatesPerSec)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// number formats x with a thousands separator and one decimal: 3,120.4.
func number(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "—"
	}
	s := fmt.Sprintf("%.1f", math.Abs(x))
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, d := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	sign := ""
	if x < 0 && s != "0.0" {
		sign = "-"
	}
	return sign + b.String() + "." + frac
}

// steps formats steps (timesteps or env steps): 125k for whole thousands,
// else the number.
func steps(s int) string {
	if s >= 1000 && s%1000 == 0 {
		return fmt.Sprintf("%dk", s/1000)
	}
	return fmt.Sprint(s)
}

func duration(sec float64) string {
	if math.IsNaN(sec) || sec <= 0 {
		return "—"
	}
	return time.Duration(sec * float64(time.Second)).Round(time.Second).String()
}

// fileSafe keeps letters, digits, '-', '_' and '.' of s.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return '_'
	}, s)
}
