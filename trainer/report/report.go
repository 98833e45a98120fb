// Package report turns training runs into the paper's comparisons: learning
// curves per environment (mean eval return over seeds with a 95% bootstrap
// band, one line per ablation, PNG and SVG), a Markdown table of final
// return and env steps to reach the published return beside the published
// values, and wall time and throughput per run.
//
// It reads any tree of run directories: the --out directory of mbpo sweep
// (ENV/ABLATION/seed_N) or runs of mbpo train. What it cannot trust (a
// missing, partial, corrupt or mismatched file) it leaves out with a
// Warning naming the file, so a report never fails on its inputs and never
// averages what does not belong together.
package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
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

// Write writes the report into dir: a learning-curve figure per
// environment (curves_ENV.png and .svg) and report.md. It returns the paths
// written.
func (r *Report) Write(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var files []string
	figures := map[string]string{}
	for _, env := range r.Envs() {
		base := "curves_" + fileSafe(env)
		paths, err := PlotCurves(env, r.groupsOf(env), filepath.Join(dir, base))
		if err != nil {
			return files, err
		}
		files = append(files, paths...)
		figures[env] = base
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

// Markdown writes the report's tables; figures maps an environment to its
// figure's file name without extension, relative to the Markdown file.
func (r *Report) Markdown(w io.Writer, figures map[string]string) {
	runs := 0
	for _, g := range r.Groups {
		runs += len(g.Runs)
	}
	fmt.Fprintf(w, "# MBPO report\n\n")
	fmt.Fprintf(w, "%d runs in %d groups under `%s`. Returns are eval/return_mean (deterministic policy). "+
		"Curves: mean over seeds with a %.0f%% percentile bootstrap band (%d resamples, seed %d).\n\n",
		runs, len(r.Groups), r.Root, 100*r.Bootstrap.Level, r.Bootstrap.Resamples, r.Bootstrap.Seed)

	fmt.Fprintf(w, "## Final return and sample efficiency\n\n")
	fmt.Fprintf(w, "Final return: mean ± std over seeds at the last env step every seed reached. "+
		"Env steps to the paper's return: the first evaluation, within those steps, at which the seed mean reaches the published MBPO return.\n\n")
	fmt.Fprintf(w, "| env | ablation | seeds | final return | at env steps | env steps to paper's return | published (MBPO) |\n")
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
	fmt.Fprintf(w, "\nPublished values are approximate, read off the paper's figures (../shared/reference/mbpo-hyperparameters.md).\n\n")

	if len(figures) > 0 {
		fmt.Fprintf(w, "## Learning curves\n\n")
		for _, env := range r.Envs() {
			if base, ok := figures[env]; ok {
				fmt.Fprintf(w, "![%s](%s.png)\n\n[%s.svg](%s.svg)\n\n", env, base, base, base)
			}
		}
	}

	fmt.Fprintf(w, "## Wall time and throughput\n\n")
	fmt.Fprintf(w, "| env | ablation | seed | env steps | wall time | env steps/s | SAC updates/s | run directory |\n")
	fmt.Fprintf(w, "|---|---|---|---|---|---|---|---|\n")
	for _, g := range r.Groups {
		for _, run := range g.Runs {
			of := fmt.Sprintf("%d", run.EnvSteps())
			if !run.Finished() {
				of = fmt.Sprintf("%d of %d", run.EnvSteps(), run.Config.Steps)
			}
			fmt.Fprintf(w, "| %s | %s | %d | %s | %s | %s | %s | `%s` |\n", g.Env, g.Label(), run.Seed, of,
				duration(run.Last().WallSec), number(run.StepsPerSec()), number(meanSACRate(run)), run.Dir)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "\n## Warnings\n\nLeft out of or flagged in the numbers above:\n\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(w, "- `%s`: %s\n", wn.File, wn.Msg)
		}
	}
}

// shorter counts the group's seeds that stop before its longest.
func shorter(g Group) int {
	n := 0
	for _, r := range g.Runs {
		if r.EnvSteps() < g.Curve.Longest {
			n++
		}
	}
	return n
}

// meanSACRate is the mean of perf/sac_updates_per_s over rows that did SAC
// updates.
func meanSACRate(r Run) float64 {
	var v []float64
	for _, m := range r.Rows {
		if m.SACUpdatesPerSec > 0 {
			v = append(v, m.SACUpdatesPerSec)
		}
	}
	mean, _ := MeanStd(v)
	return mean
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

// steps formats env steps: 125k for whole thousands, else the number.
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
