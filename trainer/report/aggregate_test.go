// aggregate_test.go: the report's statistics against hand-computed values.

package report

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/trainer"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMeanStd(t *testing.T) {
	tests := []struct {
		x         []float64
		mean, std float64
	}{
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3)}, // squares 2.25+0.25+0.25+2.25 = 5 over n-1 = 3
		{[]float64{5}, 5, 0},
		{[]float64{-2, 2}, 0, math.Sqrt(8)},
	}
	for _, tt := range tests {
		m, s := MeanStd(tt.x)
		if !near(m, tt.mean, 1e-12) || !near(s, tt.std, 1e-12) {
			t.Errorf("MeanStd(%v) = %v, %v; want %v, %v", tt.x, m, s, tt.mean, tt.std)
		}
	}
	if m, s := MeanStd(nil); !math.IsNaN(m) || !math.IsNaN(s) {
		t.Errorf("MeanStd(nil) = %v, %v; want NaN", m, s)
	}
}

func TestNearestRank(t *testing.T) {
	thousand := make([]float64, 1000)
	for i := range thousand {
		thousand[i] = float64(i + 1)
	}
	tests := []struct {
		x    []float64
		p    float64
		want float64
	}{
		{thousand, 0.025, 25}, // rank ceil(25) = 25, not 26 from 0.025·1000 rounding up
		{thousand, 0.975, 975},
		{thousand, 0.5, 500},
		{[]float64{1, 2, 3, 4}, 0.25, 1},
		{[]float64{1, 2, 3, 4}, 0.26, 2},
		{[]float64{1, 2, 3, 4}, 0, 1},
		{[]float64{1, 2, 3, 4}, 1, 4},
	}
	for _, tt := range tests {
		if got := NearestRank(tt.x, tt.p); got != tt.want {
			t.Errorf("NearestRank(%d values, %v) = %v, want %v", len(tt.x), tt.p, got, tt.want)
		}
	}
}

func TestBootstrapInterval(t *testing.T) {
	b := DefaultBootstrap()
	// Small samples whose resampled means have few values, each far from
	// the 2.5% and 97.5% cut-offs, so the interval is exact:
	//   {0, 1}: means 0, ½, 1 with probabilities ¼, ½, ¼.
	//   {0, 0, 0, 10}: mean 0 with (¾)⁴ = 0.32; ≥ 7.5 with 0.051; 10 with 0.004.
	tests := []struct {
		x      []float64
		lo, hi float64
	}{
		{[]float64{7, 7, 7}, 7, 7},
		{[]float64{42}, 42, 42},
		{[]float64{0, 1}, 0, 1},
		{[]float64{0, 0, 0, 10}, 0, 7.5},
	}
	for _, tt := range tests {
		lo, hi := b.Interval(tt.x, 3)
		if lo != tt.lo || hi != tt.hi {
			t.Errorf("Interval(%v) = [%v, %v], want [%v, %v]", tt.x, lo, hi, tt.lo, tt.hi)
		}
	}
	// 0..99: the mean 49.5 has standard error sqrt((100²-1)/12/100) = 2.887,
	// so the 95% interval is close to 49.5 ± 1.96·2.887 = [43.84, 55.16].
	x := make([]float64, 100)
	for i := range x {
		x[i] = float64(i)
	}
	lo, hi := b.Interval(x, 0)
	if !near(lo, 43.84, 1) || !near(hi, 55.16, 1) {
		t.Errorf("Interval(0..99) = [%.2f, %.2f], want about [43.84, 55.16]", lo, hi)
	}
	if lo2, hi2 := b.Interval(x, 0); lo2 != lo || hi2 != hi {
		t.Errorf("the same seed and key gave [%v, %v] then [%v, %v]", lo, hi, lo2, hi2)
	}
	other := b
	other.Seed = 2
	if lo2, hi2 := other.Interval(x, 0); lo2 == lo && hi2 == hi {
		t.Errorf("seeds 1 and 2 drew the same interval [%v, %v]", lo, hi)
	}
	if lo, hi := b.Interval(nil, 0); !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Errorf("Interval(nil) = [%v, %v], want NaN", lo, hi)
	}
}

