// kernels.c: element-wise kernels of the CPU engine (declared in kernels.h).
//
// Every exported kernel is compiled three times through GCC/Clang function
// multiversioning (AVX-512, AVX2+FMA, baseline x86-64) and the loader picks the
// best one for the processor, so one binary is fast on the development machine
// and still runs on any x86-64. The transcendental functions are our own
// branch-free float32 approximations (Cody–Waite range reduction and the
// classic Cephes minimax polynomials, about 2 ulp), written so the compiler
// can vectorise the loops that call them; libm's expf/logf calls would not be.
// Their accuracy is checked against float64 in kernels_test.go.
#include <math.h>
#include <string.h>
#include "kernels.h"

#if defined(__GNUC__) && !defined(__clang__)
// GCC's partial-redundancy elimination constant-folds m_exp on the clamped
// paths of its input and so turns the branch-free clamps into branches, which
// stops the vectoriser in every loop that calls softplus (GCC 12).
#pragma GCC optimize("no-tree-pre")
#endif

#if defined(__x86_64__) && !defined(MBPO_NO_CLONES)
#define KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNEL
#endif

#define INLINE static inline __attribute__((always_inline))

// e^x for x in [-87, 88] (clamped outside: e^-87 ≈ 1.6e-38, e^88 ≈ 1.7e38).
INLINE float m_exp(float x) {
	x = x < -87.0f ? -87.0f : x;
	x = x > 88.0f ? 88.0f : x;
	// n = round(x / ln 2) by the 1.5·2^23 trick (valid for |x/ln 2| < 2^22).
	float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	// r = x - n·ln 2 in two parts (ln 2 = 0.693359375 - 2.12194440e-4).
	float r = x - n * 0.693359375f;
	r = r + n * 2.12194440e-4f;
	float p = 1.9875691500e-4f;
	p = p * r + 1.3981999507e-3f;
	p = p * r + 8.3334519073e-3f;
	p = p * r + 4.1665795894e-2f;
	p = p * r + 1.6666665459e-1f;
	p = p * r + 5.0000001201e-1f;
	p = p * (r * r) + r + 1.0f;
	int32_t bits = ((int32_t)n + 127) << 23;
	float scale;
	memcpy(&scale, &bits, sizeof scale);
	return p * scale;
}

// ln x for positive normal x.
INLINE float m_log(float x) {
	int32_t bits;
	memcpy(&bits, &x, sizeof bits);
	int32_t e = ((bits >> 23) & 0xff) - 126;
	int32_t mbits = (bits & 0x007fffff) | 0x3f000000;
	float m; // x = m·2^e, m in [0.5, 1)
	memcpy(&m, &mbits, sizeof m);
	int below = m < 0.70710678118654752f;
	float ef = (float)(e - below);
	// m = below ? 2m - 1 : m - 1, now x = (1 + m)·2^ef with 1 + m in [√½, √2).
	// Selects here pick between values the loop needs anyway: a select of a
	// value computed only for it lets the compiler move that computation
	// into a branch, which keeps the loop scalar without AVX-512 masking.
	m = (m - 1.0f) + (below ? m : 0.0f);
	float z = m * m;
	float y = 7.0376836292e-2f;
	y = y * m - 1.1514610310e-1f;
	y = y * m + 1.1676998740e-1f;
	y = y * m - 1.2420140846e-1f;
	y = y * m + 1.4249322787e-1f;
	y = y * m - 1.6668057665e-1f;
	y = y * m + 2.0000714765e-1f;
	y = y * m - 2.4999993993e-1f;
	y = y * m + 3.3333331174e-1f;
	y = y * m * z;
	y = y - 2.12194440e-4f * ef;
	y = y - 0.5f * z;
	return m + y + 0.693359375f * ef;
}

// ln(1 + t) for t in [0, 1], accurate for tiny t: ln w for w = fl(1 + t),
// corrected to first order for the rounding of w (t - (w - 1) is exact).
INLINE float m_log1p01(float t) {
	float w = 1.0f + t;
	return m_log(w) + (t - (w - 1.0f)) / w;
}

// softplus(x) = ln(1 + e^x) and its derivative sigmoid(x), sharing one exp.
INLINE float m_softplus_sig(float x, float *sig) {
	float ax = x < 0 ? -x : x;
	float e = m_exp(-ax);
	float inv = 1.0f / (1.0f + e);
	*sig = (x >= 0 ? 1.0f : e) * inv;
	return (x > 0 ? x : 0.0f) + m_log1p01(e);
}

