// bench_rollout.go: "mbpo bench rollout", branched model rollouts at the
// paper's sizes: model steps/s, where the time goes (policy, ensemble,
// sampling, termination, buffer writes, compaction) and the achieved
// GFLOP/s, on the CPU engine (the trainer's rollout loop, stage by stage) or
// the GPU engine (device rollouts, k steps replayed as one graph).

package main

import (
	"fmt"
	"math"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// median of positive durations, in seconds.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// rolloutBenchResult is what bench rollout measures; --json writes it and
// bench/torch_rollout.py writes the same core fields for PyTorch.
type rolloutBenchResult struct {
	Engine           string             `json:"engine"`
	Machine          string             `json:"machine"`
	Path             string             `json:"path"`
	Precision        string             `json:"precision"`
	Products         string             `json:"products"`
	Env              string             `json:"env"`
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

const benchRolloutAbout = `Measures one round of branched model rollouts with the paper's networks for
an environment: --batch rollouts of --k steps from real states (random-policy
env steps), the policy's stochastic action, a random elite per sample, its
Gaussian prediction, the termination rule, the model buffer's writes. The
model is untrained with its mean head zeroed, so every rollout runs all k
steps: a round is exactly batch × k model steps. The CPU engine runs the
trainer's rollout loop; the GPU engine runs device rollouts, the k steps
replayed as one graph. Prints model steps/s, the time split by stage and the
achieved GFLOP/s (policy plus one member's forward per step).`

func runBenchRollout(a *app, args []string) error {
	fs := a.newFlags("bench rollout", "[flags]", benchRolloutAbout)
	var bf engineBenchFlags
	bf.register(fs)
	batch := fs.Int("batch", 100000, "rollouts per round")
	k := fs.Int("k", 15, "rollout length")
	hidden := fs.Int("hidden", 0, "model hidden units (0: the paper's for --env)")
	rounds := fs.Int("rounds", 3, "timed rounds (after one warm-up round)")
	realRows := fs.Int("real", 5000, "random-policy env steps the start states come from")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch < 1 || *k < 1 || *rounds < 1 || *realRows < 1 || *hidden < 0 {
		return usagef("want --batch, --k, --rounds, --real >= 1, --hidden >= 0 and no arguments")
	}
	cfg, err := bf.config()
	if err != nil {
		return err
	}
	if *hidden > 0 {
		cfg.ModelHidden = *hidden
	}
	b, err := bf.prepare(a, cfg, *realRows)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := benchRollout(b.eng, cfg, b.spec, b.real, *batch, *k, *rounds)
	if err != nil {
		return err
	}
	printRolloutBench(a, res)
	return writeJSON(bf.json, res)
}

// rolloutNets builds cfg's ensemble (its mean head zeroed, log-variance
// bounded at -10, so predictions keep states healthy) and agent on eng.
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

// benchRollout measures rounds rollout rounds of the run's own rollout
// stage on eng: a warm-up round (on the GPU it records the graph), rounds
// timed rounds, and on the GPU one profiled round for the split.
func benchRollout(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *stages.Replay, batch, k, rounds int) (rolloutBenchResult, error) {
	ens, ag, elites, err := rolloutNets(eng, cfg, spec, real)
	if err != nil {
		return rolloutBenchResult{}, err
	}
	defer closeNet(ens)
	defer closeNet(ag)
	es, as := ens.Spec(), ag.Spec()
	res := rolloutBenchResult{
		Engine: eng.Name(), Machine: "cpu", Env: spec.ID, Batch: batch, K: k, Members: es.Members, Elites: len(elites),
		ModelHidden: es.Hidden[0], PolicyHidden: as.Hidden[0], Rounds: rounds,
		Precision: cfg.Precision, Products: productsOf(eng, cfg.Precision),
		FLOPsPerStep: float64(as.Policy().FLOPs() + es.Net().FLOPs()),
		Path:         "stages.Rollouts.Run on the engine's Act and Predict",
	}
	if ce, ok := eng.(*cuda.Engine); ok {
		res.Machine, res.Path = ce.Machine().Name(), "device rollouts: k steps replayed as one graph"
	}
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

func printRolloutBench(a *app, r rolloutBenchResult) {
	fmt.Fprintf(a.stdout, "%s, engine %s (%s)\n%s; %s\n", r.Env, r.Engine, r.Machine, r.Path, r.Products)
	fmt.Fprintf(a.stdout, "%d rollouts × k %d, %d members (%d elites) × %d hidden, policy %d hidden\n\n",
		r.Batch, r.K, r.Members, r.Elites, r.ModelHidden, r.PolicyHidden)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "model steps per round\t%d\t\n", r.StepsPerRound)
	fmt.Fprintf(w, "round (median of %d)\t%.4f s\t\n", r.Rounds, r.RoundSec)
	fmt.Fprintf(w, "model steps/s\t%s\t\n", human(r.ModelStepsPerSec))
	fmt.Fprintf(w, "achieved\t%.1f GFLOP/s (%.0f FLOP per step)\t\n", r.GFLOPs, r.FLOPsPerStep)
	names := make([]string, 0, len(r.Split))
	for name := range r.Split {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %s\t%.4f s\t\n", name, r.Split[name])
	}
	w.Flush()
}
