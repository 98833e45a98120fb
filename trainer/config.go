// config.go: every setting of a training run in one struct, with MBPO's
// published values as defaults (../shared/reference/mbpo-hyperparameters.md).

package trainer

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
)

// Config holds every setting of a training run. PaperConfig fills it with the
// published values for an environment; each field is a flag of `mbpo train`.
type Config struct {
	Env  string `json:"env"`  // environment id (mbpo envs lists them)
	Algo string `json:"algo"` // mbpo, or sac for model-free SAC (G=1, real data only)
	// Ablation: none, or no-model (SAC at the same G on real data only).
	Ablation string `json:"ablation"`
	Seed     uint64 `json:"seed"`

	Steps       int `json:"steps"`        // total env steps, the initial random ones included
	EpochLength int `json:"epoch_length"` // env steps per epoch (evaluation and metrics row)
	InitSteps   int `json:"init_steps"`   // env steps with uniform random actions before learning starts
	ReplaySize  int `json:"replay_size"`  // capacity of the real replay buffer
	// RealAdd is when a real transition enters the real buffer: "step" (at
	// once, as mbrl-lib does) or "episode" (the whole episode when it ends,
	// as the authors' softlearning sampler does).
	RealAdd string `json:"real_add"`

	// SAC.
	G             int     `json:"G"`              // SAC updates per env step
	BatchSize     int     `json:"batch_size"`     // SAC minibatch
	RealRatio     float64 `json:"real_ratio"`     // fraction of each SAC batch drawn from real data
	Hidden        int     `json:"hidden"`         // width of the two hidden layers of policy and critics
	Gamma         float64 `json:"gamma"`          // discount
	Tau           float64 `json:"tau"`            // soft target update rate
	LR            float64 `json:"lr"`             // SAC learning rate
	TargetEntropy float64 `json:"target_entropy"` // temperature target
	InitAlpha     float64 `json:"init_alpha"`     // temperature at the start
	LogStdMin     float64 `json:"log_std_min"`    // lower clip of the policy's log σ
	LogStdMax     float64 `json:"log_std_max"`    // upper clip of the policy's log σ

	// Model.
	EnsembleSize int     `json:"ensemble_size"` // bootstrap ensemble members
	Elites       int     `json:"elites"`        // members used for rollouts, best by holdout MSE
	ModelHidden  int     `json:"model_hidden"`  // width of the four swish layers
	ModelLR      float64 `json:"model_lr"`      // Adam learning rate of the ensemble
	ModelBatch   int     `json:"model_batch"`   // ensemble minibatch
	// ModelWeightDecay is the L2 coefficient of each of a member's weight
	// layers, input first: the four swish layers, then the head.
	ModelWeightDecay   [5]float64 `json:"model_weight_decay"`
	ModelMaxLogVarInit float64    `json:"model_max_logvar_init"` // start of the learned upper bound of predicted log-variances
	ModelMinLogVarInit float64    `json:"model_min_logvar_init"` // start of the learned lower bound
	HoldoutRatio       float64    `json:"holdout_ratio"`         // share of real data held out
	MaxHoldout         int        `json:"max_holdout"`           // cap on the holdout size
	EarlyStop          int        `json:"early_stop"`            // a retrain stops once more than this many epochs in a row bring no member an improvement
	// ModelImprovement is the relative holdout-MSE gain that counts as a
	// member's improvement (its weights are then kept as its best).
	ModelImprovement float64 `json:"model_improvement"`
	ModelMaxEpochs   int     `json:"model_max_epochs"`  // cap on epochs per retrain (0: none, as published)
	ModelTrainFreq   int     `json:"model_train_freq"`  // env steps between retrains (and rollouts)
	RolloutBatch     int     `json:"rollout_batch"`     // rollouts started per retrain
	RolloutSchedule  [4]int  `json:"rollout_schedule"`  // [a, b, kmin, kmax]: k = kmin until epoch a, linear to kmax at epoch b
	RolloutLength    int     `json:"rollout_length"`    // fixed k (0: use the schedule)
	RetainEpochs     int     `json:"retain_epochs"`     // epochs of rollouts the model buffer holds
	ModelReturnHorz  int     `json:"model_return_horz"` // horizon of the model-vs-real return check (0: off)

	// Divergence watch (health.go).
	QBoundMargin     float64 `json:"q_bound_margin"`     // Q estimates beyond this many times max|r|/(1-γ) count as divergence
	StopOnDivergence bool    `json:"stop_on_divergence"` // end the run at a diverging epoch, keeping the last good checkpoint

	// Run.
	EvalEpisodes    int    `json:"eval_episodes"`    // deterministic evaluation episodes per epoch, run in parallel
	CheckpointEvery int    `json:"checkpoint_every"` // epochs between checkpoints (0: only at the end)
	Device          string `json:"device"`           // auto, cpu or cuda
	Threads         int    `json:"threads"`          // CPU threads for the engine (0: all)
	// Precision is the arithmetic of every matrix product: fp32 (the
	// faithful path) or bf16 (operands rounded to bfloat16, float32
	// accumulation; the CPU engine on AMX or AVX512-BF16). A run records it
	// and keeps it on resume.
	Precision string `json:"precision"`
	// CheckpointModelBufferMiB caps the model buffer's size in checkpoints;
	// above it, resume refills the buffer with a fresh rollout instead (and
	// no longer repeats an uninterrupted run). A resume may raise it.
	CheckpointModelBufferMiB int `json:"checkpoint_model_buffer_mib"`
	// TensorBoard writes every metrics row also as TensorBoard scalars, into
	// event files in the run directory (tensorboard.go).
	TensorBoard bool `json:"tensorboard"`
}

