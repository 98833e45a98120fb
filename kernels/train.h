// train.h: the element-wise and reduction kernels of training, for host and
// device: input normalisation, bias gradients, the ensemble's Gaussian NLL
// with its log-variance bounds, holdout evaluation, Adam (with per-layer
// weight decay and a fused Polyak update) and its step counter.
//
// Every reduction is deterministic: each sum runs in a fixed order (per
// thread in index order, then a fixed tree, then blocks in order), so a
// result does not depend on scheduling and graph replays repeat bit for bit.
#ifndef MBPO_TRAIN_H
#define MBPO_TRAIN_H

#include "portable.h"

#define MBPO_ADAM_B1 0.9f
#define MBPO_ADAM_B2 0.999f
#define MBPO_ADAM_EPS 1e-8f
#define MBPO_LOGVAR_PENALTY 0.01f
#define MBPO_MAX_SEGMENTS 9 // weight-decay segments of one Adam launch (weight layers)

// mbpo_normalize writes z[i][c] = (x[i][c] - mean[c]) / std[c] for rows·d
// values (a std below 1e-12, or NaN, counts as 1), grid-stride.
KFN void mbpo_normalize(const kctx *k, float *KRESTRICT z, const float *KRESTRICT x,
                        const float *KRESTRICT mean, const float *KRESTRICT std, ku64 rows, int d) {
	for (ku64 i = (ku64)k->bx * k->ntid + k->tid; i < rows * (ku64)d; i += (ku64)k->nbx * k->ntid) {
		int c = (int)(i % (ku64)d);
		float sd = std[c];
		if (!(sd >= 1e-12f)) sd = 1.0f;
		z[i] = (x[i] - mean[c]) * (1.0f / sd);
	}
}

// mbpo_colsum writes out[z][c] = Σ_r x[z][r][c] (r < rows, c < cols), the
// bias gradients of a batched layer: one thread per column (grid x over
// columns, y over the batch), rows summed in order. Strides in floats.
KFN void mbpo_colsum(const kctx *k, float *KRESTRICT out, const float *KRESTRICT x, int rows, int cols,
                     long long sx, long long sout) {
	const int c = (int)(k->bx * k->ntid + k->tid);
	if (c >= cols) return;
	const float *xz = x + (long long)k->by * sx;
	float s = 0.0f;
	for (int r = 0; r < rows; r++) s += xz[(long long)r * cols + c];
	out[(long long)k->by * sout + c] = s;
}

// mbpo_gauss_nll_grad: block e (grid x = members) takes member e's head
// [batch][2·out] (rows e·batch ...) and targets y [batch][out]. It writes
// into dhead the gradient of scale · Σ NLL terms (term = (μ-y)²·e^-lv + lv,
// lv the soft-bounded log-variance) w.r.t. the head, and per column j into
// part[e][0][j] the sum of the terms, part[e][1][j] and part[e][2][j] the
// gradients w.r.t. MaxLogVar[j] and MinLogVar[j]. One thread per column,
// rows in order.
KFN void mbpo_gauss_nll_grad(const kctx *k, float *KRESTRICT dhead, float *KRESTRICT part,
                             const float *KRESTRICT head, const float *KRESTRICT y,
                             const float *KRESTRICT maxlv, const float *KRESTRICT minlv,
                             int batch, int out, float scale) {
	const long long e = k->bx;
	const float *h = head + e * batch * 2 * out;
	float *dh = dhead + e * batch * 2 * out;
	const float *ye = y + e * batch * out;
	float *pe = part + e * 3 * out;
	for (int j = (int)k->tid; j < out; j += (int)k->ntid) {
		const float hi = maxlv[j], lo = minlv[j];
		double terms = 0.0;
		float gmax = 0.0f, gmin = 0.0f;
		for (int r = 0; r < batch; r++) {
			const long long o = (long long)r * 2 * out;
			float s1, s2;
			float t = hi - k_softplus_sig(hi - h[o + out + j], &s1);
			float lv = lo + k_softplus_sig(t - lo, &s2);
			float diff = h[o + j] - ye[(long long)r * out + j];
			float inv = k_exp(-lv);
			float sq = diff * diff * inv;
			terms += (double)(sq + lv);
			float dlv = scale * (1.0f - sq);
			dh[o + j] = scale * 2.0f * diff * inv;
			dh[o + out + j] = dlv * s2 * s1;
			gmax += dlv * s2 * (1.0f - s1);
			gmin += dlv * (1.0f - s2);
		}
		pe[j] = (float)terms;
		pe[out + j] = gmax;
		pe[2 * out + j] = gmin;
	}
}