INLINE float m_sigmoid(float x) { return 1.0f / (1.0f + m_exp(-x)); }

// √x for x ≥ 0: the bit-shift estimate of 1/√x, two Newton steps, then one
// correction of √x itself (within an ulp). libm's sqrtf would keep Adam's
// loop scalar, since it may set errno and cgo does not accept -fno-math-errno.
INLINE float m_sqrt(float x) {
	float xs = x > 0 ? x : 1.0f; // keeps the steps finite for x = 0
	int32_t i;
	memcpy(&i, &xs, sizeof i);
	i = 0x5f375a86 - (i >> 1);
	float y;
	memcpy(&y, &i, sizeof y);
	float hx = 0.5f * xs;
	y = y * (1.5f - hx * y * y);
	y = y * (1.5f - hx * y * y);
	float r = xs * y;
	r = r + 0.5f * y * (xs - r * r); // one correction of √x itself: within an ulp
	// Not a select of r, which would let the compiler move the computation
	// into a branch (and keep the loop scalar without AVX-512 masking).
	return r * (x > 0 ? 1.0f : 0.0f);
}

// tanh u and 1 - tanh² u (= 4t/(1+t)², t = e^{-2|u|}, without cancellation).
INLINE float m_tanh_sech2(float u, float *sech2) {
	float a = u < 0 ? -u : u;
	float t = m_exp(-2.0f * a);
	float inv = 1.0f / (1.0f + t);
	float r = (1.0f - t) * inv;
	// Near 0, where 1 - t cancels, the Taylor series (on a clamped copy of a,
	// so it stays finite where it is not used).
	float small = a < 0.0625f ? 1.0f : 0.0f;
	float as = a < 0.0625f ? a : 0.0f, u2 = as * as;
	float s = as * (1.0f + u2 * (-0.33333333333f + u2 * (0.13333333333f + u2 * -0.053968253968f)));
	r = r + (s - r) * small; // exactly s where small: s - r is exact (Sterbenz)
	*sech2 = 4.0f * t * inv * inv;
	return copysignf(r, u);
}

INLINE float m_swish(float a) { return a * m_sigmoid(a); }

KERNEL void mbpo_cpu_bias_act(float *y, float *pre, const float *b, int64_t n, int64_t d, int act) {
	for (int64_t i = 0; i < n; i++) {
		float *row = y + i * d;
		switch (act) {
		case MBPO_CPU_RELU:
			for (int64_t j = 0; j < d; j++) {
				float v = row[j] + b[j];
				row[j] = v > 0 ? v : 0.0f;
			}
			break;
		case MBPO_CPU_SWISH:
			if (pre) {
				float *p = pre + i * d;
				for (int64_t j = 0; j < d; j++) {
					float v = row[j] + b[j];
					float sig = m_sigmoid(v);
					p[j] = sig;
					row[j] = v * sig;
				}
			} else {
				for (int64_t j = 0; j < d; j++)
					row[j] = m_swish(row[j] + b[j]);
			}
			break;
		default:
			for (int64_t j = 0; j < d; j++)
				row[j] += b[j];
		}
	}
}

KERNEL void mbpo_cpu_act_backward(float *dy, const float *y, const float *pre, int64_t size, int act) {
	switch (act) {
	case MBPO_CPU_RELU:
		for (int64_t i = 0; i < size; i++)
			dy[i] = y[i] > 0 ? dy[i] : 0.0f;
		break;
	case MBPO_CPU_SWISH:
		// swish'(a) = σ(a)(1 + a(1 - σ(a))) = σ + h(1 - σ) with h = a·σ(a).
		for (int64_t i = 0; i < size; i++)
			dy[i] *= pre[i] + y[i] * (1.0f - pre[i]);
		break;
	}
}

KERNEL void mbpo_cpu_colsum(float *out, const float *x, int64_t n, int64_t d, int accumulate) {
	if (!accumulate)
		memset(out, 0, d * sizeof *out);
	for (int64_t i = 0; i < n; i++) {
		const float *row = x + i * d;
		for (int64_t j = 0; j < d; j++)
			out[j] += row[j];
	}
}