// paper holds the per-environment settings of the authors' configurations.
type paper struct {
	epochs, epochLength, initSteps int // learning epochs after initSteps random steps
	g, trainFreq, retain, hidden   int
	schedule                       [4]int
	targetEntropy                  float64 // 0: -|A|
	published                      bool    // in the paper's table; false for the others
}

// paperRow returns the authors' settings for id's environment: the paper's
// table for the five benchmarks, the authors' configuration files for the
// two pendulums (mbpo/examples/config: epoch length 250, G 10, target
// entropy -0.05 and 500 random steps for InvertedPendulum; G 20 and target
// entropy -0.5 for InvertedDoublePendulum), and project defaults for Swimmer.
func paperRow(id string) paper {
	switch id {
	case "Hopper-v4":
		return paper{125, 1000, 5000, 20, 250, 1, 200, [4]int{20, 150, 1, 15}, -1, true}
	case "Walker2d-v4":
		return paper{300, 1000, 5000, 20, 250, 1, 200, [4]int{20, 150, 1, 1}, -3, true}
	case "HalfCheetah-v4":
		return paper{400, 1000, 5000, 40, 250, 1, 200, [4]int{20, 150, 1, 1}, -3, true}
	case "Ant-v4":
		return paper{300, 1000, 5000, 20, 250, 1, 200, [4]int{20, 100, 1, 25}, -4, true}
	case "HumanoidTruncatedObs-v4", "Humanoid-v4":
		return paper{300, 1000, 5000, 20, 1000, 5, 400, [4]int{20, 300, 1, 20}, -2, true}
	case "InvertedPendulum-v4":
		// 60 epochs of 250 steps: the paper's 15,000-step plot.
		return paper{60, 250, 500, 10, 250, 1, 200, [4]int{1, 15, 1, 1}, -0.05, false}
	case "InvertedDoublePendulum-v4":
		return paper{100, 1000, 5000, 20, 250, 1, 200, [4]int{20, 100, 1, 1}, -0.5, false}
	}
	// Swimmer: Hopper-like defaults, entropy -|A|.
	return paper{100, 1000, 5000, 20, 250, 1, 200, [4]int{20, 100, 1, 1}, 0, false}
}

