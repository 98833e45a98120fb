// device.go: the model, rollout and SAC stages on an engine's own device.
// When the engine offers engine.Resident (the GPU engine does), the real and
// model buffers are mirrored in its memory and the three heavy stages run
// there with the same procedures and random numbers as ensemble.go,
// rollout.go and sac.go, so the loop in mbpo.go reads the same on any engine.
// The host keeps the real buffer too (checkpoints, the model-vs-real check).

package trainer

import (
	"errors"
	"fmt"

	"github.com/mbpogo/mbpo/engine"
)

// deviceStages holds the device buffers and stages of a run.
type deviceStages struct {
	re       engine.Resident
	real     engine.Transitions
	model    engine.Transitions // nil without a model
	rollouts engine.Rollouts    // nil without a model
	sac      engine.SACUpdates
}

// newDeviceStages mirrors t's buffers on re's device and prepares the stages.
func newDeviceStages(re engine.Resident, t *Trainer) (*deviceStages, error) {
	c := t.Cfg
	od, ad := t.spec.ObsDim, t.spec.ActDim
	d := &deviceStages{re: re}
	fail := func(err error) (*deviceStages, error) {
		d.Close()
		return nil, fmt.Errorf("GPU buffers and stages: %w", err)
	}
	real, err := re.NewTransitions(od, ad, c.ReplaySize)
	if err != nil {
		return fail(err)
	}
	d.real = real
	if t.model != nil {
		model, err := re.NewTransitions(od, ad, t.modelCapacity(t.k))
		if err != nil {
			return fail(err)
		}
		d.model = model
		maxK := c.RolloutLength
		if maxK == 0 {
			maxK = max(c.RolloutSchedule[2], c.RolloutSchedule[3])
		}
		cfg := engine.RolloutConfig{Batch: c.RolloutBatch, MaxK: maxK, Env: c.Env, Seed: c.Seed}
		ro, err := re.NewRollouts(t.model.Ens, t.agent, d.real, d.model, cfg)
		if err != nil {
			return fail(err)
		}
		d.rollouts = ro
	}
	sac, err := re.NewSACUpdates(t.agent, d.real, d.model, c.BatchSize, c.RealRatio, c.Seed)
	if err != nil {
		return fail(err)
	}
	d.sac = sac
	return d, nil
}

// Close frees the device buffers and stages.
func (d *deviceStages) Close() error {
	var errs []error
	if d.sac != nil {
		errs = append(errs, d.sac.Close())
	}
	if d.rollouts != nil {
		errs = append(errs, d.rollouts.Close())
	}
	for _, tr := range []engine.Transitions{d.model, d.real} {
		if tr != nil {
			errs = append(errs, tr.Close())
		}
	}
	return errors.Join(errs...)
}

// fit retrains the ensemble on the device copy of the real buffer.
func (d *deviceStages) fit(m *Model, st ModelSettings, seed, call uint64) (ModelStats, error) {
	r, err := d.re.Fit(m.Ens, d.real, engine.FitSettings{
		Batch: st.Batch, HoldoutRatio: st.HoldoutRatio, MaxHoldout: st.MaxHoldout, EarlyStop: st.EarlyStop,
		Improvement: st.Improvement, MaxEpochs: st.MaxEpochs, Elites: st.Elites, Seed: seed,
	}, call)
	if err != nil {
		return ModelStats{}, err
	}
	if !isFinite32(r.TrainLoss) {
		return ModelStats{}, fmt.Errorf("model training loss is %v (retrain %d): lower --model-lr or check the data", r.TrainLoss, call)
	}
	m.Elites = append([]int(nil), r.Elites...)
	return ModelStats{Epochs: r.Epochs, TrainLoss: r.TrainLoss, HoldoutMSE: r.HoldoutMSE, HoldoutNLL: r.HoldoutNLL, BestEpochs: r.BestEpochs,
		Elites: r.Elites, Rows: r.Rows, Train: r.Train, Holdout: r.Holdout}, nil
}

// rollout runs one round of rollouts into the device model buffer.
func (d *deviceStages) rollout(elites []int, k int, call uint64) (RolloutStats, error) {
	r, err := d.rollouts.Run(elites, k, call)
	if err != nil {
		return RolloutStats{}, err
	}
	st := RolloutStats{Started: r.Started, Steps: r.Steps, Finished: r.Finished}
	if r.Steps > 0 {
		st.MeanLen = float64(r.Steps) / float64(r.Started)
		st.MeanRew = r.RewardSum / float64(r.Steps)
	}
	return st, nil
}

// sacUpdates runs updates first..first+n-1 on the device and returns their
// mean statistics.
func (d *deviceStages) sacUpdates(first int64, n int) (engine.UpdateStats, error) {
	s, err := d.sac.Run(first, n)
	if err != nil {
		return engine.UpdateStats{}, err
	}
	k := float64(max(s.Updates, 1))
	return engine.UpdateStats{
		Q1Loss: float32(s.Q1Loss / k), Q2Loss: float32(s.Q2Loss / k), PolicyLoss: float32(s.PolicyLoss / k),
		AlphaLoss: float32(s.AlphaLoss / k), Alpha: float32(s.Alpha / k), Entropy: float32(s.Entropy / k), QMean: float32(s.QMean / k),
	}, nil
}

// download copies a device ring into a host Replay with the same physical
// layout, for checkpoints.
func download(tr engine.Transitions, od, ad int) (*Replay, error) {
	size, err := tr.Len()
	if err != nil {
		return nil, err
	}
	next, err := tr.Next()
	if err != nil {
		return nil, err
	}
	r := NewReplay(od, ad, tr.Cap())
	if err := tr.Rows(0, size, r.obs, r.act, r.rew, r.nextObs, r.done); err != nil {
		return nil, err
	}
	r.size, r.next = size, next
	return r, nil
}

// upload fills an empty device ring with a host Replay's rows in the same
// physical layout: the rows in ring order, then, for a full ring whose next
// row is p, rows 0..p-1 once more, which leaves the ring's next row at p.
func upload(tr engine.Transitions, r *Replay) error {
	od, ad := r.obsDim, r.actDim
	rows := func(from, to int) error {
		return tr.Append(r.obs[from*od:to*od], r.act[from*ad:to*ad], r.rew[from:to], r.nextObs[from*od:to*od], r.done[from:to])
	}
	if err := rows(0, r.size); err != nil {
		return err
	}
	if r.size == r.capacity && r.next > 0 {
		return rows(0, r.next)
	}
	return nil
}