KERNEL void mbpo_cpu_adam(float *p, const float *g, float *m, float *v, int64_t size,
		      float lr, float b1, float b2, float eps, float bc1, float bc2) {
	float c1 = 1.0f / bc1, c2 = 1.0f / bc2;
	for (int64_t i = 0; i < size; i++) {
		float gi = g[i];
		float mi = b1 * m[i] + (1.0f - b1) * gi;
		float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		p[i] -= lr * (mi * c1) / (m_sqrt(vi * c2) + eps);
	}
}

KERNEL void mbpo_cpu_polyak(float *t, const float *s, int64_t size, float tau) {
	float keep = 1.0f - tau;
	for (int64_t i = 0; i < size; i++)
		t[i] = tau * s[i] + keep * t[i];
}

KERNEL void mbpo_cpu_axpy(float *y, const float *x, int64_t size, float a) {
	for (int64_t i = 0; i < size; i++)
		y[i] += a * x[i];
}

KERNEL double mbpo_cpu_sumsq(const float *x, int64_t size) {
	float lane[16] = {0};
	int64_t i = 0;
	double total = 0;
	// Blocks of 4096 in 16 float lanes (vectorised), each block's sum in double.
	while (i + 16 <= size) {
		int64_t end = i + 4096 < size ? i + 4096 : size;
		for (; i + 16 <= end; i += 16)
			for (int k = 0; k < 16; k++)
				lane[k] += x[i + k] * x[i + k];
		for (int k = 0; k < 16; k++) {
			total += lane[k];
			lane[k] = 0;
		}
	}
	for (; i < size; i++)
		total += (double)x[i] * x[i];
	return total;
}

KERNEL void mbpo_cpu_normalize(float *z, const float *x, const float *mean, const float *invstd, int64_t n, int64_t d) {
	for (int64_t i = 0; i < n; i++)
		for (int64_t j = 0; j < d; j++)
			z[i * d + j] = (x[i * d + j] - mean[j]) * invstd[j];
}

// The heads' kernels work on blocks of whole rows, about HEAD_BLOCK values at
// a time: the row-interleaved head [μ | ρ] is split into contiguous block
// arrays and the per-column vectors are repeated to match, so the math runs
// as one long vectorisable loop (per-row loops over a few columns would stay
// scalar, about 15× slower). Head widths up to HEAD_BLOCK are supported.
#define HEAD_BLOCK 1024

// Rows per block for rows of w values.
INLINE int64_t block_rows(int64_t w) { return w >= HEAD_BLOCK ? 1 : HEAD_BLOCK / w; }

// Copies rows [i0, i0+rb) of head [.][2w] into first [rb·w] and second [rb·w].
INLINE void split_rows(float *first, float *second, const float *head, int64_t i0, int64_t rb, int64_t w) {
	for (int64_t r = 0; r < rb; r++) {
		memcpy(first + r * w, head + (i0 + r) * 2 * w, w * sizeof *first);
		memcpy(second + r * w, head + (i0 + r) * 2 * w + w, w * sizeof *second);
	}
}

// Repeats v [w] rb times into out [rb·w].
INLINE void repeat_rows(float *out, const float *v, int64_t rb, int64_t w) {
	for (int64_t r = 0; r < rb; r++)
		memcpy(out + r * w, v, w * sizeof *out);
}

// Soft-bounded log-variance from raw ρ; also the two sigmoids of its gradient:
// s1 = d(first bound)/dρ, s2 = d(second bound)/d(first bound).
INLINE float m_bound_logvar(float rho, float hi, float lo, float *s1, float *s2) {
	float t = hi - m_softplus_sig(hi - rho, s1);
	return lo + m_softplus_sig(t - lo, s2);
}

KERNEL void mbpo_cpu_gauss_head(float *mean, float *logvar, const float *head, const int32_t *rows,
			    const float *maxlv, const float *minlv, int64_t n, int64_t out) {
	float mu[HEAD_BLOCK], rho[HEAD_BLOCK], hi[HEAD_BLOCK], lo[HEAD_BLOCK], lv[HEAD_BLOCK];
	int64_t rb = block_rows(out);
	repeat_rows(hi, maxlv, rb, out);
	repeat_rows(lo, minlv, rb, out);
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * out;
		split_rows(mu, rho, head, i0, nr, out);
		for (int64_t k = 0; k < m; k++) {
			float s1, s2;
			lv[k] = m_bound_logvar(rho[k], hi[k], lo[k], &s1, &s2);
		}
		for (int64_t r = 0; r < nr; r++) {
			int64_t dst = rows ? rows[i0 + r] : i0 + r;
			memcpy(mean + dst * out, mu + r * out, out * sizeof *mean);
			memcpy(logvar + dst * out, lv + r * out, out * sizeof *logvar);
		}
	}
}

