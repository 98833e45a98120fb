// host.h: the host builds of this package's kernels (host.c), called from Go
// through cgo. Each runs the kernel's body over the grid it is given.
#ifndef MBPO_HOST_H
#define MBPO_HOST_H

#include <stddef.h>

#include "mlp.h"
#include "rng.h"

// kbody is a kernel's body as the host runs it: the calling thread's kctx
// and the kernel's arguments.
typedef void (*kbody)(const kctx *k, const void *args);

// mbpo_host_launch runs body over a gx x gy grid of blocks of bx threads with
// smem bytes of shared memory each; syncs says whether the kernel uses KSYNC
// (then each thread of a block runs on its own pthread). It returns 0, or an
// errno value.
int mbpo_host_launch(int gx, int gy, int bx, size_t smem, int syncs, kbody body, const void *args);

int mbpo_host_ensemble_forward(float *mean, float *logvar, const float *x, const float *params,
                               const float *norm_mean, const float *norm_std, int n, const mbpo_net *net,
                               int grid_x, int threads, int shared_bytes);
int mbpo_host_swish(float *y, const float *x, unsigned long long n, int grid_x, int threads);
int mbpo_host_gaussian_head(float *mean, float *logvar, const float *head, const float *maxlv,
                            const float *minlv, unsigned long long rows, int out, int grid_x, int threads);
int mbpo_host_rng_fill(unsigned int *out, unsigned long long first, unsigned long long n, const mbpo_key *key,
                       int kind, int grid_x, int threads);
void mbpo_host_philox(unsigned int out[4], const unsigned int ctr[4], const unsigned int key[2]);
float mbpo_host_ln_unit(float u);
void mbpo_host_sincos_turns(float v, float *s, float *c);

#endif
