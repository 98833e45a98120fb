// rng.h: the counter-based generator of package rng, for host and
// device: Philox4x32-10 with the same counter/key mapping and the same
// conversions, so a kernel draws exactly the numbers the Go code draws for the
// same (seed, purpose, step, index).
//
//   counter = (index/4, step low, step high, purpose), key = (seed low, seed high)
//   uniform = (float(u >> 8) + 0.5) * 2^-24
//   normal  = Box-Muller on lanes (0,1) and (2,3): r = sqrt(-2 ln U(lane 2p)),
//             theta = 2 pi U(lane 2p+1); even index r cos theta, odd r sin theta
//
// The 32-bit outputs and the uniforms are bit-identical to the Go code. The
// normals use the float32 log and sine/cosine below (no libm, no libdevice);
// the Go code uses float64 math and rounds, so they agree to a few units in
// the last place (the test states the bound).
#ifndef MBPO_RNG_H
#define MBPO_RNG_H

#include "portable.h"

// mbpo_key is a stream of rng's Key: Seed, Purpose and Step.
typedef struct mbpo_key {
	ku32 seed_lo, seed_hi;
	ku32 purpose;
	ku32 step_lo, step_hi;
} mbpo_key;

// mbpo_philox applies Philox4x32-10 to counter c under key (k0, k1).
KFN void mbpo_philox(ku32 out[4], ku32 c0, ku32 c1, ku32 c2, ku32 c3, ku32 k0, ku32 k1) {
	for (int r = 0; r < 10; r++) {
		if (r > 0) {
			k0 += 0x9E3779B9u;
			k1 += 0xBB67AE85u;
		}
		ku64 p0 = (ku64)0xD2511F53u * c0;
		ku64 p1 = (ku64)0xCD9E8D57u * c2;
		ku32 n0 = (ku32)(p1 >> 32) ^ c1 ^ k0;
		ku32 n2 = (ku32)(p0 >> 32) ^ c3 ^ k1;
		c1 = (ku32)p1;
		c3 = (ku32)p0;
		c0 = n0;
		c2 = n2;
	}
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

// mbpo_block returns block b (numbers 4b..4b+3) of key's stream.
KFN void mbpo_block(ku32 out[4], mbpo_key key, ku64 b) {
	mbpo_philox(out, (ku32)b, key.step_lo, key.step_hi, key.purpose, key.seed_lo, key.seed_hi);
}

// mbpo_uniform maps 32 random bits to a float in (0, 1), never 0 or 1.
KFN float mbpo_uniform(ku32 u) { return ((float)(u >> 8) + 0.5f) * 5.9604644775390625e-08f; }

// mbpo_ln_unit is the natural log of u in (0, 1], to about one float32 ulp:
// u = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1),
// |s| <= 0.172, summed to s^11 (truncation below 1e-10).
KFN float mbpo_ln_unit(float u) {
	ku32 bits = k_float_bits(u);
	int e = (int)((bits >> 23) & 0xffu) - 127;
	float m = k_bits_float((bits & 0x007fffffu) | 0x3f800000u); // [1, 2)
	if (m > 1.41421356f) {
		m *= 0.5f;
		e += 1;
	}
	float s = (m - 1.0f) / (m + 1.0f);
	float s2 = s * s;
	float poly = s2 * (0.33333333f + s2 * (0.2f + s2 * (0.14285715f + s2 * (0.11111111f + s2 * 0.09090909f))));
	float lnm = 2.0f * s + 2.0f * s * poly;
	// ln 2 split so that e * hi is exact.
	return (float)e * 0.693145752f + ((float)e * 1.42860682e-06f + lnm);
}

// mbpo_sincos_turns writes sin and cos of 2 pi v for v in [0, 1): the angle
// is reduced exactly to the nearest quarter turn, then Taylor series on
// [-pi/4, pi/4] to x^11 and x^12 (truncation below 2e-9).
KFN void mbpo_sincos_turns(float v, float *sn, float *cs) {
	float t = 4.0f * v;
	int q = (int)(t + 0.5f);
	float x = (t - (float)q) * 1.57079632679489662f;
	float x2 = x * x;
	float s = x * (1.0f + x2 * (-1.66666667e-1f + x2 * (8.33333333e-3f + x2 * (-1.98412698e-4f +
	          x2 * (2.75573192e-6f + x2 * -2.50521084e-8f)))));
	float c = 1.0f + x2 * (-0.5f + x2 * (4.16666667e-2f + x2 * (-1.38888889e-3f +
	          x2 * (2.48015873e-5f + x2 * (-2.75573192e-7f + x2 * 2.08767570e-9f)))));
	switch (q & 3) {
	case 0: *sn = s;  *cs = c;  break;
	case 1: *sn = c;  *cs = -s; break;
	case 2: *sn = -s; *cs = -c; break;
	default: *sn = -c; *cs = s; break;
	}
}

// mbpo_box_muller turns the bits of lanes (2p, 2p+1) into the normals of
// numbers 4b+2p (cosine) and 4b+2p+1 (sine).
KFN void mbpo_box_muller(ku32 a, ku32 b, float *zc, float *zs) {
	float r = k_sqrt(-2.0f * mbpo_ln_unit(mbpo_uniform(a)));
	float s, c;
	mbpo_sincos_turns(mbpo_uniform(b), &s, &c);
	*zc = r * c;
	*zs = r * s;
}

// mbpo_bits is number i of key's stream as raw bits (rng.Key.Uint32).
KFN ku32 mbpo_bits(mbpo_key key, ku64 i) {
	ku32 r[4];
	mbpo_block(r, key, i / 4);
	const int l = (int)(i % 4); // selects, not an indexed load: r stays in registers
	return l == 0 ? r[0] : l == 1 ? r[1] : l == 2 ? r[2] : r[3];
}

// mbpo_intn is number i of key's stream as an int in [0, n) (rng.Key.Intn):
// exactly the Go value.
KFN int mbpo_intn(mbpo_key key, ku64 i, int n) { return (int)(((ku64)mbpo_bits(key, i) * (ku64)(ku32)n) >> 32); }

// mbpo_normal is number i of key's stream as a standard normal
// (rng.Key.Normal, within normalAgreement): one Philox block per call, for
// kernels that draw a few numbers per thread in no particular pattern.
KFN float mbpo_normal(mbpo_key key, ku64 i) {
	ku32 r[4];
	mbpo_block(r, key, i / 4);
	const int hi = (int)(i % 4) >= 2;
	float zc, zs;
	mbpo_box_muller(hi ? r[2] : r[0], hi ? r[3] : r[1], &zc, &zs);
	return (i & 1) ? zs : zc;
}

// Kinds of output of mbpo_rng_fill.
enum { MBPO_RNG_BITS = 0, MBPO_RNG_UNIFORM = 1, MBPO_RNG_NORMAL = 2 };

// mbpo_rng_fill writes numbers first .. first+n-1 of key's stream to out
// (32-bit words: raw bits, uniforms or normals, by kind). Each thread makes
// whole blocks of four, grid-stride.
KFN void mbpo_rng_fill(const kctx *k, ku32 *KRESTRICT out, ku64 first, ku64 n, mbpo_key key, int kind) {
	ku64 end = first + n;
	ku64 stride = (ku64)k->nbx * k->ntid;
	for (ku64 b = first / 4 + (ku64)k->bx * k->ntid + k->tid; b * 4 < end; b += stride) {
		ku32 r[4];
		mbpo_block(r, key, b);
		ku32 w[4];
		if (kind == MBPO_RNG_NORMAL) {
			float z[4];
			mbpo_box_muller(r[0], r[1], &z[0], &z[1]);
			mbpo_box_muller(r[2], r[3], &z[2], &z[3]);
			for (int l = 0; l < 4; l++) w[l] = k_float_bits(z[l]);
		} else if (kind == MBPO_RNG_UNIFORM) {
			for (int l = 0; l < 4; l++) w[l] = k_float_bits(mbpo_uniform(r[l]));
		} else {
			for (int l = 0; l < 4; l++) w[l] = r[l];
		}
		for (int l = 0; l < 4; l++) {
			ku64 i = b * 4 + (ku64)l;
			if (i >= first && i < end) out[i - first] = w[l];
		}
	}
}

#endif
