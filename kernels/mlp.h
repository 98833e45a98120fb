// mlp.h: the batched forward pass of small MLPs, for host and device: swish,
// the Gaussian head with soft-bounded log-variance, and the forward of all
// members of an ensemble in one launch, with the parameter layout of
// engine/layout.go:
//
//   params = for each layer l: W_l [E][K_l][N_l], then b_l [E][N_l];
//            then MaxLogVar [out], MinLogVar [out]
//   z      = (x - norm_mean) * (1 / norm_std)   (a std below 1e-12, or NaN, counts as 1)
//   h      = act(h W_l + b_l) for the hidden layers, head = h W_L + b_L
//   mean   = head[0:out]
//   logvar = MinLogVar + softplus(MaxLogVar - softplus(MaxLogVar - head[out:2out]) - MinLogVar)
//
// One network (E = 1) in this layout is engine.MLP's layout, so the same
// kernel runs the SAC policy (ReLU, no normaliser, the raw head written out).
#ifndef MBPO_MLP_H
#define MBPO_MLP_H

#include "portable.h"

#define MBPO_MAX_LAYERS 8 // weight layers, hidden and head
#define MBPO_TM 8         // rows of a thread's output tile
#define MBPO_TN 8         // columns of a thread's output tile
#define MBPO_ROW_PAD 4    // floats added to each activation row in shared memory

// Hidden-layer activations of the forward kernels.
enum { MBPO_ACT_SWISH = 0, MBPO_ACT_RELU = 1 };

// What the forward kernels write of the head:
//   MBPO_HEAD_GAUSS: mean and soft-bounded logvar, [E][n][out] each;
//   MBPO_HEAD_RAW:   the head's 2*out units unchanged, [E][n][2*out] into mean.
enum { MBPO_HEAD_GAUSS = 0, MBPO_HEAD_RAW = 1 };

// mbpo_net is the shape of an ensemble member and the rows each block of the
// forward kernel handles. It is passed to the kernel by value.
typedef struct mbpo_net {
	int members; // E
	int layers;  // weight layers L (hidden layers + 1)
	int in;      // input width (sizes[0])
	int out;     // target width; the head has 2*out units
	int rows;    // rows per block, a multiple of MBPO_TM
	int act;     // MBPO_ACT_SWISH or MBPO_ACT_RELU
	int head;    // MBPO_HEAD_GAUSS or MBPO_HEAD_RAW
	int sizes[MBPO_MAX_LAYERS + 1];
} mbpo_net;

// mbpo_swish is x * sigmoid(x).
KFN float mbpo_swish(float x) { return x / (1.0f + k_exp(-x)); }

// mbpo_activate is a hidden layer's activation: ReLU or swish.
KFN float mbpo_activate(float x, int relu) { return relu ? k_fmax(x, 0.0f) : mbpo_swish(x); }

// mbpo_softplus is log(1 + e^x), without overflow.
KFN float mbpo_softplus(float x) { return k_fmax(x, 0.0f) + k_log1p(k_exp(-k_fabs(x))); }

// mbpo_soft_bound bounds a raw log-variance softly into (minlv, maxlv).
KFN float mbpo_soft_bound(float raw, float maxlv, float minlv) {
	float lv = maxlv - mbpo_softplus(maxlv - raw);
	return minlv + mbpo_softplus(lv - minlv);
}

// mbpo_tile computes one thread's MBPO_TM x MBPO_TN tile of a layer's output
// before the activation: acc[i][j] = b[c0+j] + sum_k act[k][r0+i] W[k][c0+j].
// act is the block's activations, transposed ([k][row], row stride rp). W is
// [K][N]. Columns past N are computed from clamped (valid) addresses and
// must be ignored by the caller.
KFN void mbpo_tile(float acc[MBPO_TM][MBPO_TN], const float *act, int rp, int r0,
                   const float *KRESTRICT W, const float *KRESTRICT b, int K, int N, int c0) {
	KUNROLL
	for (int j = 0; j < MBPO_TN; j++) {
		int c = c0 + j < N ? c0 + j : N - 1;
		float bj = b[c];
		KUNROLL
		for (int i = 0; i < MBPO_TM; i++) acc[i][j] = bj;
	}
	const float *a = act + r0;
	if ((N & 3) == 0 && ((ku64)W & 15) == 0) {
		// Two 16-byte loads of W per k, issued one k ahead of their use (W
		// comes from L2); the second half of the last column tile may lie
		// past N, then it repeats the first.
		const float *w0 = W + c0;
		const float *w1 = W + (c0 + 4 < N ? c0 + 4 : c0);
		kf4 n0 = *(const kf4 *)w0, n1 = *(const kf4 *)w1;
#ifdef MBPO_DEVICE
#pragma unroll 4
#endif
		for (int k = 0; k < K; k++) {
			kf4 v0 = n0, v1 = n1;
			const int next = (k + 1 < K ? k + 1 : k) * N;
			n0 = *(const kf4 *)(w0 + next);
			n1 = *(const kf4 *)(w1 + next);
			kf4 a0 = *(const kf4 *)(a + k * rp);
			kf4 a1 = *(const kf4 *)(a + k * rp + 4);
			KUNROLL
			for (int j = 0; j < 4; j++) {
				KUNROLL
				for (int i = 0; i < 4; i++) {
					acc[i][j] += a0[i] * v0[j];
					acc[i + 4][j] += a1[i] * v0[j];
					acc[i][j + 4] += a0[i] * v1[j];
					acc[i + 4][j + 4] += a1[i] * v1[j];
				}
			}
		}
	} else {
		int cols[MBPO_TN];
		KUNROLL
		for (int j = 0; j < MBPO_TN; j++) cols[j] = c0 + j < N ? c0 + j : N - 1;
		for (int k = 0; k < K; k++) {
			kf4 a0 = *(const kf4 *)(a + k * rp);
			kf4 a1 = *(const kf4 *)(a + k * rp + 4);
			KUNROLL
			for (int j = 0; j < MBPO_TN; j++) {
				float w = W[k * N + cols[j]];
				KUNROLL
				for (int i = 0; i < 4; i++) {
					acc[i][j] += a0[i] * w;
					acc[i + 4][j] += a1[i] * w;
				}
			}
		}
	}
}

