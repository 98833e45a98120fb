// host.h: the host builds of this package's kernels (host.c), called from Go
// through cgo. Each runs the kernel's body over the grid it is given.
#ifndef MBPO_HOST_H
#define MBPO_HOST_H

#include "mlp.h"
#include "rng.h"

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
