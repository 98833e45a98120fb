// Package bench measures MBPO's stages and the machinery under them: what
// `mbpo bench` runs. Each benchmark is one function that takes an engine (or
// a kernels.Machine, or an environment id) and its sizes and returns a result
// type whose JSON fields are the ones the command writes with --json, which
// scripts/device/run.sh, summary.py and ratios.py read:
//
//	bench.Train(eng, cfg, bench.TrainOptions{...})   every stage of a run, and the time per 1,000 env steps (train.go)
//	bench.ModelTrain(eng, cfg, real)                 one ensemble retrain to early stop (model.go)
//	bench.Rollouts(eng, cfg, real, batch, k, rounds) branched model rollouts (rollout.go)
//	bench.SAC(eng, cfg, real, batch, updates, g)     SAC updates (sac.go)
//	bench.EnvPools(id, bench.EnvOptions{...})        the env pool against raw MuJoCo (env.go)
//	bench.GPU(m, info, bench.GPUOptions{...})        the GPU runtime and the ensemble forward kernel (gpu.go)
//
// The engine benchmarks time the run's own stages: trainer.BenchStages makes
// the engine.Stages a training run would make (the host reference of package
// stages, or the GPU engine's twin), with random-policy data (CollectRandom)
// as their real buffer, so no loop of the trainer is copied here.
//
// The PyTorch peers beside this package (torch_peer.py, torch_rollout.py,
// torch_sac.py, with peer.py) measure the same workloads and write the same
// core fields; ratios.py pairs the two (make bench-peers).
//
// cmd/mbpo parses the flags, chooses the engine, prints the results and
// writes the JSON; nothing below the command imports this package.
package bench
