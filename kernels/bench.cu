// bench.cu: kernels for measuring the launch path itself.
#include "device.h"

// mbpo_empty does nothing: the cost of a launch.
KERNEL void mbpo_empty() {}

// mbpo_add_one adds 1 to x[i] for i < n: a small launch with a visible effect,
// for graph replay.
KERNEL void mbpo_add_one(float *x, int n) {
	int i = (int)(blockIdx.x * blockDim.x + threadIdx.x);
	if (i < n) x[i] += 1.0f;
}
