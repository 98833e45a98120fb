// rollout.h: branched model rollouts and the transition buffers on the
// device, for host and device: start states drawn from the real buffer, a
// random elite per sample, rows grouped by member for the ensemble's predict
// kernel, the Gaussian sample of [Δs, r] with the termination rule, the
// transitions appended to a ring buffer, finished samples compacted away,
// and SAC minibatches gathered from the real and model buffers.
//
// Random numbers follow package trainer's numbering (rollout.go, sac.go), so
// for the same keys the device draws the trainer's samples. Counts that the
// device computes (live samples, buffer sizes) stay in device memory and the
// kernels read them there, so a rollout's k steps need no round trip.
#ifndef MBPO_ROLLOUT_H
#define MBPO_ROLLOUT_H

#include "portable.h"
#include "rng.h"
#include "terminal.h"

// mbpo_ring is a ring buffer of transitions with stages.Replay's layout:
// obs and next [cap][od], act [cap][ad], rew and done [cap]. state holds the
// row the next append writes, the rows held and the rows ever added.
typedef struct mbpo_ring {
	float *obs, *act, *rew, *next, *done;
	long long *state; // [next, size, added]
	int cap, od, ad, pad;
} mbpo_ring;

enum { MBPO_RING_NEXT = 0, MBPO_RING_SIZE = 1, MBPO_RING_ADDED = 2 };

// mbpo_ring_store appends n transitions (n, or *n_dev when not NULL) to the
// ring, as Replay.Add does: of more than cap rows only the newest cap are
// kept. Row i lands at (next + i - skip) % cap, skip = max(0, n - cap). The
// state is left to mbpo_ring_advance. One thread per row.
KFN void mbpo_ring_store(const kctx *k, mbpo_ring r, const float *KRESTRICT obs, const float *KRESTRICT act,
                         const float *KRESTRICT rew, const float *KRESTRICT next, const float *KRESTRICT done,
                         int n, const int *n_dev) {
	if (n_dev) n = *n_dev;
	const long long skip = n > r.cap ? n - r.cap : 0, start = r.state[MBPO_RING_NEXT];
	for (long long i = skip + (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const long long p = (start + i - skip) % r.cap;
		for (int c = 0; c < r.od; c++) {
			r.obs[p * r.od + c] = obs[i * r.od + c];
			r.next[p * r.od + c] = next[i * r.od + c];
		}
		for (int c = 0; c < r.ad; c++) r.act[p * r.ad + c] = act[i * r.ad + c];
		r.rew[p] = rew[i];
		r.done[p] = done[i];
	}
}

// mbpo_ring_advance (one thread) moves the ring's state past n appended rows
// (n, or *n_dev when not NULL).
KFN void mbpo_ring_advance(const kctx *k, mbpo_ring r, int n, const int *n_dev) {
	if (k->tid != 0 || k->bx != 0) return;
	if (n_dev) n = *n_dev;
	const long long kept = n > r.cap ? r.cap : n;
	long long size = r.state[MBPO_RING_SIZE] + kept;
	r.state[MBPO_RING_NEXT] = (r.state[MBPO_RING_NEXT] + kept) % r.cap;
	r.state[MBPO_RING_SIZE] = size < r.cap ? size : r.cap;
	r.state[MBPO_RING_ADDED] += n;
}

// mbpo_rollout_start draws the n start states: obs row i = the real ring's
// row intn(key, i, size) (trainer.Rollouts.Run's RolloutStart numbers), and
// sets *n_live = n. One thread per row.
KFN void mbpo_rollout_start(const kctx *k, float *KRESTRICT obs, int *KRESTRICT n_live, mbpo_ring real,
                            const mbpo_key *KRESTRICT key, int n) {
	const mbpo_key kk = *key;
	const int size = (int)real.state[MBPO_RING_SIZE];
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const long long src = mbpo_intn(kk, (ku64)i, size);
		for (int c = 0; c < real.od; c++) obs[i * real.od + c] = real.obs[src * real.od + c];
	}
	if (k->bx == 0 && k->tid == 0) *n_live = n;
}

// mbpo_pick_elites gives each of the n live rows (n, or *n_dev) a member,
// members[i] = elites[intn(key, i, n_elites)], and counts the rows of each
// member into counts [E] (zeroed before the launch). One thread per row.
KFN void mbpo_pick_elites(const kctx *k, int *KRESTRICT members, int *KRESTRICT counts, const int *KRESTRICT elites,
                          int n_elites, const mbpo_key *KRESTRICT key, int n, const int *n_dev) {
	if (n_dev) n = *n_dev;
	const mbpo_key kk = *key;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const int m = elites[mbpo_intn(kk, (ku64)i, n_elites)];
		members[i] = m;
		k_atomic_add(&counts[m], 1);
	}
}

