// policy.h: the SAC kernels around the networks, for host and device: the
// tanh-Gaussian policy's actions, samples with their log-probabilities and
// its head's backward pass; the TD target, the critic and actor losses with
// their output gradients, and the temperature's gradient. The formulas are
// engine.go's and the CPU engine's (engine/cpu/kernels.c):
//
//   σ = exp(clip(log σ, lsmin, lsmax)),  u = μ + σ·ε,  a = tanh u
//   log π = Σ_j -ε²/2 - log σ - log(2π)/2 - log(1 - tanh² u)
//
// Noise: ε of row i, action j is number first + i·A + j of the key (device
// memory, so a replayed graph can be given new keys).
#ifndef MBPO_POLICY_H
#define MBPO_POLICY_H

#include "portable.h"
#include "rng.h"

// SAC update statistics, in the order of engine.UpdateStats' fields.
enum {
	MBPO_STAT_Q1 = 0,
	MBPO_STAT_Q2 = 1,
	MBPO_STAT_POLICY = 2,
	MBPO_STAT_ALPHA_LOSS = 3,
	MBPO_STAT_ALPHA = 4,
	MBPO_STAT_ENTROPY = 5,
	MBPO_STAT_QMEAN = 6,
	MBPO_STATS = 7
};

// mbpo_policy_act writes the actions of n rows from the policy's raw head
// [n][2A]: tanh(μ) when deterministic, else tanh(μ + σ·ε). When x is not
// NULL it also writes row i of x [n][O + A] as [obs row i, action] (the
// model's input in a rollout). n_dev, when not NULL, replaces n by the count
// in device memory (rows past it are left alone). One thread per row.
KFN void mbpo_policy_act(const kctx *k, float *KRESTRICT act, float *KRESTRICT x, const float *KRESTRICT head,
                         const float *KRESTRICT obs, const mbpo_key *KRESTRICT key, int n, const int *n_dev,
                         int O, int A, float lsmin, float lsmax, int deterministic) {
	if (n_dev) n = *n_dev;
	const mbpo_key kk = *key;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const float *h = head + i * 2 * A;
		for (int j = 0; j < A; j++) {
			float u = h[j];
			if (!deterministic) u += k_exp(k_clip(h[A + j], lsmin, lsmax)) * mbpo_normal(kk, (ku64)i * A + j);
			float sech2;
			float a = k_tanh_sech2(u, &sech2);
			act[i * A + j] = a;
			if (x) x[i * (O + A) + O + j] = a;
		}
		if (x) {
			for (int c = 0; c < O; c++) x[i * (O + A) + c] = obs[i * O + c];
		}
	}
}

// mbpo_policy_sample draws ã ~ π(·|s) for n rows of the raw head [n][2A]:
// act [n][A], the noise eps [n][A] (for the backward pass), logp [n] (summed
// over j in order) and the critic input xq [n][O + A] = [obs, ã]. Noise
// numbers start at first. One thread per row.
KFN void mbpo_policy_sample(const kctx *k, float *KRESTRICT act, float *KRESTRICT eps, float *KRESTRICT logp,
                            float *KRESTRICT xq, const float *KRESTRICT head, const float *KRESTRICT obs,
                            const mbpo_key *KRESTRICT key, ku64 first, int n, int O, int A, float lsmin,
                            float lsmax) {
	const float half_log_2pi = 0.91893853320467274f, log2 = 0.69314718055994531f;
	const mbpo_key kk = *key;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		const float *h = head + i * 2 * A;
		float lp = 0.0f;
		for (int j = 0; j < A; j++) {
			float e = mbpo_normal(kk, first + (ku64)i * A + j);
			float c = k_clip(h[A + j], lsmin, lsmax);
			float u = h[j] + k_exp(c) * e;
			float sech2, sig;
			float a = k_tanh_sech2(u, &sech2);
			float log_sech2 = 2.0f * (log2 - u - k_softplus_sig(-2.0f * u, &sig));
			lp += -0.5f * e * e - c - half_log_2pi - log_sech2;
			eps[i * A + j] = e;
			act[i * A + j] = a;
			xq[i * (O + A) + O + j] = a;
		}
		logp[i] = lp;
		for (int c = 0; c < O; c++) xq[i * (O + A) + c] = obs[i * O + c];
	}
}

// mbpo_concat writes x [n][O + A] = [obs, act], row by row, grid-stride.
KFN void mbpo_concat(const kctx *k, float *KRESTRICT x, const float *KRESTRICT obs, const float *KRESTRICT act,
                     int n, int O, int A) {
	const long long w = O + A;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < (long long)n * w; i += (long long)k->nbx * k->ntid) {
		long long r = i / w;
		int c = (int)(i - r * w);
		x[i] = c < O ? obs[r * O + c] : act[r * A + c - O];
	}
}

// k_alpha is the temperature α = exp(logα).
KFN float k_alpha(const float *log_alpha) { return k_exp(*log_alpha); }

// mbpo_td_target writes y[i] = r + γ(1 - done)(min(q1ᵗ, q2ᵗ) - α·logπ(a'|s'))
// from the target critics' outputs qt [2][n], grid-stride.
KFN void mbpo_td_target(const kctx *k, float *KRESTRICT y, const float *KRESTRICT qt, const float *KRESTRICT rew,
                        const float *KRESTRICT done, const float *KRESTRICT logp,
                        const float *KRESTRICT log_alpha, float gamma, int n) {
	const float alpha = k_alpha(log_alpha);
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid) {
		float q = qt[i] < qt[n + i] ? qt[i] : qt[n + i];
		y[i] = rew[i] + gamma * (1.0f - done[i]) * (q - alpha * logp[i]);
	}
}

