// Package kernels holds the project's CUDA kernels: CUDA C++ sources (*.cu,
// with their math in headers shared with the host), the PTX clang makes of
// them (ptx/, committed and embedded), typed launchers on a gpu.Device, and
// host builds of the same sources for tests without a GPU.
//
// Each kernel's body is a function of a kctx (portable.h) rather than of
// CUDA's built-in variables, so host.c can run the very same code over a grid
// on the CPU: the tests compare it with the Go CPU engine and package
// trainer/rng on every machine, and the GPU tests compare the device's output
// with the same references where there is a GPU.
//
// Kernels:
//
//   - mbpo_ensemble_forward: all members of the dynamics ensemble on the same
//     rows in one launch (normalise, swish hidden layers, Gaussian head with
//     soft-bounded log-variance), parameters in engine.EnsembleSpec's layout;
//   - mbpo_swish and mbpo_gaussian_head: the activation and the head alone;
//   - mbpo_rng_fill: trainer/rng's Philox4x32-10 streams as bits, uniforms
//     or normals;
//   - mbpo_empty and mbpo_add_one: the launch path, for benchmarks.
//
// Rebuild the PTX with `make kernels` after editing a .cu or .h file; a test
// fails when clang is installed and the committed PTX is stale.
package kernels
