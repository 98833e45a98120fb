// Package kernels holds the project's CUDA kernels: CUDA C++ sources (*.cu,
// with their math in headers shared with the host), the PTX clang makes of
// them (ptx/, committed and embedded), typed launchers, and host builds of
// the same sources for tests without a GPU.
//
// Each kernel's body is a function of a kctx (portable.h) rather than of
// CUDA's built-in variables, so host.c can run the very same code over a grid
// on the CPU: the tests compare it with the Go CPU engine, package
// rng and package env on every machine, and the GPU tests compare the
// device's output with the same references where there is a GPU.
//
// A Machine runs the kernels and holds their memory: OnGPU on a CUDA device
// (one stream, graphs by stream capture), OnHost on the CPU through
// dispatch.c, with the same launches, grids and argument bytes, so code built
// on a Machine (the GPU engine, engine/cuda, and mbpo bench gpu) is tested end
// to end on machines without a GPU. The launchers of ops.go are the one way
// to launch a kernel: each packs its kernel's arguments in the order and C
// layout of its signature (a test checks them against the PTX) and picks its
// grid.
//
// Every kernel has a CPU twin, the Go code of engine/cpu, trainer, env or rng
// that computes the same thing, and tests that compare them: the comment
// above each kernel in its .cu file names both ("twin:", "tests:"), and
// TestEveryKernelHasATwin (twins_test.go) holds the table of all of them and
// fails when a kernel has no row, when a named twin or test does not exist,
// or when a comment disagrees with the table. The host-build tests (TestHost*)
// run everywhere; the same checks run on a GPU as TestGPU*. The CPU engine's
// own C kernels are named mbpo_cpu_*, apart from these.
//
// Kernels, by source:
//
//   - ensemble.cu (mlp.h): the batched forward of small MLPs — every member
//     of the dynamics ensemble on the same rows in one launch (normalise,
//     swish hidden layers, Gaussian head with soft-bounded log-variance), or
//     each row through its own member (predict, rows grouped by member), or
//     the SAC policy (ReLU, raw head); activations stay in shared memory;
//     mbpo_swish and mbpo_gaussian_head alone;
//   - train.cu (gemm.h, train.h): the batched matrix product with fused
//     epilogues (bias, ReLU, swish keeping σ, the activations' derivatives)
//     for every layer of the training passes of all members or both critics
//     at once; input normalisation, bias gradients, the Gaussian NLL's
//     gradients with the log-variance bounds, Adam with per-layer weight
//     decay and a fused Polyak update, its step counter on the device, and
//     the holdout evaluation, every reduction in a fixed order;
//   - sac.cu (policy.h): the tanh-Gaussian policy's actions, samples with
//     log-probabilities and head gradient; the TD target, the critic and
//     actor output gradients and statistics, the temperature's gradient;
//   - rollout.cu (rollout.h, terminal.h): transition rings with
//     stages.Replay's layout, rollout start states, a random elite per
//     sample, rows grouped by member, the model's Gaussian sample with the
//     environments' termination rules (package env's, tested against them),
//     order-keeping compaction of live samples, SAC minibatch gathers, and the
//     model dataset's rows, minibatch gathers and column statistics;
//   - rng.cu (rng.h): rng's Philox4x32-10 streams as bits, uniforms
//     or normals (the other kernels draw from rng.h directly);
//   - bench.cu (bench.h): mbpo_empty and mbpo_add_one, for the launch path's
//     benchmarks (mbpo bench gpu).
//
// Rebuild the PTX with `make kernels` after editing a .cu or .h file; a test
// fails when clang is installed and the committed PTX is stale.
package kernels
