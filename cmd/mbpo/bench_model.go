// bench_model.go: "mbpo bench model-train", one full retrain of the dynamics
// ensemble to early stop on random-policy transitions, with the trainer's
// own fit stage (stages.Fit, or the GPU engine's twin): wall time, epochs, rows/s and the
// holdout losses per member, which two engines should agree on.

package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// modelBenchResult is what bench model-train measures (--json).
type modelBenchResult struct {
	Engine     string    `json:"engine"`
	Machine    string    `json:"machine"`
	Path       string    `json:"path"`
	Precision  string    `json:"precision"`
	Products   string    `json:"products"`
	Env        string    `json:"env"`
	Rows       int       `json:"rows"` // real transitions
	Train      int       `json:"train_rows"`
	Holdout    int       `json:"holdout_rows"`
	Members    int       `json:"members"`
	Hidden     int       `json:"hidden"`
	Batch      int       `json:"batch"`
	Epochs     int       `json:"epochs"`
	Seconds    float64   `json:"seconds"`
	RowsPerSec float64   `json:"member_rows_per_sec"`
	GFLOPs     float64   `json:"gflops"` // 3 forward passes per trained row
	HoldoutMSE []float32 `json:"holdout_mse"`
	HoldoutNLL []float32 `json:"holdout_nll"`
	Elites     []int     `json:"elites"`
	TrainLoss  float32   `json:"train_loss"`
}

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
	res, err := benchModelTrain(b.eng, cfg, b.spec, b.real)
	if err != nil {
		return err
	}
	printModelBench(a, res)
	return writeJSON(bf.json, res)
}

// benchModelTrain retrains cfg's ensemble once on real with the run's own
// fit stage and times it.
func benchModelTrain(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *stages.Replay) (modelBenchResult, error) {
	es, as := cfg.EnsembleSpec(spec.ObsDim, spec.ActDim), cfg.AgentSpec(spec.ObsDim, spec.ActDim)
	ens, err := eng.NewEnsemble(es, cfg.Seed)
	if err != nil {
		return modelBenchResult{}, err
	}
	defer closeNet(ens)
	ag, err := eng.NewAgent(as, cfg.Seed)
	if err != nil {
		return modelBenchResult{}, err
	}
	defer closeNet(ag)
	res := modelBenchResult{Engine: eng.Name(), Machine: "cpu", Env: spec.ID, Rows: real.Len(), Members: es.Members,
		Hidden: cfg.ModelHidden, Batch: cfg.ModelBatch, Precision: cfg.Precision, Products: productsOf(eng, cfg.Precision)}
	res.Path = "stages.Fit through the engine's TrainStep and Evaluate"
	if ce, ok := eng.(*cuda.Engine); ok {
		res.Machine = ce.Machine().Name()
		res.Path = "device fit from the real buffer's ring, one recorded graph per epoch"
	}
	// The real buffer is loaded before the clock starts, as a run appends
	// it step by step.
	st, err := trainer.BenchStages(eng.NewStages, cfg, ens, ag, real, 1, 0)
	if err != nil {
		return res, err
	}
	defer st.Close()
	start := time.Now()
	fit, err := st.Fit(0)
	if err != nil {
		return res, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.Train, res.Holdout, res.Epochs = fit.Train, fit.Holdout, fit.Epochs
	res.RowsPerSec = float64(fit.Rows) / res.Seconds
	res.GFLOPs = res.RowsPerSec * 3 * float64(es.Net().FLOPs()) / 1e9
	res.HoldoutMSE, res.HoldoutNLL, res.Elites, res.TrainLoss = fit.HoldoutMSE, fit.HoldoutNLL, fit.Elites, fit.TrainLoss
	return res, nil
}

func printModelBench(a *app, r modelBenchResult) {
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
