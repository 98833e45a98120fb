// train.cu: the kernels of training passes (math in gemm.h and train.h).
#include "device.h"
#include "gemm.h"
#include "train.h"

// mbpo_gemm: grid (row tiles × column tiles, batch), MBPO_GEMM_THREADS
// threads, MBPO_GEMM_SMEM bytes of dynamic shared memory.
KERNEL LAUNCH_BOUNDS(MBPO_GEMM_THREADS, 2) void mbpo_gemm(mbpo_gemm_args g) {
	kctx k = thread_ctx();
	mbpo_gemm_tile(&k, g);
}

KERNEL void mbpo_normalize(float *z, const float *x, const float *mean, const float *std, ku64 rows, int d) {
	kctx k = thread_ctx();
	mbpo_normalize(&k, z, x, mean, std, rows, d);
}

KERNEL void mbpo_colsum(float *out, const float *x, int rows, int cols, long long sx, long long sout) {
	kctx k = thread_ctx();
	mbpo_colsum(&k, out, x, rows, cols, sx, sout);
}

KERNEL void mbpo_gauss_nll_grad(float *dhead, float *part, const float *head, const float *y, const float *maxlv,
                                const float *minlv, int batch, int out, float scale) {
	kctx k = thread_ctx();
	mbpo_gauss_nll_grad(&k, dhead, part, head, y, maxlv, minlv, batch, out, scale);
}

KERNEL void mbpo_gauss_bounds(float *gmax, float *gmin, double *loss, const float *part, const float *maxlv,
                              const float *minlv, int members, int batch, int out) {
	kctx k = thread_ctx();
	mbpo_gauss_bounds(&k, gmax, gmin, loss, part, maxlv, minlv, members, batch, out);
}

KERNEL void mbpo_tick(mbpo_adam_sched *s) {
	kctx k = thread_ctx();
	mbpo_tick(&k, s);
}

KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_adam(mbpo_adam_args a) {
	kctx k = thread_ctx();
	mbpo_adam(&k, a);
}

KERNEL void mbpo_loss_finish(float *out, const double *loss, const double *partial, int parts) {
	kctx k = thread_ctx();
	mbpo_loss_finish(&k, out, loss, partial, parts);
}

KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_gauss_eval_part(double *part, const float *mean,
                                                                     const float *logvar, const float *y, int n,
                                                                     int out, int rows_per_block) {
	kctx k = thread_ctx();
	mbpo_gauss_eval_part(&k, part, mean, logvar, y, n, out, rows_per_block);
}

KERNEL void mbpo_gauss_eval_finish(float *mse, float *nll, const double *part, int members, int blocks, int n,
                                   int out) {
	kctx k = thread_ctx();
	mbpo_gauss_eval_finish(&k, mse, nll, part, members, blocks, n, out);
}