// runOf makes a run without random steps (timesteps = env steps) with eval
// returns ret[i] at env steps step·(i+1).
func runOf(seed uint64, step int, ret ...float64) Run {
	cfg, _ := trainer.PaperConfig("Hopper-v4")
	cfg.Seed, cfg.InitSteps = seed, 0
	r := Run{Config: cfg, Env: cfg.Env, Ablation: "none", Seed: seed}
	for i, v := range ret {
		r.Rows = append(r.Rows, trainer.Metrics{Epoch: i + 1, EnvSteps: step * (i + 1), EvalReturnMean: v})
	}
	return r
}

func TestAggregateAlignsSeedsOnEnvSteps(t *testing.T) {
	runs := []Run{
		runOf(0, 1000, 10, 20, 30),
		runOf(1, 1000, 20, 40, 60),
		runOf(2, 1000, 30, 60), // stopped early
	}
	c := Aggregate(runs, DefaultBootstrap())
	wantSteps := []int{1000, 2000, 3000}
	wantMean := []float64{20, 40, 45}
	wantN := []int{3, 3, 2}
	if len(c.Timesteps) != 3 {
		t.Fatalf("steps %v, want %v", c.Timesteps, wantSteps)
	}
	for i := range wantSteps {
		if c.Timesteps[i] != wantSteps[i] || !near(c.Mean[i], wantMean[i], 1e-12) || c.N[i] != wantN[i] {
			t.Errorf("point %d: step %d mean %v n %d; want %d %v %d", i, c.Timesteps[i], c.Mean[i], c.N[i], wantSteps[i], wantMean[i], wantN[i])
		}
		if !(c.Lo[i] <= c.Mean[i] && c.Mean[i] <= c.Hi[i]) {
			t.Errorf("point %d: band [%v, %v] does not hold the mean %v", i, c.Lo[i], c.Hi[i], c.Mean[i])
		}
	}
	if c.Lo[0] < 10 || c.Hi[0] > 30 {
		t.Errorf("band [%v, %v] at 1000 leaves the data's range [10, 30]", c.Lo[0], c.Hi[0])
	}
	if c.Common != 2000 || c.Longest != 3000 || c.Seeds != 3 {
		t.Errorf("common %d longest %d seeds %d; want 2000, 3000, 3", c.Common, c.Longest, c.Seeds)
	}
	if m, s := MeanStd(c.AtCommon); m != 40 || s != 20 {
		t.Errorf("final return %v ± %v, want 40 ± 20", m, s)
	}
	tests := []struct {
		target float64
		steps  int
		ok     bool
	}{
		{15, 1000, true},
		{40, 2000, true},
		{45, 0, false}, // the mean of 45 at 3000 has only two of three seeds
	}
	for _, tt := range tests {
		s, ok := c.StepsToReach(tt.target)
		if s != tt.steps || ok != tt.ok {
			t.Errorf("StepsToReach(%v) = %d, %v; want %d, %v", tt.target, s, ok, tt.steps, tt.ok)
		}
	}
}

func TestGroupRunsLeavesOutMismatches(t *testing.T) {
	odd := runOf(2, 1000, 1e6, 1e6)
	odd.Config.Hidden = 128
	odd.Dir = "odd"
	again := runOf(0, 1000, 5)
	again.Dir = "again"
	sac := runOf(0, 1000, 7, 8)
	sac.Config.Algo, sac.Ablation = "sac", "sac"
	groups, warns := GroupRuns([]Run{sac, runOf(0, 1000, 10, 20), odd, runOf(1, 1000, 30, 40), again}, DefaultBootstrap())
	if len(groups) != 2 || groups[0].Ablation != "none" || groups[1].Ablation != "sac" {
		t.Fatalf("groups %+v", groups)
	}
	g := groups[0]
	if len(g.Runs) != 2 || g.Curve.Mean[1] != 30 {
		t.Errorf("MBPO group: %d runs, mean at 2000 %v; want 2 runs and 30", len(g.Runs), g.Curve.Mean)
	}
	if len(warns) != 2 || warns[0].File != "again" || warns[1].File != "odd/config.json" {
		t.Fatalf("warnings %v", warns)
	}
	if want := "hidden 128 vs 256"; !contains(warns[1].Msg, want) {
		t.Errorf("warning %q does not say %q", warns[1].Msg, want)
	}
}
