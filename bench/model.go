// model.go: one full retrain of the dynamics ensemble to early stop on
// random-policy transitions, with the trainer's own fit stage (stages.Fit,
// or the GPU engine's twin): wall time, epochs, rows/s and the holdout
// losses per member, which two engines should agree on (mbpo bench
// model-train).

package bench

import (
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// ModelTrainResult is what ModelTrain measures; mbpo bench model-train
// --json writes it.
type ModelTrainResult struct {
	Setup
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

// ModelTrain retrains cfg's ensemble once on real (random-policy data, see
// CollectRandom) with the run's own fit stage on eng and times it: the
// paper's holdout split, normalisation, bootstrap, minibatch epochs, early
// stopping on the holdout MSE (or cfg.ModelMaxEpochs) and elites.
func ModelTrain(eng engine.Engine, cfg trainer.Config, real *stages.Replay) (ModelTrainResult, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return ModelTrainResult{}, err
	}
	es, as := cfg.EnsembleSpec(spec.ObsDim, spec.ActDim), cfg.AgentSpec(spec.ObsDim, spec.ActDim)
	ens, err := eng.NewEnsemble(es, cfg.Seed)
	if err != nil {
		return ModelTrainResult{}, err
	}
	defer closeNet(ens)
	ag, err := eng.NewAgent(as, cfg.Seed)
	if err != nil {
		return ModelTrainResult{}, err
	}
	defer closeNet(ag)
	res := ModelTrainResult{Rows: real.Len(), Members: es.Members, Hidden: cfg.ModelHidden, Batch: cfg.ModelBatch}
	res.Setup, _ = setupOf(eng, cfg, spec, "stages.Fit through the engine's TrainStep and Evaluate",
		"device fit from the real buffer's ring, one recorded graph per epoch")
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