// mbpo_count_members counts rows per member (members given, as
// Ensemble.Predict takes them) into counts [E], zeroed before the launch.
KFN void mbpo_count_members(const kctx *k, int *KRESTRICT counts, const int *KRESTRICT members, int n) {
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid)
		k_atomic_add(&counts[members[i]], 1);
}

// mbpo_group_rows lists the rows of each member together, member 0's first:
// list[off(m) + j] for the j-th row of member m to claim a place, off(m) =
// counts[0] + ... + counts[m-1]. cursor [E] is zeroed before the launch.
// The order within a member varies from run to run; the predict kernel's
// results for a row do not depend on it. One thread per row.
KFN void mbpo_group_rows(const kctx *k, int *KRESTRICT list, int *KRESTRICT cursor, const int *KRESTRICT members,
                         const int *KRESTRICT counts, int n, const int *n_dev) {
	if (n_dev) n = *n_dev;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const int m = members[i];
		int off = 0;
		for (int e = 0; e < m; e++) off += counts[e];
		list[off + k_atomic_add(&cursor[m], 1)] = (int)i;
	}
}

// mbpo_model_sample turns row i's prediction (mean, logvar [n][od + 1]) into
// a transition: v = μ + exp(lv/2)·ε with ε number i·(od+1) + j of key;
// next = obs + v[0:od], rew = v[od], done by the termination rule. One
// thread per row; n, or *n_dev.
KFN void mbpo_model_sample(const kctx *k, float *KRESTRICT next, float *KRESTRICT rew, float *KRESTRICT done,
                           const float *KRESTRICT obs, const float *KRESTRICT mean, const float *KRESTRICT logvar,
                           const mbpo_key *KRESTRICT key, int n, const int *n_dev, int od, int term) {
	if (n_dev) n = *n_dev;
	const mbpo_key kk = *key;
	const int out = od + 1;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		for (int j = 0; j < out; j++) {
			const long long o = i * out + j;
			float v = mean[o] + k_exp(0.5f * logvar[o]) * mbpo_normal(kk, (ku64)o);
			if (j < od)
				next[i * od + j] = obs[i * od + j] + v;
			else
				rew[i] = v;
		}
		done[i] = mbpo_terminal(term, next + i * od, od) ? 1.0f : 0.0f;
	}
}

// Compaction of the live samples (done == 0), keeping their order, in three
// launches over blocks of MBPO_SCAN_THREADS rows: count per block, scan the
// counts (one block), move each live row's next observation to its place.
#define MBPO_SCAN_THREADS 256

// Rollout statistics accumulated on the device (doubles).
enum { MBPO_ROLL_STEPS = 0, MBPO_ROLL_FINISHED = 1, MBPO_ROLL_REWARD = 2, MBPO_ROLL_STATS = 3 };

// mbpo_live_count writes into part[b] the live rows among block b's rows
// and into rew_part[b] the sum of their rows' rewards (all rows, live or
// not). MBPO_SCAN_THREADS threads, as many doubles of shared memory.
KFN void mbpo_live_count(const kctx *k, int *KRESTRICT part, double *KRESTRICT rew_part,
                         const float *KRESTRICT done, const float *KRESTRICT rew, const int *KRESTRICT n) {
	const long long i = (long long)k->bx * k->ntid + k->tid;
	const int in = i < *n;
	double live = k_tree_sum(k, (double *)k->smem, (in && done[i] == 0.0f) ? 1.0 : 0.0);
	double r = k_tree_sum(k, (double *)k->smem, in ? (double)rew[i] : 0.0);
	if (k->tid == 0) {
		part[k->bx] = (int)live;
		rew_part[k->bx] = r;
	}
}

// mbpo_live_scan (one thread) turns the blocks' live counts into their
// exclusive prefix sums, writes the total into *n_next, and adds to stats
// (doubles) the step's transitions (*n), finished samples and reward sum
// (blocks in order).
KFN void mbpo_live_scan(const kctx *k, int *KRESTRICT part, int *KRESTRICT n_next, double *KRESTRICT stats,
                        const double *KRESTRICT rew_part, const int *KRESTRICT n, int blocks) {
	if (k->tid != 0 || k->bx != 0) return;
	int s = 0;
	double r = 0.0;
	for (int b = 0; b < blocks; b++) {
		int c = part[b];
		part[b] = s;
		s += c;
		r += rew_part[b];
	}
	*n_next = s;
	stats[MBPO_ROLL_STEPS] += (double)*n;
	stats[MBPO_ROLL_FINISHED] += (double)(*n - s);
	stats[MBPO_ROLL_REWARD] += r;
}