// mbpo_forward_block runs member e on up to net.rows rows: local row r is
// row rowmap[first + r] of x (row first + r when rowmap is NULL), for r <
// count. Thread t computes output tile t of each layer (tiles numbered row
// tile first), so a block needs at least ceil(N/MBPO_TN) * rows/MBPO_TM
// threads for its widest layer. Shared memory: max(sizes[0..L-1]) * (rows +
// MBPO_ROW_PAD) floats. Outputs go to row g of mean and logvar, laid out
// [E][n][width] (by_row = 0) or [n][width] (by_row = 1), width out or 2*out
// as net.head says. norm_mean NULL skips the normalisation.
KFN void mbpo_forward_block(const kctx *k, float *KRESTRICT mean, float *KRESTRICT logvar,
                            const float *KRESTRICT x, const float *KRESTRICT params,
                            const float *KRESTRICT norm_mean, const float *KRESTRICT norm_std,
                            int n, int e, const int *KRESTRICT rowmap, int first, int count, int by_row,
                            mbpo_net net) {
	const int E = net.members, R = net.rows, rp = net.rows + MBPO_ROW_PAD, in = net.in, out = net.out;
	float *act = k->smem;

	// Inputs (normalised), transposed: act[c][r]; rows past count are 0.
	for (int i = (int)k->tid; i < R * in; i += (int)k->ntid) {
		int r = i / in, c = i - r * in;
		float v = 0.0f;
		if (r < count) {
			long long g = rowmap ? rowmap[first + r] : first + r;
			v = x[g * in + c];
			if (norm_mean) {
				float sd = norm_std[c];
				if (!(sd >= 1e-12f)) sd = 1.0f;
				v = (v - norm_mean[c]) * (1.0f / sd);
			}
		}
		act[c * rp + r] = v;
	}
	KSYNC(k);

	long long woff = 0, total = 0;
	for (int l = 0; l < net.layers; l++) total += (long long)net.sizes[l] * net.sizes[l + 1] + net.sizes[l + 1];
	const float *maxlv = params + (long long)E * total;
	const float *minlv = maxlv + out;
	const int width = net.head == MBPO_HEAD_RAW ? 2 * out : out;
	const int relu = net.act == MBPO_ACT_RELU;

	for (int l = 0; l < net.layers; l++) {
		const int K = net.sizes[l], N = net.sizes[l + 1];
		const float *W = params + woff + (long long)e * K * N;
		const float *b = params + woff + (long long)E * K * N + (long long)e * N;
		woff += (long long)E * ((long long)K * N + N);
		// Tiles are numbered row tile first, so a warp spans all R/MBPO_TM
		// row tiles of about four column tiles: few distinct W addresses per
		// load (each row tile's activations are a broadcast in shared memory).
		const int groups = (N + MBPO_TN - 1) / MBPO_TN, row_tiles = R / MBPO_TM;
		const int task = (int)k->tid;
		const int active = task < groups * row_tiles;
		const int c0 = (task / row_tiles) * MBPO_TN, r0 = (task % row_tiles) * MBPO_TM;
		float acc[MBPO_TM][MBPO_TN];
		if (active) mbpo_tile(acc, act, rp, r0, W, b, K, N, c0);
		KSYNC(k); // every thread has read this layer's input
		if (active && l + 1 < net.layers) {
			KUNROLL
			for (int j = 0; j < MBPO_TN; j++) {
				if (c0 + j >= N) break;
				float *dst = act + (c0 + j) * rp + r0;
				kf4 lo, hi;
				KUNROLL
				for (int i = 0; i < 4; i++) {
					lo[i] = mbpo_activate(acc[i][j], relu);
					hi[i] = mbpo_activate(acc[i + 4][j], relu);
				}
				*(kf4 *)dst = lo;
				*(kf4 *)(dst + 4) = hi;
			}
		} else if (active) {
			KUNROLL
			for (int i = 0; i < MBPO_TM; i++) {
				if (r0 + i < count) {
					const long long g = rowmap ? rowmap[first + r0 + i] : first + r0 + i;
					const long long o = (by_row ? g : (long long)e * n + g) * width;
					KUNROLL
					for (int j = 0; j < MBPO_TN; j++) {
						const int c = c0 + j;
						if (c < width && (net.head == MBPO_HEAD_RAW || c < out)) {
							mean[o + c] = acc[i][j];
						} else if (c < 2 * out) {
							logvar[o + c - out] = mbpo_soft_bound(acc[i][j], maxlv[c - out], minlv[c - out]);
						}
					}
				}
			}
		}
		KSYNC(k); // the layer's output is in place
	}
}

