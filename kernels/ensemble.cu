// ensemble.cu: the dynamics ensemble's kernels (math in mlp.h). Compiled to
// ensemble.ptx by build.sh (make kernels); the same math runs on the host
// through dispatch.c.
//
// Each kernel names its CPU twin (the engine/cpu code that computes the same
// thing) and the tests that compare them; kernels' TestEveryKernelHasATwin
// checks these lines against its table.
#include "device.h"
#include "mlp.h"

// mbpo_ensemble_forward: every member on the same n rows. Grid
// (ceil(n/net.rows), members), 256 threads, dynamic shared memory as mlp.h
// says.
// twin: engine/cpu ensemble.ForwardAll
// tests: kernels TestHostEnsembleForwardMatchesCPUEngine, TestGPUEnsembleForward;
//        engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference
KERNEL LAUNCH_BOUNDS(256, 2) void mbpo_ensemble_forward(float *mean, float *logvar, const float *x,
                                                        const float *params, const float *norm_mean,
                                                        const float *norm_std, int n, const int *n_dev,
                                                        mbpo_net net) {
	kctx k = thread_ctx();
	mbpo_ensemble_forward(&k, mean, logvar, x, params, norm_mean, norm_std, n, n_dev, net);
}

// mbpo_ensemble_predict: row i through member members[i], rows grouped by
// member. Grid ceil(n/net.rows) + members, 256 threads, dynamic shared memory
// as mlp.h says.
// twin: engine/cpu ensemble.Predict
// tests: engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference, TestHostRollouts, TestGPURollouts
KERNEL LAUNCH_BOUNDS(256, 2) void mbpo_ensemble_predict(float *mean, float *logvar, const float *x,
                                                        const float *params, const float *norm_mean,
                                                        const float *norm_std, const int *counts,
                                                        const int *list, mbpo_net net) {
	kctx k = thread_ctx();
	mbpo_ensemble_predict(&k, mean, logvar, x, params, norm_mean, norm_std, counts, list, net);
}

// mbpo_swish: y = swish(x), elementwise, grid-stride.
// twin: engine/cpu biasAct (C mbpo_cpu_bias_act, swish). The tests check the kernel against float64,
// as engine/cpu TestBiasActAndBackward checks the twin.
// tests: kernels TestHostSwishAndGaussianHead, TestGPUSwishAndGaussianHead
KERNEL void mbpo_swish(float *y, const float *x, ku64 n) {
	kctx k = thread_ctx();
	mbpo_swish_fill(&k, y, x, n);
}

// mbpo_gaussian_head: mean and soft-bounded logvar from the head's outputs,
// grid-stride.
// twin: engine/cpu gaussHead (C mbpo_cpu_gauss_head). The tests check the kernel against float64, as
// engine/cpu TestGaussHeadKernels checks the twin.
// tests: kernels TestHostSwishAndGaussianHead, TestGPUSwishAndGaussianHead
KERNEL void mbpo_gaussian_head(float *mean, float *logvar, const float *head, const float *maxlv,
                               const float *minlv, ku64 rows, int out) {
	kctx k = thread_ctx();
	mbpo_gaussian_head(&k, mean, logvar, head, maxlv, minlv, rows, out);
}
