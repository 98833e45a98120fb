// aggregate.go: the statistics of a report. Runs are grouped by environment
// and ablation; within a group, seeds are aligned on timesteps (the paper's
// axis: env steps after the random ones), and each timestep gets the mean
// over the seeds that have it with a seeded 95% percentile bootstrap band.

package report

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"

	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

// Bootstrap draws percentile bootstrap intervals of a mean.
type Bootstrap struct {
	Resamples int     // resamples per interval (1000)
	Level     float64 // coverage (0.95)
	Seed      uint64  // every interval is a function of Seed, its key and the data
}

// DefaultBootstrap is 1000 resamples at 95%, seed 1.
func DefaultBootstrap() Bootstrap { return Bootstrap{Resamples: 1000, Level: 0.95, Seed: 1} }

// Interval returns the percentile bootstrap interval of the mean of x: the
// means of Resamples resamples of len(x) values drawn with replacement,
// sorted, and their nearest-rank quantiles (1-Level)/2 and (1+Level)/2.
// key separates the random streams of different intervals. With one value
// the interval is that value; with none it is NaN.
func (b Bootstrap) Interval(x []float64, key uint64) (lo, hi float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	r := rand.New(rand.NewPCG(b.Seed, key))
	n := len(x)
	means := make([]float64, max(b.Resamples, 1))
	for i := range means {
		s := 0.0
		for j := 0; j < n; j++ {
			s += x[r.IntN(n)]
		}
		means[i] = s / float64(n)
	}
	sort.Float64s(means)
	p := (1 - b.Level) / 2
	return NearestRank(means, p), NearestRank(means, 1-p)
}

// NearestRank returns the p-quantile of sorted by the nearest-rank method:
// the value at rank ceil(p·n) (1-based), at least rank 1.
func NearestRank(sorted []float64, p float64) float64 {
	n := len(sorted)
	rank := int(math.Ceil(p*float64(n) - 1e-9)) // 1e-9: 0.025·1000 is 25, not 25.000000000000004
	return sorted[min(max(rank, 1), n)-1]
}

// MeanStd returns the mean and the sample standard deviation (n-1) of x;
// the deviation of one value is 0, and both are NaN for none.
func MeanStd(x []float64) (mean, std float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) == 1 {
		return mean, 0
	}
	for _, v := range x {
		std += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(std / float64(len(x)-1))
}

// Curve is a group's learning curve on the paper's axis: at each timestep
// (env steps after the run's random ones; see Run.Timesteps) that any seed
// evaluated, the mean eval return over the seeds that have it and the
// bootstrap band. Rows inside the random phase (timesteps < 0) are left
// out; the row at its end (timestep 0) is kept.
type Curve struct {
	Timesteps []int
	Mean      []float64
	Lo, Hi    []float64
	N         []int // seeds with a value at the timestep
	Seeds     int   // seeds in the group
	Common    int   // last timestep every seed reached (0 if none)
	Longest   int   // last timestep any seed reached
	AtCommon  []float64
}

// Aggregate builds the curve of runs' eval/return_mean against timesteps.
func Aggregate(runs []Run, b Bootstrap) Curve {
	c := Curve{Seeds: len(runs)}
	vals := map[int][]float64{}
	for i, r := range runs {
		for _, m := range r.Rows {
			if t := r.Timesteps(m); t >= 0 {
				vals[t] = append(vals[t], m.EvalReturnMean)
			}
		}
		last := r.LastTimesteps()
		if i == 0 || last < c.Common {
			c.Common = last
		}
		c.Longest = max(c.Longest, last)
	}
	for t := range vals {
		c.Timesteps = append(c.Timesteps, t)
	}
	sort.Ints(c.Timesteps)
	for _, t := range c.Timesteps {
		v := vals[t]
		mean, _ := MeanStd(v)
		lo, hi := b.Interval(v, uint64(t))
		c.Mean, c.Lo, c.Hi, c.N = append(c.Mean, mean), append(c.Lo, lo), append(c.Hi, hi), append(c.N, len(v))
	}
	if len(runs) > 0 {
		c.AtCommon = vals[c.Common]
	}
	return c
}