// mbpo_ensemble_forward runs every member on the same n rows of x ([n][in])
// and writes mean and logvar, each [E][n][out] (or the raw head, [E][n][2*out],
// into mean). Block (bx, by) handles rows bx*rows .. bx*rows+rows-1 for member
// by; see mbpo_forward_block for the threads and shared memory. n_dev, when
// not NULL, replaces n by the count in device memory (blocks past it return):
// a one-member net on the live rows of a rollout.
KFN void mbpo_ensemble_forward(const kctx *k, float *KRESTRICT mean, float *KRESTRICT logvar,
                               const float *KRESTRICT x, const float *KRESTRICT params,
                               const float *KRESTRICT norm_mean, const float *KRESTRICT norm_std,
                               int n, const int *KRESTRICT n_dev, mbpo_net net) {
	if (n_dev) n = *n_dev;
	const int row0 = (int)k->bx * net.rows;
	if (row0 >= n) return;
	const int count = n - row0 < net.rows ? n - row0 : net.rows;
	mbpo_forward_block(k, mean, logvar, x, params, norm_mean, norm_std, n, (int)k->by, 0, row0, count, 0, net);
}

// mbpo_ensemble_predict runs member members[i] on row i of x for every row,
// writing mean and logvar [n][out] by row. The rows come grouped by member:
// list holds the rows of member 0, then those of member 1, ..., counts [E]
// how many each has (mbpo_group_rows makes both). Block b takes the b-th
// net.rows-row piece of that list; blocks past the last piece return. A grid
// of ceil(n/rows) + E blocks always covers it.
KFN void mbpo_ensemble_predict(const kctx *k, float *KRESTRICT mean, float *KRESTRICT logvar,
                               const float *KRESTRICT x, const float *KRESTRICT params,
                               const float *KRESTRICT norm_mean, const float *KRESTRICT norm_std,
                               const int *KRESTRICT counts, const int *KRESTRICT list, mbpo_net net) {
	int b = (int)k->bx, off = 0;
	for (int e = 0; e < net.members; e++) {
		const int c = counts[e], pieces = (c + net.rows - 1) / net.rows;
		if (b < pieces) {
			const int first = off + b * net.rows;
			const int count = c - b * net.rows < net.rows ? c - b * net.rows : net.rows;
			mbpo_forward_block(k, mean, logvar, x, params, norm_mean, norm_std, 0, e, list, first, count, 1, net);
			return;
		}
		b -= pieces;
		off += c;
	}
}

// mbpo_swish_fill writes y[i] = swish(x[i]) for i < n, grid-stride.
KFN void mbpo_swish_fill(const kctx *k, float *KRESTRICT y, const float *KRESTRICT x, ku64 n) {
	for (ku64 i = (ku64)k->bx * k->ntid + k->tid; i < n; i += (ku64)k->nbx * k->ntid) y[i] = mbpo_swish(x[i]);
}

// mbpo_gaussian_head splits head ([rows][2*out]) into mean and the
// soft-bounded logvar (each [rows][out]), grid-stride over rows*out.
KFN void mbpo_gaussian_head(const kctx *k, float *KRESTRICT mean, float *KRESTRICT logvar,
                            const float *KRESTRICT head, const float *KRESTRICT maxlv,
                            const float *KRESTRICT minlv, ku64 rows, int out) {
	for (ku64 i = (ku64)k->bx * k->ntid + k->tid; i < rows * (ku64)out; i += (ku64)k->nbx * k->ntid) {
		ku64 r = i / (ku64)out;
		int c = (int)(i - r * (ku64)out);
		mean[i] = head[r * 2 * out + c];
		logvar[i] = mbpo_soft_bound(head[r * 2 * out + out + c], maxlv[c], minlv[c]);
	}
}

#endif
