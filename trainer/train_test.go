package trainer

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// tinyConfig is a seconds-long MBPO run on InvertedPendulum with small
// networks: it exercises every stage of the loop, not learning.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	c, err := PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	c.Steps, c.EpochLength, c.InitSteps = 900, 300, 300
	c.G, c.Hidden, c.ModelHidden = 2, 32, 32
	c.ModelTrainFreq, c.RolloutBatch, c.ModelMaxEpochs = 150, 400, 3
	c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 2, 50, 1
	c.Threads = 1
	return c
}

func newEngine(t *testing.T) engine.Engine {
	t.Helper()
	eng := cpu.New(cpu.Options{Threads: 1})
	t.Cleanup(func() { eng.Close() })
	return eng
}

func run(t *testing.T, c Config, dir string) []Metrics {
	t.Helper()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	return readMetrics(t, dir)
}

func readMetrics(t *testing.T, dir string) []Metrics {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := ReadMetrics(f, "metrics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// learningFields drops the fields that measure time, so two runs of the
// same computation compare equal.
func learningFields(m Metrics) Metrics { return m.Untimed() }

func TestRunWritesRunDirectory(t *testing.T) {
	dir := t.TempDir()
	rows := run(t, tinyConfig(t), dir)
	if len(rows) != 3 {
		t.Fatalf("%d metrics rows, want 3 (900 steps / 300)", len(rows))
	}
	last := rows[2]
	if last.EnvSteps != 900 || last.Epoch != 3 || last.Updates != 2*600 {
		t.Errorf("last row: env steps %d epoch %d updates %d, want 900, 3, 1200", last.EnvSteps, last.Epoch, last.Updates)
	}
	if len(last.ModelHoldoutMSE) != 7 || len(last.ModelElites) != 5 || last.RolloutK != 1 || last.ModelBufSize == 0 {
		t.Errorf("model metrics missing: %+v", last)
	}
	if math.IsNaN(last.ModelReturnMean) || math.IsNaN(last.Alpha) || last.TimeSAC <= 0 || last.TimeModel <= 0 {
		t.Errorf("metrics not filled: model return %v alpha %v sac %vs model %vs", last.ModelReturnMean, last.Alpha, last.TimeSAC, last.TimeModel)
	}
	cfgInfo, _ := os.Stat(filepath.Join(dir, "config.json"))
	for _, f := range []string{"config.json", "metrics.jsonl", "metrics.csv", rundir.CheckpointFile} {
		if fi, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("run directory lacks %s: %v", f, err)
		} else if fi.Mode() != cfgInfo.Mode() {
			t.Errorf("%s has mode %v, config.json %v: want the same", f, fi.Mode(), cfgInfo.Mode())
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "metrics.csv"))
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "epoch,env_steps,timesteps,wall_s,eval/return_mean") {
		t.Errorf("metrics.csv has %d lines, header %q", len(lines), lines[0])
	}
	if n := len(strings.Split(lines[0], ",")); n != len(strings.Split(lines[3], ",")) {
		t.Errorf("metrics.csv rows do not match the header's %d columns", n)
	}
}

