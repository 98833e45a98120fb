// bench.cu: kernels for measuring the launch path itself (bodies in bench.h);
// mbpo bench gpu times them. They compute nothing the engines use, so they
// have no CPU twin.
#include "device.h"
#include "bench.h"

// mbpo_empty does nothing: the cost of a launch.
// twin: none (a launch-path benchmark)
// tests: kernels TestHostBenchKernels, TestGPUBenchKernels; bench TestBenchGPUOnHostMachine, TestBenchGPURuntimeOnFakeDriver
KERNEL void mbpo_empty() {}

// mbpo_add_one adds 1 to x[i] for i < n: a small launch with a visible effect,
// for graph replay. One thread per value.
// twin: none (a launch-path benchmark)
// tests: kernels TestHostBenchKernels, TestGPUBenchKernels; bench TestBenchGPUOnHostMachine, TestBenchGPURuntimeOnFakeDriver
KERNEL void mbpo_add_one(float *x, int n) {
	kctx k = thread_ctx();
	mbpo_add_one(&k, x, n);
}
