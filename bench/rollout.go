// rollout.go: branched model rollouts at the paper's sizes (mbpo bench
// rollout): model steps/s, where the time goes and the achieved GFLOP/s, on
// the CPU engine (the host stages' rollout loop) or the GPU engine (device
// rollouts, k steps replayed as one graph).

package bench

import (
	"math"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// RolloutResult is what Rollouts measures; mbpo bench rollout --json
// writes it and torch_rollout.py writes the same core fields for PyTorch.
type RolloutResult struct {
	Setup
	Batch            int                `json:"batch"`
	K                int                `json:"k"`
	Members          int                `json:"members"`
	Elites           int                `json:"elites"`
	ModelHidden      int                `json:"model_hidden"`
	PolicyHidden     int                `json:"policy_hidden"`
	Rounds           int                `json:"rounds"`
	StepsPerRound    int64              `json:"steps_per_round"`
	RoundSec         float64            `json:"round_sec"` // median
	ModelStepsPerSec float64            `json:"model_steps_per_sec"`
	FLOPsPerStep     float64            `json:"flops_per_step"` // policy + one member's forward
	GFLOPs           float64            `json:"gflops"`
	Split            map[string]float64 `json:"split_sec"` // seconds per round by stage
}

// Rollouts measures rounds rounds of batch branched rollouts of k steps
// with the run's own rollout stage on eng, from states of real
// (random-policy data, see CollectRandom), with cfg's networks: a warm-up
// round (on the GPU it records the graph), rounds timed rounds, and on the
// GPU one profiled round for the split by stage. The model is untrained
// with its mean head zeroed, so every rollout runs all k steps.
func Rollouts(eng engine.Engine, cfg trainer.Config, real *stages.Replay, batch, k, rounds int) (RolloutResult, error) {
	spec, err := env.Lookup(cfg.Env)
	if err != nil {
		return RolloutResult{}, err
	}
	ens, ag, elites, err := rolloutNets(eng, cfg, spec, real)
	if err != nil {
		return RolloutResult{}, err
	}
	defer closeNet(ens)
	defer closeNet(ag)
	es, as := ens.Spec(), ag.Spec()
	res := RolloutResult{Batch: batch, K: k, Members: es.Members, Elites: len(elites),
		ModelHidden: es.Hidden[0], PolicyHidden: as.Hidden[0], Rounds: rounds,
		FLOPsPerStep: float64(as.Policy().FLOPs() + es.Net().FLOPs())}
	res.Setup, _ = setupOf(eng, cfg, spec, "stages.Rollouts.Run on the engine's Act and Predict",
		"device rollouts: k steps replayed as one graph")
	cfg.RolloutBatch = batch
	st, err := trainer.BenchStages(eng.NewStages, cfg, ens, ag, real, k, 0)
	if err != nil {
		return res, err
	}
	defer st.Close()
	var times []float64
	var policy, model float64
	for r := 0; r <= rounds; r++ {
		start := time.Now()
		rs, err := st.Rollout(elites, k, uint64(r))
		if err != nil {
			return res, err
		}
		if r > 0 {
			times = append(times, time.Since(start).Seconds())
			policy, model = policy+rs.PolicySec/float64(rounds), model+rs.ModelSec/float64(rounds)
		}
		res.StepsPerRound = rs.Steps
	}
	if policy+model > 0 { // the host stages time their policy and model passes
		res.Split = map[string]float64{"policy": policy, "ensemble, sampling and termination": model}
	}
	if p, ok := st.(interface {
		Profile(elites []int, k int, call uint64) (cuda.RolloutStages, engine.RolloutResult, error)
	}); ok {
		ps, _, err := p.Profile(elites, k, uint64(rounds+1))
		if err != nil {
			return res, err
		}
		res.Split = map[string]float64{"start": ps.Start, "policy": ps.Policy, "ensemble": ps.Ensemble,
			"sampling+termination": ps.Sampling, "termination (alone)": ps.Termination, "buffer writes": ps.Buffer,
			"compaction": ps.Compaction}
	}
	res.RoundSec = median(times)
	res.ModelStepsPerSec = float64(res.StepsPerRound) / res.RoundSec
	res.GFLOPs = res.ModelStepsPerSec * res.FLOPsPerStep / 1e9
	return res, nil
}

// rolloutNets builds cfg's ensemble (its mean head zeroed, log-variance
// bounded at -10, so predictions keep states healthy, and normalised over
// real's inputs) and agent on eng, and names every member up to cfg.Elites
// an elite.
func rolloutNets(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *stages.Replay) (engine.Ensemble, engine.Agent, []int, error) {
	od, ad := spec.ObsDim, spec.ActDim
	es := cfg.EnsembleSpec(od, ad)
	ens, err := eng.NewEnsemble(es, cfg.Seed)
	if err != nil {
		return nil, nil, nil, err
	}
	st := ens.State()
	p := st.Buffers["params"]
	net := es.Net()
	L := net.Layers()
	for i := es.Weight(L - 1); i < es.Bias(L-1); i++ {
		if (i-es.Weight(L-1))%(2*es.Out) < es.Out {
			p[i] = 0
		}
	}
	for j := 0; j < es.Out; j++ {
		p[es.MaxLogVar()+j] = -10
	}
	if err := ens.SetState(st); err != nil {
		closeNet(ens)
		return nil, nil, nil, err
	}
	x := make([]float32, real.Len()*es.In)
	for i := 0; i < real.Len(); i++ {
		o, a, _, _, _ := real.Row(i)
		copy(x[i*es.In:], o)
		copy(x[i*es.In+od:], a)
	}
	mean, std := make([]float32, es.In), make([]float32, es.In)
	for c := 0; c < es.In; c++ {
		var s, q float64
		for i := 0; i < real.Len(); i++ {
			s += float64(x[i*es.In+c])
		}
		s /= float64(real.Len())
		for i := 0; i < real.Len(); i++ {
			d := float64(x[i*es.In+c]) - s
			q += d * d
		}
		mean[c], std[c] = float32(s), float32(math.Sqrt(q/float64(real.Len())))
	}
	ens.SetNormalizer(mean, std)
	ag, err := eng.NewAgent(cfg.AgentSpec(od, ad), cfg.Seed)
	if err != nil {
		closeNet(ens)
		return nil, nil, nil, err
	}
	elites := make([]int, min(cfg.Elites, es.Members))
	for i := range elites {
		elites[i] = i
	}
	return ens, ag, elites, nil
}
