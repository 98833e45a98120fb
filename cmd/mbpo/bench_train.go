// bench_train.go: "mbpo bench train", the throughput of every MBPO stage on
// one environment's configuration and the wall time per 1,000 env steps it
// implies (bench.Train): its flags and its printed table.

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/trainer"
)

const benchTrainAbout = `Measures the stages of MBPO with the paper's configuration for an environment:
env steps/s, one ensemble retrain of --model-epochs epochs on --real-steps
random transitions, one round of branched rollouts, and SAC updates/s; prints
the achieved GFLOP/s beside this machine's measured matrix-multiply peak, and
the wall time per 1,000 env steps these rates add up to.

The retrain's epochs are fixed because early stopping on random-policy data
runs for hundreds of epochs, unlike the retrains of a run: in the 25k-step
Hopper run of docs/results/hopper-25k, the median retrain took 16 epochs.`

func runBenchTrain(a *app, args []string) error {
	fs := a.newFlags("bench train", "[flags]", benchTrainAbout)
	envID := fs.String("env", "Hopper-v4", "environment id")
	realSteps := fs.Int("real-steps", 10000, "random env steps collected for the model (its training data)")
	updates := fs.Int("updates", 300, "SAC updates timed")
	k := fs.Int("k", 0, "rollout length timed (0: the schedule's first)")
	modelEpochs := fs.Int("model-epochs", 16, "epochs of the timed retrain (0: until early stopping)")
	threads := fs.Int("threads", 0, "CPU threads (0: all)")
	device := fs.String("device", "auto", "engine: auto, cpu or cuda")
	precision := fs.String("precision", "fp32", "matrix products: fp32, or bf16 (bfloat16 operands, fp32 accumulation: the CPU engine on AMX or AVX512-BF16)")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := trainer.PaperConfig(*envID)
	if err != nil {
		return usageError{err.Error()}
	}
	if *realSteps < cfg.BatchSize || *updates < 1 || *k < 0 || *modelEpochs < 0 {
		return usagef("want --real-steps >= %d, --updates >= 1, --k >= 0 and --model-epochs >= 0", cfg.BatchSize)
	}
	if *precision != "fp32" && *precision != "bf16" {
		return usagef("--precision %q: want fp32 or bf16", *precision)
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	cfg.Threads, cfg.Device, cfg.Precision = *threads, *device, *precision
	eng, err := selectEngine(*device, *threads, log)
	if err != nil {
		return err
	}
	defer eng.Close()
	if err := checkPrecision(eng, *precision); err != nil {
		return err
	}
	log.Info().Str("env", *envID).Int("real_steps", *realSteps).Msg("measuring (the model retrain takes a while)")
	r, err := bench.Train(eng, cfg, bench.TrainOptions{RealSteps: *realSteps, SACUpdates: *updates, K: *k, ModelEpochs: *modelEpochs})
	if err != nil {
		return err
	}

	fmt.Fprintf(a.stdout, "%s, engine %s, %d threads; %s\n%s peak %.0f GFLOP/s (1024³)\n\n", *envID, eng.Name(), r.Threads,
		r.Products, r.PeakName, r.PeakGFLOPs)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "stage\trate\tGFLOP/s\t%% of peak\t\n")
	pct := func(g float64) string { return fmt.Sprintf("%.0f%%", 100*g/r.PeakGFLOPs) }
	fmt.Fprintf(w, "env (1 env, random actions)\t%s steps/s\t\t\t\n", human(r.EnvStepsPerSec))
	fmt.Fprintf(w, "SAC update (batch %d)\t%s updates/s\t%.1f\t%s\t\n", cfg.BatchSize, human(r.SACUpdatesPerSec), r.SACGFLOPs, pct(r.SACGFLOPs))
	if r.ModelRows > 0 {
		fmt.Fprintf(w, "ensemble training (%d members)\t%s rows/s\t%.1f\t%s\t\n", cfg.EnsembleSize, human(r.ModelRowsPerSec), r.ModelTrainGFLOPs, pct(r.ModelTrainGFLOPs))
		fmt.Fprintf(w, "  one retrain on %d rows\t%.1f s, %d epochs\t\t\t\n", r.ModelRows, r.ModelRetrainSec, r.ModelEpochs)
		fmt.Fprintf(w, "rollouts (batch %d, k %d)\t%s model steps/s\t%.1f\t%s\t\n", r.RolloutBatch, r.RolloutK, human(r.ModelStepsPerSec), r.RolloutGFLOPs, pct(r.RolloutGFLOPs))
		fmt.Fprintf(w, "  one round\t%.2f s (%.0f%% policy)\t\t\t\n", r.RolloutSec, 100*r.RolloutPolicyShare)
	}
	fmt.Fprintf(w, "per 1,000 env steps at G=%d\t%.0f s\t\t\t\n", r.G, r.SecPer1000)
	return w.Flush()
}