KERNEL double mbpo_cpu_gauss_nll_grad(float *restrict dhead, float *restrict dmax, float *restrict dmin,
				  const float *restrict head, const float *restrict y,
				  const float *restrict maxlv, const float *restrict minlv, float scale, int64_t n,
				  int64_t out, double *restrict acc) {
	float mu[HEAD_BLOCK], rho[HEAD_BLOCK], hi[HEAD_BLOCK], lo[HEAD_BLOCK];
	float term[HEAD_BLOCK], gmax[HEAD_BLOCK], gmin[HEAD_BLOCK];
	int64_t rb = block_rows(out);
	repeat_rows(hi, maxlv, rb, out);
	repeat_rows(lo, minlv, rb, out);
	for (int64_t j = 0; j < out; j++)
		acc[j] = 0;
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * out;
		split_rows(mu, rho, head, i0, nr, out);
		const float *yb = y + i0 * out;
		// mu and rho are overwritten with their gradients.
		for (int64_t k = 0; k < m; k++) {
			float s1, s2;
			float lv = m_bound_logvar(rho[k], hi[k], lo[k], &s1, &s2);
			float diff = mu[k] - yb[k];
			float inv = m_exp(-lv);
			float sq = diff * diff * inv;
			term[k] = sq + lv;
			float dlv = scale * (1.0f - sq);
			mu[k] = scale * 2.0f * diff * inv;
			rho[k] = dlv * s2 * s1;
			gmax[k] = dlv * s2 * (1.0f - s1);
			gmin[k] = dlv * (1.0f - s2);
		}
		for (int64_t r = 0; r < nr; r++) {
			memcpy(dhead + (i0 + r) * 2 * out, mu + r * out, out * sizeof *dhead);
			memcpy(dhead + (i0 + r) * 2 * out + out, rho + r * out, out * sizeof *dhead);
			for (int64_t j = 0; j < out; j++) {
				acc[j] += term[r * out + j];
				dmax[j] += gmax[r * out + j];
				dmin[j] += gmin[r * out + j];
			}
		}
	}
	double total = 0;
	for (int64_t j = 0; j < out; j++)
		total += acc[j];
	return total;
}

KERNEL void mbpo_cpu_gauss_eval(double *sse, double *snll, const float *head, const float *y, const float *maxlv,
			    const float *minlv, int64_t n, int64_t out, double *acc) {
	float mu[HEAD_BLOCK], rho[HEAD_BLOCK], hi[HEAD_BLOCK], lo[HEAD_BLOCK];
	int64_t rb = block_rows(out);
	repeat_rows(hi, maxlv, rb, out);
	repeat_rows(lo, minlv, rb, out);
	for (int64_t j = 0; j < 2 * out; j++)
		acc[j] = 0;
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * out;
		split_rows(mu, rho, head, i0, nr, out);
		const float *yb = y + i0 * out;
		// mu and rho are overwritten with the squared error and the NLL term.
		for (int64_t k = 0; k < m; k++) {
			float s1, s2;
			float lv = m_bound_logvar(rho[k], hi[k], lo[k], &s1, &s2);
			float diff = mu[k] - yb[k];
			float sq = diff * diff;
			mu[k] = sq;
			rho[k] = sq * m_exp(-lv) + lv;
		}
		for (int64_t r = 0; r < nr; r++)
			for (int64_t j = 0; j < out; j++) {
				acc[j] += mu[r * out + j];
				acc[out + j] += rho[r * out + j];
			}
	}
	for (int64_t j = 0; j < out; j++) {
		*sse += acc[j];
		*snll += acc[out + j];
	}
}

INLINE float m_clip(float v, float lo, float hi) {
	v = v < lo ? lo : v;
	return v > hi ? hi : v;
}

KERNEL void mbpo_cpu_policy_act(float *act, const float *head, const float *eps, int64_t n, int64_t a, float lsmin,
			    float lsmax) {
	float mu[HEAD_BLOCK], ls[HEAD_BLOCK];
	int64_t rb = block_rows(a);
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * a;
		split_rows(mu, ls, head, i0, nr, a);
		float *ab = act + i0 * a;
		float sech2;
		if (eps) {
			const float *e = eps + i0 * a;
			for (int64_t k = 0; k < m; k++)
				ab[k] = m_tanh_sech2(mu[k] + m_exp(m_clip(ls[k], lsmin, lsmax)) * e[k], &sech2);
		} else {
			for (int64_t k = 0; k < m; k++)
				ab[k] = m_tanh_sech2(mu[k], &sech2);
		}
	}
}

