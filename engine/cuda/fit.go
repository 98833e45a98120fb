// fit.go: the fit stage, the ensemble's retrain on the device from a ring of
// real transitions, with stages.Fit's procedure and random numbers.
// The data never leaves the device: the dataset is built from the ring in the
// holdout permutation's order, the normaliser is computed there, and each
// epoch (every minibatch's gather and training step, then the holdout
// evaluation) is one recorded graph, replayed epoch after epoch. The host
// keeps what is sequential by nature: the permutation and the per-epoch
// Fisher–Yates shuffles of the bootstrap rows (drawn while the device trains
// the previous epoch), and the early-stopping decision on the E holdout MSEs
// that come back after each epoch, with a device-to-device snapshot of the
// members that improved; at the end every member goes back to its snapshot
// and the holdout is evaluated once more on those weights.

package cuda

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
)

// fit trains ens on every transition of real as stages.Fit (its CPU twin) does.
// Non-finite losses are caught at the end of each epoch (from its last
// minibatch's loss) rather than after every minibatch.
func (e *Engine) fit(ens engine.Ensemble, real engine.Transitions, s engine.FitSettings, call uint64) (engine.FitResult, error) {
	var res engine.FitResult
	ce, ok1 := ens.(*ensemble)
	cr, ok2 := real.(*transitions)
	if !ok1 || !ok2 {
		return res, fmt.Errorf("cuda engine: Fit needs this engine's ensemble and ring")
	}
	spec, ring := ce.spec, cr.ring
	E, in, out := spec.Members, spec.In, spec.Out
	if ring.ObsDim+ring.ActDim != in || ring.ObsDim+1 != out {
		return res, fmt.Errorf("cuda engine: Fit of an ensemble of in %d, out %d on a ring of obs %d, act %d", in, out, ring.ObsDim, ring.ActDim)
	}
	if s.Batch < 1 || s.EarlyStop < 1 || s.Elites < 1 {
		return res, fmt.Errorf("cuda engine: Fit with batch %d, early stop %d, elites %d", s.Batch, s.EarlyStop, s.Elites)
	}
	n, err := cr.Len()
	if err != nil {
		return res, err
	}
	if n < 2 {
		return res, fmt.Errorf("model: %d real transitions, need at least 2 to train", n)
	}
	m := e.m

	// The holdout split: a permutation, the first nHold rows held out.
	perm := rng.NewStream(rng.Key{Seed: s.Seed, Purpose: rng.Holdout, Step: call}).Perm(n)
	nHold := max(min(int(float64(n)*s.HoldoutRatio), s.MaxHoldout), 1)
	nTrain := n - nHold
	res.Train, res.Holdout = nTrain, nHold
	batch := min(s.Batch, nTrain)
	if err := ce.trainScratch(batch); err != nil {
		return res, err
	}
	if err := ce.inferScratch(nHold); err != nil {
		return res, err
	}
	fit := arena{m: m}
	defer fit.release(0)
	idx, xAll, yAll := fit.floats(n), fit.floats(n*in), fit.floats(n*out)
	boot := fit.floats(E * nTrain)
	if fit.err != nil {
		return res, fit.err
	}
	if err := kernels.Upload(m, idx, perm); err != nil {
		return res, err
	}
	if err := kernels.ModelRows(m, xAll, yAll, ring, idx, n); err != nil {
		return res, err
	}
	xTrain, yTrain := at(xAll, nHold*in), at(yAll, nHold*out)
	if err := kernels.ColumnStats(m, ce.normMean, ce.normStd, xTrain, nTrain, in); err != nil {
		return res, err
	}

	// One bootstrap resample per member, then one recorded epoch.
	bk := rng.Key{Seed: s.Seed, Purpose: rng.Bootstrap, Step: call}
	rows := make([]int32, E*nTrain)
	for e := 0; e < E; e++ {
		for i := 0; i < nTrain; i++ {
			rows[e*nTrain+i] = int32(bk.Intn(uint64(e*nTrain+i), nTrain))
		}
	}
	var stepRows int64
	epoch, err := m.Capture(func() error {
		stepRows = 0
		for start := 0; start < nTrain; start += batch {
			b := min(batch, nTrain-start)
			if err := kernels.GatherBatch(m, ce.x, xTrain, boot, E, b, nTrain, start, in); err != nil {
				return err
			}
			if err := kernels.GatherBatch(m, ce.y, yTrain, boot, E, b, nTrain, start, out); err != nil {
				return err
			}
			if err := ce.queueTrainStep(b); err != nil {
				return err
			}
			stepRows += int64(E * b)
		}
		if err := kernels.Forward(m, ce.plan, ce.mean, ce.logvar, xAll, ce.params, ce.normMean, ce.normStd, nHold, 0); err != nil {
			return err
		}
		return kernels.GaussEval(m, ce.mse, ce.nll, ce.evalPart, ce.mean, ce.logvar, yAll, E, nHold, out)
	})
	if err != nil {
		return res, err
	}
	defer epoch.Close()

	mse, nll, loss := make([]float32, E), make([]float32, E), make([]float32, 1)
	stop := engine.NewEarlyStop(E, s.Improvement, s.EarlyStop)
	shuffle := func(ep int) {
		st := rng.NewStream(rng.ShuffleKey(s.Seed, call, ep))
		for e := 0; e < E; e++ {
			st.Shuffle(rows[e*nTrain : (e+1)*nTrain])
		}
	}
	shuffle(0)
	for ep := 0; s.MaxEpochs == 0 || ep < s.MaxEpochs; ep++ {
		if err := kernels.Upload(m, boot, rows); err != nil {
			return res, err
		}
		if err := epoch.Launch(); err != nil {
			return res, err
		}
		shuffle(ep + 1) // the next epoch's order, while this one trains
		if err := firstErr(kernels.Download(m, loss, ce.lossOut), kernels.Download(m, mse, ce.mse), kernels.Download(m, nll, ce.nll)); err != nil {
			return res, err
		}
		res.Epochs, res.TrainLoss, res.Rows = ep+1, loss[0], res.Rows+stepRows
		if math.IsNaN(float64(loss[0])) || math.IsInf(float64(loss[0]), 0) {
			return res, fmt.Errorf("model training loss is %v at epoch %d (retrain %d): lower --model-lr or check the data", loss[0], ep, call)
		}
		stopNow := stop.Stop(mse)
		if err := stop.Keep(ce, s.NoRestore); err != nil {
			return res, err
		}
		if stopNow {
			break
		}
	}
	// Every member back to its best epoch (unless the no-restore
	// ablation), its holdout MSE measured again.
	if res.BestEpochs, err = stop.Finish(ce, s.NoRestore); err != nil {
		return res, err
	}
	if err := firstErr(
		kernels.Forward(m, ce.plan, ce.mean, ce.logvar, xAll, ce.params, ce.normMean, ce.normStd, nHold, 0),
		kernels.GaussEval(m, ce.mse, ce.nll, ce.evalPart, ce.mean, ce.logvar, yAll, E, nHold, out),
		kernels.Download(m, mse, ce.mse), kernels.Download(m, nll, ce.nll)); err != nil {
		return res, err
	}
	if err := engine.CheckHoldout(mse, call); err != nil {
		return res, err
	}
	res.HoldoutMSE, res.HoldoutNLL = mse, nll
	res.Elites = engine.Elites(mse, s.Elites)
	return res, nil
}
