// device.h: what every .cu file of this package starts with: CUDA's built-in
// variables without the CUDA headers (clang's -nocudainc), the attribute
// spellings of __global__ and __shared__, and the kctx of the calling thread.
#ifndef MBPO_DEVICE_H
#define MBPO_DEVICE_H

#include <__clang_cuda_builtin_vars.h>

#include "portable.h"

#define KERNEL extern "C" __attribute__((global))
#define LAUNCH_BOUNDS(threads, blocks) __attribute__((launch_bounds(threads, blocks)))

extern __attribute__((shared)) __attribute__((aligned(16))) float mbpo_smem[];

// thread_ctx is the calling thread's kctx.
KFN kctx thread_ctx() {
	kctx k;
	k.tid = threadIdx.x;
	k.ntid = blockDim.x;
	k.bx = blockIdx.x;
	k.by = blockIdx.y;
	k.nbx = gridDim.x;
	k.nby = gridDim.y;
	k.smem = mbpo_smem;
	return k;
}

#endif
