// train.go: "mbpo train", one MBPO (or SAC) training run, and "mbpo eval".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/trainer"
)

const trainAbout = `Trains MBPO (or, with --algo sac, model-free SAC) on one environment with the
paper's configuration for it; every setting is a flag. Each run writes a run
directory: config.json, metrics.jsonl, metrics.csv and checkpoint.mbpo.
--resume RUN_DIR continues a run from its checkpoint (Ctrl-C saves one).

Ablations from the paper: --ablation no-model, --rollout-length 1,
--rollout-length 200, --algo sac.`

func runTrain(a *app, args []string) error {
	// The env decides the defaults, so find --env (and --resume) first.
	envID, resume := "Hopper-v4", ""
	for i := 0; i < len(args); i++ {
		name, val, hasVal := strings.Cut(strings.TrimLeft(args[i], "-"), "=")
		if !strings.HasPrefix(args[i], "-") || (name != "env" && name != "resume") {
			continue
		}
		if !hasVal && i+1 < len(args) {
			val = args[i+1]
		}
		if name == "env" {
			envID = val
		} else {
			resume = val
		}
	}
	if _, err := env.Lookup(envID); err != nil {
		return usageError{err.Error()}
	}
	cfg, err := trainer.PaperConfig(envID)
	if err != nil {
		return usageError{err.Error()}
	}
	fs := a.newFlags("train", "[flags]", trainAbout)
	fs.StringVar(&cfg.Env, "env", cfg.Env, "environment id (see mbpo envs); the defaults of the other flags follow it")
	cfg.RegisterFlags(fs)
	var lf logFlags
	lf.register(fs)
	out := fs.String("out", "runs", "parent directory of new run directories")
	runDir := fs.String("run-dir", "", "exact run directory (default: OUT/ENV__ALGO__SEED__TIME)")
	fs.StringVar(&resume, "resume", "", "continue the run in this directory from its checkpoint")
	progress := fs.Bool("progress", true, "show a progress bar with ETA when stderr is a terminal")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to this file (go tool pprof reads it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}

	var t *trainer.Trainer
	if resume != "" {
		saved, err := trainer.ReadCheckpointConfig(resume)
		if err != nil {
			return err
		}
		eng, err := selectEngine(saved.Device, saved.Threads, log)
		if err != nil {
			return err
		}
		defer eng.Close()
		steps := 0
		if flagSet(fs, "steps") {
			steps = cfg.Steps
		}
		if t, err = trainer.Resume(resume, eng, steps, log); err != nil {
			return err
		}
		log.Info().Str("run_dir", resume).Int("env_steps", t.EnvSteps()).Int("total", t.Cfg.Steps).Msg("resuming")
	} else {
		if !flagSet(fs, "steps") { // the authors' number of learning steps after the random ones
			cfg.Steps = cfg.InitSteps + trainer.LearningSteps(cfg.Env)
		}
		cfg.Normalize()
		if err := cfg.Validate(); err != nil {
			return usageError{err.Error()}
		}
		if *runDir == "" {
			*runDir = filepath.Join(*out, fmt.Sprintf("%s__%s__%d__%s", cfg.Env, experimentName(cfg), cfg.Seed, time.Now().Format("20060102-150405")))
		}
		eng, err := selectEngine(cfg.Device, cfg.Threads, log)
		if err != nil {
			return err
		}
		defer eng.Close()
		if t, err = trainer.New(cfg, eng, *runDir, log); err != nil {
			return err
		}
		ev := log.Info().Str("run_dir", *runDir).Str("env", cfg.Env).Str("algo", cfg.Algo).Str("ablation", cfg.Ablation).
			Uint64("seed", cfg.Seed).Int("steps", cfg.Steps).Int("G", cfg.G).Float64("real_ratio", cfg.RealRatio)
		if cfg.Model() {
			sched := cfg.Schedule()
			ev = ev.Ints("rollout_schedule", sched[:]).Int("rollout_batch", cfg.RolloutBatch).Int("model_hidden", cfg.ModelHidden)
		}
		ev.Bool("paper_config", trainer.FromPaper(cfg.Env)).Msg("starting (full config in config.json)")
	}
	defer t.Close()

	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bar := newProgressBar(a.stderr, *progress && isTerminal(a.stderr))
	hooks := trainer.Hooks{
		Step: bar.update,
		Epoch: func(m trainer.Metrics) {
			bar.clear()
			logEpoch(log, m)
			bar.setReturn(m.EvalReturnMean)
		},
	}
	err = t.Run(ctx, hooks)
	bar.clear()
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		fmt.Fprintf(a.stderr, "stopped at env step %d; continue with: mbpo train --resume %s\n", t.EnvSteps(), t.RunDir)
		return nil
	}
	fmt.Fprintf(a.stdout, "run directory: %s\n", t.RunDir)
	return nil
}

// experimentName is the ALGO part of a run directory's name.
func experimentName(c trainer.Config) string {
	switch {
	case c.Algo == "sac":
		return "sac"
	case c.Ablation != "none":
		return "mbpo-" + c.Ablation
	case c.RolloutLength > 0:
		return fmt.Sprintf("mbpo-k%d", c.RolloutLength)
	}
	return "mbpo"
}