// PaperConfig returns the published MBPO configuration for an environment
// (Hopper, Walker2d, HalfCheetah, Ant, Humanoid); for the others it returns
// the project's defaults, reported by FromPaper.
func PaperConfig(id string) (Config, error) {
	spec, err := env.Lookup(id)
	if err != nil {
		return Config{}, err
	}
	p := paperRow(id)
	te := p.targetEntropy
	if te == 0 {
		te = -float64(spec.ActDim)
	}
	return Config{
		Env: id, Algo: "mbpo", Ablation: "none",
		Steps: p.initSteps + p.epochs*p.epochLength, EpochLength: p.epochLength, InitSteps: p.initSteps, ReplaySize: 1_000_000, RealAdd: "step",
		G: p.g, BatchSize: 256, RealRatio: 0.05, Hidden: 256, Gamma: 0.99, Tau: 5e-3, LR: 3e-4, TargetEntropy: te,
		InitAlpha: 1, LogStdMin: -20, LogStdMax: 2,
		EnsembleSize: 7, Elites: 5, ModelHidden: p.hidden, ModelLR: 1e-3, ModelBatch: 256,
		ModelWeightDecay: [5]float64{2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4}, ModelMaxLogVarInit: 0.5, ModelMinLogVarInit: -10,
		HoldoutRatio: 0.2, MaxHoldout: 5000, EarlyStop: 5, ModelImprovement: 0.01, ModelTrainFreq: p.trainFreq,
		RolloutBatch: 100_000, RolloutSchedule: p.schedule, RetainEpochs: p.retain, ModelReturnHorz: 1000, QBoundMargin: 2,
		EvalEpisodes: 10, CheckpointEvery: 5, Device: "auto", Precision: "fp32", CheckpointModelBufferMiB: 1024, TensorBoard: true,
	}, nil
}

// UnmarshalJSON reads a Config written by an earlier or the current build:
// a field the JSON lacks (a setting added since it was written) takes the
// value of PaperConfig for the JSON's env.
func (c *Config) UnmarshalJSON(b []byte) error {
	type plain Config // without this method
	var id struct {
		Env string `json:"env"`
	}
	if err := json.Unmarshal(b, &id); err != nil {
		return err
	}
	base, err := PaperConfig(id.Env)
	if err != nil {
		base = Config{}
	}
	p := plain(base)
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*c = Config(p)
	return nil
}

// FromPaper reports whether PaperConfig(id) is the published configuration.
func FromPaper(id string) bool { return paperRow(id).published }

// LearningSteps returns the env steps of the authors' run of id after its
// random steps (the paper's x axis): Steps - InitSteps of PaperConfig(id).
// A run that changes --init-steps keeps this many learning steps unless
// --steps is given.
func LearningSteps(id string) int {
	p := paperRow(id)
	return p.epochs * p.epochLength
}

