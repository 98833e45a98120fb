// terminal.h: the environments' termination rules on model-predicted
// transitions, for host and device: the rules of package env's terminal.go,
// compared in double precision exactly as the Go code compares, so both
// decide alike on the same float32 inputs (edges and NaN included). The
// double pendulum's tip height is computed without contracting products into
// fused multiply-adds, as Go computes it on amd64 (the pragma below holds
// only with build.sh's -ffp-contract=on; terminal_ptx_test.go checks the PTX).
#ifndef MBPO_TERMINAL_H
#define MBPO_TERMINAL_H

#include "portable.h"

// Termination rules; kernels.TerminalFor maps an environment id to one.
enum {
	MBPO_TERM_NEVER = 0,            // HalfCheetah, Swimmer
	MBPO_TERM_HOPPER = 1,           // Hopper
	MBPO_TERM_WALKER = 2,           // Walker2d
	MBPO_TERM_ANT = 3,              // Ant
	MBPO_TERM_HUMANOID = 4,         // Humanoid, HumanoidTruncatedObs
	MBPO_TERM_PENDULUM = 5,         // InvertedPendulum
	MBPO_TERM_DOUBLE_PENDULUM = 6   // InvertedDoublePendulum
};

KFN int k_between(double x, double lo, double hi) { return lo < x && x < hi; }

KFN int k_all_finite(const float *v, int n) {
	for (int i = 0; i < n; i++)
		if (!k_finite(v[i])) return 0;
	return 1;
}

#ifdef __clang__
#define MBPO_NO_CONTRACT _Pragma("clang fp contract(off)")
#else
#define MBPO_NO_CONTRACT
#endif

// k_tip_height is the double pendulum's tip height from an observation
// (sin θ1, sin θ2, cos θ1, cos θ2 at 1..4): 0.6 cos θ1 + 0.6 cos(θ1 + θ2).
KFN double k_tip_height(const float *o) {
	MBPO_NO_CONTRACT
	double s1 = o[1], s2 = o[2], c1 = o[3], c2 = o[4];
	double a = 0.6 * c1;
	double p = c1 * c2;
	double q = s1 * s2;
	double b = 0.6 * (p - q);
	return a + b;
}

// mbpo_terminal applies rule kind to the next observation of a transition
// (od values); it reports 1 for a terminated transition.
KFN int mbpo_terminal(int kind, const float *next, int od) {
	switch (kind) {
	case MBPO_TERM_HOPPER: {
		double z = next[0], angle = next[1];
		if (!(z > 0.7 && z != (double)__builtin_inff() && angle > -0.2 && angle < 0.2)) return 1;
		for (int i = 1; i < od; i++) {
			double v = next[i];
			if (!(v > -100.0 && v < 100.0)) return 1;
		}
		return 0;
	}
	case MBPO_TERM_WALKER:
		return !(k_between(next[0], 0.8, 2.0) && k_between(next[1], -1.0, 1.0)) || !k_all_finite(next, od);
	case MBPO_TERM_ANT: {
		double z = next[0];
		return !(0.2 <= z && z <= 1.0) || !k_all_finite(next, od);
	}
	case MBPO_TERM_HUMANOID:
		return !k_between(next[0], 1.0, 2.0) || !k_all_finite(next, od);
	case MBPO_TERM_PENDULUM:
		return !(__builtin_fabs((double)next[1]) <= 0.2) || !k_all_finite(next, od);
	case MBPO_TERM_DOUBLE_PENDULUM:
		return k_tip_height(next) <= 1.0 || !k_all_finite(next, od);
	default:
		return 0;
	}
}

// mbpo_terminal_rows writes done[i] = 1 or 0 for n transitions' next
// observations next [n][od], grid-stride (for the tests of the rules).
KFN void mbpo_terminal_rows(const kctx *k, float *KRESTRICT done, const float *KRESTRICT next, int n, int od,
                            int kind) {
	for (long long i = (long long)k->bx * k->ntid + k->tid; i < n; i += (long long)k->nbx * k->ntid)
		done[i] = mbpo_terminal(kind, next + i * od, od) ? 1.0f : 0.0f;
}

#endif