KERNEL void mbpo_cpu_policy_sample(float *act, float *logp, const float *head, const float *eps, int64_t n, int64_t a,
			       float lsmin, float lsmax) {
	const float half_log_2pi = 0.91893853320467274f, log2 = 0.69314718055994531f;
	float mu[HEAD_BLOCK], ls[HEAD_BLOCK];
	int64_t rb = block_rows(a);
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * a;
		split_rows(mu, ls, head, i0, nr, a);
		float *ab = act + i0 * a;
		const float *e = eps + i0 * a;
		// ls is overwritten with each dimension's log-density term.
		for (int64_t k = 0; k < m; k++) {
			float c = m_clip(ls[k], lsmin, lsmax);
			float u = mu[k] + m_exp(c) * e[k];
			float sech2, sig;
			ab[k] = m_tanh_sech2(u, &sech2);
			float log_sech2 = 2.0f * (log2 - u - m_softplus_sig(-2.0f * u, &sig));
			ls[k] = -0.5f * e[k] * e[k] - c - half_log_2pi - log_sech2;
		}
		for (int64_t r = 0; r < nr; r++) {
			float lp = 0;
			for (int64_t j = 0; j < a; j++)
				lp += ls[r * a + j];
			logp[i0 + r] = lp;
		}
	}
}

// The flat loop of mbpo_cpu_policy_backward on one block; mu and ls are
// overwritten with their gradients. Inlined twice, with and without da.
INLINE void policy_backward_block(float *mu, float *ls, const float *e, const float *da, float coef, int64_t m,
				  float lsmin, float lsmax) {
	for (int64_t k = 0; k < m; k++) {
		float raw = ls[k];
		float sigma = m_exp(m_clip(raw, lsmin, lsmax));
		float u = mu[k] + sigma * e[k];
		float sech2;
		float t = m_tanh_sech2(u, &sech2);
		// d logπ/du = 2 tanh u (from -log(1 - tanh² u)); dact/du = sech² u.
		float du = coef * 2.0f * t;
		if (da)
			du += da[k] * sech2;
		mu[k] = du;
		// d/dlogσ: through u (du·σ·eps) and the -log σ term (-coef).
		ls[k] = (du * sigma * e[k] - coef) * ((raw >= lsmin) & (raw <= lsmax) ? 1.0f : 0.0f);
	}
}

KERNEL void mbpo_cpu_policy_backward(float *dhead, const float *head, const float *eps, const float *dact, float coef,
				 int64_t n, int64_t a, float lsmin, float lsmax) {
	float mu[HEAD_BLOCK], ls[HEAD_BLOCK];
	int64_t rb = block_rows(a);
	for (int64_t i0 = 0; i0 < n; i0 += rb) {
		int64_t nr = n - i0 < rb ? n - i0 : rb, m = nr * a;
		split_rows(mu, ls, head, i0, nr, a);
		if (dact)
			policy_backward_block(mu, ls, eps + i0 * a, dact + i0 * a, coef, m, lsmin, lsmax);
		else
			policy_backward_block(mu, ls, eps + i0 * a, NULL, coef, m, lsmin, lsmax);
		for (int64_t r = 0; r < nr; r++) {
			memcpy(dhead + (i0 + r) * 2 * a, mu + r * a, a * sizeof *dhead);
			memcpy(dhead + (i0 + r) * 2 * a + a, ls + r * a, a * sizeof *dhead);
		}
	}
}

KERNEL void mbpo_cpu_math(float *y, const float *x, int64_t size, int fn) {
	float s;
	switch (fn) {
	case 0:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_exp(x[i]);
		break;
	case 1:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_log(x[i]);
		break;
	case 2:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_softplus_sig(x[i], &s);
		break;
	case 3:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_sigmoid(x[i]);
		break;
	case 4:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_tanh_sech2(x[i], &s);
		break;
	case 5:
		for (int64_t i = 0; i < size; i++) {
			m_tanh_sech2(x[i], &s);
			y[i] = s;
		}
		break;
	default:
		for (int64_t i = 0; i < size; i++)
			y[i] = m_sqrt(x[i]);
	}
}
