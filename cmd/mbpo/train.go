// train.go: "mbpo train", one MBPO (or SAC) training run, and "mbpo eval".
package main

import (
	"context"
	"errors"
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
	"github.com/mbpogo/mbpo/trainer/progress"
	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

const trainAbout = `Trains MBPO (or, with --algo sac, model-free SAC) on one environment with the
paper's configuration for it; every setting is a flag. Each run writes a run
directory: config.json, metrics.jsonl, metrics.csv and checkpoint.mbpo,
locked while the run goes on. A directory that holds a run is never
overwritten: --resume RUN_DIR continues it from its checkpoint (Ctrl-C or
SIGTERM saves one, at any step, and resuming repeats the uninterrupted run
exactly), --overwrite deletes it first. An interrupted run exits with
status 3.

Ablations from the paper: --ablation no-model, --rollout-length 1,
--rollout-length 200, --algo sac.`

// resumeFlags are the flags --resume takes besides --steps and the
// checkpoint settings (trainer.CheckpointFlag): they choose how this process
// runs and reports, not what the run computes (--threads included: a run
// gives bitwise the same results on any number of threads). --precision too,
// checked against the run's own (resumePrecision).
var resumeFlags = map[string]bool{"resume": true, "steps": true, "repair-metrics": true, "threads": true,
	"precision": true, "change-precision": true,
	"log-format": true, "log-level": true, "progress": true, "cpuprofile": true,
	"video-every": true, "video-format": true, "video-size": true, "video-fps": true}

func runTrain(a *app, args []string) error {
	// The env decides the defaults, so find --env (and --resume) first.
	envID, resume, savedPrecision := "Hopper-v4", "", ""
	for i := 0; i < len(args); i++ {
		if args[i] == "--" {
			break
		}
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
	if resume != "" {
		// The run's own env gives the defaults, so that only flags given
		// differ from them.
		if saved, err := trainer.ReadConfig(resume); err == nil {
			envID, savedPrecision = saved.Env, saved.Precision
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
	runDir := fs.String("run-dir", "", "exact run directory (default: OUT/ENV__ALGO__SEED__TIME); one that holds a run is refused")
	overwrite := fs.Bool("overwrite", false, "delete the run that --run-dir holds (its config, metrics and checkpoint) and start a new one there")
	fs.StringVar(&resume, "resume", "", "continue the run in this directory from its checkpoint; of its settings only --steps, --threads, the checkpoint settings, and --precision with --change-precision may change (besides the log, progress, profile and video flags)")
	repair := fs.Bool("repair-metrics", false, "with --resume: rebuild damaged or missing metrics files from what is readable in either, saying what is lost")
	changePrecision := fs.Bool("change-precision", false, "with --resume: continue the run in the --precision given (its results then no longer repeat an uninterrupted run's)")
	progress := fs.Bool("progress", true, "show a progress bar with ETA when stderr is a terminal")
	cpuProfile := fs.String("cpuprofile", "", "write a Go CPU profile of the run to this file (go tool pprof reads it)")
	var videos trainVideos
	videos.flags.registerTrain(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	precisionChange, err := resumePrecision(fs, resume != "", cfg.Precision, savedPrecision, *changePrecision)
	if err != nil {
		return err
	}
	var other []string
	if resume != "" {
		fs.Visit(func(f *flag.Flag) {
			if !resumeFlags[f.Name] && !trainer.CheckpointFlag(f.Name) {
				other = append(other, "--"+f.Name)
			}
		})
		if len(other) > 0 {
			return usagef("%s: --resume continues a run with its own settings (only --steps, --threads, --checkpoint-every, --checkpoint-model-buffer-mib, and --precision with --change-precision may change): start a new run to use %s",
				strings.Join(other, ", "), map[bool]string{true: "it", false: "them"}[len(other) == 1])
		}
		if flagSet(fs, "steps") && cfg.Steps <= 0 {
			return usagef("--steps %d: want > 0", cfg.Steps)
		}
		if cfg.CheckpointEvery < 0 || cfg.CheckpointModelBufferMiB < 0 {
			return usagef("--checkpoint-every %d, --checkpoint-model-buffer-mib %d: want >= 0", cfg.CheckpointEvery, cfg.CheckpointModelBufferMiB)
		}
	} else {
		if *repair {
			return usagef("--repair-metrics goes with --resume DIR: a new run has no metrics to repair")
		}
		if !flagSet(fs, "steps") { // the authors' number of learning steps after the random ones
			cfg.Steps = cfg.InitSteps + trainer.LearningSteps(cfg.Env)
		}
		cfg.Normalize()
		if err := errors.Join(cfg.Validate(), cfg.CheckLearns()); err != nil {
			return usageError{err.Error()}
		}
	}
	if _, err := videos.flags.checkTrain(); err != nil {
		return err
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	if a.checkOnly {
		return nil
	}
	if err := videos.ready(); err != nil {
		return err
	}

	var t *trainer.Trainer
	if resume != "" {
		saved, err := trainer.ReadConfig(resume)
		if err != nil {
			return err
		}
		if flagSet(fs, "steps") {
			saved.Steps = cfg.Steps
			if err := saved.CheckLearns(); err != nil {
				return usageError{err.Error()}
			}
		}
		if *repair {
			notes, err := trainer.RepairMetrics(resume)
			for _, n := range notes {
				log.Warn().Msg("repair-metrics: " + n)
			}
			if err != nil {
				return err
			}
		}
		threads := saved.Threads
		if flagSet(fs, "threads") {
			threads = cfg.Threads
		}
		eng, err := selectEngine(saved.Device, threads, log)
		if err != nil {
			return err
		}
		defer eng.Close()
		precision := saved.Precision
		if precisionChange != "" {
			precision = precisionChange
		}
		if err := checkPrecision(eng, precision); err != nil {
			return err
		}
		rs := trainer.ResumeSettings{Precision: precisionChange}
		if flagSet(fs, "steps") {
			rs.Steps = cfg.Steps
		}
		if flagSet(fs, "checkpoint-every") {
			rs.CheckpointEvery = &cfg.CheckpointEvery
		}
		if flagSet(fs, "checkpoint-model-buffer-mib") {
			rs.CheckpointModelBufferMiB = &cfg.CheckpointModelBufferMiB
		}
		if t, err = trainer.ResumeWith(resume, eng, rs, log); err != nil {
			return err
		}
		log.Info().Str("run_dir", resume).Int("env_steps", t.EnvSteps()).Int("total", t.Cfg.Steps).Msg("resuming")
	} else {
		if *runDir == "" {
			*runDir = filepath.Join(*out, fmt.Sprintf("%s__%s__%d__%s", cfg.Env, sweep.AblationOf(cfg).Experiment(), cfg.Seed, time.Now().Format("20060102-150405")))
		}
		if *overwrite && rundir.HoldsRun(*runDir) {
			if err := trainer.RemoveRun(*runDir); err != nil {
				return err
			}
			log.Warn().Str("run_dir", *runDir).Msg("--overwrite: deleted the run that was there")
		}
		eng, err := selectEngine(cfg.Device, cfg.Threads, log)
		if err != nil {
			return err
		}
		defer eng.Close()
		if err := checkPrecision(eng, cfg.Precision); err != nil {
			return err
		}
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
	var bar *progressBar
	if w, done := a.progressOutput(lf); w != nil && *progress {
		defer done()
		bar = newProgressBar(w, t.Cfg.InitSteps, t.Cfg.Steps)
	}
	hooks := trainer.Hooks{
		Step: bar.update,
		Epoch: func(m trainer.Metrics) {
			bar.clear()
			logEpoch(log, m)
			videos.epoch(log, t, m.Epoch)
			bar.setReturn(m.EvalReturnMean)
		},
	}
	err = t.Run(ctx, hooks)
	bar.clear()
	if err != nil {
		return err
	}
	if t.EnvSteps() < t.Cfg.Steps {
		return interruptedError{fmt.Sprintf("stopped at env step %d of %d, checkpoint saved; continue with: mbpo train --resume %s",
			t.EnvSteps(), t.Cfg.Steps, t.RunDir)}
	}
	fmt.Fprintf(a.stdout, "run directory: %s\n", t.RunDir)
	return nil
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

// logEpoch writes the one log line of an epoch: one key per quantity, each
// a number (rounded to what a person reads; metrics.jsonl has them whole).
func logEpoch(log zerolog.Logger, m trainer.Metrics) {
	ev := log.Info().Int("epoch", m.Epoch).Int("env_steps", m.EnvSteps).Int("timesteps", m.Timesteps).
		Float64("eval_return", round(m.EvalReturnMean, 1)).Float64("eval_return_std", round(m.EvalReturnStd, 1))
	if !math.IsNaN(m.TrainReturnMean) {
		ev = ev.Float64("train_return", round(m.TrainReturnMean, 1))
	}
	if len(m.ModelHoldoutMSE) > 0 {
		ev = ev.Float64("model_mse", sig(meanF32(m.ModelHoldoutMSE, m.ModelElites), 4)).Int("model_epochs", m.ModelEpochs).
			Int("k", m.RolloutK).Int("model_buffer", m.ModelBufSize)
	}
	if !math.IsNaN(m.Alpha) {
		ev = ev.Float64("q_loss", sig((m.Q1Loss+m.Q2Loss)/2, 3)).Float64("alpha", sig(m.Alpha, 3)).
			Float64("entropy", round(m.Entropy, 2))
	}
	if !math.IsNaN(m.ModelReturnMean) {
		ev = ev.Float64("model_return", round(m.ModelReturnMean, 0)).Float64("real_return", round(m.RealReturnMean, 0))
	}
	ev.Float64("steps_per_s", round(m.EnvStepsPerSec, 1)).
		Float64("env_s", round(m.TimeEnv, 1)).Float64("model_s", round(m.TimeModel, 1)).Float64("rollout_s", round(m.TimeRollout, 1)).
		Float64("sac_s", round(m.TimeSAC, 1)).Float64("eval_s", round(m.TimeEval, 1)).
		Msg("epoch")
}

// round rounds x to digits decimals; sig to digits significant digits.
func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}

func sig(x float64, digits int) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return x
	}
	return round(x, digits-1-int(math.Floor(math.Log10(math.Abs(x)))))
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

// progressBar draws "[=====>    ] 12000/125000 steps  eval 1234  ETA 1h02m"
// on a terminal, at most a few times per second; the ETA comes from the
// recent rate of the run's current phase (package progress). A nil bar draws
// nothing.
type progressBar struct {
	w     io.Writer
	meter *progress.Meter
	now   func() time.Time
	last  time.Time
	ret   float64
	drawn bool
}

func newProgressBar(w io.Writer, initSteps, total int) *progressBar {
	return &progressBar{w: w, meter: progress.NewMeter(initSteps, total), now: time.Now, ret: math.NaN()}
}

func (p *progressBar) setReturn(r float64) {
	if p != nil {
		p.ret = r
	}
}

func (p *progressBar) update(done, total int) {
	if p == nil {
		return
	}
	now := p.now()
	p.meter.SetTotal(total)
	p.meter.Observe(now, done)
	if now.Sub(p.last) < 250*time.Millisecond && done < total {
		return
	}
	p.last = now
	const width = 30
	n := min(int(float64(done)/float64(total)*width), width)
	bar := strings.Repeat("=", n) + strings.Repeat(" ", width-n)
	if n < width {
		bar = bar[:n] + ">" + bar[n+1:]
	}
	ret := ""
	if !math.IsNaN(p.ret) {
		ret = fmt.Sprintf("  eval %.0f", p.ret)
	}
	fmt.Fprintf(p.w, "\r\033[K[%s] %d/%d steps%s  ETA %s", bar, done, total, ret, p.meter.Format())
	p.drawn = true
}

func (p *progressBar) clear() {
	if p != nil && p.drawn {
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
	var vf videoFlags
	vf.registerEval(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one RUN_DIR, got %d arguments", fs.NArg())
	}
	if *episodes < 1 {
		return usagef("--episodes %d: want >= 1", *episodes)
	}
	vopts, err := vf.checkEval()
	if err != nil {
		return err
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	if a.checkOnly {
		return nil
	}
	if err := vf.evalReady(vopts); err != nil {
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
	return vf.recordEval(a.stdout, fs.Arg(0), eng, *seed, vopts)
}
