// bench_gpu.go is "mbpo bench gpu": the GPU runtime's costs (launch latency,
// graph replay against single launches, device memory bandwidth) and the
// ensemble forward kernel's speed, checked against the CPU engine
// (bench.GPU): its flags, the device it opens and its printed table.

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/bench"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/kernels"
)

func runBenchGPU(a *app, args []string) error {
	fs := a.newFlags("bench gpu", "[flags]", "Measure the GPU runtime (launch latency, graph replay of 20 small launches against\n"+
		"launching them one by one, device memory bandwidth) and the ensemble forward kernel\n"+
		"(time, TFLOP/s), checking the forward's output against the CPU engine on a sample of rows.")
	device := fs.String("device", "auto", "GPU to use: auto or cuda (both need a GPU; cpu is refused)")
	rows := fs.Int("rows", 400000, "rows of the ensemble forward")
	members := fs.Int("members", 7, "ensemble members")
	hidden := fs.Int("hidden", 200, "units per hidden layer")
	layers := fs.Int("layers", 4, "hidden layers")
	obs := fs.Int("obs", 17, "observation width (input = obs + act, target = obs + 1)")
	act := fs.Int("act", 6, "action width")
	reps := fs.Int("reps", 20, "timed forward launches (after 3 warm-ups)")
	launches := fs.Int("launches", 5000, "empty-kernel launches timed for the launch latency")
	batches := fs.Int("batches", 500, "batches of 20 launches (and graph replays) timed")
	copyMiB := fs.Int("copy-mib", 1024, "MiB copied per device-to-device copy")
	checkRows := fs.Int("check-rows", 4096, "rows of the forward compared with the CPU engine")
	jsonPath := fs.String("json", "", "also write the results to this JSON file")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected arguments %q", fs.Args())
	case *device == gpu.DeviceCPU:
		return usagef("--device cpu: bench gpu measures a GPU; use auto or cuda")
	case *rows < 1 || *members < 1 || *hidden < 1 || *layers < 1 || *obs < 1 || *act < 1:
		return usagef("--rows, --members, --hidden, --layers, --obs and --act must be positive")
	case *reps < 1 || *launches < 1 || *batches < 1 || *copyMiB < 1 || *checkRows < 1:
		return usagef("--reps, --launches, --batches, --copy-mib and --check-rows must be positive")
	}
	log, err := lf.logger(a.stderr)
	if err != nil {
		return err
	}
	dev, why, err := gpu.Select(*device)
	if err != nil {
		return err
	}
	if dev == nil {
		return fmt.Errorf("bench gpu needs a GPU and found none: %s", why)
	}
	defer dev.Close()
	log.Info().Msg(why)

	m, err := kernels.OnGPU(dev)
	if err != nil {
		return err
	}
	defer m.Close()

	res, stageErr := bench.GPU(m, dev.Info(), bench.GPUOptions{Launches: *launches, Batches: *batches, CopyBytes: *copyMiB << 20,
		Rows: *rows, Members: *members, Hidden: *hidden, Layers: *layers, Obs: *obs, Act: *act, Reps: *reps, CheckRows: *checkRows})
	// A failed stage still prints and writes what was measured before it.
	printGPUBench(a, res)
	if err := writeJSON(*jsonPath, res); err != nil {
		return err
	}
	if stageErr != nil {
		return stageErr
	}
	if !res.CheckPass {
		return fmt.Errorf("the GPU forward differs from the CPU engine by %.3g (relative, floor 1), above %g", res.CheckMaxRel, bench.CheckTolerance)
	}
	return nil
}

func printGPUBench(a *app, r bench.GPUResult) {
	w := tabwriter.NewWriter(a.stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintf(w, "device\t%s\n", r.Device)
	fmt.Fprintf(w, "launch latency (empty kernel, pipelined)\t%.2f µs\n", r.LaunchUS)
	fmt.Fprintf(w, "20 small launches one by one\t%.1f µs per batch (%.1f µs waiting for each)\n", r.Launches20US, r.Launches20Syn)
	fmt.Fprintf(w, "the same 20 as a graph replay\t%.1f µs per replay (%.1f µs waiting for each)\n", r.Graph20US, r.Graph20Syn)
	fmt.Fprintf(w, "graph / one by one\t%.3f (target <= 0.2)\n", r.GraphRatio)
	fmt.Fprintf(w, "device copy bandwidth\t%.0f GB/s (read + write)\n", r.CopyGBs)
	fmt.Fprintf(w, "ensemble forward %dx%v, in %d, out %d, %d rows\t%.3f ms median, %.3f ms best, %.2f TFLOP/s\n",
		r.Members, r.Hidden, r.In, r.Out, r.Rows, r.ForwardMS, r.ForwardMinMS, r.ForwardTFLOPs)
	fmt.Fprintf(w, "forward kernel\t%s, %d registers, %d B local per thread\n", r.ForwardConfig, r.Registers, r.SpillBytes)
	verdict := "PASS"
	if !r.CheckPass {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "check against the CPU engine (%d rows)\tmax abs %.3g, max rel %.3g (tolerance %g): %s\n",
		r.CheckRows, r.CheckMaxAbs, r.CheckMaxRel, r.CheckTol, verdict)
	if r.Error != "" {
		fmt.Fprintf(w, "stopped early\t%s\n", r.Error)
	}
	w.Flush()
}