// StepsToReach returns the first timestep, among those every seed reached,
// at which the mean return is at least target.
func (c Curve) StepsToReach(target float64) (int, bool) {
	for i, t := range c.Timesteps {
		if t > c.Common {
			break
		}
		if c.N[i] == c.Seeds && c.Mean[i] >= target {
			return t, true
		}
	}
	return 0, false
}

// Milestones are the learning epochs at which a report states the return:
// the paper's Hopper horizon and the points before it, then the longer
// horizons of the other benchmarks (Walker2d, Ant and Humanoid 300,
// HalfCheetah 400).
var Milestones = []int{25, 50, 100, 125, 200, 300, 400}

// ReturnsAtEpoch returns the eval returns of the seeds of g that evaluated at
// the end of learning epoch e (timesteps e·EpochLength: the paper's axis,
// after the random phase), one per seed that got that far.
func (g Group) ReturnsAtEpoch(e int) []float64 { return g.MeanReturnsTo(e, 1) }

// WindowEpochs is how many learning epochs the report's smoothed return
// averages: one evaluation swings by 1,000 and more from one epoch to the
// next early in a Hopper run, so the return at an epoch alone says little.
const WindowEpochs = 5

// MeanReturnsTo returns, for each seed of g that evaluated at the end of
// every one of the n learning epochs e−n+1 … e, the mean of those n
// returns; seeds missing any of them are left out (all of them for n < 1).
func (g Group) MeanReturnsTo(e, n int) []float64 {
	if n < 1 {
		return nil
	}
	var v []float64
	for _, r := range g.Runs {
		at := epochReturns(r)
		sum, got := 0.0, 0
		for i := e - n + 1; i <= e; i++ {
			if x, ok := at[i]; ok && i >= 1 {
				sum, got = sum+x, got+1
			}
		}
		if got == n {
			v = append(v, sum/float64(n))
		}
	}
	return v
}

// epochReturns maps each learning epoch the run evaluated at the end of
// (timesteps a multiple of its epoch length) to that evaluation's return.
func epochReturns(r Run) map[int]float64 {
	at := map[int]float64{}
	ep := r.Config.EpochLength
	if ep <= 0 {
		return at
	}
	for _, m := range r.Rows {
		t := r.Timesteps(m)
		if t <= 0 || t%ep != 0 {
			continue
		}
		at[t/ep] = m.EvalReturnMean
	}
	return at
}

// SecondsPerEpoch returns the run's cost per learning epoch against
// timesteps: for each row after the random phase (timesteps > 0: the row at
// timestep 0 ends a random epoch, which costs next to nothing), the wall
// time since the row before (since the start for the first row) divided by
// the epochs between them, at the timestep the epoch ends. It holds
// everything an epoch cost (env, model, rollouts, SAC, evaluation,
// checkpoints). A resumed run's wall time continues its count, so the
// difference stays an epoch's; a gap of skipped rows is spread over its
// epochs. Non-positive values (a clock that went back) are left out.
func SecondsPerEpoch(r Run) (timesteps, sec []float64) {
	epoch := r.Config.EpochLength
	prevSteps, prevWall := 0, 0.0
	for _, m := range r.Rows {
		n := 1.0
		if epoch > 0 {
			n = float64(m.EnvSteps-prevSteps) / float64(epoch)
		}
		s := (m.WallSec - prevWall) / n
		prevSteps, prevWall = m.EnvSteps, m.WallSec
		if t := r.Timesteps(m); t > 0 && n > 0 && s > 0 && finite(s) {
			timesteps, sec = append(timesteps, float64(t)), append(sec, s)
		}
	}
	return timesteps, sec
}

