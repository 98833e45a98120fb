package stages_test

import (
	"math"
	"slices"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
)

// worsening wraps an ensemble and, once member 0 has been evaluated after
// spoilAfter epochs (at its next training step), shifts the biases of its predicted mean by 2 so that it
// is worse from there on; it records member 0's holdout MSE at every Evaluate.
type worsening struct {
	engine.Ensemble
	spoilAfter int
	spoiled    bool
	evals      []float32
}

func (w *worsening) Evaluate(x, y []float32, n int, mse, nll []float32) error {
	err := w.Ensemble.Evaluate(x, y, n, mse, nll)
	w.evals = append(w.evals, mse[0])
	return err
}

// TrainStep spoils member 0 at the first step after spoilAfter epochs.
func (w *worsening) TrainStep(x, y []float32, batch int) (float32, error) {
	if len(w.evals) == w.spoilAfter && !w.spoiled {
		w.spoiled = true
		st := w.State()
		spans := w.Spec().MemberSpans(0)
		bias := spans[len(spans)-1][0] // the output layer's biases: mean, then log-variance
		for i := bias; i < bias+w.Spec().Out; i++ {
			st.Buffers["params"][i] += 2
		}
		if err := w.SetState(st); err != nil {
			return 0, err
		}
	}
	return w.Ensemble.TrainStep(x, y, batch)
}

// A member that got worse after its best epoch is deployed with its best
// epoch's weights, and the elites are ranked on the restored members.
func TestFitRestoresEachMembersBestEpoch(t *testing.T) {
	const obs, act, rows = 3, 1, 600
	buf := stages.NewReplay(obs, act, rows)
	key := rng.Key{Seed: 5, Purpose: rng.Init, Step: 77}
	for i := 0; i < rows; i++ {
		o := []float32{key.Normal(uint64(4 * i)), key.Normal(uint64(4*i + 1)), key.Normal(uint64(4*i + 2))}
		a := []float32{key.Normal(uint64(4*i + 3))}
		next := []float32{o[0] + 0.1*a[0], 0.9 * o[1], o[2] - 0.05*o[0]}
		buf.AddOne(o, a, o[0]-a[0], next, false)
	}
	spec := engine.PaperEnsemble(obs, act, 16)
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	ens, err := eng.NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	const spoil = 6
	w := &worsening{Ensemble: ens, spoilAfter: spoil}
	st := engine.FitSettings{Batch: 64, HoldoutRatio: 0.2, MaxHoldout: 5000, EarlyStop: 3, Improvement: 0.01, MaxEpochs: 20, Elites: 5, Seed: 1}
	stats, err := stages.Fit(w, buf, st, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(w.evals) != stats.Epochs+1 {
		t.Fatalf("%d holdout evaluations for %d epochs, want one per epoch and one after the restore", len(w.evals), stats.Epochs)
	}
	best, final := stats.BestEpochs[0], w.evals[stats.Epochs-1]
	if best < 0 || best >= spoil {
		t.Fatalf("member 0's best epoch %d, want before it was spoiled after epoch %d (holdout MSE per epoch %v)", best, spoil-1, w.evals)
	}
	if !(final > 1.05*w.evals[best]) {
		t.Fatalf("member 0 did not get worse after being spoiled: MSE per epoch %v", w.evals)
	}
	if math.Float32bits(stats.HoldoutMSE[0]) != math.Float32bits(w.evals[best]) {
		t.Errorf("member 0 deployed with holdout MSE %v; its best epoch %d had %v (last epoch %v)", stats.HoldoutMSE[0], best, w.evals[best], final)
	}
	for i := 1; i < len(stats.Elites); i++ {
		if stats.HoldoutMSE[stats.Elites[i]] < stats.HoldoutMSE[stats.Elites[i-1]] {
			t.Errorf("elites %v not ranked by the restored holdout MSEs %v", stats.Elites, stats.HoldoutMSE)
		}
	}
	t.Logf("member 0: holdout MSE per epoch %v, best epoch %d, best epochs %v", w.evals, best, stats.BestEpochs)

	// The no-restore ablation deploys the last epoch's weights: the same
	// retrain (same seed, same spoiling) ends with member 0 at its final,
	// worse MSE, and every member's epoch is the last.
	ens2, err := eng.NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	w2 := &worsening{Ensemble: ens2, spoilAfter: spoil}
	st.NoRestore = true
	last, err := stages.Fit(w2, buf, st, 0)
	if err != nil {
		t.Fatal(err)
	}
	if last.Epochs != stats.Epochs || !slices.Equal(w2.evals[:last.Epochs], w.evals[:stats.Epochs]) {
		t.Fatalf("without restore the retrain ran %d epochs (MSE %v), want the same %d as with it (%v)", last.Epochs, w2.evals, stats.Epochs, w.evals)
	}
	if math.Float32bits(last.HoldoutMSE[0]) != math.Float32bits(final) {
		t.Errorf("no restore: member 0 deployed with holdout MSE %v, want its last epoch's %v", last.HoldoutMSE[0], final)
	}
	for e, ep := range last.BestEpochs {
		if ep != last.Epochs-1 {
			t.Errorf("no restore: member %d at epoch %d, want the last, %d", e, ep, last.Epochs-1)
		}
	}
}
