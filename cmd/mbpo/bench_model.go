// bench_model.go: "mbpo bench model-train", one full retrain of the dynamics
// ensemble to early stop on random-policy transitions (bench.ModelTrain):
// its flags and its printed table.

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
)

const benchModelAbout = `Retrains the dynamics ensemble once, to early stop, on --rows random-policy
transitions of --env with the paper's settings (holdout split, normalisation,
bootstrap, minibatch epochs, holdout MSE early stopping, elites), through the
trainer's own code: wall time, epochs, member-rows/s, and each member's
holdout MSE and NLL (two engines trained from the same data and seeds should
agree within 2%).`

func runBenchModelTrain(a *app, args []string) error {
	fs := a.newFlags("bench model-train", "[flags]", benchModelAbout)
	var bf engineBenchFlags
	bf.register(fs)
	rows := fs.Int("rows", 100000, "random-policy env steps to train on")
	hidden := fs.Int("hidden", 0, "model hidden units (0: the paper's for --env)")
	maxEpochs := fs.Int("max-epochs", 0, "stop after this many epochs even without early stopping (0: no cap)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *rows < 10 || *hidden < 0 || *maxEpochs < 0 {
		return usagef("want --rows >= 10, --hidden and --max-epochs >= 0, and no arguments")
	}
	cfg, err := bf.config()
	if err != nil {
		return err
	}
	if *hidden > 0 {
		cfg.ModelHidden = *hidden
	}
	cfg.ModelMaxEpochs = *maxEpochs
	b, err := bf.prepare(a, cfg, *rows)
	if err != nil {
		return err
	}
	defer b.close()
	b.log.Info().Str("engine", b.eng.Name()).Int("rows", *rows).Msg("retraining the ensemble to early stop")
	res, err := bench.ModelTrain(b.eng, cfg, b.real)
	if err != nil {
		return err
	}
	printModelBench(a, res)
	return writeJSON(bf.json, res)
}

func printModelBench(a *app, r bench.ModelTrainResult) {
	fmt.Fprintf(a.stdout, "%s, engine %s (%s): %d members × %d hidden, batch %d\n%s; %s\n\n", r.Env, r.Engine, r.Machine, r.Members, r.Hidden, r.Batch, r.Path, r.Products)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "rows (train / holdout)\t%d (%d / %d)\t\n", r.Rows, r.Train, r.Holdout)
	fmt.Fprintf(w, "retrain to early stop\t%.2f s, %d epochs\t\n", r.Seconds, r.Epochs)
	fmt.Fprintf(w, "member-rows/s\t%s (%.1f GFLOP/s)\t\n", human(r.RowsPerSec), r.GFLOPs)
	fmt.Fprintf(w, "holdout MSE by member\t%.5g\t\n", r.HoldoutMSE)
	fmt.Fprintf(w, "holdout NLL by member\t%.5g\t\n", r.HoldoutNLL)
	fmt.Fprintf(w, "elites, last train loss\t%v, %.5g\t\n", r.Elites, r.TrainLoss)
	w.Flush()
}