// Group is the runs of one environment and ablation.
type Group struct {
	Env, Ablation string
	Runs          []Run
	Curve         Curve
}

// Label is the ablation's name in tables and figures.
func (g Group) Label() string {
	if a, err := sweep.ParseAblation(g.Ablation); err == nil {
		return a.Label()
	}
	return g.Ablation
}

// GroupRuns groups runs by environment and ablation (environments sorted,
// ablations in sweep order) and leaves out, with a warning, runs whose
// configuration differs from the group's (beyond seed, length and where they
// ran) and second runs of a seed.
func GroupRuns(runs []Run, b Bootstrap) ([]Group, []Warning) {
	type key struct{ env, abl string }
	byKey := map[key][]Run{}
	var keys []key
	for _, r := range runs {
		k := key{r.Env, r.Ablation}
		if _, ok := byKey[k]; !ok {
			keys = append(keys, k)
		}
		byKey[k] = append(byKey[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].env != keys[j].env {
			return keys[i].env < keys[j].env
		}
		return sweep.Less(keys[i].abl, keys[j].abl)
	})
	var groups []Group
	var warns []Warning
	for _, k := range keys {
		rs, ws := consistent(byKey[k])
		warns = append(warns, ws...)
		groups = append(groups, Group{Env: k.env, Ablation: k.abl, Runs: rs, Curve: Aggregate(rs, b)})
	}
	return groups, warns
}

// consistent keeps the runs of a group that share its most common
// configuration, one run per seed (the one that got furthest).
func consistent(runs []Run) ([]Run, []Warning) {
	sort.SliceStable(runs, func(i, j int) bool {
		if runs[i].Seed != runs[j].Seed {
			return runs[i].Seed < runs[j].Seed
		}
		return runs[i].EnvSteps() > runs[j].EnvSteps()
	})
	var warns []Warning
	var kept []Run
	for i, r := range runs {
		if i > 0 && r.Seed == runs[i-1].Seed {
			warns = append(warns, Warning{r.Dir, fmt.Sprintf("a second run of %s/%s seed %d (%s got further): left out",
				r.Env, r.Ablation, r.Seed, runs[i-1].Dir)})
			continue
		}
		kept = append(kept, r)
	}
	// The reference configuration: the most common, ties to the lowest seed.
	count := map[string]int{}
	for _, r := range kept {
		count[settingsKey(r.Config)]++
	}
	ref := kept[0].Config
	for _, r := range kept {
		if count[settingsKey(r.Config)] > count[settingsKey(ref)] {
			ref = r.Config
		}
	}
	var out []Run
	for _, r := range kept {
		if d := configDiff(r.Config, ref); d != "" {
			warns = append(warns, Warning{filepath.Join(r.Dir, "config.json"),
				fmt.Sprintf("differs from the other seeds of %s/%s (%s): left out of the means", r.Env, r.Ablation, d)})
			continue
		}
		out = append(out, r)
	}
	return out, warns
}

// settingsKey is a configuration as JSON without the settings seeds may
// differ in: seed, total steps (runs of other lengths align on env steps)
// and where and how often it saved.
func settingsKey(c trainer.Config) string {
	c = c.Numerics()
	c.Seed, c.Steps = 0, 0
	b, _ := json.Marshal(c)
	return string(b)
}

// configDiff names the settings in which a differs from ref ("" if none
// that matter).
func configDiff(a, ref trainer.Config) string {
	var ma, mr map[string]any
	json.Unmarshal([]byte(settingsKey(a)), &ma)
	json.Unmarshal([]byte(settingsKey(ref)), &mr)
	var keys []string
	for k := range ma {
		if fmt.Sprint(ma[k]) != fmt.Sprint(mr[k]) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	s := ""
	for i, k := range keys {
		if i == 3 {
			s += fmt.Sprintf(", and %d more", len(keys)-3)
			break
		}
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %v vs %v", k, ma[k], mr[k])
	}
	return s
}
