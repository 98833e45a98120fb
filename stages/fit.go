// fit.go: the dynamics model stage (real buffer → ensemble). Fits the
// bootstrap ensemble to the real transitions with MBPO's procedure: a fresh
// holdout split, input normalisation, one bootstrap resample per member,
// minibatch epochs until the holdout MSE stops improving, every member put
// back to its best epoch's weights, and the elites.

package stages

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// dataset builds the model's inputs [s, a] and targets [s' - s, r] from rows
// of the replay buffer.
func dataset(spec engine.EnsembleSpec, buf *Replay, rows []int32) (x, y []float32) {
	in, out, od := spec.In, spec.Out, buf.obsDim
	x = make([]float32, len(rows)*in)
	y = make([]float32, len(rows)*out)
	for j, i := range rows {
		o, a, r, n, _ := buf.Row(int(i))
		copy(x[j*in:], o)
		copy(x[j*in+od:], a)
		for d := 0; d < od; d++ {
			y[j*out+d] = n[d] - o[d]
		}
		y[j*out+od] = r
	}
	return x, y
}

// Fit trains ens on every transition of buf and chooses the elites. call
// numbers the retrains of a run; with st.Seed it keys this retrain's random
// numbers.
func Fit(ens engine.Ensemble, buf *Replay, st engine.FitSettings, call uint64) (engine.FitResult, error) {
	n := buf.Len()
	spec := ens.Spec()
	E, in, out := spec.Members, spec.In, spec.Out
	if n < 2 {
		return engine.FitResult{}, fmt.Errorf("model: %d real transitions, need at least 2 to train", n)
	}
	if buf.obsDim+buf.actDim != in || buf.obsDim+1 != out {
		return engine.FitResult{}, fmt.Errorf("model: an ensemble of in %d, out %d on transitions of obs %d, act %d", in, out, buf.obsDim, buf.actDim)
	}

	// Fresh holdout split: a random permutation, the first nHold rows held out.
	perm := rng.NewStream(rng.Key{Seed: st.Seed, Purpose: rng.Holdout, Step: call}).Perm(n)
	nHold := min(int(float64(n)*st.HoldoutRatio), st.MaxHoldout)
	nHold = max(nHold, 1)
	nTrain := n - nHold
	xHold, yHold := dataset(spec, buf, perm[:nHold])
	xTrain, yTrain := dataset(spec, buf, perm[nHold:])

	// Input normalisation from the training rows.
	mean, std := columnStats(xTrain, in)
	ens.SetNormalizer(mean, std)

	// One bootstrap resample per member: nTrain rows drawn with replacement.
	boot := make([][]int32, E)
	bk := rng.Key{Seed: st.Seed, Purpose: rng.Bootstrap, Step: call}
	for e := range boot {
		boot[e] = make([]int32, nTrain)
		for i := range boot[e] {
			boot[e][i] = int32(bk.Intn(uint64(e*nTrain+i), nTrain))
		}
	}

	batch := min(st.Batch, nTrain)
	xb := make([]float32, E*batch*in)
	yb := make([]float32, E*batch*out)
	mse := make([]float32, E)
	nll := make([]float32, E)
	stop := engine.NewEarlyStop(E, st.Improvement, st.EarlyStop)
	stats := engine.FitResult{Train: nTrain, Holdout: nHold}
	for epoch := 0; st.MaxEpochs == 0 || epoch < st.MaxEpochs; epoch++ {
		// Each member visits its bootstrap rows in a new order every epoch.
		shuffle := rng.NewStream(rng.ShuffleKey(st.Seed, call, epoch))
		for e := range boot {
			shuffle.Shuffle(boot[e])
		}
		for start := 0; start < nTrain; start += batch {
			b := min(batch, nTrain-start)
			for e := 0; e < E; e++ {
				for r := 0; r < b; r++ {
					i := int(boot[e][start+r])
					copy(xb[(e*b+r)*in:(e*b+r+1)*in], xTrain[i*in:(i+1)*in])
					copy(yb[(e*b+r)*out:(e*b+r+1)*out], yTrain[i*out:(i+1)*out])
				}
			}
			loss, err := ens.TrainStep(xb[:E*b*in], yb[:E*b*out], b)
			if err != nil {
				return stats, err
			}
			if !isFinite32(loss) {
				return stats, fmt.Errorf("model training loss is %v at epoch %d (retrain %d): lower --model-lr or check the data", loss, epoch, call)
			}
			stats.TrainLoss = loss
			stats.Rows += int64(E * b)
		}
		stats.Epochs = epoch + 1
		if err := ens.Evaluate(xHold, yHold, nHold, mse, nll); err != nil {
			return stats, err
		}
		// Early stopping: any member improving its best holdout MSE by more
		// than st.Improvement (relative) resets the patience counter, and
		// its weights of this epoch are kept as its best.
		stopNow := stop.Stop(mse)
		if err := stop.Keep(ens, st.NoRestore); err != nil {
			return stats, err
		}
		if stopNow {
			break
		}
	}
	// Every member goes back to its best epoch's weights, and the elites
	// are ranked on the holdout MSE of those weights (bnn.py's _set_state
	// and _end_train); the no-restore ablation keeps the last epoch's.
	var err error
	if stats.BestEpochs, err = stop.Finish(ens, st.NoRestore); err != nil {
		return stats, err
	}
	if err := ens.Evaluate(xHold, yHold, nHold, mse, nll); err != nil {
		return stats, err
	}
	if err := engine.CheckHoldout(mse, call); err != nil {
		return stats, err
	}
	stats.HoldoutMSE = append([]float32(nil), mse...)
	stats.HoldoutNLL = append([]float32(nil), nll...)
	stats.Elites = engine.Elites(mse, st.Elites)
	return stats, nil
}

// columnStats returns the mean and standard deviation of each column of the
// row-major matrix x with width columns.
func columnStats(x []float32, width int) (mean, std []float32) {
	rows := len(x) / width
	sum := make([]float64, width)
	sq := make([]float64, width)
	for r := 0; r < rows; r++ {
		for c, v := range x[r*width : (r+1)*width] {
			sum[c] += float64(v)
		}
	}
	mean = make([]float32, width)
	std = make([]float32, width)
	for c := range sum {
		sum[c] /= float64(rows)
		mean[c] = float32(sum[c])
	}
	for r := 0; r < rows; r++ {
		for c, v := range x[r*width : (r+1)*width] {
			d := float64(v) - sum[c]
			sq[c] += d * d
		}
	}
	for c := range sq {
		std[c] = float32(math.Sqrt(sq[c] / float64(rows)))
	}
	return mean, std
}

func isFinite32(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