// Every environment trains end to end with its own configuration (obs and
// action sizes, termination function in the rollouts, target entropy), on
// small networks and k = 5 so that untrained models end rollouts early.
func TestEveryEnvTrains(t *testing.T) {
	for _, id := range env.IDs() {
		t.Run(id, func(t *testing.T) {
			c, err := PaperConfig(id)
			if err != nil {
				t.Fatal(err)
			}
			c.Steps, c.EpochLength, c.InitSteps, c.ReplaySize = 600, 300, 300, 10_000
			c.G, c.Hidden, c.ModelHidden = 2, 32, 32
			c.ModelTrainFreq, c.RolloutBatch, c.ModelMaxEpochs, c.RolloutLength = 150, 300, 2, 5
			c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery, c.Threads = 2, 50, 2, 1
			rows := run(t, c, t.TempDir())
			if len(rows) != 2 {
				t.Fatalf("%d metrics rows, want 2 (600 steps / 300)", len(rows))
			}
			m := rows[1]
			t.Logf("mean rollout length %.2f, eval return %.1f over %.0f steps", m.RolloutMeanLen, m.EvalReturnMean, m.EvalLengthMean)
			if m.EnvSteps != 600 || m.RolloutK != 5 || m.ModelBufSize == 0 || len(m.ModelElites) != 5 {
				t.Errorf("env steps %d, k %d, model buffer %d, elites %v: want 600, 5, some, 5 elites",
					m.EnvSteps, m.RolloutK, m.ModelBufSize, m.ModelElites)
			}
			// Only HalfCheetah and Swimmer never terminate; in the others,
			// an untrained model soon leaves the healthy region.
			if never := id == "HalfCheetah-v4" || id == "Swimmer-v4"; never && m.RolloutMeanLen != 5 {
				t.Errorf("mean rollout length %v, want all 5 steps: %s never terminates", m.RolloutMeanLen, id)
			} else if !never && (m.RolloutMeanLen < 1 || m.RolloutMeanLen >= 5) {
				t.Errorf("mean rollout length %v, want within [1, 5): the termination function should end some rollouts", m.RolloutMeanLen)
			}
			// No episode can reach the 1,000-step time limit in 600 steps,
			// so every episode that ended in the second epoch (300 steps)
			// was ended by the termination rule.
			if got := math.Round(m.TrainTermRate * 300); got != float64(m.TrainEpisodes) || math.Abs(got-m.TrainTermRate*300) > 1e-9 {
				t.Errorf("train/termination_rate %v (%v terminations in 300 steps), want train/episodes %d / 300", m.TrainTermRate, m.TrainTermRate*300, m.TrainEpisodes)
			}
			if never := id == "HalfCheetah-v4" || id == "Swimmer-v4"; never && (m.RolloutTermRate != 0 || m.TrainTermRate != 0) {
				t.Errorf("termination rates: rollouts %v, real %v; want 0: %s never terminates", m.RolloutTermRate, m.TrainTermRate, id)
			} else if !never && !(m.RolloutTermRate > 0 && m.RolloutTermRate <= 1) {
				t.Errorf("rollout/termination_rate %v, want within (0, 1]: the rollouts that end early (mean length %v) are counted", m.RolloutTermRate, m.RolloutMeanLen)
			}
			if m.EvalLengthMean < 1 || m.EvalLengthMean > 1000 {
				t.Errorf("mean evaluation episode length %v, want within [1, 1000]", m.EvalLengthMean)
			}
			for _, x := range append([]float64{m.EvalReturnMean, m.ModelReturnMean, m.Alpha}, float64(m.ModelTrainLoss)) {
				if math.IsNaN(x) || math.IsInf(x, 0) {
					t.Errorf("non-finite metric in %+v", m)
					break
				}
			}
			for i, mse := range m.ModelHoldoutMSE {
				if !(mse >= 0) || math.IsInf(float64(mse), 0) {
					t.Errorf("member %d holdout MSE %v", i, mse)
				}
			}
		})
	}
}

// A run stopped at any env step and resumed writes bitwise the same metrics
// (time columns aside) as an uninterrupted run: stopped at an epoch's end
// (a shorter run extended), and inside an epoch by a signal (what Ctrl-C and
// SIGTERM do to the command's context) or by a deadline, where the
// checkpoint keeps the epoch's statistics so far.
// Under --real-add episode the stop falls inside an episode, whose pending
// transitions the checkpoint keeps.
func TestResumeMatchesUninterruptedRun(t *testing.T) {
	for _, mode := range []string{"step", "episode"} {
		t.Run(mode, func(t *testing.T) {
			c := tinyConfig(t)
			// Small rings that wrap before the stop: the real buffer at 500
			// steps, the model buffer at an odd row (3-step rollouts end early).
			c.ReplaySize, c.RolloutLength, c.RealAdd = 500, 3, mode
			whole := run(t, c, t.TempDir())
			for _, stop := range []string{"epoch-end", "signal", "deadline"} {
				t.Run(stop, func(t *testing.T) { testResume(t, c, whole, stop) })
			}
		})
	}
}

