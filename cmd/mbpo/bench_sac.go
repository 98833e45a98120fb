// bench_sac.go: "mbpo bench sac", SAC updates/s with the paper's networks at
// batch 256 (bench.SAC): its flags and its printed table.

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
)

const benchSACAbout = `Measures SAC updates (both critics, actor, temperature, targets) with the
paper's networks for --env on minibatches of --batch random-policy
transitions: updates/s and the achieved GFLOP/s. The GPU engine runs them as
the trainer's resident path would (G updates of one env step, minibatches
drawn on the device, replayed as one graph) and also through Agent.Update.`

func runBenchSAC(a *app, args []string) error {
	fs := a.newFlags("bench sac", "[flags]", benchSACAbout)
	var bf engineBenchFlags
	bf.register(fs)
	batch := fs.Int("batch", 256, "minibatch rows")
	updates := fs.Int("updates", 2000, "timed updates (after warm-up)")
	g := fs.Int("g", 20, "updates per device run (the G of one env step)")
	hidden := fs.Int("hidden", 0, "policy and critic hidden units (0: the paper's 256)")
	realRows := fs.Int("real", 5000, "random-policy env steps the minibatches are drawn from")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch < 1 || *updates < 1 || *g < 1 || *hidden < 0 || *realRows < 1 {
		return usagef("want --batch, --updates, --g, --real >= 1, --hidden >= 0 and no arguments")
	}
	cfg, err := bf.config()
	if err != nil {
		return err
	}
	if *hidden > 0 {
		cfg.Hidden = *hidden
	}
	b, err := bf.prepare(a, cfg, *realRows)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := bench.SAC(b.eng, cfg, b.real, *batch, *updates, *g)
	if err != nil {
		return err
	}
	printSACBench(a, res)
	return writeJSON(bf.json, res)
}

func printSACBench(a *app, r bench.SACResult) {
	fmt.Fprintf(a.stdout, "%s, engine %s (%s): policy and critics %d hidden, obs %d, act %d, batch %d\n%s; %s\n\n",
		r.Env, r.Engine, r.Machine, r.Hidden, r.Obs, r.Act, r.Batch, r.Path, r.Products)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "SAC updates/s\t%s (%d timed)\t\n", human(r.UpdatesPerSec), r.Updates)
	fmt.Fprintf(w, "achieved\t%.1f GFLOP/s (%.3g FLOP per update)\t\n", r.GFLOPs, r.FLOPsPerUpdate)
	if r.InterfacePerSec > 0 {
		fmt.Fprintf(w, "through Agent.Update\t%s updates/s (%d timed)\t\n", human(r.InterfacePerSec), r.InterfaceUpdates)
	}
	fmt.Fprintf(w, "mean critic 1 loss\t%.4g\t\n", r.MeanQ1Loss)
	w.Flush()
}
