// axpy.cu: the two kernels package gpu's device tests launch (compiled to
// axpy.ptx by `make kernels`, with the same clang command as kernels/).
#include <__clang_cuda_builtin_vars.h>
#define __global__ __attribute__((global))

struct scale_args {
	int n;
	float s;
};

// empty does nothing: launch latency.
extern "C" __global__ void empty() {}

// axpy: y[i] += a * x[i] for i < n.
extern "C" __global__ void axpy(float *y, const float *x, float a, int n) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < n) y[i] += a * x[i];
}

// scale: y[i] *= p.s for i < p.n; p is passed by value.
extern "C" __global__ void scale(float *y, scale_args p) {
	int i = blockIdx.x * blockDim.x + threadIdx.x;
	if (i < p.n) y[i] *= p.s;
}
