// buffers.go: the model buffer against the real one, from a run's
// checkpoint. Where the critics overestimate (health/q_ratio) or the policy
// exploits the model, the first question is whether the model's transitions
// look like the real ones: their rewards, how often they terminate, and how
// far their next states leave the states the real env ever reached.

package report

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// BufferStats summarises the transitions of one replay buffer.
type BufferStats struct {
	N int
	// NonFinite counts the rewards that are NaN or infinite (model
	// rollouts do not filter them); the mean and quantiles leave them out.
	NonFinite  int
	RewardMean float64
	// Reward quantiles: minimum, 0.1%, 1%, median, 99%, 99.9%, maximum.
	RewardQ  [7]float64
	DoneRate float64 // fraction of transitions that terminated
	// MaxAbsDelta is the largest finite |s' − s| per observation dimension
	// (a non-finite next state counts as outside the real range instead).
	MaxAbsDelta []float64
}

// RewardQuantiles are the probabilities of BufferStats.RewardQ.
var RewardQuantiles = [7]float64{0, 0.001, 0.01, 0.5, 0.99, 0.999, 1}

// BufferStatsOf summarises r (zero stats for an empty buffer; NaN reward
// statistics where no reward is finite).
func BufferStatsOf(r *stages.Replay) BufferStats {
	// Rows holds every row (in storage order, which these statistics do
	// not depend on).
	obs, _, rew, next, done := r.Rows()
	n := r.Len()
	od, _ := r.Dims()
	s := BufferStats{N: n, MaxAbsDelta: make([]float64, od)}
	if n == 0 {
		return s
	}
	rs := make([]float64, 0, n)
	for i := range n {
		if v := float64(rew[i]); finite(v) {
			rs = append(rs, v)
			s.RewardMean += v
		} else {
			s.NonFinite++
		}
		s.DoneRate += float64(done[i])
		for j := range od {
			if d := math.Abs(float64(next[i*od+j] - obs[i*od+j])); finite(d) && d > s.MaxAbsDelta[j] {
				s.MaxAbsDelta[j] = d
			}
		}
	}
	s.DoneRate /= float64(n)
	if len(rs) == 0 {
		s.RewardMean = math.NaN()
		for i := range s.RewardQ {
			s.RewardQ[i] = math.NaN()
		}
		return s
	}
	s.RewardMean /= float64(len(rs))
	slices.Sort(rs)
	for i, p := range RewardQuantiles {
		s.RewardQ[i] = NearestRank(rs, p)
	}
	return s
}

// BufferComparison is the model buffer of a checkpoint against its real
// buffer.
type BufferComparison struct {
	Env         string
	EnvSteps, K int
	Real, Model BufferStats
	// OutsideReal is the fraction of model transitions whose next state has
	// some dimension outside the range the real buffer's next states span,
	// and OutsideDims how many model transitions leave it in each dimension.
	OutsideReal float64
	OutsideDims []int
	// RewardBelow and RewardAbove count the model rewards below the real
	// buffer's smallest and above its largest (non-finite ones in neither).
	RewardBelow, RewardAbove int
}

// CompareBuffersOf reads runDir's checkpoint and compares its model buffer
// with its real buffer.
func CompareBuffersOf(runDir string) (BufferComparison, error) {
	b, err := trainer.ReadBuffers(runDir)
	if err != nil {
		return BufferComparison{}, err
	}
	if b.Model == nil {
		if !b.Config.Model() {
			return BufferComparison{}, fmt.Errorf("%s: a run of algo %s, ablation %s has no model buffer: the comparison needs an MBPO run", runDir, b.Config.Algo, b.Config.Ablation)
		}
		return BufferComparison{}, fmt.Errorf("%s: the checkpoint left the model buffer out (it outgrew --checkpoint-model-buffer-mib %d): resume the run with a larger --checkpoint-model-buffer-mib and compare at its next checkpoint", runDir, b.Config.CheckpointModelBufferMiB)
	}
	if b.Model.Len() == 0 {
		return BufferComparison{}, fmt.Errorf("%s: the model buffer is empty (checkpoint at env step %d; the first rollouts come after %d random steps): train longer", runDir, b.EnvSteps, b.Config.InitSteps)
	}
	return CompareBuffers(b.Config.Env, b.EnvSteps, b.K, b.Real, b.Model), nil
}

// CompareBuffers compares the model buffer with the real one.
func CompareBuffers(envName string, envSteps, k int, real, model *stages.Replay) BufferComparison {
	c := BufferComparison{Env: envName, EnvSteps: envSteps, K: k, Real: BufferStatsOf(real), Model: BufferStatsOf(model)}
	od, _ := real.Dims()
	lo, hi := make([]float32, od), make([]float32, od)
	for j := range od {
		lo[j], hi[j] = float32(math.Inf(1)), float32(math.Inf(-1))
	}
	_, _, _, next, _ := real.Rows()
	for i := range real.Len() {
		for j := range od {
			lo[j], hi[j] = min(lo[j], next[i*od+j]), max(hi[j], next[i*od+j])
		}
	}
	c.OutsideDims = make([]int, od)
	_, _, mrew, mnext, _ := model.Rows()
	for _, v := range mrew[:model.Len()] {
		if !finite(float64(v)) {
			continue
		} else if float64(v) < c.Real.RewardQ[0] {
			c.RewardBelow++
		} else if float64(v) > c.Real.RewardQ[len(c.Real.RewardQ)-1] {
			c.RewardAbove++
		}
	}
	outside := 0
	for i := range model.Len() {
		out := false
		for j := range od {
			if v := mnext[i*od+j]; v < lo[j] || v > hi[j] || v != v {
				c.OutsideDims[j]++
				out = true
			}
		}
		if out {
			outside++
		}
	}
	if model.Len() > 0 {
		c.OutsideReal = float64(outside) / float64(model.Len())
	}
	return c
}

// WriteBufferTable prints the comparison.
func WriteBufferTable(w io.Writer, c BufferComparison) {
	fmt.Fprintf(w, "%s, checkpoint at env step %d: the model buffer (rollouts of k = %d at the last round) against the real buffer.\n\n", c.Env, c.EnvSteps, c.K)
	fmt.Fprintf(w, "%-6s %9s %9s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "buffer", "rows", "done", "r mean", "r min", "r 0.1%", "r 1%", "r 50%", "r 99%", "r 99.9%", "r max", "r NaN/Inf")
	for _, b := range []struct {
		name string
		s    BufferStats
	}{{"real", c.Real}, {"model", c.Model}} {
		fmt.Fprintf(w, "%-6s %9d %9.4f %8.3f", b.name, b.s.N, b.s.DoneRate, b.s.RewardMean)
		for _, q := range b.s.RewardQ {
			fmt.Fprintf(w, " %8.3f", q)
		}
		fmt.Fprintf(w, " %8d\n", b.s.NonFinite)
	}
	fmt.Fprintf(w, "\nModel rewards below the smallest real one: %d, above the largest: %d (of %d).\n", c.RewardBelow, c.RewardAbove, c.Model.N)
	fmt.Fprintf(w, "Model next states outside the range of the real ones in some dimension: %.2f%% of %d.\n", 100*c.OutsideReal, c.Model.N)
	fmt.Fprintf(w, "\n%4s %13s %13s %14s\n", "dim", "real max|Δs|", "model max|Δs|", "model outside")
	for j := range c.Real.MaxAbsDelta {
		fmt.Fprintf(w, "%4d %13.4g %13.4g %14d\n", j, c.Real.MaxAbsDelta[j], c.Model.MaxAbsDelta[j], c.OutsideDims[j])
	}
}
