// bench_rollout.go: "mbpo bench rollout", branched model rollouts at the
// paper's sizes (bench.Rollouts): its flags and its printed table of model
// steps/s, where the time goes (policy, ensemble, sampling, termination,
// buffer writes, compaction) and the achieved GFLOP/s.

package main

import (
	"fmt"
	"slices"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
)

const benchRolloutAbout = `Measures one round of branched model rollouts with the paper's networks for
an environment: --batch rollouts of --k steps from real states (random-policy
env steps), the policy's stochastic action, a random elite per sample, its
Gaussian prediction, the termination rule, the model buffer's writes. The
model is untrained with its mean head zeroed, so every rollout runs all k
steps: a round is exactly batch × k model steps. The CPU engine runs the
trainer's rollout loop; the GPU engine runs device rollouts, the k steps
replayed as one graph. Prints model steps/s, the time split by stage and the
achieved GFLOP/s (policy plus one member's forward per step).`

func runBenchRollout(a *app, args []string) error {
	fs := a.newFlags("bench rollout", "[flags]", benchRolloutAbout)
	var bf engineBenchFlags
	bf.register(fs)
	batch := fs.Int("batch", 100000, "rollouts per round")
	k := fs.Int("k", 15, "rollout length")
	hidden := fs.Int("hidden", 0, "model hidden units (0: the paper's for --env)")
	rounds := fs.Int("rounds", 3, "timed rounds (after one warm-up round)")
	realRows := fs.Int("real", 5000, "random-policy env steps the start states come from")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch < 1 || *k < 1 || *rounds < 1 || *realRows < 1 || *hidden < 0 {
		return usagef("want --batch, --k, --rounds, --real >= 1, --hidden >= 0 and no arguments")
	}
	cfg, err := bf.config()
	if err != nil {
		return err
	}
	if *hidden > 0 {
		cfg.ModelHidden = *hidden
	}
	b, err := bf.prepare(a, cfg, *realRows)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := bench.Rollouts(b.eng, cfg, b.real, *batch, *k, *rounds)
	if err != nil {
		return err
	}
	printRolloutBench(a, res)
	return writeJSON(bf.json, res)
}

func printRolloutBench(a *app, r bench.RolloutResult) {
	fmt.Fprintf(a.stdout, "%s, engine %s (%s)\n%s; %s\n", r.Env, r.Engine, r.Machine, r.Path, r.Products)
	fmt.Fprintf(a.stdout, "%d rollouts × k %d, %d members (%d elites) × %d hidden, policy %d hidden\n\n",
		r.Batch, r.K, r.Members, r.Elites, r.ModelHidden, r.PolicyHidden)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "model steps per round\t%d\t\n", r.StepsPerRound)
	fmt.Fprintf(w, "round (median of %d)\t%.4f s\t\n", r.Rounds, r.RoundSec)
	fmt.Fprintf(w, "model steps/s\t%s\t\n", human(r.ModelStepsPerSec))
	fmt.Fprintf(w, "achieved\t%.1f GFLOP/s (%.0f FLOP per step)\t\n", r.GFLOPs, r.FLOPsPerStep)
	names := make([]string, 0, len(r.Split))
	for name := range r.Split {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(w, "  %s\t%.4f s\t\n", name, r.Split[name])
	}
	w.Flush()
}
