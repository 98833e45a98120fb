// ensemble.cu: the dynamics ensemble's kernels (math in mlp.h). Compiled to
// ensemble.ptx by build.sh (make kernels); the same math runs on the host
// through host.c.
#include "device.h"
#include "mlp.h"

// mbpo_ensemble_forward: grid (ceil(n/net.rows), members), 256 threads,
// dynamic shared memory as mlp.h says.
KERNEL LAUNCH_BOUNDS(256, 2) void mbpo_ensemble_forward(float *mean, float *logvar, const float *x,
                                                        const float *params, const float *norm_mean,
                                                        const float *norm_std, int n, const int *n_dev,
                                                        mbpo_net net) {
	kctx k = thread_ctx();
	mbpo_ensemble_forward(&k, mean, logvar, x, params, norm_mean, norm_std, n, n_dev, net);
}

// mbpo_ensemble_predict: grid ceil(n/net.rows) + members, 256 threads,
// dynamic shared memory as mlp.h says.
KERNEL LAUNCH_BOUNDS(256, 2) void mbpo_ensemble_predict(float *mean, float *logvar, const float *x,
                                                        const float *params, const float *norm_mean,
                                                        const float *norm_std, const int *counts,
                                                        const int *list, mbpo_net net) {
	kctx k = thread_ctx();
	mbpo_ensemble_predict(&k, mean, logvar, x, params, norm_mean, norm_std, counts, list, net);
}

// mbpo_swish: y = swish(x), elementwise.
KERNEL void mbpo_swish(float *y, const float *x, ku64 n) {
	kctx k = thread_ctx();
	mbpo_swish_fill(&k, y, x, n);
}

// mbpo_gaussian_head: mean and soft-bounded logvar from the head's outputs.
KERNEL void mbpo_gaussian_head(float *mean, float *logvar, const float *head, const float *maxlv,
                               const float *minlv, ku64 rows, int out) {
	kctx k = thread_ctx();
	mbpo_gaussian_head(&k, mean, logvar, head, maxlv, minlv, rows, out);
}
