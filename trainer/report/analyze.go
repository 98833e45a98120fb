// analyze.go: the paper's analyses of a saved run (mbpo analyze; analysis.go
// draws and tabulates them). Compounding error: the saved ensemble's
// open-loop prediction error against rollout horizon on fresh real
// trajectories of the saved policy. Exploitation: the policy's return under
// the model against its real return over training. Both read the run only
// through trainer's exported API: the checkpoint's networks
// (trainer.ReadNetworks) and the metrics rows (trainer.ReadMetrics).

package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// Trajectory is one real episode: observations [Steps+1][obs] (the reset
// observation first) and the policy's actions [Steps][act] in [-1, 1], as
// the model sees them.
type Trajectory struct {
	Obs   []float32
	Act   []float32
	Steps int
}

// CompoundingOptions configure CompoundingErrorOf.
type CompoundingOptions struct {
	Episodes int    // held-out real episodes (5)
	Horizon  int    // longest open-loop rollout H (20)
	Stride   int    // a rollout starts every Stride steps of each episode (1)
	Seed     uint64 // reset noise of the episodes (rng.Eval streams of this seed, one per episode)
}

// CompoundingError is the model's open-loop prediction error against
// rollout horizon. For each start step t of each held-out episode and each
// horizon h, the model predicts s_{t+h} from s_t and the recorded real
// actions a_t … a_{t+h-1}, feeding back its own predictions; the error is
// the mean over observation dimensions of the squared difference to the
// real s_{t+h}. The prediction is deterministic: at every step the mean of
// the elites' predicted means of Δs (no sampling).
type CompoundingError struct {
	Env        string
	EnvSteps   int    // env steps of the checkpoint
	Elites     []int  // the elites averaged
	Prediction string // how the model predicts, in words
	Episodes   []int  // steps of each held-out episode
	Horizon    []int  // 1..H
	Mean       []float64
	Median     []float64
	P25, P75   []float64
	N          []int // rollouts reaching horizon h (their real episode lasts long enough)
}

// CompoundingErrorOf measures the compounding error of the ensemble saved in
// runDir's checkpoint, on eng, with fresh episodes of the saved policy
// (deterministic actions) in the real environment.
func CompoundingErrorOf(runDir string, eng engine.Engine, o CompoundingOptions) (CompoundingError, error) {
	var ce CompoundingError
	if o.Episodes < 1 || o.Horizon < 1 || o.Stride < 1 {
		return ce, fmt.Errorf("compounding error: want at least 1 episode, horizon 1 and stride 1 (got %d, %d, %d)", o.Episodes, o.Horizon, o.Stride)
	}
	path := filepath.Join(runDir, rundir.CheckpointFile)
	nets, err := trainer.ReadNetworks(runDir)
	if err != nil {
		return ce, err
	}
	cfg, spec := nets.Config, nets.Env
	if nets.Ensemble == nil {
		return ce, fmt.Errorf("%s: a run of algo %s, ablation %s has no dynamics model: the compounding error needs an MBPO run", runDir, cfg.Algo, cfg.Ablation)
	}
	if nets.Retrains == 0 {
		return ce, fmt.Errorf("%s: the model was never trained (checkpoint at env step %d; the first retrain comes after %d random steps): train longer", runDir, nets.EnvSteps, cfg.InitSteps)
	}
	agent, err := nets.NewAgent(eng)
	if err != nil {
		return ce, fmt.Errorf("%s: %w", path, err)
	}
	ens, err := nets.NewEnsemble(eng)
	if err != nil {
		return ce, fmt.Errorf("%s: %w", path, err)
	}
	if len(nets.Elites) == 0 {
		return ce, fmt.Errorf("%s: no elites saved", path)
	}
	trajs, err := collectEpisodes(spec, agent, o.Episodes, o.Seed)
	if err != nil {
		return ce, err
	}
	errs, err := openLoopErrors(ens, nets.Elites, spec.ObsDim, spec.ActDim, trajs, o.Horizon, o.Stride)
	if err != nil {
		return ce, err
	}
	ce = CompoundingError{Env: cfg.Env, EnvSteps: nets.EnvSteps, Elites: append([]int(nil), nets.Elites...),
		Prediction: fmt.Sprintf("open loop, mean of the %d elites' mean predictions of Δs", len(nets.Elites))}
	for _, t := range trajs {
		ce.Episodes = append(ce.Episodes, t.Steps)
	}
	for i, e := range errs {
		ce.Horizon = append(ce.Horizon, i+1)
		ce.N = append(ce.N, len(e))
		sort.Float64s(e)
		m, _ := MeanStd(e)
		ce.Mean = append(ce.Mean, m)
		ce.Median = append(ce.Median, quantile(e, 0.5))
		ce.P25 = append(ce.P25, quantile(e, 0.25))
		ce.P75 = append(ce.P75, quantile(e, 0.75))
	}
	return ce, nil
}