func testResume(t *testing.T, c Config, whole []Metrics, stop string) {
	dir := t.TempDir()
	var first []Metrics
	switch stop {
	case "epoch-end":
		short := c
		short.Steps = 600
		first = run(t, short, dir)
	case "signal", "deadline":
		tr, err := New(c, newEngine(t), dir, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		if stop == "deadline" {
			ctx, cancel = context.WithTimeout(context.Background(), 1500*time.Millisecond)
		}
		defer cancel()
		err = tr.Run(ctx, Hooks{Step: func(done, total int) {
			if done == 450 { // inside the second epoch
				if stop == "signal" {
					cancel()
				}
				<-ctx.Done()
			}
		}})
		tr.Close()
		if err != nil {
			t.Fatal(err)
		}
		first = readMetrics(t, dir)
	}
	h, _, err := readCheckpoint(filepath.Join(dir, rundir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("stopped at env step %d, %d rows", h.EnvSteps, len(first))
	if stop != "epoch-end" && h.EnvSteps%c.EpochLength == 0 {
		t.Errorf("the stop at env step %d is not inside an epoch", h.EnvSteps)
	}
	tr, err := Resume(dir, newEngine(t), c.Steps, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if c.RealAdd == "episode" && (tr.pending.Len() == 0 || tr.pending.Len() != tr.epLen) {
		t.Fatalf("resumed with %d pending transitions in an episode of %d steps: the checkpoint should fall inside an episode", tr.pending.Len(), tr.epLen)
	}
	if saved, err := readConfigJSON(dir); err != nil || saved.Steps != c.Steps {
		t.Errorf("config.json after resuming to %d steps: steps %d, %v", c.Steps, saved.Steps, err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	resumed := readMetrics(t, dir)
	if len(resumed) != len(whole) {
		t.Fatalf("%d rows before and %d after resuming, want %d", len(first), len(resumed), len(whole))
	}
	for i := range whole {
		// Compare as JSON, where NaN (a metric with no data) equals NaN.
		a, _ := json.Marshal(learningFields(whole[i]))
		b, _ := json.Marshal(learningFields(resumed[i]))
		if string(a) != string(b) {
			t.Errorf("epoch %d differs after resume:\nuninterrupted %s\nresumed       %s", i+1, a, b)
		}
	}
	if stop == "epoch-end" {
		return
	}
	// The row of the epoch stopped inside times the whole epoch: the
	// checkpoint kept its clocks, and its rates divide the epoch's counts
	// by the epoch's time.
	ep := c.EpochLength
	e := h.EnvSteps / ep // the stopped epoch's row: resumed[e], from env step e·ep
	c0 := h.Epoch.Clocks
	if c0 == nil || c0.EnvStepsAtStart != e*ep || c0.WallSec < c0.SACSec+c0.EnvSec || (e >= 1 && c0.SACSec <= 0) {
		t.Fatalf("the checkpoint at env step %d, inside the epoch from %d, kept the clocks %+v", h.EnvSteps, e*ep, c0)
	}
	m, prevUpdates := resumed[e], int64(0)
	if e >= 1 {
		prevUpdates = resumed[e-1].Updates
	}
	if m.TimeSAC < c0.SACSec || m.TimeModel < c0.ModelSec || m.TimeEnv < c0.EnvSec {
		t.Errorf("row of the stopped epoch: SAC %g s, model %g s, env %g s; the first session alone spent %g, %g, %g",
			m.TimeSAC, m.TimeModel, m.TimeEnv, c0.SACSec, c0.ModelSec, c0.EnvSec)
	}
	if n := float64(m.Updates - prevUpdates); n > 0 && !near64(m.SACUpdatesPerSec*m.TimeSAC, n) {
		t.Errorf("row of the stopped epoch: %g SAC updates/s over %g s, want the epoch's %g updates", m.SACUpdatesPerSec, m.TimeSAC, n)
	}
	if m.EnvStepsPerSec*c0.WallSec > float64(ep) {
		t.Errorf("row of the stopped epoch: %g env steps/s, but its first session alone took %g s for %d of its %d steps",
			m.EnvStepsPerSec, c0.WallSec, h.EnvSteps-e*ep, ep)
	}
}

// A run whose model buffer outgrew --checkpoint-model-buffer-mib says so
// once, and a resume with a larger cap saves the buffer again from its next
// checkpoint on (and records the new settings in config.json).
func TestResumeRaisesTheCheckpointCap(t *testing.T) {
	c := tinyConfig(t)
	c.CheckpointModelBufferMiB = 0 // any model rows are over it
	var logs strings.Builder
	tr, err := New(c, newEngine(t), t.TempDir(), zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if n := strings.Count(logs.String(), "outgrown --checkpoint-model-buffer-mib"); n != 1 {
		t.Errorf("checkpoints at 600 and 900 env steps left out the model buffer: %d warnings, want 1:\n%s", n, logs.String())
	}

	// Stopped at 600 env steps of 900.
	dir := t.TempDir()
	tr, err = New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := tr.Run(ctx, Hooks{Step: func(done, total int) {
		if done == 600 {
			cancel()
		}
	}}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	ckpt := filepath.Join(dir, rundir.CheckpointFile)
	h, _, err := readCheckpoint(ckpt)
	if err != nil || h.ModelBufferSaved {
		t.Fatalf("checkpoint at 600 with a cap of 0 MiB: model buffer saved %v, %v", h.ModelBufferSaved, err)
	}
	stopAtOnce := func(s ResumeSettings) *Trainer {
		t.Helper()
		tr, err := ResumeWith(dir, newEngine(t), s, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := tr.Run(ctx, Hooks{}); err != nil {
			t.Fatal(err)
		}
		tr.Close()
		return tr
	}
	// Stopped at once with its settings unchanged, the run leaves the
	// checkpoint as it was.
	stopAtOnce(ResumeSettings{})
	if h2, _, err := readCheckpoint(ckpt); err != nil || !h2.Saved.Equal(h.Saved) {
		t.Errorf("resumed and stopped at once: checkpoint saved %v, before %v (%v); want it untouched", h2.Saved, h.Saved, err)
	}
	// A resume that changes them and is killed before its next checkpoint
	// leaves them in config.json; zero is a value like any other.
	zero, cap64 := 0, 64
	tr, err = ResumeWith(dir, newEngine(t), ResumeSettings{CheckpointEvery: &zero, CheckpointModelBufferMiB: &cap64}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	tr.Close()
	if tr.Cfg.CheckpointEvery != 0 || tr.Cfg.CheckpointModelBufferMiB != 64 {
		t.Errorf("resumed with checkpoint-every 0 and a 64 MiB cap: config has %d and %d", tr.Cfg.CheckpointEvery, tr.Cfg.CheckpointModelBufferMiB)
	}
	if saved, err := readConfigJSON(dir); err != nil || saved.CheckpointModelBufferMiB != 64 || saved.CheckpointEvery != 0 {
		t.Errorf("config.json after the resume: checkpoint-every %d, cap %d, %v", saved.CheckpointEvery, saved.CheckpointModelBufferMiB, err)
	}
	// The next plain resume takes them from config.json and, stopped at
	// once, saves a checkpoint that records them and holds the model buffer.
	tr = stopAtOnce(ResumeSettings{})
	if tr.Cfg.CheckpointEvery != 0 || tr.Cfg.CheckpointModelBufferMiB != 64 {
		t.Errorf("plain resume after config.json took new settings: checkpoint-every %d, cap %d; want 0 and 64", tr.Cfg.CheckpointEvery, tr.Cfg.CheckpointModelBufferMiB)
	}
	if h2, _, err := readCheckpoint(ckpt); err != nil || h2.EnvSteps != 600 || !h2.ModelBufferSaved || h2.Config.CheckpointModelBufferMiB != 64 {
		t.Errorf("checkpoint after a resume with a 64 MiB cap, stopped at once: env steps %d, model buffer saved %v, cap %d, %v (want 600, true, 64)",
			h2.EnvSteps, h2.ModelBufferSaved, h2.Config.CheckpointModelBufferMiB, err)
	}
	tr, err = Resume(dir, newEngine(t), 0, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	h, _, err = readCheckpoint(ckpt)
	if err != nil || h.EnvSteps != 900 || !h.ModelBufferSaved || h.Config.CheckpointModelBufferMiB != 64 {
		t.Errorf("checkpoint after the resume: env steps %d, model buffer saved %v, cap %d, %v (want 900, true, 64)",
			h.EnvSteps, h.ModelBufferSaved, h.Config.CheckpointModelBufferMiB, err)
	}
}

func TestCorruptCheckpointIsAClearError(t *testing.T) {
	c := tinyConfig(t)
	c.Steps = 300
	dir := t.TempDir()
	run(t, c, dir)
	path := filepath.Join(dir, rundir.CheckpointFile)
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		mutate  func([]byte) []byte
		wantErr string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b }, "corrupt"},
		{"truncated", func(b []byte) []byte { return b[:len(b)-100] }, "corrupt"},
		{"not a checkpoint", func(b []byte) []byte { return []byte("hello, this is not a checkpoint file at all") }, "not an mbpo checkpoint"},
	}
	for _, tt := range tests {
		if err := os.WriteFile(path, tt.mutate(append([]byte(nil), good...)), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Resume(dir, newEngine(t), 0, zerolog.Nop())
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: Resume error %v, want one mentioning %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := Resume(t.TempDir(), newEngine(t), 0, zerolog.Nop()); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("empty directory: %v", err)
	}
}

// nanAgent wraps a real agent and reports a NaN critic loss from update after.
type nanAgent struct {
	engine.Agent
	calls, after int
}

func (a *nanAgent) Update(b engine.Batch, k rng.Key) (engine.UpdateStats, error) {
	s, err := a.Agent.Update(b, k)
	if a.calls++; a.calls > a.after {
		s.Q2Loss = float32(math.NaN())
	}
	return s, err
}

// nanEngine makes agents whose updates turn NaN after a number of calls.
type nanEngine struct {
	engine.Engine
	after int
}

func (e nanEngine) NewAgent(spec engine.AgentSpec, seed uint64) (engine.Agent, error) {
	a, err := e.Engine.NewAgent(spec, seed)
	return &nanAgent{Agent: a, after: e.after}, err
}

func TestNonFiniteLossStopsTheRun(t *testing.T) {
	c := tinyConfig(t)
	dir := t.TempDir()
	eng := nanEngine{Engine: newEngine(t), after: 700} // fails in the third epoch, after two checkpoints
	tr, err := New(c, eng, dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	err = tr.Run(context.Background(), Hooks{})
	if err == nil || !strings.Contains(err.Error(), "critic 2 loss is NaN") {
		t.Fatalf("Run error %v, want one naming the critic 2 loss", err)
	}
	cfg, err := ReadCheckpointConfig(dir)
	if err != nil {
		t.Fatalf("the last good checkpoint is gone: %v", err)
	}
	h, _, _ := readCheckpoint(filepath.Join(dir, rundir.CheckpointFile))
	if cfg.Env != c.Env || h.EnvSteps != 600 {
		t.Fatalf("checkpoint at env step %d, want the last good one at 600", h.EnvSteps)
	}
}

func TestInterruptSavesCheckpoint(t *testing.T) {
	c := tinyConfig(t)
	dir := t.TempDir()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, cancel := context.WithCancel(context.Background())
	err = tr.Run(ctx, Hooks{Step: func(done, total int) {
		if done == 450 {
			cancel()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	h, _, err := readCheckpoint(filepath.Join(dir, rundir.CheckpointFile))
	if err != nil || h.EnvSteps != 450 {
		t.Fatalf("checkpoint after interrupt: env steps %d, err %v; want 450", h.EnvSteps, err)
	}
}

func TestConfigValidateNamesTheFlag(t *testing.T) {
	base := tinyConfig(t)
	tests := []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"unknown env", func(c *Config) { c.Env = "Hoppr-v4" }, "Hopper-v4"},
		{"bad algo", func(c *Config) { c.Algo = "ppo" }, "--algo"},
		{"bad ratio", func(c *Config) { c.RealRatio = 1.5 }, "--real-ratio 1.5: want within [0, 1]"},
		{"no model data", func(c *Config) { c.RealRatio = 1 }, "--real-ratio 1 leaves no room"},
		{"threads", func(c *Config) { c.Threads = -1 }, "--threads -1"},
		{"elites above members", func(c *Config) { c.Elites = 9 }, "--elites"},
		{"bad schedule", func(c *Config) { c.RolloutSchedule = [4]int{5, 2, 1, 1} }, "--rollout-schedule"},
		{"bad device", func(c *Config) { c.Device = "tpu" }, "--device"},
	}
	for _, tt := range tests {
		c := base
		tt.mutate(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", tt.name, err, tt.want)
		} else if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
			t.Errorf("%s: %d errors for one bad setting:\n%v", tt.name, n, err)
		}
	}
	if err := base.Validate(); err != nil {
		t.Fatalf("valid config rejected: %v", err)
	}
	never := base
	never.InitSteps, never.Steps = 99999, 1000
	if err := never.CheckLearns(); err == nil || !strings.Contains(err.Error(), "--init-steps 99999: want fewer than --steps 1000") {
		t.Errorf("CheckLearns of a run that never leaves its random steps: %v", err)
	}
	if err := base.CheckLearns(); err != nil {
		t.Errorf("CheckLearns(%d init steps of %d): %v", base.InitSteps, base.Steps, err)
	}
	var sacCfg = base
	sacCfg.Algo = "sac"
	sacCfg.Normalize()
	if sacCfg.G != 1 || sacCfg.RealRatio != 1 || sacCfg.Model() {
		t.Errorf("--algo sac normalised to G=%d real ratio %v model %v", sacCfg.G, sacCfg.RealRatio, sacCfg.Model())
	}
	noModel := base
	noModel.Ablation = "no-model"
	noModel.Normalize()
	if noModel.G != base.G || noModel.RealRatio != 1 || noModel.Model() {
		t.Errorf("--ablation no-model normalised to G=%d real ratio %v model %v", noModel.G, noModel.RealRatio, noModel.Model())
	}
	noRestore := base
	noRestore.Ablation = "no-restore"
	noRestore.Normalize()
	if err := noRestore.Validate(); err != nil || noRestore.RealRatio != base.RealRatio || !noRestore.Model() {
		t.Errorf("--ablation no-restore: %v, real ratio %v, model %v; want valid, %v, a model", err, noRestore.RealRatio, noRestore.Model(), base.RealRatio)
	}
	spec, _ := env.Lookup(base.Env)
	if fit := stagesConfig(noRestore, spec).Fit; !fit.NoRestore || stagesConfig(base, spec).Fit.NoRestore {
		t.Errorf("--ablation no-restore does not reach the fit stage (NoRestore %v), or MBPO does not restore", fit.NoRestore)
	}
}

// The GPU engine's stages (device buffers, fit, device rollouts and SAC
// updates) give the same run as the host stages of the CPU engine. The GPU engine runs here
// on kernels.OnHost, the kernel sources executed on the CPU over the same
// grids; its float sums differ from the CPU engine's in the last bits, so
// the runs are compared with a tolerance, and a resumed device run must
// repeat its uninterrupted twin exactly.
func TestDevicePathMatchesHostPath(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the GPU kernels on the CPU")
	}
	c := tinyConfig(t)
	// Every stage a few times, on small shapes: the host build of the kernels
	// starts threads for every launch, so this is slow per step.
	c.Steps, c.EpochLength, c.InitSteps, c.ModelTrainFreq = 120, 10, 100, 10
	c.BatchSize, c.Hidden, c.ModelHidden, c.EnsembleSize, c.Elites = 32, 16, 16, 3, 2
	c.RolloutBatch, c.G, c.ReplaySize, c.RolloutLength, c.ModelMaxEpochs = 64, 2, 105, 2, 2
	c.ModelReturnHorz, c.EvalEpisodes = 5, 1
	host := run(t, c, t.TempDir())

	devEngine := func() engine.Engine {
		e := cuda.New(kernels.OnHost())
		t.Cleanup(func() { e.Close() })
		return e
	}
	dir := t.TempDir()
	tr, err := New(c, devEngine(), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, host := tr.st.Real().(*stages.Ring); host {
		t.Fatal("the GPU engine's stages keep their buffers in host memory")
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	dev := readMetrics(t, dir)
	if len(dev) != len(host) {
		t.Fatalf("%d device rows, %d host rows", len(dev), len(host))
	}
	for i := range host {
		h, d := host[i], dev[i]
		if h.Updates != d.Updates || h.ModelBufSize != d.ModelBufSize || h.ModelEpochs != d.ModelEpochs || h.EnvSteps != d.EnvSteps {
			t.Errorf("epoch %d: host updates %d buffer %d model epochs %d, device %d %d %d", i+1,
				h.Updates, h.ModelBufSize, h.ModelEpochs, d.Updates, d.ModelBufSize, d.ModelEpochs)
		}
		for _, q := range [][3]any{{"eval return", h.EvalReturnMean, d.EvalReturnMean}, {"critic loss", h.Q1Loss, d.Q1Loss},
			{"alpha", h.Alpha, d.Alpha}, {"model return", h.ModelReturnMean, d.ModelReturnMean}} {
			a, b := q[1].(float64), q[2].(float64)
			if math.IsNaN(a) != math.IsNaN(b) || math.Abs(a-b) > 1e-3*(1+math.Abs(a)) {
				t.Errorf("epoch %d: %s %v on the host path, %v on the device path", i+1, q[0], a, b)
			}
		}
	}

	// Resume on the device path: the rings are rebuilt with their layout.
	dir2 := t.TempDir()
	short := c
	short.Steps = 110 // an epoch's end: the resumed epoch's means cover the same updates
	tr, err = New(short, devEngine(), dir2, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	tr, err = Resume(dir2, devEngine(), c.Steps, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	tr.Close()
	resumed := readMetrics(t, dir2)
	a, _ := json.Marshal(learningFields(dev[len(dev)-1]))
	b, _ := json.Marshal(learningFields(resumed[len(resumed)-1]))
	if string(a) != string(b) {
		t.Errorf("resumed device run differs:\nuninterrupted %s\nresumed       %s", a, b)
	}
}

// The epoch state a checkpoint keeps carries the epoch's clocks through
// JSON: the restored epoch's clock goes on from the saved wall time and its
// rates divide the saved counts. A state from a build before the clocks
// times only the new session and leaves its updates out of the SAC rate.
func TestEpochClocksSurviveACheckpoint(t *testing.T) {
	a := epochAccumulator{timeEnv: 1, timeModel: 2, timeRollout: 3, timeSAC: 4, modelRows: 50, rolloutSteps: 60,
		envStepsAtStart: 3000, wallAtStart: time.Now().Add(-10 * time.Second), terminations: 2}
	a.sac.Updates = 400
	b, err := json.Marshal(a.state())
	if err != nil {
		t.Fatal(err)
	}
	var s epochState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	var r epochAccumulator
	r.setState(s, 3500)
	r.startSession()
	if r.timeEnv != 1 || r.timeModel != 2 || r.timeRollout != 3 || r.timeSAC != 4 || r.modelRows != 50 || r.rolloutSteps != 60 ||
		r.envStepsAtStart != 3000 || r.sacUntimed != 0 || r.sac.Updates != 400 || r.terminations != 2 {
		t.Errorf("restored %+v from %s", r, b)
	}
	if w := time.Since(r.wallAtStart).Seconds(); w < 10 || w > 15 {
		t.Errorf("the restored epoch's clock reads %.1f s, want the saved 10 s and a little", w)
	}

	s.Clocks = nil // as a checkpoint of an earlier build
	var o epochAccumulator
	o.setState(s, 3500)
	o.startSession()
	if o.timeSAC != 0 || o.envStepsAtStart != 3500 || o.sacUntimed != 400 || o.sac.Updates != 400 || time.Since(o.wallAtStart) > 5*time.Second {
		t.Errorf("restored from a state without clocks: %+v; want the clocks started at env step 3500, the 400 updates untimed", o)
	}
}
