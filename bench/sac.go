// sac.go: SAC updates/s with the paper's networks (mbpo bench sac), through
// the run's own SAC stage: on the CPU engine the host stages' batcher and
// Agent.Update; on the GPU engine runs of G device updates (minibatches
// gathered on the device, the run replayed as one graph) and, for
// comparison, the host stages on the same networks.

package bench

import (
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// SACResult is what SAC measures; mbpo bench sac --json writes it and
// torch_sac.py writes the same core fields for PyTorch.
type SACResult struct {
	Setup
	Obs              int     `json:"obs"`
	Act              int     `json:"act"`
	Hidden           int     `json:"hidden"`
	Batch            int     `json:"batch"`
	Updates          int     `json:"updates"`
	G                int     `json:"g"` // updates per device run
	UpdatesPerSec    float64 `json:"updates_per_sec"`
	GFLOPs           float64 `json:"gflops"`
	InterfacePerSec  float64 `json:"interface_updates_per_sec,omitempty"` // GPU: through Agent.Update
	MeanQ1Loss       float64 `json:"mean_q1_loss"`
	FLOPsPerUpdate   float64 `json:"flops_per_update"`
	InterfaceUpdates int     `json:"interface_updates,omitempty"`
}

// SAC measures updates SAC updates (rounded up to whole runs of g) of cfg's
// agent on eng, on minibatches of batch rows of real (random-policy data,
// see CollectRandom), made by the run's own SAC stage with an empty model
// buffer (all rows real), g updates per call as a run makes them, after one
// warm-up call (on the GPU it records the graph). On the GPU engine it also
// times min(updates, 500) updates of the host stages on the same networks,
// one Agent.Update each.
func SAC(eng engine.Engine, cfg trainer.Config, real *stages.Replay, batch, updates, g int) (SACResult, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return SACResult{}, err
	}
	od, ad := spec.ObsDim, spec.ActDim
	as := cfg.AgentSpec(od, ad)
	ag, err := eng.NewAgent(as, cfg.Seed)
	if err != nil {
		return SACResult{}, err
	}
	defer closeNet(ag)
	res := SACResult{Obs: od, Act: ad, Hidden: cfg.Hidden, Batch: batch, FLOPsPerUpdate: SACFLOPs(as, batch)}
	var gpu bool
	res.Setup, gpu = setupOf(eng, cfg, spec, "stages' SAC batcher: Agent.Update on minibatches gathered on the host",
		"device runs of G updates: minibatches drawn on the device, each run replayed as one graph")
	cfg.BatchSize = batch
	timeUpdates := func(newStages trainer.StagesMaker, first int64, n, g int) (float64, float64, error) {
		st, err := trainer.BenchStages(newStages, cfg, nil, ag, real, 1, 0)
		if err != nil {
			return 0, 0, err
		}
		defer st.Close()
		var warm engine.UpdateSums
		if err := st.Update(first, g, &warm); err != nil { // on the GPU: records the graph
			return 0, 0, err
		}
		var sums engine.UpdateSums
		start := time.Now()
		for u := first + int64(g); u < first+int64(g+n); u += int64(g) {
			if err := st.Update(u, g, &sums); err != nil {
				return 0, 0, err
			}
		}
		return float64(sums.Updates) / time.Since(start).Seconds(), sums.Q1Loss / float64(sums.Updates), nil
	}
	runs := max(1, (updates+g-1)/g)
	res.Updates, res.G = runs*g, g
	if res.UpdatesPerSec, res.MeanQ1Loss, err = timeUpdates(eng.NewStages, 0, res.Updates, g); err != nil {
		return res, err
	}
	res.GFLOPs = res.UpdatesPerSec * res.FLOPsPerUpdate / 1e9
	if gpu {
		// The host stages on the same networks: one Agent.Update per update.
		res.InterfaceUpdates = min(updates, 500)
		res.InterfacePerSec, _, err = timeUpdates(stages.New, int64(res.Updates+g), res.InterfaceUpdates, 1)
	}
	return res, err
}

// SACFLOPs counts the floating-point operations of one SAC update of spec
// at batch size b: both critics forward and backward (a backward pass costs
// two forwards: 6·Fq), the target (policy forward on s' and both target
// critics: Fp + 2·Fq), the actor (policy forward and backward: 3·Fp; both
// critics forward and their input gradients: 4·Fq), with F the forward FLOPs
// per row of a network: 12·Fq + 4·Fp per row.
func SACFLOPs(spec engine.AgentSpec, b int) float64 {
	fq, fp := float64(spec.Critic().FLOPs()), float64(spec.Policy().FLOPs())
	return float64(b) * (12*fq + 4*fp)
}
