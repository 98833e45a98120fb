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
	"github.com/mbpogo/mbpo/rng"
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
func rolloutNets(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *trainer.Replay) (engine.Ensemble, engine.Agent, []int, error) {
	od, ad := spec.ObsDim, spec.ActDim
	es := engine.PaperEnsemble(od, ad, cfg.ModelHidden)
	es.Members = cfg.EnsembleSize
	es.Precision = engine.Precision(cfg.Precision)
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
	as := engine.PaperAgent(od, ad, float32(cfg.TargetEntropy))
	as.Hidden = []int{cfg.Hidden, cfg.Hidden}
	as.Precision = engine.Precision(cfg.Precision)
	ag, err := eng.NewAgent(as, cfg.Seed)
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

// benchRollout measures rounds rollout rounds on eng.
func benchRollout(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *trainer.Replay, batch, k, rounds int) (rolloutBenchResult, error) {
	ens, ag, elites, err := rolloutNets(eng, cfg, spec, real)
	if err != nil {
		return rolloutBenchResult{}, err
	}
	defer closeNet(ens)
	defer closeNet(ag)
	es, as := ens.Spec(), ag.Spec()
	res := rolloutBenchResult{
		Engine: eng.Name(), Env: spec.ID, Batch: batch, K: k, Members: es.Members, Elites: len(elites),
		ModelHidden: es.Hidden[0], PolicyHidden: as.Hidden[0], Rounds: rounds,
		Precision: cfg.Precision, Products: productsOf(eng, cfg.Precision),
		FLOPsPerStep: float64(as.Policy().FLOPs() + es.Net().FLOPs()),
	}
	var times []float64
	if re, ok := eng.(engine.Resident); ok {
		res.Path = "device rollouts: k steps replayed as one graph"
		if ce, ok := eng.(*cuda.Engine); ok {
			res.Machine = ce.Machine().Name()
		}
		times, err = benchDeviceRollouts(re, ens, ag, real, spec, cfg.Seed, elites, batch, k, rounds, &res)
	} else {
		res.Machine = "cpu"
		res.Path = "the trainer's rollout loop on the engine's Act and Predict"
		times, err = benchHostRollouts(ens, ag, real, spec, cfg.Seed, elites, batch, k, rounds, &res)
	}
	if err != nil {
		return res, err
	}
	res.RoundSec = median(times)
	res.ModelStepsPerSec = float64(res.StepsPerRound) / res.RoundSec
	res.GFLOPs = res.ModelStepsPerSec * res.FLOPsPerStep / 1e9
	return res, nil
}

// benchDeviceRollouts times device rollouts: a warm-up round (which records
// the graph), rounds timed rounds, then one profiled round for the split.
func benchDeviceRollouts(re engine.Resident, ens engine.Ensemble, ag engine.Agent, real *trainer.Replay, spec env.Spec, seed uint64,
	elites []int, batch, k, rounds int, res *rolloutBenchResult) ([]float64, error) {
	od, ad := spec.ObsDim, spec.ActDim
	dreal, err := re.NewTransitions(od, ad, real.Cap())
	if err != nil {
		return nil, err
	}
	defer dreal.Close()
	if err := appendReplay(dreal, real); err != nil {
		return nil, err
	}
	model, err := re.NewTransitions(od, ad, batch*k)
	if err != nil {
		return nil, err
	}
	defer model.Close()
	ro, err := re.NewRollouts(ens, ag, dreal, model, engine.RolloutConfig{Batch: batch, MaxK: k, Env: spec.ID, Seed: seed})
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	var times []float64
	for r := 0; r <= rounds; r++ {
		start := time.Now()
		st, err := ro.Run(elites, k, uint64(r))
		if err != nil {
			return nil, err
		}
		if r > 0 {
			times = append(times, time.Since(start).Seconds())
		}
		res.StepsPerRound = st.Steps
	}
	if p, ok := ro.(interface {
		Profile(elites []int, k int, call uint64) (cuda.RolloutStages, engine.RolloutResult, error)
	}); ok {
		st, _, err := p.Profile(elites, k, uint64(rounds+1))
		if err != nil {
			return nil, err
		}
		res.Split = map[string]float64{"start": st.Start, "policy": st.Policy, "ensemble": st.Ensemble,
			"sampling+termination": st.Sampling, "termination (alone)": st.Termination, "buffer writes": st.Buffer,
			"compaction": st.Compaction}
	}
	return times, nil
}

// benchHostRollouts times the trainer's rollout loop (trainer/rollout.go's
// step) stage by stage on the engine's Act and Predict.
func benchHostRollouts(ens engine.Ensemble, ag engine.Agent, real *trainer.Replay, spec env.Spec, seed uint64,
	elites []int, batch, k, rounds int, res *rolloutBenchResult) ([]float64, error) {
	od, ad := spec.ObsDim, spec.ActDim
	es := ens.Spec()
	in, outW := es.In, es.Out
	out := trainer.NewReplay(od, ad, batch*k)
	obs, act, x := make([]float32, batch*od), make([]float32, batch*ad), make([]float32, batch*in)
	mean, logvar, noise := make([]float32, batch*outW), make([]float32, batch*outW), make([]float32, batch*outW)
	next, rew, done := make([]float32, batch*od), make([]float32, batch), make([]float32, batch)
	members := make([]int32, batch)
	split := map[string]float64{}
	var times []float64
	for r := 0; r <= rounds; r++ {
		call := uint64(r)
		stage := map[string]float64{}
		lap := time.Now()
		mark := func(name string) {
			now := time.Now()
			stage[name] += now.Sub(lap).Seconds()
			lap = now
		}
		start := lap
		startKey := rng.Key{Seed: seed, Purpose: rng.RolloutStart, Step: call}
		for i := 0; i < batch; i++ {
			copy(obs[i*od:(i+1)*od], real.Obs(startKey.Intn(uint64(i), real.Len())))
		}
		mark("start")
		n, steps := batch, int64(0)
		for s := 0; s < k && n > 0; s++ {
			key := call<<16 | uint64(s)
			if err := ag.Act(obs[:n*od], n, false, rng.Key{Seed: seed, Purpose: rng.RolloutPolicy, Step: key}, act); err != nil {
				return nil, err
			}
			mark("policy")
			ek := rng.Key{Seed: seed, Purpose: rng.RolloutElite, Step: key}
			for i := 0; i < n; i++ {
				copy(x[i*in:], obs[i*od:(i+1)*od])
				copy(x[i*in+od:], act[i*ad:(i+1)*ad])
				members[i] = int32(elites[ek.Intn(uint64(i), len(elites))])
			}
			if err := ens.Predict(x, members, n, mean, logvar); err != nil {
				return nil, err
			}
			mark("ensemble")
			rng.Key{Seed: seed, Purpose: rng.RolloutNoise, Step: key}.FillNormal(noise[:n*outW])
			for i := 0; i < n; i++ {
				for j := 0; j < outW; j++ {
					o := i*outW + j
					v := mean[o] + float32(math.Exp(0.5*float64(logvar[o])))*noise[o]
					if j < od {
						next[i*od+j] = obs[i*od+j] + v
					} else {
						rew[i] = v
					}
				}
			}
			mark("sampling")
			for i := 0; i < n; i++ {
				done[i] = 0
				if spec.Terminal(obs[i*od:(i+1)*od], act[i*ad:(i+1)*ad], next[i*od:(i+1)*od]) {
					done[i] = 1
				}
			}
			mark("termination")
			out.Add(obs[:n*od], act[:n*ad], rew[:n], next[:n*od], done[:n])
			steps += int64(n)
			mark("buffer writes")
			live := 0
			for i := 0; i < n; i++ {
				if done[i] == 0 {
					copy(obs[live*od:(live+1)*od], next[i*od:(i+1)*od])
					live++
				}
			}
			n = live
			mark("compaction")
		}
		res.StepsPerRound = steps
		if r > 0 {
			times = append(times, time.Since(start).Seconds())
			for name, v := range stage {
				split[name] += v / float64(rounds)
			}
		}
	}
	res.Split = split
	return times, nil
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
