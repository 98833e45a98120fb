//go:build ignore

// compare.go: sets of Hopper-v4 runs in the paper's configuration side by
// side on the paper's axis (timesteps: env steps after the 5,000 random
// ones), for the checks that compare two builds or settings seed by seed:
// the fidelity issue's (docs/results/fidelity) and bf16 against fp32
// (docs/results/bf16). One set per directory given as LABEL=DIR (any tree
// of run directories, as mbpo report reads them). It writes into -out a
// figure of every run's evaluation return (-name, .png and .svg) and, to
// standard output, a Markdown table per set and seed: the mean evaluation
// return over windows of learning epochs, the return at chosen epochs, and
// over the same windows the model's mean elite holdout MSE, its retrain
// epochs and the critics' mean Q estimate. Run from the repository root
// (the compare.sh beside each result does):
//
//	go run docs/results/compare.go -out DIR -name NAME -title TITLE before=DIR1 after=DIR2 ...
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/report"
)

// window is a span of learning epochs, first to last, inclusive.
type window struct{ first, last int }

func main() {
	out := flag.String("out", "", "directory for the figure (required)")
	windows := flag.String("windows", "1-10,11-20,21-25", "windows of learning epochs for the means")
	at := flag.String("at", "20,25", "learning epochs at which to give the return")
	name := flag.String("name", "compare_Hopper-v4", "the figure's file name, without extension")
	title := flag.String("title", "Hopper-v4", "the figure's title")
	upto := flag.Int("upto", 0, "leave out learning epochs after this one (0: none)")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 || *upto < 0 {
		fmt.Fprintln(os.Stderr, "usage: go run docs/results/compare.go -out DIR [-name NAME] [-title TITLE] [-upto EPOCH] [-windows A-B,...] [-at E,...] LABEL=DIR ...")
		os.Exit(2)
	}
	var wins []window
	for _, w := range strings.Split(*windows, ",") {
		var a, b int
		if _, err := fmt.Sscanf(w, "%d-%d", &a, &b); err != nil || a < 1 || b < a {
			fail("-windows %q: want FIRST-LAST,... in learning epochs", *windows)
		}
		wins = append(wins, window{a, b})
	}
	var ats []int
	for _, s := range strings.Split(*at, ",") {
		var e int
		if _, err := fmt.Sscanf(s, "%d", &e); err != nil || e < 1 {
			fail("-at %q: want learning epochs, comma-separated", *at)
		}
		ats = append(ats, e)
	}

	fig := report.Figure{Title: *title, YLabel: "eval return (10 episodes)", LegendTopLeft: true}
	fmt.Printf("| set | seed | last epoch |")
	for _, w := range wins {
		fmt.Printf(" return, epochs %d–%d |", w.first, w.last)
	}
	for _, e := range ats {
		fmt.Printf(" return at %d |", e)
	}
	for _, w := range wins {
		fmt.Printf(" elites' MSE, %d–%d | retrain epochs, %d–%d | Q, %d–%d |", w.first, w.last, w.first, w.last, w.first, w.last)
	}
	fmt.Printf("\n|---|---|---|%s\n", strings.Repeat("---|", len(wins)*4+len(ats)))
	for si, arg := range flag.Args() {
		label, dir, ok := strings.Cut(arg, "=")
		if !ok {
			fail("%q: want LABEL=DIR", arg)
		}
		runs, warns, err := report.Load(dir, nil)
		if err != nil {
			fail("%s: %v", dir, err)
		}
		for _, w := range warns {
			fmt.Fprintln(os.Stderr, "warning:", w)
		}
		sort.Slice(runs, func(i, j int) bool { return runs[i].Seed < runs[j].Seed })
		for _, r := range runs {
			if r.Env != "Hopper-v4" || r.Config.EpochLength != 1000 {
				fail("%s: a run of %s with epochs of %d steps: this check is for Hopper-v4's 1,000", r.Dir, r.Env, r.Config.EpochLength)
			}
			byEpoch := map[int]trainer.Metrics{}
			l := report.Line{Label: fmt.Sprintf("%s, seed %d", label, r.Seed), Dashed: si%2 == 1}
			last := 0
			for _, m := range r.Rows {
				if t := r.Timesteps(m); t > 0 && t%1000 == 0 && (*upto == 0 || t/1000 <= *upto) {
					byEpoch[t/1000] = m
					last = max(last, t/1000)
					l.X, l.Y = append(l.X, float64(t)), append(l.Y, m.EvalReturnMean)
				}
			}
			fig.Lines = append(fig.Lines, l)
			fmt.Printf("| %s | %d | %d |", label, r.Seed, last)
			for _, w := range wins {
				fmt.Printf(" %s |", meanOver(byEpoch, w, func(m trainer.Metrics) float64 { return m.EvalReturnMean }, "%.0f"))
			}
			for _, e := range ats {
				if m, ok := byEpoch[e]; ok {
					fmt.Printf(" %.0f |", m.EvalReturnMean)
				} else {
					fmt.Printf(" — |")
				}
			}
			for _, w := range wins {
				fmt.Printf(" %s | %s | %s |", meanOver(byEpoch, w, elitesMSE, "%.4f"),
					meanOver(byEpoch, w, func(m trainer.Metrics) float64 { return float64(m.ModelEpochs) }, "%.1f"),
					meanOver(byEpoch, w, func(m trainer.Metrics) float64 { return m.QMean }, "%.0f"))
			}
			fmt.Println()
			if len(runs) > 0 {
				fig.XLabel = report.AxisNote(runs)
			}
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail("%v", err)
	}
	if _, err := fig.Save(filepath.Join(*out, *name)); err != nil {
		fail("%v", err)
	}
}

// meanOver formats the mean of value over the epochs of w that byEpoch
// has, with how many when not all ("—" for none).
func meanOver(byEpoch map[int]trainer.Metrics, w window, value func(trainer.Metrics) float64, format string) string {
	var v []float64
	for e := w.first; e <= w.last; e++ {
		if m, ok := byEpoch[e]; ok {
			if x := value(m); !math.IsNaN(x) {
				v = append(v, x)
			}
		}
	}
	if len(v) == 0 {
		return "—"
	}
	mean, _ := report.MeanStd(v)
	s := fmt.Sprintf(format, mean)
	if n := w.last - w.first + 1; len(v) < n {
		s += fmt.Sprintf(" (%d of %d)", len(v), n)
	}
	return s
}

// elitesMSE is the mean holdout MSE of a row's elites.
func elitesMSE(m trainer.Metrics) float64 {
	var v []float64
	for _, e := range m.ModelElites {
		if e >= 0 && e < len(m.ModelHoldoutMSE) {
			v = append(v, float64(m.ModelHoldoutMSE[e]))
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	mean, _ := report.MeanStd(v)
	return mean
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "compare: "+format+"\n", args...)
	os.Exit(1)
}
