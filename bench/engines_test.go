// engines_test.go: the engine benchmarks (ModelTrain, Rollouts, SAC, Train)
// on the CPU engine and on the GPU engine's kernels run by the host (the GPU
// paths without a GPU), from the same data and seeds: every figure measured,
// and where two engines must agree, that they do.
//
//	go test ./bench -run Bench

package bench

import (
	"math"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// hopper is the paper's Hopper configuration, changed by set.
func hopper(t *testing.T, set func(*trainer.Config)) trainer.Config {
	t.Helper()
	cfg, err := trainer.PaperConfig("Hopper-v4")
	if err != nil {
		t.Fatal(err)
	}
	set(&cfg)
	return cfg
}

// randomData is rows random-policy steps of cfg's environment.
func randomData(t *testing.T, cfg trainer.Config, rows int) *stages.Replay {
	t.Helper()
	real, err := CollectRandom(cfg, rows)
	if err != nil {
		t.Fatal(err)
	}
	if real.Len() != rows {
		t.Fatalf("CollectRandom(%d) gave %d rows", rows, real.Len())
	}
	return real
}

// onEngines runs a benchmark on the CPU engine and on the GPU engine's
// kernels run by the host, each closed after, and returns both results, CPU
// engine first.
func onEngines[R any](t *testing.T, run func(eng engine.Engine) (R, error)) (cpuRes, devRes R) {
	t.Helper()
	var res [2]R
	for i, eng := range []engine.Engine{cpu.New(cpu.Options{}), cuda.New(kernels.OnHost())} {
		r, err := run(eng)
		eng.Close()
		if err != nil {
			t.Fatalf("%s: %v", eng.Name(), err)
		}
		res[i] = r
	}
	return res[0], res[1]
}

func TestBenchModelTrainEngines(t *testing.T) {
	cfg := hopper(t, func(c *trainer.Config) { c.ModelHidden, c.ModelMaxEpochs = 8, 2 })
	real := randomData(t, cfg, 200)
	onCPU, onDev := onEngines(t, func(eng engine.Engine) (ModelTrainResult, error) { return ModelTrain(eng, cfg, real) })
	for _, r := range []ModelTrainResult{onCPU, onDev} {
		t.Logf("%s: %d epochs in %.2f s, holdout MSE %v, NLL %v, elites %v", r.Engine, r.Epochs, r.Seconds, r.HoldoutMSE, r.HoldoutNLL, r.Elites)
		if r.Epochs != 2 || r.Train+r.Holdout != 200 || len(r.HoldoutMSE) != 7 || len(r.Elites) != 5 || !(r.RowsPerSec > 0) {
			t.Errorf("%s: implausible result %+v", r.Engine, r)
		}
	}
	if onCPU.Machine != "cpu" || onDev.Machine == "cpu" || onCPU.Path == onDev.Path {
		t.Errorf("machines %q and %q, paths %q and %q: want each engine's", onCPU.Machine, onDev.Machine, onCPU.Path, onDev.Path)
	}
	for e := range onCPU.HoldoutMSE {
		for _, p := range [][2]float32{{onDev.HoldoutMSE[e], onCPU.HoldoutMSE[e]}, {onDev.HoldoutNLL[e], onCPU.HoldoutNLL[e]}} {
			if d := math.Abs(float64(p[0]-p[1])) / max(1e-3, math.Abs(float64(p[1]))); !(d <= 0.02) {
				t.Errorf("member %d: GPU engine %v, CPU engine %v: %.3g apart, above 2%%", e, p[0], p[1], d)
			}
		}
	}
}

func TestBenchRolloutEngines(t *testing.T) {
	cfg := hopper(t, func(c *trainer.Config) { c.ModelHidden = 16 })
	real := randomData(t, cfg, 300)
	onCPU, onDev := onEngines(t, func(eng engine.Engine) (RolloutResult, error) { return Rollouts(eng, cfg, real, 64, 3, 1) })
	// The host stages time their policy and model passes; the GPU engine
	// profiles a round launch by launch.
	split := map[string][]string{"cpu": {"policy", "ensemble, sampling and termination"},
		"cuda-host": {"policy", "ensemble", "buffer writes", "compaction"}}
	for _, r := range []RolloutResult{onCPU, onDev} {
		t.Logf("%s: %d steps per round, %.0f steps/s, split %v", r.Engine, r.StepsPerRound, r.ModelStepsPerSec, r.Split)
		if r.StepsPerRound < 64*3*9/10 || r.StepsPerRound > 64*3 || !(r.ModelStepsPerSec > 0) || !(r.GFLOPs > 0) {
			t.Errorf("%s: %d steps per round (want about 192), %v steps/s, %v GFLOP/s", r.Engine, r.StepsPerRound, r.ModelStepsPerSec, r.GFLOPs)
		}
		for _, stage := range split[r.Engine] {
			if _, ok := r.Split[stage]; !ok {
				t.Errorf("%s: no %q in the time split %v", r.Engine, stage, r.Split)
			}
		}
	}
	// The same networks, states and keys: both paths make the same steps.
	if onCPU.StepsPerRound != onDev.StepsPerRound {
		t.Errorf("CPU engine %d model steps per round, GPU engine %d", onCPU.StepsPerRound, onDev.StepsPerRound)
	}
	if onCPU.Engine != "cpu" || onDev.Engine != "cuda-host" || onCPU.ModelHidden != 16 || onDev.Batch != 64 || onDev.K != 3 {
		t.Errorf("engines %q (%+v) and %q (%+v)", onCPU.Engine, onCPU, onDev.Engine, onDev)
	}
	if d := onDev.Path; d == onCPU.Path || !strings.Contains(d, "graph") {
		t.Errorf("GPU engine path %q, want its device rollouts replayed as a graph", d)
	}
}

func TestBenchSACEngines(t *testing.T) {
	cfg := hopper(t, func(c *trainer.Config) { c.Hidden = 8 })
	real := randomData(t, cfg, 100)
	onCPU, onDev := onEngines(t, func(eng engine.Engine) (SACResult, error) { return SAC(eng, cfg, real, 16, 1, 1) })
	for _, r := range []SACResult{onCPU, onDev} {
		t.Logf("%s: %.1f updates/s (%s), %.3g GFLOP/s, through Agent.Update %.1f/s", r.Engine, r.UpdatesPerSec, r.Path, r.GFLOPs, r.InterfacePerSec)
		if r.Updates != 1 || !(r.UpdatesPerSec > 0) || !(r.GFLOPs > 0) || !(r.MeanQ1Loss > 0) || r.Batch != 16 || r.Hidden != 8 {
			t.Errorf("%s: implausible result %+v", r.Engine, r)
		}
	}
	if onDev.G != 1 || !(onDev.InterfacePerSec > 0) || onCPU.InterfacePerSec != 0 {
		t.Errorf("GPU path G %d, Agent.Update rate %v; CPU path Agent.Update rate %v", onDev.G, onDev.InterfacePerSec, onCPU.InterfacePerSec)
	}
	// Rounded up to whole runs of g.
	eng := oneThread(t)
	defer eng.Close()
	if r, err := SAC(eng, cfg, real, 16, 5, 4); err != nil || r.Updates != 8 || r.G != 4 {
		t.Errorf("5 updates in runs of 4: %d updates, G %d, %v; want 8 and 4", r.Updates, r.G, err)
	}
}

func TestBenchTrainMeasuresEveryStage(t *testing.T) {
	cfg := hopper(t, func(c *trainer.Config) {
		c.Hidden, c.ModelHidden, c.RolloutBatch, c.BatchSize, c.Threads = 8, 8, 50, 32, 1
	})
	eng := oneThread(t)
	defer eng.Close()
	r, err := Train(eng, cfg, TrainOptions{RealSteps: 64, SACUpdates: 3, K: 2, ModelEpochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r)
	for name, v := range map[string]float64{"env steps/s": r.EnvStepsPerSec, "SAC updates/s": r.SACUpdatesPerSec,
		"SAC GFLOP/s": r.SACGFLOPs, "model rows/s": r.ModelRowsPerSec, "model steps/s": r.ModelStepsPerSec,
		"s per 1,000 env steps": r.SecPer1000, "peak": r.PeakGFLOPs} {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Errorf("%s = %v, want a positive number", name, v)
		}
	}
	if r.ModelRows != 64 || r.ModelEpochs != 1 || r.RolloutBatch != 50 || r.RolloutK != 2 || r.G != cfg.G ||
		r.Threads != 1 || r.PeakName != "sgemm" || r.Products == "" {
		t.Errorf("sizes: %+v", r)
	}
	if _, err := Train(eng, cfg, TrainOptions{RealSteps: 8, SACUpdates: 1}); err == nil {
		t.Error("fewer real steps than a batch: no error")
	}
}

// oneThread is a CPU engine on one thread.
func oneThread(t *testing.T) engine.Engine {
	t.Helper()
	return cpu.New(cpu.Options{Threads: 1})
}
