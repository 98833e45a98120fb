// eval.go: evaluation of the deterministic policy, all episodes at once on
// an env pool (policy → env).

package trainer

import (
	"fmt"
	"math"
	"path/filepath"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// EvalResult holds the episodes of one evaluation.
type EvalResult struct {
	Returns    []float64   // undiscounted return per episode
	Lengths    []int       // steps per episode
	Start      []float32   // [episodes][obs] first observation of each episode
	Rewards    [][]float32 // per episode, the reward of each step
	ReturnMean float64
	ReturnStd  float64
	LengthMean float64
}

// ReturnsWithin returns each episode's return over its first h steps.
func (r EvalResult) ReturnsWithin(h int) []float64 {
	out := make([]float64, len(r.Rewards))
	for i, rw := range r.Rewards {
		for _, v := range rw[:min(h, len(rw))] {
			out[i] += float64(v)
		}
	}
	return out
}

// Evaluate runs n episodes of the run's policy, acting deterministically,
// in parallel on an env pool; call keys their reset noise.
func (t *Trainer) Evaluate(n int, call uint64) (EvalResult, error) {
	return Evaluate(t.spec, t.agent, n, t.Cfg.Seed^(call*0x9E3779B97F4A7C15), t.Cfg.Threads)
}

// Evaluate runs n episodes of agent's deterministic policy on env spec.ID in
// parallel, each from a reset drawn from seed's rng.Eval streams, with
// workers goroutines (0: one per CPU).
func Evaluate(spec env.Spec, agent engine.Agent, n int, seed uint64, workers int) (EvalResult, error) {
	pool, err := env.NewPool(spec.ID, n, env.PoolConfig{Workers: min(max(workers, 0), n), Seed: seed, Purpose: rng.Eval})
	if err != nil {
		return EvalResult{}, err
	}
	defer pool.Close()
	pool.Reset()
	od, ad := spec.ObsDim, spec.ActDim
	res := EvalResult{
		Returns: make([]float64, n), Lengths: make([]int, n),
		Start: append([]float32(nil), pool.Obs()[:n*od]...), Rewards: make([][]float32, n),
	}
	unit := make([]float32, n*ad)
	acts := make([]float32, n*ad)
	done := make([]bool, n)
	left := n
	for left > 0 {
		if err := agent.Act(pool.Obs(), n, true, rng.Key{}, unit); err != nil {
			return res, err
		}
		for i := 0; i < n; i++ {
			spec.ActionFromUnit(acts[i*ad:(i+1)*ad], unit[i*ad:(i+1)*ad])
		}
		if err := pool.Step(acts); err != nil {
			return res, err
		}
		rew, term, trunc := pool.Rewards(), pool.Terminated(), pool.Truncated()
		for i := 0; i < n; i++ {
			if done[i] {
				continue
			}
			res.Returns[i] += float64(rew[i])
			res.Rewards[i] = append(res.Rewards[i], rew[i])
			res.Lengths[i]++
			if term[i] || trunc[i] {
				done[i] = true
				left--
			}
		}
	}
	var s, s2, l float64
	for i := range res.Returns {
		s += res.Returns[i]
		s2 += res.Returns[i] * res.Returns[i]
		l += float64(res.Lengths[i])
	}
	res.ReturnMean = s / float64(n)
	res.ReturnStd = math.Sqrt(math.Max(0, s2/float64(n)-res.ReturnMean*res.ReturnMean))
	res.LengthMean = l / float64(n)
	return res, nil
}

// EvaluateCheckpoint loads the policy of the checkpoint in runDir onto eng
// and evaluates it for n episodes with reset noise from seed.
func EvaluateCheckpoint(runDir string, eng engine.Engine, n int, seed uint64) (EvalResult, error) {
	path := filepath.Join(runDir, rundir.CheckpointFile)
	h, secs, err := readCheckpoint(path)
	if err != nil {
		return EvalResult{}, err
	}
	spec, err := env.Lookup(h.Config.Env)
	if err != nil {
		return EvalResult{}, fmt.Errorf("%s: %w", path, err)
	}
	agent, err := eng.NewAgent(h.Config.AgentSpec(spec.ObsDim, spec.ActDim), h.Config.Seed)
	if err != nil {
		return EvalResult{}, err
	}
	if err := agent.SetState(engine.State{Buffers: secs.f32["agent/"], Step: h.AgentStep}); err != nil {
		return EvalResult{}, fmt.Errorf("%s: agent: %w", path, err)
	}
	return Evaluate(spec, agent, n, seed, 0)
}