// mbpo_critic_grad (one block of MBPO_REDUCE_THREADS threads, as many
// doubles of shared memory) takes both critics' outputs q [2][n] and the
// targets y: dq[c][i] = (q - y)/n, stats Q1 and Q2 = ½·mean((q - y)²) and
// QMEAN = mean(q1).
KFN void mbpo_critic_grad(const kctx *k, float *KRESTRICT dq, float *KRESTRICT stats, const float *KRESTRICT q,
                          const float *KRESTRICT y, int n) {
	const float inv = 1.0f / (float)n;
	double l1 = 0.0, l2 = 0.0, qs = 0.0;
	for (int i = (int)k->tid; i < n; i += (int)k->ntid) {
		float e1 = q[i] - y[i], e2 = q[n + i] - y[i];
		l1 += (double)(e1 * e1);
		l2 += (double)(e2 * e2);
		qs += (double)q[i];
		dq[i] = e1 * inv;
		dq[n + i] = e2 * inv;
	}
	double *s = (double *)k->smem;
	l1 = k_tree_sum(k, s, l1);
	l2 = k_tree_sum(k, s, l2);
	qs = k_tree_sum(k, s, qs);
	if (k->tid == 0) {
		stats[MBPO_STAT_Q1] = (float)(0.5 * l1 / n);
		stats[MBPO_STAT_Q2] = (float)(0.5 * l2 / n);
		stats[MBPO_STAT_QMEAN] = (float)(qs / n);
	}
}

// mbpo_actor_grad (one block of MBPO_REDUCE_THREADS threads, as many doubles
// of shared memory) takes both critics' outputs q [2][n] at (s, ã) and
// logπ(ã|s): the gradient of mean(α·logπ - min(q1, q2)) w.r.t. the critics'
// outputs, dq (-1/n into the smaller, q1 on ties), the stats POLICY, ALPHA,
// ENTROPY and ALPHA_LOSS, and the temperature loss's gradient w.r.t. logα,
// -(mean logπ + target_entropy), into *galpha. When acc is not NULL the
// seven stats are then added to acc[0..6] (doubles): a sum over updates.
KFN void mbpo_actor_grad(const kctx *k, float *KRESTRICT dq, float *KRESTRICT stats, float *KRESTRICT galpha,
                         double *KRESTRICT acc, const float *KRESTRICT q, const float *KRESTRICT logp,
                         const float *KRESTRICT log_alpha, float target_entropy, int n) {
	const float inv = 1.0f / (float)n;
	const float alpha = k_alpha(log_alpha);
	double sum = 0.0, slp = 0.0;
	for (int i = (int)k->tid; i < n; i += (int)k->ntid) {
		float q1 = q[i], q2 = q[n + i], m = q1;
		dq[i] = -inv;
		dq[n + i] = 0.0f;
		if (q2 < q1) {
			m = q2;
			dq[i] = 0.0f;
			dq[n + i] = -inv;
		}
		sum += (double)(alpha * logp[i] - m);
		slp += (double)logp[i];
	}
	double *s = (double *)k->smem;
	sum = k_tree_sum(k, s, sum);
	slp = k_tree_sum(k, s, slp);
	if (k->tid == 0) {
		double mean_logp = slp / n;
		double slope = -(mean_logp + (double)target_entropy);
		stats[MBPO_STAT_POLICY] = (float)(sum / n);
		stats[MBPO_STAT_ALPHA_LOSS] = (float)((double)*log_alpha * slope);
		stats[MBPO_STAT_ALPHA] = alpha;
		stats[MBPO_STAT_ENTROPY] = (float)(-mean_logp);
		*galpha = (float)slope;
		if (acc) {
			for (int i = 0; i < MBPO_STATS; i++) acc[i] += (double)stats[i];
		}
	}
}

// mbpo_policy_backward writes into dhead [n][2A] the gradient of
// Σ_i coef·logπ_i + Σ_ij dact_ij·act_ij w.r.t. the raw head, where coef =
// α/n and dact = dact[0] + dact[1] ([2][n][A]: the actor loss through each
// critic). eps is the noise the sample drew. Element-wise, grid-stride.
KFN void mbpo_policy_backward(const kctx *k, float *KRESTRICT dhead, const float *KRESTRICT head,
                              const float *KRESTRICT eps, const float *KRESTRICT dact,
                              const float *KRESTRICT log_alpha, int n, int A, float lsmin, float lsmax) {
	const float coef = k_alpha(log_alpha) / (float)n;
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < (long long)n * A; i += (long long)k->nbx * k->ntid) {
		long long r = i / A;
		int j = (int)(i - r * A);
		float raw = head[r * 2 * A + A + j];
		float sigma = k_exp(k_clip(raw, lsmin, lsmax));
		float e = eps[i];
		float u = head[r * 2 * A + j] + sigma * e;
		float sech2;
		float t = k_tanh_sech2(u, &sech2);
		float da = dact[i] + dact[(long long)n * A + i];
		// d logπ/du = 2 tanh u; dact/du = sech² u.
		float du = coef * 2.0f * t + da * sech2;
		dhead[r * 2 * A + j] = du;
		dhead[r * 2 * A + A + j] = (raw >= lsmin && raw <= lsmax) ? du * sigma * e - coef : 0.0f;
	}
}

#endif
