// rollout.go: the branched rollouts stage (ensemble → model buffer). From
// states of the real buffer, the current policy acts in the learned model for
// k steps; every step uses one randomly chosen elite per sample, samples the
// Gaussian prediction, applies the environment's termination function, and
// stores the transitions. Samples whose rollout terminated drop out.

package stages

import (
	"math"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
)

// Rollouts runs branched model rollouts with reusable scratch memory.
type Rollouts struct {
	ens      engine.Ensemble
	spec     engine.EnsembleSpec
	agent    engine.Agent
	terminal env.TerminalFunc
	seed     uint64
	od, ad   int

	obs, act, x, mean, logvar, next, rew, done []float32
	members                                    []int32
	noise                                      []float32
}

// NewRollouts prepares rollouts of the ensemble ens under the agent's policy.
func NewRollouts(ens engine.Ensemble, agent engine.Agent, terminal env.TerminalFunc, obsDim, actDim int, seed uint64) *Rollouts {
	return &Rollouts{ens: ens, spec: ens.Spec(), agent: agent, terminal: terminal, seed: seed, od: obsDim, ad: actDim}
}

func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// Run starts batch rollouts from states drawn uniformly from real, runs them
// for up to k steps with a random member of elites per sample and step, and
// adds every transition to out. call numbers the rounds of a run; it keys
// this round's random numbers.
func (r *Rollouts) Run(real *Replay, out *Replay, elites []int, batch, k int, call uint64) (engine.RolloutResult, error) {
	st := engine.RolloutResult{Started: batch}
	r.obs = grow(r.obs, batch*r.od)
	startKey := rng.Key{Seed: r.seed, Purpose: rng.RolloutStart, Step: call}
	for i := 0; i < batch; i++ {
		copy(r.obs[i*r.od:(i+1)*r.od], real.Obs(startKey.Intn(uint64(i), real.Len())))
	}
	n := batch
	for step := 0; step < k && n > 0; step++ {
		pk := rng.RolloutKey(r.seed, rng.RolloutPolicy, call, step)
		ek := rng.RolloutKey(r.seed, rng.RolloutElite, call, step)
		nk := rng.RolloutKey(r.seed, rng.RolloutNoise, call, step)
		if err := r.step(n, false, elites, pk, ek, nk, &st); err != nil {
			return st, err
		}
		out.Add(r.obs[:n*r.od], r.act[:n*r.ad], r.rew[:n], r.next[:n*r.od], r.done[:n])
		st.Steps += int64(n)
		// Keep the samples that did not terminate: their next state is the
		// next step's state.
		live := 0
		for i := 0; i < n; i++ {
			st.RewardSum += float64(r.rew[i])
			if r.done[i] != 0 {
				st.Finished++
				continue
			}
			copy(r.obs[live*r.od:(live+1)*r.od], r.next[i*r.od:(i+1)*r.od])
			live++
		}
		n = live
	}
	return st, nil
}

// step advances the first n states in r.obs by one model step: policy action
// (deterministic or noisy), a random elite per sample, a Gaussian sample of
// [Δs, r], the termination function. It fills r.act, r.next, r.rew, r.done.
func (r *Rollouts) step(n int, deterministic bool, elites []int, policyKey, eliteKey, noiseKey rng.Key, st *engine.RolloutResult) error {
	od, ad := r.od, r.ad
	in, outW := r.spec.In, r.spec.Out
	r.act = grow(r.act, n*ad)
	r.x = grow(r.x, n*in)
	r.mean = grow(r.mean, n*outW)
	r.logvar = grow(r.logvar, n*outW)
	r.next = grow(r.next, n*od)
	r.rew = grow(r.rew, n)
	r.done = grow(r.done, n)
	r.noise = grow(r.noise, n*outW)
	if cap(r.members) < n {
		r.members = make([]int32, n)
	}
	r.members = r.members[:n]

	t0 := now()
	if err := r.agent.Act(r.obs[:n*od], n, deterministic, policyKey, r.act); err != nil {
		return err
	}
	t1 := now()
	for i := 0; i < n; i++ {
		copy(r.x[i*in:], r.obs[i*od:(i+1)*od])
		copy(r.x[i*in+od:], r.act[i*ad:(i+1)*ad])
	}
	for i := range r.members {
		r.members[i] = int32(elites[eliteKey.Intn(uint64(i), len(elites))])
	}
	if err := r.ens.Predict(r.x, r.members, n, r.mean, r.logvar); err != nil {
		return err
	}
	noiseKey.FillNormal(r.noise)
	for i := 0; i < n; i++ {
		for j := 0; j < outW; j++ {
			o := i*outW + j
			v := r.mean[o] + float32(math.Exp(0.5*float64(r.logvar[o])))*r.noise[o]
			if j < od {
				r.next[i*od+j] = r.obs[i*od+j] + v
			} else {
				r.rew[i] = v
			}
		}
		r.done[i] = 0
		if r.terminal(r.obs[i*od:(i+1)*od], r.act[i*ad:(i+1)*ad], r.next[i*od:(i+1)*od]) {
			r.done[i] = 1
		}
	}
	st.PolicySec += t1.Sub(t0).Seconds()
	st.ModelSec += now().Sub(t1).Seconds()
	return nil
}

// ModelReturns runs the deterministic policy in the model from each of the n
// start states for up to horizon steps (each step: a random member of elites
// per sample and a Gaussian sample, as in training rollouts) and returns each
// sample's undiscounted return. call keys the random numbers.
func (r *Rollouts) ModelReturns(elites []int, start []float32, n, horizon int, call uint64) ([]float64, error) {
	r.obs = grow(r.obs, n*r.od)
	copy(r.obs, start[:n*r.od])
	ret := make([]float64, n)
	alive := make([]int, n) // alive[j] = original sample of live row j
	for i := range alive {
		alive[i] = i
	}
	var st engine.RolloutResult
	for step := 0; step < horizon && len(alive) > 0; step++ {
		m := len(alive)
		ek, nk := rng.ModelReturnKeys(r.seed, call, step)
		if err := r.step(m, true, elites, ek, ek, nk, &st); err != nil {
			return nil, err
		}
		live := 0
		for j := 0; j < m; j++ {
			ret[alive[j]] += float64(r.rew[j])
			if r.done[j] != 0 {
				continue
			}
			copy(r.obs[live*r.od:(live+1)*r.od], r.next[j*r.od:(j+1)*r.od])
			alive[live] = alive[j]
			live++
		}
		alive = alive[:live]
	}
	return ret, nil
}

func now() time.Time { return time.Now() }
