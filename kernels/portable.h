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

// k_atomic_add adds v to *p and returns the old value, atomically (on the
// host the threads of a block that does not synchronise run one after
// another, but the builtin costs nothing there either).
#ifdef MBPO_DEVICE
KFN int k_atomic_add(int *p, int v) { return __nvvm_atom_add_gen_i(p, v); }
#else
KFN int k_atomic_add(int *p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
#endif

// k_finite is whether f is neither NaN nor ±Inf (from its bits: the exponent
// is not all ones).
KFN int k_finite(float f) { return (k_float_bits(f) & 0x7f800000u) != 0x7f800000u; }

// k_sigmoid is 1 / (1 + e^-x); it reaches 0 and 1 without NaN.
KFN float k_sigmoid(float x) { return 1.0f / (1.0f + k_exp(-x)); }

// k_softplus_sig is log(1 + e^x), without overflow, and writes its
// derivative sigmoid(x) into *sig (one exp for both).
KFN float k_softplus_sig(float x, float *sig) {
	float e = k_exp(-k_fabs(x));
	float inv = 1.0f / (1.0f + e);
	*sig = (x >= 0.0f ? 1.0f : e) * inv;
	return k_fmax(x, 0.0f) + k_log1p(e);
}

// k_tanh_sech2 is tanh u, and writes 1 - tanh² u into *sech2 (= 4t/(1+t)²
// with t = e^{-2|u|}, without cancellation); near 0, where 1 - t cancels, a
// Taylor series. The CPU engine uses the same formulas.
KFN float k_tanh_sech2(float u, float *sech2) {
	float a = k_fabs(u);
	float t = k_exp(-2.0f * a);
	float inv = 1.0f / (1.0f + t);
	float r = (1.0f - t) * inv;
	if (a < 0.0625f) {
		float u2 = a * a;
		r = a * (1.0f + u2 * (-0.33333333333f + u2 * (0.13333333333f + u2 * -0.053968253968f)));
	}
	*sech2 = 4.0f * t * inv * inv;
	return u < 0.0f ? -r : r;
}

// k_clip is v clamped into [lo, hi].
KFN float k_clip(float v, float lo, float hi) { return v < lo ? lo : (v > hi ? hi : v); }

// MBPO_REDUCE_THREADS is the block size of the kernels that reduce with
// k_tree_sum (a power of two).
#define MBPO_REDUCE_THREADS 256

// k_tree_sum sums v over the block's threads (ntid a power of two, at most
// MBPO_REDUCE_THREADS) through shared memory s (ntid doubles); every thread
// gets the sum. The order is fixed: pairs at halving distances.
KFN double k_tree_sum(const kctx *k, double *s, double v) {
	const int t = (int)k->tid;
	s[t] = v;
	KSYNC(k);
	for (int d = (int)k->ntid / 2; d > 0; d /= 2) {
		if (t < d) s[t] += s[t + d];
		KSYNC(k);
	}
	double r = s[0];
	KSYNC(k); // s may be reused
	return r;
}

#endif