// mbpo_live_move writes the next observation of every live row among block
// b's rows to row part[b] + (live rows before it in the block) of obs.
// MBPO_SCAN_THREADS threads, as many ints of shared memory.
KFN void mbpo_live_move(const kctx *k, float *KRESTRICT obs, const float *KRESTRICT next,
                        const float *KRESTRICT done, const int *KRESTRICT part, const int *KRESTRICT n, int od) {
	const long long i = (long long)k->bx * k->ntid + k->tid;
	const int live = i < *n && done[i] == 0.0f;
	int *sh = (int *)k->smem;
	const int t = (int)k->tid;
	// Inclusive scan of the live flags (Hillis–Steele, two buffers).
	sh[t] = live;
	KSYNC(k);
	int *src = sh, *dst = sh + k->ntid;
	for (int d = 1; d < (int)k->ntid; d *= 2) {
		dst[t] = src[t] + (t >= d ? src[t - d] : 0);
		KSYNC(k);
		int *tmp = src;
		src = dst;
		dst = tmp;
	}
	if (live) {
		const long long p = part[k->bx] + src[t] - 1;
		for (int c = 0; c < od; c++) obs[p * od + c] = next[i * od + c];
	}
}

// mbpo_sac_gather fills a SAC minibatch of size rows: rows [0, n_real) from
// the real ring, the rest from the model ring, row i drawing number i of key
// (trainer's SACBatch numbering: intn over the ring's size); all real while
// the model ring is empty. One thread per row.
KFN void mbpo_sac_gather(const kctx *k, float *KRESTRICT obs, float *KRESTRICT act, float *KRESTRICT rew,
                         float *KRESTRICT next, float *KRESTRICT done, mbpo_ring real, mbpo_ring model,
                         const mbpo_key *KRESTRICT key, int n_real, int size) {
	const mbpo_key kk = *key;
	const int rs = (int)real.state[MBPO_RING_SIZE];
	const int ms = model.obs ? (int)model.state[MBPO_RING_SIZE] : 0;
	if (ms == 0) n_real = size;
	const int od = real.od, ad = real.ad;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < size; i += (long long)k->nbx * k->ntid) {
		const int from_real = i < n_real;
		const mbpo_ring *r = from_real ? &real : &model;
		const long long j = mbpo_intn(kk, (ku64)i, from_real ? rs : ms);
		for (int c = 0; c < od; c++) {
			obs[i * od + c] = r->obs[j * od + c];
			next[i * od + c] = r->next[j * od + c];
		}
		for (int c = 0; c < ad; c++) act[i * ad + c] = r->act[j * ad + c];
		rew[i] = r->rew[j];
		done[i] = r->done[j];
	}
}

// mbpo_model_rows builds the model's dataset from ring rows: for i < n, row
// r = idx[i]: x[i] = [obs[r], act[r]] and y[i] = [next[r] - obs[r], rew[r]]
// (stages' dataset). One thread per row.
KFN void mbpo_model_rows(const kctx *k, float *KRESTRICT x, float *KRESTRICT y, mbpo_ring r,
                         const int *KRESTRICT idx, int n) {
	const int od = r.od, ad = r.ad, in = od + ad, out = od + 1;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const long long s = idx[i];
		for (int c = 0; c < od; c++) {
			const float o = r.obs[s * od + c];
			x[i * in + c] = o;
			y[i * out + c] = r.next[s * od + c] - o;
		}
		for (int c = 0; c < ad; c++) x[i * in + od + c] = r.act[s * ad + c];
		y[i * out + od] = r.rew[s];
	}
}

// mbpo_gather_batch fills the members' minibatches: dst[(e·b + j)·w + c] =
// src[idx[e·stride + start + j]·w + c] for e < members, j < b, c < w
// (grid-stride over all values).
KFN void mbpo_gather_batch(const kctx *k, float *KRESTRICT dst, const float *KRESTRICT src, const int *KRESTRICT idx,
                           int members, int b, long long stride, int start, int w) {
	const long long total = (long long)members * b * w;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < total; i += (long long)k->nbx * k->ntid) {
		const long long row = i / w;
		const int c = (int)(i - row * w);
		const long long e = row / b, j = row - e * b;
		dst[i] = src[(long long)idx[e * stride + start + j] * w + c];
	}
}

// mbpo_column_stats writes the mean and standard deviation (population, as
// trainer's columnStats) of column bx of x [rows][w] into mean[bx], std[bx]:
// sums in double, in a fixed order. MBPO_REDUCE_THREADS threads, as many
// doubles of shared memory.
KFN void mbpo_column_stats(const kctx *k, float *KRESTRICT mean, float *KRESTRICT std, const float *KRESTRICT x,
                           int rows, int w) {
	const int c = (int)k->bx;
	double s = 0.0;
	for (long long i = k->tid; i < rows; i += k->ntid) s += (double)x[i * w + c];
	const double mu = k_tree_sum(k, (double *)k->smem, s) / rows;
	double q = 0.0;
	for (long long i = k->tid; i < rows; i += k->ntid) {
		const double d = (double)x[i * w + c] - mu;
		q += d * d;
	}
	q = k_tree_sum(k, (double *)k->smem, q);
	if (k->tid == 0) {
		mean[c] = (float)mu;
		std[c] = (float)__builtin_sqrt(q / rows);
	}
}

#endif
