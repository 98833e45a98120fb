// ensemble.go: the dynamics model stage (real buffer → ensemble). Fits the
// bootstrap ensemble to the real transitions with MBPO's procedure: a fresh
// holdout split, input normalisation, one bootstrap resample per member,
// minibatch epochs until the holdout MSE stops improving, every member put
// back to its best epoch's weights, and the elites.

package trainer

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// Model is the learned dynamics: an engine ensemble predicting [Δs, r] from
// [s, a], and the elite members used for rollouts.
type Model struct {
	Ens    engine.Ensemble
	Spec   engine.EnsembleSpec
	Elites []int // member ids, best holdout MSE first

	obsDim, actDim int
	seed           uint64
}

// ModelSettings are the training settings of Model.Train.
type ModelSettings struct {
	Batch        int     // minibatch rows per member (256)
	HoldoutRatio float64 // share of the data held out (0.2)
	MaxHoldout   int     // cap on the holdout size (5000)
	EarlyStop    int     // stop once more than this many epochs in a row bring no > Improvement gain (5)
	Improvement  float64 // relative holdout gain that counts (0.01)
	MaxEpochs    int     // 0: no cap
	Elites       int     // members kept for rollouts (5)
}

// ModelStats reports one retrain.
type ModelStats struct {
	Epochs     int       // training epochs run
	TrainLoss  float32   // training loss of the last minibatch
	HoldoutMSE []float32 // per member, with its best epoch's weights
	HoldoutNLL []float32 // per member, with its best epoch's weights
	BestEpochs []int     // per member, the epoch (0-based) whose weights it was restored to
	Elites     []int     // chosen elites, best first
	Rows       int64     // member-rows trained on (for throughput)
	Train      int       // training rows
	Holdout    int       // holdout rows
}

// NewModel creates an untrained model on eng.
func NewModel(eng engine.Engine, spec engine.EnsembleSpec, obsDim, actDim int, seed uint64) (*Model, error) {
	ens, err := eng.NewEnsemble(spec, seed)
	if err != nil {
		return nil, err
	}
	elites := make([]int, spec.Members)
	for i := range elites {
		elites[i] = i
	}
	return &Model{Ens: ens, Spec: spec, Elites: elites, obsDim: obsDim, actDim: actDim, seed: seed}, nil
}

// dataset builds the model's inputs [s, a] and targets [s' - s, r] from rows
// of the replay buffer.
func (m *Model) dataset(buf *Replay, rows []int32) (x, y []float32) {
	in, out := m.Spec.In, m.Spec.Out
	x = make([]float32, len(rows)*in)
	y = make([]float32, len(rows)*out)
	for j, i := range rows {
		o, a, r, n, _ := buf.Row(int(i))
		copy(x[j*in:], o)
		copy(x[j*in+m.obsDim:], a)
		for d := 0; d < m.obsDim; d++ {
			y[j*out+d] = n[d] - o[d]
		}
		y[j*out+m.obsDim] = r
	}
	return x, y
}

// Train fits the ensemble to every transition of buf. call numbers the
// retrains of a run; it keys this retrain's random numbers.
func (m *Model) Train(buf *Replay, st ModelSettings, call uint64) (ModelStats, error) {
	n := buf.Len()
	E, in, out := m.Spec.Members, m.Spec.In, m.Spec.Out
	if n < 2 {
		return ModelStats{}, fmt.Errorf("model: %d real transitions, need at least 2 to train", n)
	}

	// Fresh holdout split: a random permutation, the first nHold rows held out.
	perm := rng.NewStream(rng.Key{Seed: m.seed, Purpose: rng.Holdout, Step: call}).Perm(n)
	nHold := min(int(float64(n)*st.HoldoutRatio), st.MaxHoldout)
	nHold = max(nHold, 1)
	nTrain := n - nHold
	xHold, yHold := m.dataset(buf, perm[:nHold])
	xTrain, yTrain := m.dataset(buf, perm[nHold:])

	// Input normalisation from the training rows.
	mean, std := columnStats(xTrain, in)
	m.Ens.SetNormalizer(mean, std)

	// One bootstrap resample per member: nTrain rows drawn with replacement.
	boot := make([][]int32, E)
	bk := rng.Key{Seed: m.seed, Purpose: rng.Bootstrap, Step: call}
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
	stats := ModelStats{Train: nTrain, Holdout: nHold}
	for epoch := 0; st.MaxEpochs == 0 || epoch < st.MaxEpochs; epoch++ {
		// Each member visits its bootstrap rows in a new order every epoch.
		shuffle := rng.NewStream(rng.Key{Seed: m.seed, Purpose: rng.ModelShuffle, Step: call<<20 | uint64(epoch)})
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
			loss, err := m.Ens.TrainStep(xb[:E*b*in], yb[:E*b*out], b)
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
		if err := m.Ens.Evaluate(xHold, yHold, nHold, mse, nll); err != nil {
			return stats, err
		}
		// Early stopping: any member improving its best holdout MSE by more
		// than st.Improvement (relative) resets the patience counter, and
		// its weights of this epoch are kept as its best.
		stopNow := stop.Stop(mse)
		if err := m.Ens.SaveMembers(stop.Improved()); err != nil {
			return stats, err
		}
		if stopNow {
			break
		}
	}
	// Every member goes back to its best epoch's weights, and the elites
	// are ranked on the holdout MSE of those weights (bnn.py's _set_state
	// and _end_train).
	var err error
	if stats.BestEpochs, err = stop.Restore(m.Ens); err != nil {
		return stats, err
	}
	if err := m.Ens.Evaluate(xHold, yHold, nHold, mse, nll); err != nil {
		return stats, err
	}
	if err := engine.CheckHoldout(mse, call); err != nil {
		return stats, err
	}
	stats.HoldoutMSE = append([]float32(nil), mse...)
	stats.HoldoutNLL = append([]float32(nil), nll...)
	m.Elites = engine.Elites(mse, st.Elites)
	stats.Elites = append([]int(nil), m.Elites...)
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
