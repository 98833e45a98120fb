// bench_model_test.go: "mbpo bench model-train" on the CPU engine and on the
// GPU engine's kernels run by the host: one retrain each from the same data
// and seeds, whose holdout losses must agree within 2%.

package main

import (
	"math"
	"testing"
)

func TestBenchModelTrainEngines(t *testing.T) {
	args := []string{"bench", "model-train", "--env", "Hopper-v4", "--rows", "200", "--hidden", "8", "--max-epochs", "2"}
	var cpu, dev modelBenchResult
	runJSON(t, &cpu, append(args, "--device", "cpu")...)
	runJSON(t, &dev, append(args, "--device", deviceHost)...)
	for _, r := range []modelBenchResult{cpu, dev} {
		t.Logf("%s: %d epochs in %.2f s, holdout MSE %v, NLL %v, elites %v", r.Engine, r.Epochs, r.Seconds, r.HoldoutMSE, r.HoldoutNLL, r.Elites)
		if r.Epochs != 2 || r.Train+r.Holdout != 200 || len(r.HoldoutMSE) != 7 || len(r.Elites) != 5 || !(r.RowsPerSec > 0) {
			t.Errorf("%s: implausible result %+v", r.Engine, r)
		}
	}
	for e := range cpu.HoldoutMSE {
		for _, p := range [][2]float32{{dev.HoldoutMSE[e], cpu.HoldoutMSE[e]}, {dev.HoldoutNLL[e], cpu.HoldoutNLL[e]}} {
			if d := math.Abs(float64(p[0]-p[1])) / max(1e-3, math.Abs(float64(p[1]))); !(d <= 0.02) {
				t.Errorf("member %d: GPU engine %v, CPU engine %v: %.3g apart, above 2%%", e, p[0], p[1], d)
			}
		}
	}
}
