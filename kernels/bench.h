// bench.h: the launch-path kernels' bodies (bench.cu), for measuring a
// launch itself: mbpo bench gpu times them, and the host runs them as any
// other kernel.
#ifndef MBPO_BENCH_H
#define MBPO_BENCH_H

#include "portable.h"

// mbpo_add_one adds 1 to x[i] for i < n, one thread per value: a small
// launch with a visible effect, for graph replay.
KFN void mbpo_add_one(const kctx *k, float *x, int n) {
	int i = (int)(k->bx * k->ntid + k->tid);
	if (i < n) x[i] += 1.0f;
}

#endif
