// portable.h: what lets one kernel source compile both for the GPU (clang
// -x cuda --cuda-device-only, see build.sh) and for the host (cgo, host.c).
//
// A kernel is written as a body function taking a kctx (its thread and block
// indices, the block's shared memory) instead of reading CUDA's built-in
// variables. On the device a __global__ wrapper fills the kctx from threadIdx
// and friends, and the compiler folds it away. On the host, host.c runs the
// body for every thread of every block, each thread of a block on its own
// pthread when the kernel synchronises (KSYNC is then a barrier), so the
// kernel's indexing and synchronisation are tested as well as its arithmetic.
#ifndef MBPO_PORTABLE_H
#define MBPO_PORTABLE_H

typedef unsigned int ku32;
typedef unsigned long long ku64;

// kf4 is four floats, loaded and stored as one 16-byte access.
typedef float kf4 __attribute__((vector_size(16)));

#if defined(__CUDA__) && defined(__CUDA_ARCH__)
#define MBPO_DEVICE 1
#define KFN static inline __attribute__((device)) __attribute__((always_inline))
#define KRESTRICT __restrict__
#define KUNROLL _Pragma("unroll")
#define KSYNC(k) __syncthreads()
#else
#include <math.h>
#include <pthread.h>
#define KFN static inline
#define KRESTRICT restrict
#define KUNROLL
#define KSYNC(k) pthread_barrier_wait((k)->barrier)
#endif

// kctx is one thread's view of a launch.
typedef struct kctx {
	ku32 tid, ntid; // thread index in the block, threads per block (x only)
	ku32 bx, by;    // block index
	ku32 nbx, nby;  // blocks in the grid
	float *smem;    // the block's dynamic shared memory, 16-byte aligned
#ifndef MBPO_DEVICE
	pthread_barrier_t *barrier;
#endif
} kctx;

// Math with the same meaning on both sides. On the device there is no
// libdevice: the approximate hardware instructions are used where their
// error (about 2^-22 relative) is far below what the callers need, and
// exactly rounded ones (sqrt, division) elsewhere.
#ifdef MBPO_DEVICE
KFN float k_exp(float x) { return __nvvm_ex2_approx_f(x * 1.4426950408889634f); }
KFN float k_log2(float x) { return __nvvm_lg2_approx_f(x); }
KFN float k_sqrt(float x) { return __nvvm_sqrt_rn_f(x); }
// k_log1p is log(1+y) for y >= 0, accurate relative to the result also for
// small y (the (u-1) correction makes up for the rounding of 1+y).
KFN float k_log1p(float y) {
	float u = 1.0f + y;
	if (u == 1.0f) return y;
	return k_log2(u) * 0.6931471805599453f * (y / (u - 1.0f));
}
#else
KFN float k_exp(float x) { return expf(x); }
KFN float k_sqrt(float x) { return sqrtf(x); }
KFN float k_log1p(float y) { return log1pf(y); }
#endif

KFN float k_fmax(float a, float b) { return __builtin_fmaxf(a, b); }
KFN float k_fabs(float a) { return __builtin_fabsf(a); }
KFN ku32 k_float_bits(float f) {
	union { float f; ku32 u; } v;
	v.f = f;
	return v.u;
}
KFN float k_bits_float(ku32 u) {
	union { float f; ku32 u; } v;
	v.u = u;
	return v.f;
}

#endif
