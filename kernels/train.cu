// train.cu: the kernels of training passes (math in gemm.h and train.h). Each
// kernel names its CPU twin and the tests that compare them (see
// ensemble.cu).
#include "device.h"
#include "gemm.h"
#include "train.h"

// mbpo_gemm: a batched product with a fused epilogue. Grid (row tiles ×
// column tiles, batch), MBPO_GEMM_THREADS threads, MBPO_GEMM_SMEM bytes of
// dynamic shared memory.
// twin: engine/cpu matmul.forward, matmul.backward
// tests: kernels TestHostGemmMatchesFloat64; engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining, TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL LAUNCH_BOUNDS(MBPO_GEMM_THREADS, 2) void mbpo_gemm(mbpo_gemm_args g) {
	kctx k = thread_ctx();
	mbpo_gemm_tile(&k, g);
}

// mbpo_normalize: z = (x - mean)/std, grid-stride.
// twin: engine/cpu normalize
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining
KERNEL void mbpo_normalize(float *z, const float *x, const float *mean, const float *std, ku64 rows, int d) {
	kctx k = thread_ctx();
	mbpo_normalize(&k, z, x, mean, std, rows, d);
}

// mbpo_colsum: the column sums of each batch slice (bias gradients).
// twin: engine/cpu colsum
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining, TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL void mbpo_colsum(float *out, const float *x, int rows, int cols, long long sx, long long sout) {
	kctx k = thread_ctx();
	mbpo_colsum(&k, out, x, rows, cols, sx, sout);
}

// mbpo_gauss_nll_grad: the Gaussian NLL's gradient w.r.t. each member's head
// (one block per member).
// twin: engine/cpu gaussNLLGrad
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining
KERNEL void mbpo_gauss_nll_grad(float *dhead, float *part, const float *head, const float *y, const float *maxlv,
                                const float *minlv, int batch, int out, float scale) {
	kctx k = thread_ctx();
	mbpo_gauss_nll_grad(&k, dhead, part, head, y, maxlv, minlv, batch, out, scale);
}

// mbpo_gauss_bounds: the log-variance bounds' gradients and the NLL loss.
// twin: engine/cpu ensemble.gradients
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining
KERNEL void mbpo_gauss_bounds(float *gmax, float *gmin, double *loss, const float *part, const float *maxlv,
                              const float *minlv, int members, int batch, int out) {
	kctx k = thread_ctx();
	mbpo_gauss_bounds(&k, gmax, gmin, loss, part, maxlv, minlv, members, batch, out);
}

// mbpo_tick: an optimiser step begins: the step count and bias corrections.
// twin: engine/cpu adamStep
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining, TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL void mbpo_tick(mbpo_adam_sched *s) {
	kctx k = thread_ctx();
	mbpo_tick(&k, s);
}

// mbpo_adam: an Adam step with per-layer weight decay and, optionally, the
// Polyak update of a target.
// twin: engine/cpu adam, polyak
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining, TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_adam(mbpo_adam_args a) {
	kctx k = thread_ctx();
	mbpo_adam(&k, a);
}

// mbpo_loss_finish: the loss plus the weight decay's partial sums (one thread).
// twin: engine/cpu ensemble.trainMember
// tests: engine/cuda TestHostEnsembleTraining, TestGPUEnsembleTraining
KERNEL void mbpo_loss_finish(float *out, const double *loss, const double *partial, int parts) {
	kctx k = thread_ctx();
	mbpo_loss_finish(&k, out, loss, partial, parts);
}

// mbpo_gauss_eval_part: each block's squared errors and NLL terms, per member.
// twin: engine/cpu gaussEval
// tests: engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference, TestHostFit, TestGPUFit
KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_gauss_eval_part(double *part, const float *mean,
                                                                     const float *logvar, const float *y, int n,
                                                                     int out, int rows_per_block) {
	kctx k = thread_ctx();
	mbpo_gauss_eval_part(&k, part, mean, logvar, y, n, out, rows_per_block);
}

// mbpo_gauss_eval_finish: each member's MSE and NLL from the blocks' sums.
// twin: engine/cpu ensemble.Evaluate
// tests: engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference, TestHostFit, TestGPUFit
KERNEL void mbpo_gauss_eval_finish(float *mse, float *nll, const double *part, int members, int blocks, int n,
                                   int out) {
	kctx k = thread_ctx();
	mbpo_gauss_eval_finish(&k, mse, nll, part, members, blocks, n, out);
}