// mbpo_gauss_bounds (one block) finishes the NLL stage of a training step:
// the bounds' gradients gmax[j] = Σ_e part[e][1][j] + 0.01 and gmin[j] =
// Σ_e part[e][2][j] - 0.01 (members in order), and into *loss the loss so far:
// Σ_e Σ_j part[e][0][j] / (batch·out) + 0.01·Σ_j (maxlv[j] - minlv[j]).
KFN void mbpo_gauss_bounds(const kctx *k, float *KRESTRICT gmax, float *KRESTRICT gmin, double *KRESTRICT loss,
                           const float *KRESTRICT part, const float *KRESTRICT maxlv,
                           const float *KRESTRICT minlv, int members, int batch, int out) {
	for (int j = (int)k->tid; j < out; j += (int)k->ntid) {
		float a = 0.0f, b = 0.0f;
		for (int e = 0; e < members; e++) {
			a += part[(long long)e * 3 * out + out + j];
			b += part[(long long)e * 3 * out + 2 * out + j];
		}
		gmax[j] = a + MBPO_LOGVAR_PENALTY;
		gmin[j] = b - MBPO_LOGVAR_PENALTY;
	}
	if (k->tid == 0) {
		double total = 0.0;
		for (int e = 0; e < members; e++) {
			double s = 0.0;
			for (int j = 0; j < out; j++) s += part[(long long)e * 3 * out + j];
			total += s / ((double)batch * out);
		}
		for (int j = 0; j < out; j++) total += (double)MBPO_LOGVAR_PENALTY * (double)(maxlv[j] - minlv[j]);
		*loss = total;
	}
}

// mbpo_adam_sched is what mbpo_tick leaves for the Adam launches of one
// step: the step number and the bias corrections 1 - β1^t, 1 - β2^t.
typedef struct mbpo_adam_sched {
	long long step;
	float bc1, bc2;
} mbpo_adam_sched;

// k_pow_int is b^t by repeated squaring in double (a few units of 1e-16).
KFN double k_pow_int(double b, long long t) {
	double r = 1.0;
	while (t > 0) {
		if (t & 1) r *= b;
		b *= b;
		t >>= 1;
	}
	return r;
}

// mbpo_tick (one thread) starts an optimiser step: step += 1 and the bias
// corrections of the new step, so that the step count lives on the device
// and a replayed graph counts its own steps.
KFN void mbpo_tick(const kctx *k, mbpo_adam_sched *s) {
	if (k->tid != 0 || k->bx != 0) return;
	long long t = s->step + 1;
	s->step = t;
	s->bc1 = (float)(1.0 - k_pow_int((double)MBPO_ADAM_B1, t));
	s->bc2 = (float)(1.0 - k_pow_int((double)MBPO_ADAM_B2, t));
}

// mbpo_adam_args is one Adam launch over n parameters, by value. Parameters
// in [seg_start[s], seg_end[s]) decay with wd[s]: their gradient gains wd·p,
// and, when partial is not NULL, block b writes Σ wd/2·p² (p before the step)
// into partial[b]. target, when not NULL, then moves toward the updated p by
// Polyak averaging: target = tau·p + (1 - tau)·target.
typedef struct mbpo_adam_args {
	float *p;
	const float *g;
	float *m, *v;
	float *target;
	double *partial;
	const mbpo_adam_sched *sched;
	long long n;
	long long seg_start[MBPO_MAX_SEGMENTS];
	long long seg_end[MBPO_MAX_SEGMENTS];
	float wd[MBPO_MAX_SEGMENTS];
	int segments;
	float lr, tau;
} mbpo_adam_args;

