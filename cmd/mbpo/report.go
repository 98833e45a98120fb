// report.go: "mbpo report", learning curves and tables from a directory of
// runs.

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/mbpogo/mbpo/trainer/report"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

const reportAbout = `Reads the runs under DIR (the --out directory of mbpo sweep, or any directory
holding mbpo train run directories; metrics.jsonl, or metrics.csv where it is
the only one) and writes into --out (default DIR/report), everything on the
paper's axis: timesteps, the env steps after the run's random ones (--init-steps),
as the MBPO authors count them; rows inside the random phase are left out.

  curves_ENV.png, .svg  eval return against timesteps per environment: the mean
                        over seeds with a 95% percentile bootstrap band, one
                        line per ablation, the published MBPO result as a
                        reference point
  time_ENV.png, .svg    seconds per epoch against timesteps, one line per seed
                        (the cost growth of a run)
  report.md             final return (mean ± std over seeds) and timesteps to
                        reach the paper's return per environment and ablation,
                        beside the published values; wall time and env steps/s
                        per run; the warnings. Files are named relative to DIR.

It also prints report.md. Partial, corrupt or mismatched inputs are warnings
naming the file (on stderr and in report.md) and are left out of the means.`

func runReport(a *app, args []string) error {
	fs := a.newFlags("report", "[flags] DIR", reportAbout)
	out := fs.String("out", "", "directory for the figures and report.md (default DIR/report)")
	resamples := fs.Int("resamples", 1000, "bootstrap resamples per point of the band")
	seed := fs.Uint64("seed", 1, "seed of the bootstrap")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one DIR, got %d arguments", fs.NArg())
	}
	if *resamples < 1 {
		return usagef("--resamples %d: want >= 1", *resamples)
	}
	dir := fs.Arg(0)
	if *out == "" {
		*out = filepath.Join(dir, "report")
	}
	opt := report.Options{Bootstrap: report.Bootstrap{Resamples: *resamples, Level: 0.95, Seed: *seed}}
	// A sweep's record names the cells that should be there.
	if _, err := os.Stat(filepath.Join(dir, sweep.RecordFile)); err == nil {
		rec, err := sweep.ReadRecord(dir)
		if err != nil {
			fmt.Fprintf(a.stderr, "warning: %v (reporting on the runs found instead)\n", err)
		} else {
			opt.Expected = rec.Dirs()
		}
	}
	r, err := report.Build(dir, opt)
	if err != nil {
		return err
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(a.stderr, "warning: %s\n", w)
	}
	if len(r.Groups) == 0 {
		return fmt.Errorf("no usable runs under %s: want run directories with config.json and metrics.jsonl (mbpo sweep or mbpo train)", dir)
	}
	files, err := r.Write(*out)
	if err != nil {
		return err
	}
	r.Markdown(a.stdout, nil)
	fmt.Fprintf(a.stderr, "wrote %d files into %s\n", len(files), *out)
	return nil
}
