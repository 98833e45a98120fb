// analyze.go: "mbpo analyze", the paper's analyses of one saved run:
// compounding model error against rollout horizon, and model exploitation;
// and the model buffer against the real one.

package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/mbpogo/mbpo/trainer/report"
)

// analysis is one "mbpo analyze WHAT".
type analysis struct {
	name, short, about string
	run                func(a *app, args []string) error
}

func analyses() []analysis {
	return []analysis{
		{"compounding-error", "the saved model's open-loop error against rollout horizon on fresh real episodes", compoundingAbout, runCompounding},
		{"exploitation", "the policy's return under the model against its real return over training", exploitationAbout, runExploitation},
		{"buffers", "the model buffer's transitions against the real buffer's: rewards, terminations, state ranges", buffersAbout, runBuffers},
	}
}

func runAnalyze(a *app, args []string) error {
	var names []string
	for _, an := range analyses() {
		names = append(names, an.name)
		if len(args) > 0 && args[0] == an.name {
			return an.run(a, args[1:])
		}
	}
	fmt.Fprintf(a.stderr, "Usage: mbpo analyze WHAT [flags] RUN_DIR\n\nAnalyses:\n\n")
	for _, an := range analyses() {
		fmt.Fprintf(a.stderr, "\t%-18s %s\n", an.name, an.short)
	}
	fmt.Fprintf(a.stderr, "\nRun 'mbpo analyze WHAT -h' for its flags.\n")
	if len(args) == 0 {
		return usagef("missing analysis name")
	}
	if args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		return nil
	}
	return usagef("unknown analysis %q (want %s)", args[0], strings.Join(names, " or "))
}

const compoundingAbout = `Loads the ensemble and policy saved in RUN_DIR's checkpoint onto the CPU
engine, collects --episodes fresh episodes of the policy (deterministic
actions) in the real environment, and from every --stride-th step of each rolls
the model open loop for h = 1..--horizon steps with the recorded real actions,
feeding back its own predictions (the mean of the elites' mean predictions of
Δs, no sampling). The error at h is the squared difference to the real
observation, averaged over its dimensions. Prints the table and writes
compounding_error.png and .svg into --out (default RUN_DIR/analysis).`

func runCompounding(a *app, args []string) error {
	fs := a.newFlags("analyze compounding-error", "[flags] RUN_DIR", compoundingAbout)
	episodes := fs.Int("episodes", 5, "held-out real episodes")
	horizon := fs.Int("horizon", 20, "longest open-loop rollout")
	stride := fs.Int("stride", 1, "start a rollout every N steps of each episode")
	seed := fs.Uint64("seed", 1, "seed of the episodes' reset noise")
	threads := fs.Int("threads", 0, "CPU engine threads (0: all)")
	out := fs.String("out", "", "directory for the figure (default RUN_DIR/analysis)")
	var lf logFlags
	lf.register(fs)
	runDir, err := parseRunDir(fs, args)
	if err != nil {
		return err
	}
	if *episodes < 1 || *horizon < 1 || *stride < 1 {
		return usagef("--episodes, --horizon and --stride: want >= 1")
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	eng, err := selectEngine("cpu", *threads, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	ce, err := report.CompoundingErrorOf(runDir, eng, report.CompoundingOptions{Episodes: *episodes, Horizon: *horizon, Stride: *stride, Seed: *seed})
	if err != nil {
		return err
	}
	report.WriteCompoundingTable(a.stdout, ce)
	return writeFigure(a, analysisDir(runDir, *out), func(base string) ([]string, error) {
		return report.PlotCompoundingError(ce, filepath.Join(base, "compounding_error"))
	})
}

const exploitationAbout = `Reads exploit/model_return_mean and exploit/real_return_mean from RUN_DIR's
metrics.jsonl: each epoch, the deterministic policy's return under the model
and in the real environment from the same start states over the run's
--model-return-horizon steps. Prints them with the mean ratio (mean model
return / mean real return; below 1 the model underestimates) and writes
exploitation.png and .svg into --out (default RUN_DIR/analysis).`

func runExploitation(a *app, args []string) error {
	fs := a.newFlags("analyze exploitation", "[flags] RUN_DIR", exploitationAbout)
	out := fs.String("out", "", "directory for the figure (default RUN_DIR/analysis)")
	runDir, err := parseRunDir(fs, args)
	if err != nil {
		return err
	}
	ex, err := report.ExploitationOf(runDir)
	if err != nil {
		return err
	}
	report.WriteExploitationTable(a.stdout, ex)
	return writeFigure(a, analysisDir(runDir, *out), func(base string) ([]string, error) {
		return report.PlotExploitation(ex, filepath.Join(base, "exploitation"))
	})
}

const buffersAbout = `Reads the real and the model buffer of RUN_DIR's checkpoint and prints, for
each, the termination rate and the reward distribution; then how many model
transitions have a next state outside the range the real next states span
(per dimension and in all), and the largest |s' - s| per dimension in each.
Where the critics overestimate (health/q_ratio) or the policy's return under
the model runs far from its real return, this says whether the model's
transitions look like the real ones. Needs a checkpoint that holds the model
buffer (see --checkpoint-model-buffer-mib).`

func runBuffers(a *app, args []string) error {
	fs := a.newFlags("analyze buffers", "[flags] RUN_DIR", buffersAbout)
	runDir, err := parseRunDir(fs, args)
	if err != nil {
		return err
	}
	c, err := report.CompareBuffersOf(runDir)
	if err != nil {
		return err
	}
	report.WriteBufferTable(a.stdout, c)
	return nil
}

// parseRunDir parses the flags and the one RUN_DIR argument.
func parseRunDir(fs *flag.FlagSet, args []string) (string, error) {
	if err := parse(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() != 1 {
		return "", usagef("want exactly one RUN_DIR, got %d arguments", fs.NArg())
	}
	return fs.Arg(0), nil
}

func analysisDir(runDir, out string) string {
	if out != "" {
		return out
	}
	return filepath.Join(runDir, "analysis")
}

// writeFigure creates dir and saves a figure into it.
func writeFigure(a *app, dir string, save func(dir string) ([]string, error)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files, err := save(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "wrote %s\n", strings.Join(files, ", "))
	return nil
}