// RegisterFlags binds every field of c to a flag of fs, with c's current
// values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Algo, "algo", c.Algo, "algorithm: mbpo, or sac (model-free SAC: G=1, real data only)")
	fs.StringVar(&c.Ablation, "ablation", c.Ablation, "ablation: none, no-model (SAC at the same G on real data only) or no-restore (ensemble members keep their last retrain epoch's weights, not their best's)")
	fs.Uint64Var(&c.Seed, "seed", c.Seed, "random seed (every random number is a function of it)")
	fs.IntVar(&c.Steps, "steps", c.Steps, "total env steps, the initial random ones included")
	fs.IntVar(&c.EpochLength, "epoch-length", c.EpochLength, "env steps per epoch (one evaluation and metrics row each)")
	fs.IntVar(&c.InitSteps, "init-steps", c.InitSteps, "initial env steps with uniform random actions")
	fs.IntVar(&c.ReplaySize, "replay-size", c.ReplaySize, "capacity of the real replay buffer")
	fs.StringVar(&c.RealAdd, "real-add", c.RealAdd, "when real transitions enter the real buffer: step (at once) or episode (each episode when it ends, as the authors' sampler)")
	fs.IntVar(&c.G, "G", c.G, "SAC updates per env step")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "SAC minibatch size")
	fs.Float64Var(&c.RealRatio, "real-ratio", c.RealRatio, "fraction of each SAC batch from real data (the rest from model rollouts)")
	fs.IntVar(&c.Hidden, "hidden", c.Hidden, "width of the two hidden layers of the SAC policy and critics")
	fs.Float64Var(&c.Gamma, "gamma", c.Gamma, "discount")
	fs.Float64Var(&c.Tau, "tau", c.Tau, "soft target update rate")
	fs.Float64Var(&c.LR, "lr", c.LR, "SAC learning rate (policy, critics, temperature)")
	fs.Float64Var(&c.TargetEntropy, "target-entropy", c.TargetEntropy, "entropy target of the automatic temperature")
	fs.Float64Var(&c.InitAlpha, "init-alpha", c.InitAlpha, "temperature (alpha) at the start")
	fs.Float64Var(&c.LogStdMin, "log-std-min", c.LogStdMin, "lower clip of the policy's log standard deviation")
	fs.Float64Var(&c.LogStdMax, "log-std-max", c.LogStdMax, "upper clip of the policy's log standard deviation")
	fs.IntVar(&c.EnsembleSize, "ensemble-size", c.EnsembleSize, "members of the bootstrap ensemble")
	fs.IntVar(&c.Elites, "elites", c.Elites, "members used in rollouts (best holdout MSE)")
	fs.IntVar(&c.ModelHidden, "model-hidden", c.ModelHidden, "width of the ensemble's four swish layers")
	fs.Float64Var(&c.ModelLR, "model-lr", c.ModelLR, "ensemble learning rate")
	fs.IntVar(&c.ModelBatch, "model-batch", c.ModelBatch, "ensemble minibatch size")
	fs.Var(floatsFlag(c.ModelWeightDecay[:]), "model-weight-decay", "L2 coefficients of the ensemble's five weight layers, input first, comma-separated")
	fs.Float64Var(&c.ModelMaxLogVarInit, "model-max-logvar-init", c.ModelMaxLogVarInit, "starting value of the ensemble's learned upper bound of predicted log-variances")
	fs.Float64Var(&c.ModelMinLogVarInit, "model-min-logvar-init", c.ModelMinLogVarInit, "starting value of the ensemble's learned lower bound of predicted log-variances")
	fs.Float64Var(&c.HoldoutRatio, "holdout-ratio", c.HoldoutRatio, "share of real data held out to rank members and stop training")
	fs.IntVar(&c.MaxHoldout, "max-holdout", c.MaxHoldout, "cap on the holdout size")
	fs.IntVar(&c.EarlyStop, "early-stop", c.EarlyStop, "stop a retrain once more than this many epochs in a row improve no member's holdout MSE (5: the sixth stops it)")
	fs.Float64Var(&c.ModelImprovement, "model-improvement", c.ModelImprovement, "relative holdout-MSE gain that counts as a member's improvement; each member is restored to its best epoch")
	fs.IntVar(&c.ModelMaxEpochs, "model-max-epochs", c.ModelMaxEpochs, "cap on epochs per retrain (0: none, as published)")
	fs.IntVar(&c.ModelTrainFreq, "model-train-freq", c.ModelTrainFreq, "env steps between model retrains and rollouts")
	fs.IntVar(&c.RolloutBatch, "rollout-batch", c.RolloutBatch, "branched rollouts started per retrain")
	fs.Var(scheduleFlag{&c.RolloutSchedule}, "rollout-schedule", "rollout length schedule a,b,kmin,kmax: k = kmin until epoch a, then linear to kmax at epoch b")
	fs.IntVar(&c.RolloutLength, "rollout-length", c.RolloutLength, "fixed rollout length k (0: follow --rollout-schedule)")
	fs.IntVar(&c.RetainEpochs, "retain-epochs", c.RetainEpochs, "epochs of rollouts kept in the model buffer")
	fs.IntVar(&c.ModelReturnHorz, "model-return-horizon", c.ModelReturnHorz, "horizon of the per-epoch model-vs-real return check (0: off)")
	fs.Float64Var(&c.QBoundMargin, "q-bound-margin", c.QBoundMargin, "divergence watch: Q estimates beyond this many times max|r|/(1-gamma) are divergence")
	fs.BoolVar(&c.StopOnDivergence, "stop-on-divergence", c.StopOnDivergence, "end the run at an epoch that diverges (Q beyond its bound, critic loss up 100-fold), keeping the last good checkpoint")
	fs.IntVar(&c.EvalEpisodes, "eval-episodes", c.EvalEpisodes, "deterministic evaluation episodes per epoch (run in parallel)")
	fs.IntVar(&c.CheckpointEvery, "checkpoint-every", c.CheckpointEvery, "epochs between checkpoints (0: only at the end; may change on resume)")
	fs.StringVar(&c.Device, "device", c.Device, "engine: auto (GPU if one is usable, else CPU), cpu, cuda (GPU 0) or cuda:N (GPU N)")
	fs.IntVar(&c.Threads, "threads", c.Threads, "CPU threads of the engine (0: all)")
	fs.StringVar(&c.Precision, "precision", c.Precision, "matrix products: fp32 (faithful) or bf16 (bfloat16 operands, fp32 accumulation: the CPU engine on AMX or AVX512-BF16)")
	fs.IntVar(&c.CheckpointModelBufferMiB, "checkpoint-model-buffer-mib", c.CheckpointModelBufferMiB, "largest model buffer saved in checkpoints, in MiB; a larger one is refilled by a fresh rollout on resume, not exactly as an uninterrupted run (may change on resume)")
	fs.BoolVar(&c.TensorBoard, "tensorboard", c.TensorBoard, "also write the metrics as TensorBoard scalars (event files in the run directory; --tensorboard=false: none)")
}

