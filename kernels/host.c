// host.c: the host's launch of a kernel body (dispatch.c gives the bodies;
// OnHost's Machine calls it), so the kernels' arithmetic, indexing and
// synchronisation are tested without a GPU; and rng.h's building blocks for
// the generator's tests.
//
// mbpo_host_launch plays a launch: it runs the grid block by block. A kernel
// that synchronises within a block runs each thread of the block on its own
// pthread, with KSYNC a barrier (the same pthreads walk every block of the
// grid in order, a barrier between blocks); one that does not runs the
// threads one after another. Shared memory starts each block filled with
// NaNs, so a kernel that reads shared memory it never wrote shows it in its
// output.
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "rng.h"

// gate holds a launch's threads until all of them exist: if one cannot be
// created, the others leave without reaching the block's barrier.
typedef struct {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int state; // 0 wait, 1 run, 2 leave
} gate;

// grid is what the threads of a synchronising launch share.
typedef struct {
	int gx, gy;
	float *shared;
	size_t words;
	pthread_barrier_t *barrier;
} grid;

typedef struct {
	kctx k;
	kbody body;
	const void *args;
	gate *g;
	const grid *grid;
} host_thread;

static void *host_thread_main(void *p) {
	host_thread *t = p;
	pthread_mutex_lock(&t->g->mu);
	while (t->g->state == 0) pthread_cond_wait(&t->g->cond, &t->g->mu);
	int run = t->g->state == 1;
	pthread_mutex_unlock(&t->g->mu);
	if (!run) return NULL;
	const grid *gr = t->grid;
	for (int by = 0; by < gr->gy; by++) {
		for (int bx = 0; bx < gr->gx; bx++) {
			if (t->k.tid == 0) memset(gr->shared, 0xff, gr->words * 4); // NaN everywhere
			pthread_barrier_wait(gr->barrier);
			kctx k = t->k;
			k.bx = (ku32)bx;
			k.by = (ku32)by;
			t->body(&k, t->args);
			pthread_barrier_wait(gr->barrier); // the block is done with shared memory
		}
	}
	return NULL;
}

// run_grid runs every block of a synchronising launch on bx pthreads.
static int run_grid(host_thread *ts, pthread_t *ids, int bx, const grid *gr) {
	gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0};
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	int err = pthread_barrier_init(gr->barrier, NULL, (unsigned)bx);
	int inited = err == 0;
	int started = 0;
	for (; !err && started < bx; started++) {
		ts[started].g = &g;
		ts[started].grid = gr;
		if ((err = pthread_create(&ids[started], &attr, host_thread_main, &ts[started])) != 0) break;
	}
	pthread_mutex_lock(&g.mu);
	g.state = err ? 2 : 1;
	pthread_cond_broadcast(&g.cond);
	pthread_mutex_unlock(&g.mu);
	for (int t = 0; t < started; t++) pthread_join(ids[t], NULL);
	pthread_attr_destroy(&attr);
	if (inited) pthread_barrier_destroy(gr->barrier);
	return err;
}

int mbpo_host_launch(int gx, int gy, int bx, size_t smem, int syncs, kbody body, const void *args) {
	if (gx < 1 || gy < 1 || bx < 1 || bx > 1024) return EINVAL;
	size_t words = (smem + 3) / 4 + 4;
	float *shared = aligned_alloc(16, (words * 4 + 15) / 16 * 16);
	host_thread *ts = calloc((size_t)bx, sizeof *ts);
	pthread_t *ids = calloc((size_t)bx, sizeof *ids);
	pthread_barrier_t barrier;
	int err = (!shared || !ts || !ids) ? ENOMEM : 0;
	for (int t = 0; t < bx && !err; t++) {
		kctx k = {(ku32)t, (ku32)bx, 0, 0, (ku32)gx, (ku32)gy, shared, &barrier};
		ts[t].k = k;
		ts[t].body = body;
		ts[t].args = args;
	}
	if (!err && syncs) {
		grid gr = {gx, gy, shared, words, &barrier};
		err = run_grid(ts, ids, bx, &gr);
	} else {
		for (int by = 0; by < gy && !err; by++) {
			for (int bxi = 0; bxi < gx; bxi++) {
				memset(shared, 0xff, words * 4);
				for (int t = 0; t < bx; t++) {
					kctx k = ts[t].k;
					k.bx = (ku32)bxi;
					k.by = (ku32)by;
					body(&k, args);
				}
			}
		}
	}
	free(shared);
	free(ts);
	free(ids);
	return err;
}

void mbpo_host_philox(unsigned int out[4], const unsigned int ctr[4], const unsigned int key[2]) {
	mbpo_philox(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
}

float mbpo_host_ln_unit(float u) { return mbpo_ln_unit(u); }

void mbpo_host_sincos_turns(float v, float *s, float *c) { mbpo_sincos_turns(v, s, c); }
