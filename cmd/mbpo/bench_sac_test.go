// bench_sac_test.go: "mbpo bench sac" on the CPU engine and on the GPU
// engine's kernels run by the host (device runs of G updates and
// Agent.Update).

package main

import "testing"

func TestBenchSACEngines(t *testing.T) {
	args := []string{"bench", "sac", "--env", "Hopper-v4", "--batch", "16", "--updates", "1", "--g", "1", "--hidden", "8", "--real", "100"}
	var cpu, dev sacBenchResult
	runJSON(t, &cpu, append(args, "--device", "cpu")...)
	runJSON(t, &dev, append(args, "--device", deviceHost)...)
	for _, r := range []sacBenchResult{cpu, dev} {
		t.Logf("%s: %.1f updates/s (%s), %.3g GFLOP/s, through Agent.Update %.1f/s", r.Engine, r.UpdatesPerSec, r.Path, r.GFLOPs, r.InterfacePerSec)
		if r.Updates != 1 || !(r.UpdatesPerSec > 0) || !(r.GFLOPs > 0) || !(r.MeanQ1Loss > 0) {
			t.Errorf("%s: implausible result %+v", r.Engine, r)
		}
	}
	if dev.G != 1 || !(dev.InterfacePerSec > 0) || cpu.InterfacePerSec != 0 {
		t.Errorf("GPU path G %d, Agent.Update rate %v; CPU path Agent.Update rate %v", dev.G, dev.InterfacePerSec, cpu.InterfacePerSec)
	}
}
