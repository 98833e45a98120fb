// bench_sac.go: "mbpo bench sac", SAC updates/s with the paper's networks at
// batch 256: on the CPU engine through Agent.Update; on the GPU engine as
// runs of G device updates (minibatches gathered on the device, the run
// replayed as one graph) and, for comparison, through Agent.Update.

package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cuda"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer"
)

// sacBenchResult is what bench sac measures (--json); bench/torch_sac.py
// writes the same core fields for PyTorch.
type sacBenchResult struct {
	Engine           string  `json:"engine"`
	Machine          string  `json:"machine"`
	Env              string  `json:"env"`
	Obs              int     `json:"obs"`
	Act              int     `json:"act"`
	Hidden           int     `json:"hidden"`
	Batch            int     `json:"batch"`
	Updates          int     `json:"updates"`
	G                int     `json:"g"` // updates per device run
	UpdatesPerSec    float64 `json:"updates_per_sec"`
	GFLOPs           float64 `json:"gflops"`
	Path             string  `json:"path"`
	Precision        string  `json:"precision"`
	Products         string  `json:"products"`
	InterfacePerSec  float64 `json:"interface_updates_per_sec,omitempty"` // GPU: through Agent.Update
	MeanQ1Loss       float64 `json:"mean_q1_loss"`
	FLOPsPerUpdate   float64 `json:"flops_per_update"`
	InterfaceUpdates int     `json:"interface_updates,omitempty"`
}

const benchSACAbout = `Measures SAC updates (both critics, actor, temperature, targets) with the
paper's networks for --env on minibatches of --batch random-policy
transitions: updates/s and the achieved GFLOP/s. The GPU engine runs them as
the trainer's resident path would (G updates of one env step, minibatches
drawn on the device, replayed as one graph) and also through Agent.Update.`

func runBenchSAC(a *app, args []string) error {
	fs := a.newFlags("bench sac", "[flags]", benchSACAbout)
	var bf engineBenchFlags
	bf.register(fs)
	batch := fs.Int("batch", 256, "minibatch rows")
	updates := fs.Int("updates", 2000, "timed updates (after warm-up)")
	g := fs.Int("g", 20, "updates per device run (the G of one env step)")
	hidden := fs.Int("hidden", 0, "policy and critic hidden units (0: the paper's 256)")
	realRows := fs.Int("real", 5000, "random-policy env steps the minibatches are drawn from")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *batch < 1 || *updates < 1 || *g < 1 || *hidden < 0 || *realRows < 1 {
		return usagef("want --batch, --updates, --g, --real >= 1, --hidden >= 0 and no arguments")
	}
	cfg, err := bf.config()
	if err != nil {
		return err
	}
	if *hidden > 0 {
		cfg.Hidden = *hidden
	}
	b, err := bf.prepare(a, cfg, *realRows)
	if err != nil {
		return err
	}
	defer b.close()
	res, err := benchSAC(b.eng, cfg, b.spec, b.real, *batch, *updates, *g)
	if err != nil {
		return err
	}
	printSACBench(a, res)
	return writeJSON(bf.json, res)
}

func benchSAC(eng engine.Engine, cfg trainer.Config, spec env.Spec, real *stages.Replay, batch, updates, g int) (sacBenchResult, error) {
	od, ad := spec.ObsDim, spec.ActDim
	as := cfg.AgentSpec(od, ad)
	ag, err := eng.NewAgent(as, cfg.Seed)
	if err != nil {
		return sacBenchResult{}, err
	}
	defer closeNet(ag)
	res := sacBenchResult{Engine: eng.Name(), Machine: "cpu", Env: spec.ID, Obs: od, Act: ad, Hidden: cfg.Hidden, Batch: batch,
		FLOPsPerUpdate: trainer.SACFLOPs(as, batch), Precision: cfg.Precision, Products: productsOf(eng, cfg.Precision)}
	if ce, ok := eng.(*cuda.Engine); ok {
		res.Machine = ce.Machine().Name()
	}
	// The run's own SAC stage with an empty model buffer (all real rows),
	// in runs of G updates per call as a run makes them.
	cfg.BatchSize = batch
	rate := func(newStages trainer.StagesMaker, first int64, n, g int) (float64, float64, error) {
		st, err := trainer.BenchStages(newStages, cfg, nil, ag, real, 1, 0)
		if err != nil {
			return 0, 0, err
		}
		defer st.Close()
		var warm engine.UpdateSums
		if err := st.Update(first, g, &warm); err != nil { // on the GPU: records the graph
			return 0, 0, err
		}
		var sums engine.UpdateSums
		start := time.Now()
		for u := first + int64(g); u < first+int64(g+n); u += int64(g) {
			if err := st.Update(u, g, &sums); err != nil {
				return 0, 0, err
			}
		}
		return float64(sums.Updates) / time.Since(start).Seconds(), sums.Q1Loss / float64(sums.Updates), nil
	}
	runs := max(1, (updates+g-1)/g)
	res.Updates, res.G = runs*g, g
	res.Path = "stages' SAC batcher: Agent.Update on minibatches gathered on the host"
	if _, gpu := eng.(*cuda.Engine); gpu {
		res.Path = "device runs of G updates: minibatches drawn on the device, each run replayed as one graph"
	}
	if res.UpdatesPerSec, res.MeanQ1Loss, err = rate(eng.NewStages, 0, res.Updates, g); err != nil {
		return res, err
	}
	res.GFLOPs = res.UpdatesPerSec * res.FLOPsPerUpdate / 1e9
	if _, gpu := eng.(*cuda.Engine); gpu {
		// The host stages on the same networks: one Agent.Update per update.
		res.InterfaceUpdates = min(updates, 500)
		res.InterfacePerSec, _, err = rate(stages.New, int64(res.Updates+g), res.InterfaceUpdates, 1)
	}
	return res, err
}

func printSACBench(a *app, r sacBenchResult) {
	fmt.Fprintf(a.stdout, "%s, engine %s (%s): policy and critics %d hidden, obs %d, act %d, batch %d\n%s; %s\n\n",
		r.Env, r.Engine, r.Machine, r.Hidden, r.Obs, r.Act, r.Batch, r.Path, r.Products)
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "SAC updates/s\t%s (%d timed)\t\n", human(r.UpdatesPerSec), r.Updates)
	fmt.Fprintf(w, "achieved\t%.1f GFLOP/s (%.3g FLOP per update)\t\n", r.GFLOPs, r.FLOPsPerUpdate)
	if r.InterfacePerSec > 0 {
		fmt.Fprintf(w, "through Agent.Update\t%s updates/s (%d timed)\t\n", human(r.InterfacePerSec), r.InterfaceUpdates)
	}
	fmt.Fprintf(w, "mean critic 1 loss\t%.4g\t\n", r.MeanQ1Loss)
	w.Flush()
}
