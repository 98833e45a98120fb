// kernels.h: element-wise kernels of the CPU engine (implemented in kernels.c).
//
// Shapes are written next to each declaration: [n][d] is a row-major matrix of
// n rows and d columns. Outputs come first, then inputs, then sizes.
//
// The names start with mbpo_cpu_: the GPU kernels (../../kernels/*.cu) that
// compute the same things have mbpo_ names of their own and other signatures
// (a thread context, grid-stride loops, per-block partial sums). Each GPU
// kernel's comment names its twin here, through the Go wrapper in kernels.go,
// and the test comparing them (kernels' TestEveryKernelHasATwin keeps the
// list).
#ifndef MBPO_CPU_KERNELS_H
#define MBPO_CPU_KERNELS_H

#include <stdint.h>

// Hidden-layer activations.
enum { MBPO_CPU_LINEAR = 0, MBPO_CPU_RELU = 1, MBPO_CPU_SWISH = 2 };

// y [n][d] = act(y + b) with b [d] broadcast over rows. For swish, pre [n][d]
// receives σ(y + b) when it is not NULL, which with the output gives the
// derivative without another exp; other activations ignore pre (ReLU's
// derivative comes from its output).
void mbpo_cpu_bias_act(float *y, float *pre, const float *b, int64_t n, int64_t d, int act);

// dy [size] *= act'(.), from the layer output y (ReLU, swish) and the sigmoid
// pre that mbpo_cpu_bias_act kept (swish).
void mbpo_cpu_act_backward(float *dy, const float *y, const float *pre, int64_t size, int act);

// out [d] = (accumulate ? out : 0) + column sums of x [n][d].
void mbpo_cpu_colsum(float *out, const float *x, int64_t n, int64_t d, int accumulate);

// One bias-corrected Adam step on p [size] with gradient g and moments m, v;
// bc1 = 1 - b1^t and bc2 = 1 - b2^t for step t.
void mbpo_cpu_adam(float *p, const float *g, float *m, float *v, int64_t size,
	       float lr, float b1, float b2, float eps, float bc1, float bc2);

// t [size] = tau·s + (1 - tau)·t.
void mbpo_cpu_polyak(float *t, const float *s, int64_t size, float tau);

// y [size] += a·x.
void mbpo_cpu_axpy(float *y, const float *x, int64_t size, float a);

// Sum of squares of x [size], accumulated in double.
double mbpo_cpu_sumsq(const float *x, int64_t size);

// z [n][d] = (x - mean) · invstd, mean and invstd [d].
void mbpo_cpu_normalize(float *z, const float *x, const float *mean, const float *invstd, int64_t n, int64_t d);

// Ensemble head. head [n][2·out] holds μ then the raw log-variance ρ;
// maxlv and minlv [out] bound it softly:
//   logvar = maxlv - softplus(maxlv - ρ); logvar = minlv + softplus(logvar - minlv).
// mbpo_cpu_gauss_head writes row i's μ and logvar into row rows[i] (row i when
// rows is NULL) of mean and logvar [.][out].
void mbpo_cpu_gauss_head(float *mean, float *logvar, const float *head, const int32_t *rows,
		     const float *maxlv, const float *minlv, int64_t n, int64_t out);

// Gaussian NLL terms (μ - y)²·exp(-logvar) + logvar of y [n][out] under the
// head. Returns their sum S; writes the gradient of scale·S w.r.t. head into
// dhead [n][2·out] and adds its gradient w.r.t. maxlv and minlv into dmax and
// dmin [out] (scale = 1/(n·out) makes S the mean). acc is scratch [out].
double mbpo_cpu_gauss_nll_grad(float *restrict dhead, float *restrict dmax, float *restrict dmin,
			   const float *restrict head, const float *restrict y,
			   const float *restrict maxlv, const float *restrict minlv, float scale, int64_t n,
			   int64_t out, double *restrict acc);

// Adds the sums over y [n][out] of (μ - y)² to *sse and of
// (μ - y)²·exp(-logvar) + logvar to *snll. acc is scratch [2·out].
void mbpo_cpu_gauss_eval(double *sse, double *snll, const float *head, const float *y, const float *maxlv,
		     const float *minlv, int64_t n, int64_t out, double *acc);

// Policy head. head [n][2·a] holds μ then the raw log σ, clipped to
// [lsmin, lsmax]; eps [n][a] is standard normal noise.
// act [n][a] = tanh(μ + σ·eps), or tanh(μ) when eps is NULL.
void mbpo_cpu_policy_act(float *act, const float *head, const float *eps, int64_t n, int64_t a, float lsmin, float lsmax);

// As mbpo_cpu_policy_act with noise, and logp [n] = log π(act|s):
//   Σ_j -½eps² - log σ - ½log 2π - 2(log 2 - u - softplus(-2u)), u = μ + σ·eps.
void mbpo_cpu_policy_sample(float *act, float *logp, const float *head, const float *eps, int64_t n, int64_t a,
			float lsmin, float lsmax);

// Gradient dhead [n][2·a] of Σ_i (coef·logp_i + Σ_j dact_ij·act_ij) with
// eps fixed (reparameterisation); dact [n][a] may be NULL (zero). The log σ
// gradient is zero where the raw log σ lies outside the clip.
void mbpo_cpu_policy_backward(float *dhead, const float *head, const float *eps, const float *dact, float coef,
			  int64_t n, int64_t a, float lsmin, float lsmax);

// Element-wise math of the kernels, exposed for their accuracy tests:
// fn 0 exp, 1 log, 2 softplus, 3 sigmoid, 4 tanh, 5 1 - tanh², 6 sqrt.
void mbpo_cpu_math(float *y, const float *x, int64_t size, int fn);

#endif
