package main

import "strings"

// benchmark is one "mbpo bench WHAT".
type benchmark struct {
	name  string
	short string
	run   func(a *app, args []string) error
}

func benchmarks() []benchmark {
	return []benchmark{
		{"env", "env pool steps/s against raw MuJoCo speed", runBenchEnv},
		{"train", "every MBPO stage on one env's configuration (CPU engine target: <= 180 s per 1,000 Hopper steps)", runBenchTrain},
		{"gpu", "GPU launch latency, graph replay, bandwidth, ensemble forward vs the CPU engine", runBenchGPU},
		{"rollout", "branched model rollouts: model steps/s, time by stage, GFLOP/s (GPU target: Hopper >= 100M steps/s)", runBenchRollout},
		{"model-train", "one full ensemble retrain to early stop (GPU target: <= 2 s on 100,000 Hopper transitions)", runBenchModelTrain},
		{"sac", "SAC updates/s at batch 256 (GPU target: >= 20,000 for Hopper's networks)", runBenchSAC},
	}
}

func benchNames() []string {
	var names []string
	for _, b := range benchmarks() {
		names = append(names, b.name)
	}
	return names
}

func runBench(a *app, args []string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			a.printBenchHelp()
			return nil
		}
		a.printBenchHelp()
		return usagef("missing benchmark name")
	}
	for _, b := range benchmarks() {
		if b.name == args[0] {
			return b.run(a, args[1:])
		}
	}
	return usagef("unknown benchmark %q (want one of %s)", args[0], strings.Join(benchNames(), ", "))
}

func (a *app) printBenchHelp() {
	w := a.stderr
	w.Write([]byte("Usage: mbpo bench WHAT [flags]\n\nBenchmarks:\n\n"))
	for _, b := range benchmarks() {
		w.Write([]byte("\t" + b.name + "\t" + b.short + "\n"))
	}
	w.Write([]byte("\nRun 'mbpo bench WHAT -h' for its flags.\n"))
}