// flagSet reports whether the command line set the named flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) {
		if f.Name == name {
			set = true
		}
	})
	return set
}

// logEpoch writes the one log line of an epoch.
func logEpoch(log zerolog.Logger, m trainer.Metrics) {
	ev := log.Info().Int("epoch", m.Epoch).Int("env_steps", m.EnvSteps).Int("timesteps", m.Timesteps).
		Str("eval_return", fmt.Sprintf("%.1f±%.1f", m.EvalReturnMean, m.EvalReturnStd))
	if !math.IsNaN(m.TrainReturnMean) {
		ev = ev.Str("train_return", fmt.Sprintf("%.1f", m.TrainReturnMean))
	}
	if len(m.ModelHoldoutMSE) > 0 {
		ev = ev.Str("model_mse", fmt.Sprintf("%.4g", meanF32(m.ModelHoldoutMSE, m.ModelElites))).Int("model_epochs", m.ModelEpochs).
			Int("k", m.RolloutK).Int("model_buffer", m.ModelBufSize)
	}
	if !math.IsNaN(m.Alpha) {
		ev = ev.Str("q_loss", fmt.Sprintf("%.3g", (m.Q1Loss+m.Q2Loss)/2)).Str("alpha", fmt.Sprintf("%.3g", m.Alpha)).
			Str("entropy", fmt.Sprintf("%.2f", m.Entropy))
	}
	if !math.IsNaN(m.ModelReturnMean) {
		ev = ev.Str("model_vs_real", fmt.Sprintf("%.0f/%.0f", m.ModelReturnMean, m.RealReturnMean))
	}
	ev.Str("steps_per_s", fmt.Sprintf("%.1f", m.EnvStepsPerSec)).
		Str("time", fmt.Sprintf("env %.0fs model %.0fs rollout %.0fs sac %.0fs eval %.0fs", m.TimeEnv, m.TimeModel, m.TimeRollout, m.TimeSAC, m.TimeEval)).
		Msg("epoch")
}

// meanF32 is the mean of v over the indices ids (all of v when ids is empty).
func meanF32(v []float32, ids []int) float64 {
	if len(ids) == 0 {
		for i := range v {
			ids = append(ids, i)
		}
	}
	s := 0.0
	for _, i := range ids {
		s += float64(v[i])
	}
	return s / float64(len(ids))
}

// progressBar draws "[=====>    ] 12000/125000 steps  eval 1234  ETA 1h02m" on
// a terminal, at most a few times per second.
type progressBar struct {
	w       io.Writer
	on      bool
	start   time.Time
	first   int
	last    time.Time
	ret     float64
	drawn   bool
	started bool
}

func newProgressBar(w io.Writer, on bool) *progressBar {
	return &progressBar{w: w, on: on, ret: math.NaN()}
}

func (p *progressBar) setReturn(r float64) { p.ret = r }

func (p *progressBar) update(done, total int) {
	if !p.on {
		return
	}
	now := time.Now()
	if !p.started {
		p.started, p.start, p.first = true, now, done
	}
	if now.Sub(p.last) < 250*time.Millisecond && done < total {
		return
	}
	p.last = now
	const width = 30
	frac := float64(done) / float64(total)
	n := int(frac * width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	if n < width {
		bar = bar[:n] + ">" + bar[n+1:]
	}
	eta := "?"
	if el := now.Sub(p.start); done > p.first && el > time.Second {
		rem := time.Duration(float64(el) / float64(done-p.first) * float64(total-done))
		eta = rem.Round(time.Second).String()
	}
	ret := ""
	if !math.IsNaN(p.ret) {
		ret = fmt.Sprintf("  eval %.0f", p.ret)
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d steps%s  ETA %s", bar, done, total, ret, eta)
	p.drawn = true
}

func (p *progressBar) clear() {
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}

const evalAbout = `Runs evaluation episodes of the policy saved in a run directory's checkpoint,
deterministically and in parallel, and prints the mean and standard deviation
of their returns.`

func runEval(a *app, args []string) error {
	fs := a.newFlags("eval", "[flags] RUN_DIR", evalAbout)
	episodes := fs.Int("episodes", 10, "evaluation episodes")
	seed := fs.Uint64("seed", 1, "seed of the episodes' reset noise")
	device := fs.String("device", "cpu", "engine: auto, cpu or cuda")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one RUN_DIR, got %d arguments", fs.NArg())
	}
	if *episodes < 1 {
		return usagef("--episodes %d: want >= 1", *episodes)
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	eng, err := selectEngine(*device, 0, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	res, err := trainer.EvaluateCheckpoint(fs.Arg(0), eng, *episodes, *seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "%s: %d episodes, return %.1f ± %.1f (mean ± std), length %.0f\n",
		fs.Arg(0), *episodes, res.ReturnMean, res.ReturnStd, res.LengthMean)
	return nil
}