// scheduleFlag parses "a,b,kmin,kmax".
type scheduleFlag struct{ s *[4]int }

func (f scheduleFlag) String() string {
	if f.s == nil {
		return ""
	}
	return fmt.Sprintf("%d,%d,%d,%d", f.s[0], f.s[1], f.s[2], f.s[3])
}

func (f scheduleFlag) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) != 4 {
		return fmt.Errorf("want four comma-separated integers a,b,kmin,kmax, got %q", v)
	}
	var s [4]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("want four comma-separated integers a,b,kmin,kmax: %q is not an integer", p)
		}
		s[i] = n
	}
	*f.s = s
	return nil
}

// floatsFlag parses a fixed number of comma-separated floats into its
// slice (an array field of Config, so the count is the array's length).
type floatsFlag []float64

func (f floatsFlag) String() string {
	parts := make([]string, len(f))
	for i, v := range f {
		parts[i] = strconv.FormatFloat(v, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func (f floatsFlag) Set(v string) error {
	parts := strings.Split(v, ",")
	if len(parts) != len(f) {
		return fmt.Errorf("want %d comma-separated numbers, got %q", len(f), v)
	}
	vals := make([]float64, len(f))
	for i, p := range parts {
		x, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil {
			return fmt.Errorf("want %d comma-separated numbers: %q is not a number", len(f), p)
		}
		vals[i] = x
	}
	copy(f, vals)
	return nil
}

// Model reports whether the run learns and uses a dynamics model.
func (c Config) Model() bool { return c.Algo == "mbpo" && c.Ablation != "no-model" }

// CheckpointFlag reports whether the named train flag is a checkpoint
// setting (--checkpoint-every, --checkpoint-model-buffer-mib): when
// checkpoints are written and what they hold, not what the run computes. A
// resumed run may change them (ResumeSettings).
func CheckpointFlag(name string) bool {
	return name == "checkpoint-every" || name == "checkpoint-model-buffer-mib"
}

// Numerics returns c without the settings that leave a run's numbers as
// they are: where it runs (device, threads: results are bitwise the same on
// any thread count) and when checkpoints are written and what they hold.
// Runs whose Numerics are equal compute the same thing; a resumed run may
// change the others.
func (c Config) Numerics() Config {
	c.Device, c.Threads, c.CheckpointEvery, c.CheckpointModelBufferMiB = "", 0, 0, 0
	return c
}

// NumericsDiff names the first setting (by its JSON name, in sorted order)
// in which c's Numerics differ from o's, with c's and o's values; name is ""
// when they are equal.
func (c Config) NumericsDiff(o Config) (name string, mine, theirs any) {
	var mc, mo map[string]any
	jc, _ := json.Marshal(c.Numerics())
	jo, _ := json.Marshal(o.Numerics())
	json.Unmarshal(jc, &mc)
	json.Unmarshal(jo, &mo)
	keys := make([]string, 0, len(mc)+len(mo))
	for k := range mc {
		keys = append(keys, k)
	}
	for k := range mo {
		if _, ok := mc[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if fmt.Sprint(mc[k]) != fmt.Sprint(mo[k]) {
			return k, mc[k], mo[k]
		}
	}
	return "", nil, nil
}

// Normalize applies what the algorithm and ablation imply: SAC runs G = 1 on
// real data only; the no-model ablation keeps G but uses only real data.
func (c *Config) Normalize() {
	if c.Algo == "sac" {
		c.G = 1
	}
	if !c.Model() {
		c.RealRatio = 1
	}
}

// Validate reports the first setting that cannot work, in words that say
// which flag to change.
func (c Config) Validate() error {
	if _, err := env.Lookup(c.Env); err != nil {
		return err
	}
	var errs []error
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf(format, args...))
		}
	}
	check(c.Algo == "mbpo" || c.Algo == "sac", "--algo %q: want mbpo or sac", c.Algo)
	check(c.Ablation == "none" || c.Ablation == "no-model" || c.Ablation == "no-restore", "--ablation %q: want none, no-model or no-restore", c.Ablation)
	check(c.Steps > 0, "--steps %d: want > 0", c.Steps)
	check(c.EpochLength > 0, "--epoch-length %d: want > 0", c.EpochLength)
	check(c.InitSteps >= 0, "--init-steps %d: want >= 0", c.InitSteps)
	check(c.RealAdd == "step" || c.RealAdd == "episode", "--real-add %q: want step or episode", c.RealAdd)
	check(c.ReplaySize >= c.BatchSize, "--replay-size %d: want at least the batch size %d", c.ReplaySize, c.BatchSize)
	check(c.G >= 1, "--G %d: want >= 1", c.G)
	check(c.BatchSize >= 1, "--batch-size %d: want >= 1", c.BatchSize)
	check(c.RealRatio >= 0 && c.RealRatio <= 1, "--real-ratio %v: want within [0, 1]", c.RealRatio)
	check(c.Hidden >= 1, "--hidden %d: want >= 1", c.Hidden)
	check(c.Gamma >= 0 && c.Gamma <= 1, "--gamma %v: want within [0, 1]", c.Gamma)
	check(c.Tau > 0 && c.Tau <= 1, "--tau %v: want within (0, 1]", c.Tau)
	check(c.LR > 0, "--lr %v: want > 0", c.LR)
	check(c.InitAlpha > 0 && !math.IsInf(c.InitAlpha, 1), "--init-alpha %v: want > 0", c.InitAlpha)
	check(finite(c.LogStdMin) && finite(c.LogStdMax) && c.LogStdMin < c.LogStdMax,
		"--log-std-min %v, --log-std-max %v: want finite, min below max", c.LogStdMin, c.LogStdMax)
	check(c.QBoundMargin > 0, "--q-bound-margin %v: want > 0", c.QBoundMargin)
	check(c.EvalEpisodes >= 1, "--eval-episodes %d: want >= 1", c.EvalEpisodes)
	check(c.CheckpointEvery >= 0, "--checkpoint-every %d: want >= 0", c.CheckpointEvery)
	check(c.CheckpointModelBufferMiB >= 0, "--checkpoint-model-buffer-mib %d: want >= 0", c.CheckpointModelBufferMiB)
	check(validDevice(c.Device), "--device %q: want auto, cpu, cuda or cuda:N (GPU N, from 0)", c.Device)
	check(c.Threads >= 0, "--threads %d: want >= 0", c.Threads)
	check(c.Precision == "fp32" || c.Precision == "bf16", "--precision %q: want fp32 or bf16", c.Precision)
	check(c.Precision != "bf16" || !strings.HasPrefix(c.Device, "cuda"), "--precision bf16 --device %s: the GPU engine multiplies in fp32 only; bf16 runs on the CPU engine (--device cpu)", c.Device)
	if c.Model() {
		check(c.EnsembleSize >= 1, "--ensemble-size %d: want >= 1", c.EnsembleSize)
		check(c.Elites >= 1 && c.Elites <= c.EnsembleSize, "--elites %d: want within [1, --ensemble-size %d]", c.Elites, c.EnsembleSize)
		check(c.ModelHidden >= 1, "--model-hidden %d: want >= 1", c.ModelHidden)
		check(c.ModelLR > 0, "--model-lr %v: want > 0", c.ModelLR)
		check(c.ModelBatch >= 1, "--model-batch %d: want >= 1", c.ModelBatch)
		check(!slices.ContainsFunc(c.ModelWeightDecay[:], func(d float64) bool { return !(d >= 0 && finite(d)) }),
			"--model-weight-decay %s: want finite values >= 0", floatsFlag(c.ModelWeightDecay[:]))
		check(finite(c.ModelMaxLogVarInit) && finite(c.ModelMinLogVarInit) && c.ModelMinLogVarInit < c.ModelMaxLogVarInit,
			"--model-min-logvar-init %v, --model-max-logvar-init %v: want finite, min below max", c.ModelMinLogVarInit, c.ModelMaxLogVarInit)
		check(c.HoldoutRatio > 0 && c.HoldoutRatio < 1, "--holdout-ratio %v: want within (0, 1)", c.HoldoutRatio)
		check(c.MaxHoldout >= 1, "--max-holdout %d: want >= 1", c.MaxHoldout)
		check(c.EarlyStop >= 1, "--early-stop %d: want >= 1", c.EarlyStop)
		check(c.ModelImprovement >= 0 && c.ModelImprovement < 1, "--model-improvement %v: want within [0, 1)", c.ModelImprovement)
		check(c.ModelMaxEpochs >= 0, "--model-max-epochs %d: want >= 0", c.ModelMaxEpochs)
		check(c.ModelTrainFreq >= 1, "--model-train-freq %d: want >= 1", c.ModelTrainFreq)
		check(c.RolloutBatch >= 1, "--rollout-batch %d: want >= 1", c.RolloutBatch)
		check(c.RetainEpochs >= 1, "--retain-epochs %d: want >= 1", c.RetainEpochs)
		check(c.RolloutLength >= 0, "--rollout-length %d: want >= 0 (0 follows the schedule)", c.RolloutLength)
		check(c.ModelReturnHorz >= 0, "--model-return-horizon %d: want >= 0", c.ModelReturnHorz)
		s := c.RolloutSchedule
		check(s[0] >= 0 && s[1] >= s[0] && s[2] >= 1 && s[3] >= 1,
			"--rollout-schedule %d,%d,%d,%d: want 0 <= a <= b and kmin, kmax >= 1", s[0], s[1], s[2], s[3])
		check(c.RealRatio != 1, "--real-ratio 1 leaves no room for model data: use --ablation no-model instead")
		if c.Env != "" {
			check(c.ModelTrainFreq <= c.EpochLength, "--model-train-freq %d: want at most --epoch-length %d", c.ModelTrainFreq, c.EpochLength)
		}
	}
	return errors.Join(errs...)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// CheckLearns reports a run whose random steps take all its steps, so
// that it never learns: valid for Validate (tests run such random-phase
// runs), refused by the commands.
func (c Config) CheckLearns() error {
	if c.InitSteps >= c.Steps {
		return fmt.Errorf("--init-steps %d: want fewer than --steps %d, or the run never learns", c.InitSteps, c.Steps)
	}
	return nil
}

// Schedule returns the rollout schedule in effect: a fixed k when
// RolloutLength is set, else RolloutSchedule.
func (c Config) Schedule() Schedule {
	if c.RolloutLength > 0 {
		return Schedule{0, 0, c.RolloutLength, c.RolloutLength}
	}
	return Schedule(c.RolloutSchedule)
}

// EnsembleSpec is the dynamics ensemble of c for an env of obs and act
// dimensions: EnsembleSize members, each of one ModelHidden-wide swish
// layer per ModelWeightDecay value but the last (four) and a head
// predicting the mean and log-variance of Δs and the reward.
func (c Config) EnsembleSpec(obs, act int) engine.EnsembleSpec {
	decay := make([]float32, len(c.ModelWeightDecay))
	for i, d := range c.ModelWeightDecay {
		decay[i] = float32(d)
	}
	hidden := make([]int, len(decay)-1)
	for i := range hidden {
		hidden[i] = c.ModelHidden
	}
	return engine.EnsembleSpec{
		Members: c.EnsembleSize, In: obs + act, Out: obs + 1, Hidden: hidden, WeightDecay: decay, LR: float32(c.ModelLR),
		MaxLogVarInit: float32(c.ModelMaxLogVarInit), MinLogVarInit: float32(c.ModelMinLogVarInit),
		Precision: engine.Precision(c.Precision),
	}
}

// AgentSpec is the SAC agent of c for an env of obs and act dimensions: a
// policy and two critics of two Hidden-wide ReLU layers each.
func (c Config) AgentSpec(obs, act int) engine.AgentSpec {
	return engine.AgentSpec{
		Obs: obs, Act: act, Hidden: []int{c.Hidden, c.Hidden},
		Gamma: float32(c.Gamma), Tau: float32(c.Tau), LR: float32(c.LR), TargetEntropy: float32(c.TargetEntropy),
		InitAlpha: float32(c.InitAlpha), LogStdMin: float32(c.LogStdMin), LogStdMax: float32(c.LogStdMax),
		Precision: engine.Precision(c.Precision),
	}
}
