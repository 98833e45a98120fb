// gemm.h: batched matrix products with fused epilogues, for host and device:
// every layer of the training passes (forward with saved activations, the
// gradients of weights and of inputs) for all ensemble members, or both
// critics, in one launch.
//
//   C[z] = epi(alpha · op(A[z]) · op(B[z]) + beta · C[z] + bias[z])
//
// op(A) is M×K: A[m·lda + k], or A[k·lda + m] when ta (Aᵀ stored K×M);
// op(B) is K×N: B[k·ldb + n], or B[n·ldb + k] when tb. Batch z (grid y)
// offsets every operand by its own stride (sa, sb, sc, sbias, saux), so the
// members of an ensemble layer ([E][K][N] weights) are one launch.
#ifndef MBPO_GEMM_H
#define MBPO_GEMM_H

#include "portable.h"

#define MBPO_GEMM_BM 64      // rows of C per block
#define MBPO_GEMM_BN 64      // columns of C per block
#define MBPO_GEMM_BK 16      // depth of the shared-memory slices
#define MBPO_GEMM_PAD 4      // floats after each slice row
#define MBPO_GEMM_THREADS 256 // 16 x 16 threads, 4 x 4 outputs each
// Dynamic shared memory of a block: the A and B slices.
#define MBPO_GEMM_SMEM (2 * MBPO_GEMM_BK * (MBPO_GEMM_BM + MBPO_GEMM_PAD) * 4)

// Epilogues, applied to v = alpha·acc + beta·C + bias:
//   NONE        c = v
//   RELU        c = max(v, 0)
//   SWISH       c = v·σ(v)
//   SWISH_SAVE  c = v·σ(v), and aux = σ(v) (kept for the backward pass)
//   DRELU       c = v·[aux > 0]          (aux: the ReLU layer's output h)
//   DSWISH      c = v·(σ + h·(1 - σ))    (aux: σ, aux2: h of the swish layer)
// The last two multiply an input gradient by the activation's derivative,
// as the CPU engine's act_backward does.
enum {
	MBPO_EPI_NONE = 0,
	MBPO_EPI_RELU = 1,
	MBPO_EPI_SWISH = 2,
	MBPO_EPI_SWISH_SAVE = 3,
	MBPO_EPI_DRELU = 4,
	MBPO_EPI_DSWISH = 5
};

// mbpo_gemm_args is one batched product, passed to the kernel by value. Strides and
// leading dimensions count floats; aux and aux2 share ldaux and saux.
typedef struct mbpo_gemm_args {
	const float *a, *b;
	float *c;
	const float *bias;
	float *aux;
	const float *aux2;
	long long sa, sb, sc, sbias, saux;
	int m, n, k;
	int lda, ldb, ldc, ldaux;
	int ta, tb, epi;
	float alpha, beta;
} mbpo_gemm_args;

// mbpo_gemm_tile computes block (bx, by) of a batched product: batch by, and
// of C the BM×BN tile bx (row tiles numbered outer, column tiles inner).
// MBPO_GEMM_THREADS threads, MBPO_GEMM_SMEM bytes of shared memory.
KFN void mbpo_gemm_tile(const kctx *k, mbpo_gemm_args g) {
	const int BM = MBPO_GEMM_BM, BN = MBPO_GEMM_BN, BK = MBPO_GEMM_BK;
	const int ldm = BM + MBPO_GEMM_PAD, ldn = BN + MBPO_GEMM_PAD;
	const int tiles_n = (g.n + BN - 1) / BN;
	const int m0 = ((int)k->bx / tiles_n) * BM, n0 = ((int)k->bx % tiles_n) * BN;
	const long long z = k->by;
	const float *A = g.a + z * g.sa, *B = g.b + z * g.sb;
	float *C = g.c + z * g.sc;
	float *As = k->smem;           // [BK][ldm]: As[kk][m] = op(A)[m0+m][k0+kk]
	float *Bs = k->smem + BK * ldm; // [BK][ldn]: Bs[kk][n] = op(B)[k0+kk][n0+n]
	const int tid = (int)k->tid, nt = (int)k->ntid;
	const int tx = tid % 16, ty = tid / 16;

	float acc[4][4];
	KUNROLL
	for (int i = 0; i < 4; i++) {
		KUNROLL
		for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
	}
	for (int k0 = 0; k0 < g.k; k0 += BK) {
		// Slices, zero past the matrices' edges; consecutive threads read
		// consecutive addresses of whichever layout the operand has.
		for (int i = tid; i < BM * BK; i += nt) {
			int mm, kk;
			if (g.ta) {
				mm = i % BM;
				kk = i / BM;
			} else {
				kk = i % BK;
				mm = i / BK;
			}
			const int gm = m0 + mm, gk = k0 + kk;
			float v = 0.0f;
			if (gm < g.m && gk < g.k) v = g.ta ? A[(long long)gk * g.lda + gm] : A[(long long)gm * g.lda + gk];
			As[kk * ldm + mm] = v;
		}
		for (int i = tid; i < BK * BN; i += nt) {
			int nn, kk;
			if (g.tb) {
				kk = i % BK;
				nn = i / BK;
			} else {
				nn = i % BN;
				kk = i / BN;
			}
			const int gn = n0 + nn, gk = k0 + kk;
			float v = 0.0f;
			if (gn < g.n && gk < g.k) v = g.tb ? B[(long long)gn * g.ldb + gk] : B[(long long)gk * g.ldb + gn];
			Bs[kk * ldn + nn] = v;
		}
		KSYNC(k);
		KUNROLL
		for (int kk = 0; kk < BK; kk++) {
			float a[4], b[4];
			KUNROLL
			for (int i = 0; i < 4; i++) a[i] = As[kk * ldm + ty + 16 * i];
			KUNROLL
			for (int j = 0; j < 4; j++) b[j] = Bs[kk * ldn + tx + 16 * j];
			KUNROLL
			for (int i = 0; i < 4; i++) {
				KUNROLL
				for (int j = 0; j < 4; j++) acc[i][j] += a[i] * b[j];
			}
		}
		KSYNC(k); // the slices are read before the next ones are written
	}

	const float *bias = g.bias ? g.bias + z * g.sbias : 0;
	float *aux = g.aux ? g.aux + z * g.saux : 0;
	const float *aux2 = g.aux2 ? g.aux2 + z * g.saux : 0;
	KUNROLL
	for (int i = 0; i < 4; i++) {
		const int m = m0 + ty + 16 * i;
		if (m >= g.m) break;
		KUNROLL
		for (int j = 0; j < 4; j++) {
			const int n = n0 + tx + 16 * j;
			if (n >= g.n) break;
			const long long ci = (long long)m * g.ldc + n, ai = (long long)m * g.ldaux + n;
			float v = g.alpha * acc[i][j];
			if (g.beta != 0.0f) v += g.beta * C[ci];
			if (bias) v += bias[n];
			switch (g.epi) {
			case MBPO_EPI_RELU:
				v = k_fmax(v, 0.0f);
				break;
			case MBPO_EPI_SWISH:
				v = v * k_sigmoid(v);
				break;
			case MBPO_EPI_SWISH_SAVE: {
				float s = k_sigmoid(v);
				aux[ai] = s;
				v = v * s;
				break;
			}
			case MBPO_EPI_DRELU:
				v = aux[ai] > 0.0f ? v : 0.0f;
				break;
			case MBPO_EPI_DSWISH: {
				float s = aux[ai];
				v *= s + aux2[ai] * (1.0f - s);
				break;
			}
			default:
				break;
			}
			C[ci] = v;
		}
	}
}

#endif