// collectEpisodes runs n episodes of agent's deterministic policy in the
// real env; episode i resets from the rng.Eval stream (seed, step i).
func collectEpisodes(spec env.Spec, agent engine.Agent, n int, seed uint64) ([]Trajectory, error) {
	e, err := env.Make(spec.ID)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	od, ad := spec.ObsDim, spec.ActDim
	obs := make([]float32, od)
	next := make([]float32, od)
	act := make([]float32, ad)
	envAct := make([]float32, ad)
	trajs := make([]Trajectory, n)
	for i := range trajs {
		e.Seed(rng.Key{Seed: seed, Purpose: rng.Eval, Step: uint64(i)})
		e.Reset(obs)
		t := Trajectory{Obs: append([]float32(nil), obs...)}
		for {
			if err := agent.Act(obs, 1, true, rng.Key{}, act); err != nil {
				return nil, err
			}
			spec.ActionFromUnit(envAct, act)
			st, err := e.Step(envAct, next)
			if err != nil {
				return nil, fmt.Errorf("held-out episode %d, step %d: %w", i, t.Steps, err)
			}
			t.Act = append(t.Act, act...)
			t.Obs = append(t.Obs, next...)
			t.Steps++
			copy(obs, next)
			if st.Terminated || st.Truncated {
				break
			}
		}
		trajs[i] = t
	}
	return trajs, nil
}

// openLoopErrors rolls the model open loop from every Stride-th step of each
// trajectory with the recorded actions and returns, for h = 1..horizon, the
// error (mean squared over observation dimensions) of every rollout that
// reaches h. Each step predicts Δs as the mean over elites of the members'
// means.
func openLoopErrors(ens engine.Ensemble, elites []int, od, ad int, trajs []Trajectory, horizon, stride int) ([][]float64, error) {
	es := ens.Spec()
	in, out, members := es.In, es.Out, es.Members
	if in != od+ad || out != od+1 {
		return nil, fmt.Errorf("ensemble of input %d and output %d does not fit observations of %d and actions of %d", in, out, od, ad)
	}
	type start struct{ traj, t int }
	var rows []start
	for i, tr := range trajs {
		for t := 0; t < tr.Steps; t += stride {
			rows = append(rows, start{i, t})
		}
	}
	pred := make([]float32, len(rows)*od)
	for j, r := range rows {
		copy(pred[j*od:(j+1)*od], trajs[r.traj].Obs[r.t*od:(r.t+1)*od])
	}
	x := make([]float32, len(rows)*in)
	mu := make([]float32, members*len(rows)*out)
	logvar := make([]float32, members*len(rows)*out)
	errs := make([][]float64, horizon)
	for h := 1; h <= horizon && len(rows) > 0; h++ {
		n := len(rows)
		for j, r := range rows {
			copy(x[j*in:], pred[j*od:(j+1)*od])
			tr := trajs[r.traj]
			copy(x[j*in+od:(j+1)*in], tr.Act[(r.t+h-1)*ad:(r.t+h)*ad])
		}
		if err := ens.ForwardAll(x[:n*in], n, mu[:members*n*out], logvar[:members*n*out]); err != nil {
			return nil, err
		}
		// Advance every rollout, measure it, keep those that go on.
		live := 0
		for j, r := range rows {
			tr := trajs[r.traj]
			truth := tr.Obs[(r.t+h)*od : (r.t+h+1)*od]
			se := 0.0
			for d := 0; d < od; d++ {
				var delta float64
				for _, e := range elites {
					delta += float64(mu[(e*n+j)*out+d])
				}
				p := float64(pred[j*od+d]) + delta/float64(len(elites))
				pred[j*od+d] = float32(p)
				se += (p - float64(truth[d])) * (p - float64(truth[d]))
			}
			errs[h-1] = append(errs[h-1], se/float64(od))
			if r.t+h+1 <= tr.Steps {
				copy(pred[live*od:(live+1)*od], pred[j*od:(j+1)*od])
				rows[live] = r
				live++
			}
		}
		rows = rows[:live]
	}
	return errs, nil
}