// mbpo_adam takes one Adam step (β1 0.9, β2 0.999, ε 1e-8, the CPU engine's
// arithmetic), grid-stride; MBPO_REDUCE_THREADS threads and as many doubles
// of shared memory when a.partial is set.
KFN void mbpo_adam(const kctx *k, mbpo_adam_args a) {
	const float c1 = 1.0f / a.sched->bc1, c2 = 1.0f / a.sched->bc2;
	double decay = 0.0;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < a.n; i += (long long)k->nbx * k->ntid) {
		float p = a.p[i], g = a.g[i];
		for (int s = 0; s < a.segments; s++) {
			if (i >= a.seg_start[s] && i < a.seg_end[s]) {
				g += a.wd[s] * p;
				decay += 0.5 * (double)a.wd[s] * (double)p * (double)p;
			}
		}
		float m = MBPO_ADAM_B1 * a.m[i] + (1.0f - MBPO_ADAM_B1) * g;
		float v = MBPO_ADAM_B2 * a.v[i] + (1.0f - MBPO_ADAM_B2) * g * g;
		a.m[i] = m;
		a.v[i] = v;
		p -= a.lr * (m * c1) / (k_sqrt(v * c2) + MBPO_ADAM_EPS);
		a.p[i] = p;
		if (a.target) a.target[i] = a.tau * p + (1.0f - a.tau) * a.target[i];
	}
	if (a.partial) {
		double s = k_tree_sum(k, (double *)k->smem, decay);
		if (k->tid == 0) a.partial[k->bx] = s;
	}
}

// mbpo_loss_finish (one thread) adds the weight-decay partials of an Adam
// launch (blocks in order) to *loss and writes the result as a float.
KFN void mbpo_loss_finish(const kctx *k, float *KRESTRICT out, const double *KRESTRICT loss,
                          const double *KRESTRICT partial, int parts) {
	if (k->tid != 0 || k->bx != 0) return;
	double s = *loss;
	for (int b = 0; b < parts; b++) s += partial[b];
	*out = (float)s;
}

// mbpo_gauss_eval_part: block (bx, by) sums, for member by and the rows
// bx·rows_per_block ..., the squared errors (μ - y)² and the NLL terms
// (μ - y)²·e^-lv + lv of mean and logvar ([E][n][out], the forward kernel's)
// against y ([n][out]); it writes them to part[(by·blocks + bx)·2 + 0/1].
// MBPO_REDUCE_THREADS threads, as many doubles of shared memory.
KFN void mbpo_gauss_eval_part(const kctx *k, double *KRESTRICT part, const float *KRESTRICT mean,
                              const float *KRESTRICT logvar, const float *KRESTRICT y, int n, int out,
                              int rows_per_block) {
	const long long e = k->by;
	const long long lo = (long long)k->bx * rows_per_block * out;
	long long hi = lo + (long long)rows_per_block * out;
	if (hi > (long long)n * out) hi = (long long)n * out;
	double se = 0.0, sn = 0.0;
	for (long long i = lo + k->tid; i < hi; i += k->ntid) {
		const long long o = e * n * out + i;
		float d = mean[o] - y[i];
		float sq = d * d;
		se += (double)sq;
		sn += (double)(sq * k_exp(-logvar[o]) + logvar[o]);
	}
	se = k_tree_sum(k, (double *)k->smem, se);
	sn = k_tree_sum(k, (double *)k->smem, sn);
	if (k->tid == 0) {
		part[(e * k->nbx + k->bx) * 2] = se;
		part[(e * k->nbx + k->bx) * 2 + 1] = sn;
	}
}

// mbpo_gauss_eval_finish: thread e sums member e's partials in block order
// and writes mse[e] and nll[e], the means over n·out values.
KFN void mbpo_gauss_eval_finish(const kctx *k, float *KRESTRICT mse, float *KRESTRICT nll,
                                const double *KRESTRICT part, int members, int blocks, int n, int out) {
	const int e = (int)k->tid;
	if (e >= members || k->bx != 0) return;
	double se = 0.0, sn = 0.0;
	for (int b = 0; b < blocks; b++) {
		se += part[((long long)e * blocks + b) * 2];
		sn += part[((long long)e * blocks + b) * 2 + 1];
	}
	mse[e] = (float)(se / ((double)n * out));
	nll[e] = (float)(sn / ((double)n * out));
}

#endif
