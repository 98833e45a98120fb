// analyze_test.go: the analyses. Open-loop errors against a stand-in
// ensemble whose error is known to grow as h²; both analyses on a small saved
// run, trained here through trainer's exported API (savedRun).

package report

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/trainer"
)

// savedRun trains a tiny InvertedPendulum run on the CPU engine into a new
// directory and returns it: 900 env steps in epochs of 300, the first 300
// random, the model retrained every 150 steps, a checkpoint every epoch and
// the model-vs-real return check over 50 steps. edit, when not nil, changes
// the config first.
func savedRun(t *testing.T, edit func(*trainer.Config)) string {
	t.Helper()
	c, err := trainer.PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	c.Steps, c.EpochLength, c.InitSteps = 900, 300, 300
	c.G, c.Hidden, c.ModelHidden = 2, 32, 32
	c.ModelTrainFreq, c.RolloutBatch, c.ModelMaxEpochs = 150, 400, 3
	c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 2, 50, 1
	c.Threads = 1
	if edit != nil {
		edit(&c)
	}
	dir := t.TempDir()
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	tr, err := trainer.New(c, eng, dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Run(context.Background(), trainer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// biasedEnsemble predicts Δs = (a + bias[e], 2a + bias[e]) for member e, from
// inputs [s0, s1, a]: exact dynamics s' = s + (a, 2a) plus a per-member bias.
type biasedEnsemble struct {
	engine.Ensemble
	bias []float32
}

func (f biasedEnsemble) Spec() engine.EnsembleSpec {
	return engine.EnsembleSpec{Members: len(f.bias), In: 3, Out: 3}
}

func (f biasedEnsemble) ForwardAll(x []float32, n int, mean, logvar []float32) error {
	for e, b := range f.bias {
		for i := 0; i < n; i++ {
			a := x[i*3+2]
			o := (e*n + i) * 3
			mean[o], mean[o+1], mean[o+2] = a+b, 2*a+b, 0
		}
	}
	return nil
}

// linearTrajectory follows s' = s + (a, 2a) with actions a_t = t mod 3 - 1.
func linearTrajectory(steps int) Trajectory {
	tr := Trajectory{Obs: []float32{0.5, -1}, Steps: steps}
	for t := 0; t < steps; t++ {
		a := float32(t%3 - 1)
		s := tr.Obs[len(tr.Obs)-2:]
		tr.Obs = append(tr.Obs, s[0]+a, s[1]+2*a)
		tr.Act = append(tr.Act, a)
	}
	return tr
}

func TestOpenLoopErrorsCompound(t *testing.T) {
	// Elites 0 and 2 are off by 0.1 and 0.3: their mean is off by 0.2 per
	// step in both dimensions, so after h steps the squared error is
	// (0.2h)² in each: 0.04h². Member 1 is far off and not an elite.
	ens := biasedEnsemble{bias: []float32{0.1, 100, 0.3}}
	trajs := []Trajectory{linearTrajectory(6), linearTrajectory(1)}
	errs, err := openLoopErrors(ens, []int{0, 2}, 2, 1, trajs, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	// Starts: t = 0, 2, 4 of the 6-step episode, t = 0 of the 1-step one.
	// Horizon h needs t + h <= steps.
	wantN := []int{4, 3, 2, 2}
	for h := 1; h <= 4; h++ {
		e := errs[h-1]
		if len(e) != wantN[h-1] {
			t.Errorf("h=%d: %d rollouts, want %d", h, len(e), wantN[h-1])
		}
		want := 0.04 * float64(h*h)
		for _, v := range e {
			if math.Abs(v-want) > 1e-5*(1+want) {
				t.Errorf("h=%d: error %v, want 0.04·h² = %v", h, v, want)
			}
		}
	}
	if _, err := openLoopErrors(ens, []int{0}, 3, 1, trajs, 2, 1); err == nil {
		t.Errorf("an ensemble of the wrong shape was accepted")
	}
}

func TestAnalysesOfASmallSavedRun(t *testing.T) {
	dir := savedRun(t, nil)
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()

	o := CompoundingOptions{Episodes: 2, Horizon: 5, Stride: 7, Seed: 3}
	ce, err := CompoundingErrorOf(dir, eng, o)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := trainer.ReadNetworks(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ce.Horizon) != 5 || len(ce.Episodes) != 2 || len(ce.Elites) != 5 || ce.Elites[0] != nets.Elites[0] || ce.EnvSteps != 900 {
		t.Fatalf("result: horizons %v episodes %v elites %v env steps %d", ce.Horizon, ce.Episodes, ce.Elites, ce.EnvSteps)
	}
	for i, hz := range ce.Horizon {
		n := 0
		for _, steps := range ce.Episodes {
			for t0 := 0; t0 < steps; t0 += o.Stride {
				if t0+hz <= steps {
					n++
				}
			}
		}
		if ce.N[i] != n {
			t.Errorf("h=%d: %d rollouts, want %d from episodes of %v steps", hz, ce.N[i], n, ce.Episodes)
		}
		if !(ce.Mean[i] >= 0 && finite(ce.Mean[i]) && ce.P25[i] <= ce.Median[i] && ce.Median[i] <= ce.P75[i]) {
			t.Errorf("h=%d: mean %v quartiles %v %v %v", hz, ce.Mean[i], ce.P25[i], ce.Median[i], ce.P75[i])
		}
	}
	t.Logf("mean error by horizon %v over episodes of %v steps", ce.Mean, ce.Episodes)
	// The point of the analysis: open-loop errors grow with the horizon.
	if !(ce.Mean[4] > ce.Mean[0]) {
		t.Errorf("error at h=5 (%v) not above h=1 (%v)", ce.Mean[4], ce.Mean[0])
	}
	again, _ := CompoundingErrorOf(dir, eng, o)
	if again.Mean[2] != ce.Mean[2] {
		t.Errorf("the same seed gave %v then %v", ce.Mean[2], again.Mean[2])
	}

	ex, err := ExploitationOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	// No retrain before epoch 1 ends: epochs 2 and 3 have the comparison.
	if len(ex.EnvSteps) != 2 || ex.EnvSteps[0] != 600 || ex.Horizon != 50 || !finite(ex.RatioOfMeans) {
		t.Errorf("exploitation: %+v", ex)
	}
}

func TestAnalysesRefuseRunsWithoutAModel(t *testing.T) {
	untrained := savedRun(t, func(c *trainer.Config) { c.Steps = 300 }) // the random phase only
	sac := savedRun(t, func(c *trainer.Config) { c.Steps, c.Algo = 300, "sac" })
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	o := CompoundingOptions{Episodes: 1, Horizon: 2, Stride: 1}
	for _, tt := range []struct{ dir, want string }{
		{sac, "has no dynamics model"},
		{untrained, "never trained"},
		{t.TempDir(), "no checkpoint"},
	} {
		if _, err := CompoundingErrorOf(tt.dir, eng, o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("compounding error: %v, want an error saying %q", err, tt.want)
		}
	}
	if _, err := ExploitationOf(sac); err == nil || !strings.Contains(err.Error(), "has no model") {
		t.Errorf("exploitation of a SAC run: %v", err)
	}
}

func TestExploitationSummary(t *testing.T) {
	dir := t.TempDir()
	cfg, err := trainer.PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	cfg.ModelReturnHorz = 50
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	rows := []trainer.Metrics{
		{EnvSteps: 300, ModelReturnMean: math.NaN(), RealReturnMean: math.NaN()},
		{EnvSteps: 600, ModelReturnMean: 90, RealReturnMean: 100},
		{EnvSteps: 900, ModelReturnMean: 190, RealReturnMean: 200},
		{EnvSteps: 1200, ModelReturnMean: 310, RealReturnMean: 300},
	}
	var lines []string
	for _, m := range rows {
		b, _ := m.MarshalJSON()
		lines = append(lines, string(b))
	}
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	ex, err := ExploitationOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	// Ratio of means: (90+190+310) / (100+200+300) = 590/600; gap (-10-10+10)/3.
	if len(ex.EnvSteps) != 3 || math.Abs(ex.RatioOfMeans-590.0/600) > 1e-12 || math.Abs(ex.MeanGap+10.0/3) > 1e-12 || ex.Under != 2 || ex.Horizon != 50 {
		t.Errorf("exploitation %+v", ex)
	}
}