// quantile is the nearest-rank p-quantile of sorted (NaN for none).
func quantile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	return NearestRank(sorted, p)
}

// Exploitation compares, epoch by epoch, the deterministic policy's return
// under the model (exploit/model_return_mean) with its real return over the
// same horizon from the same start states (exploit/real_return_mean).
type Exploitation struct {
	Env         string
	Horizon     int // steps of both returns (the run's --model-return-horizon)
	EnvSteps    []int
	ModelReturn []float64
	RealReturn  []float64
	// RatioOfMeans is mean model return / mean real return over the epochs:
	// below 1 the model underestimates the policy's real return.
	RatioOfMeans float64
	MeanGap      float64 // mean of model − real return
	Under        int     // epochs whose model return is below the real one
}

// ExploitationOf reads the exploitation metrics of runDir's metrics.jsonl.
// A run without them (no model, or --model-return-horizon 0) is an error.
func ExploitationOf(runDir string) (Exploitation, error) {
	var ex Exploitation
	b, err := os.ReadFile(filepath.Join(runDir, rundir.ConfigFile))
	if err != nil {
		return ex, fmt.Errorf("%w: is %s a run directory of mbpo train or sweep?", err, runDir)
	}
	var cfg trainer.Config
	if err := json.Unmarshal(b, &cfg); err != nil {
		return ex, fmt.Errorf("%s: %v", filepath.Join(runDir, rundir.ConfigFile), err)
	}
	path := filepath.Join(runDir, rundir.MetricsJSONLFile)
	f, err := os.Open(path)
	if err != nil {
		return ex, err
	}
	defer f.Close()
	rows, err := trainer.ReadMetrics(f, path)
	if err != nil {
		return ex, err
	}
	ex, err = exploitation(rows, cfg.ModelReturnHorz)
	if err != nil {
		why := "was it run with --model-return-horizon 0?"
		if !cfg.Model() {
			why = fmt.Sprintf("a run of algo %s, ablation %s has no model", cfg.Algo, cfg.Ablation)
		}
		return ex, fmt.Errorf("%s: %w (%s)", path, err, why)
	}
	ex.Env = cfg.Env
	return ex, nil
}

// exploitation gathers the rows that carry both returns.
func exploitation(rows []trainer.Metrics, horizon int) (Exploitation, error) {
	ex := Exploitation{Horizon: horizon}
	var sm, sr float64
	for _, m := range rows {
		if !finite(m.ModelReturnMean) || !finite(m.RealReturnMean) {
			continue
		}
		ex.EnvSteps = append(ex.EnvSteps, m.EnvSteps)
		ex.ModelReturn = append(ex.ModelReturn, m.ModelReturnMean)
		ex.RealReturn = append(ex.RealReturn, m.RealReturnMean)
		sm += m.ModelReturnMean
		sr += m.RealReturnMean
		if m.ModelReturnMean < m.RealReturnMean {
			ex.Under++
		}
	}
	n := len(ex.EnvSteps)
	if n == 0 {
		return ex, fmt.Errorf("no row of %d has exploit/model_return_mean and exploit/real_return_mean", len(rows))
	}
	ex.RatioOfMeans = sm / sr
	ex.MeanGap = (sm - sr) / float64(n)
	return ex, nil
}
