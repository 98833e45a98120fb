// host.c: the kernels of this package compiled for the host (through cgo),
// so their arithmetic, indexing and synchronisation are tested without a GPU.
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
#include "mlp.h"
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

typedef struct {
	float *mean, *logvar;
	const float *x, *params, *norm_mean, *norm_std;
	int n;
	mbpo_net net;
} forward_args;

static void forward_body(const kctx *k, const void *p) {
	const forward_args *a = p;
	mbpo_ensemble_forward(k, a->mean, a->logvar, a->x, a->params, a->norm_mean, a->norm_std, a->n, 0, a->net);
}

int mbpo_host_ensemble_forward(float *mean, float *logvar, const float *x, const float *params,
                               const float *norm_mean, const float *norm_std, int n, const mbpo_net *net,
                               int grid_x, int threads, int shared_bytes) {
	forward_args a = {mean, logvar, x, params, norm_mean, norm_std, n, *net};
	return mbpo_host_launch(grid_x, net->members, threads, (size_t)shared_bytes, 1, forward_body, &a);
}

typedef struct {
	float *y;
	const float *x;
	ku64 n;
} swish_args;

static void swish_body(const kctx *k, const void *p) {
	const swish_args *a = p;
	mbpo_swish_fill(k, a->y, a->x, a->n);
}

int mbpo_host_swish(float *y, const float *x, unsigned long long n, int grid_x, int threads) {
	swish_args a = {y, x, n};
	return mbpo_host_launch(grid_x, 1, threads, 0, 0, swish_body, &a);
}

typedef struct {
	float *mean, *logvar;
	const float *head, *maxlv, *minlv;
	ku64 rows;
	int out;
} head_args;

static void head_body(const kctx *k, const void *p) {
	const head_args *a = p;
	mbpo_gaussian_head(k, a->mean, a->logvar, a->head, a->maxlv, a->minlv, a->rows, a->out);
}

int mbpo_host_gaussian_head(float *mean, float *logvar, const float *head, const float *maxlv,
                            const float *minlv, unsigned long long rows, int out, int grid_x, int threads) {
	head_args a = {mean, logvar, head, maxlv, minlv, rows, out};
	return mbpo_host_launch(grid_x, 1, threads, 0, 0, head_body, &a);
}

typedef struct {
	ku32 *out;
	ku64 first, n;
	mbpo_key key;
	int kind;
} rng_args;

static void rng_body(const kctx *k, const void *p) {
	const rng_args *a = p;
	mbpo_rng_fill(k, a->out, a->first, a->n, a->key, a->kind);
}

int mbpo_host_rng_fill(unsigned int *out, unsigned long long first, unsigned long long n, const mbpo_key *key,
                       int kind, int grid_x, int threads) {
	rng_args a = {out, first, n, *key, kind};
	return mbpo_host_launch(grid_x, 1, threads, 0, 0, rng_body, &a);
}

void mbpo_host_philox(unsigned int out[4], const unsigned int ctr[4], const unsigned int key[2]) {
	mbpo_philox(out, ctr[0], ctr[1], ctr[2], ctr[3], key[0], key[1]);
}

float mbpo_host_ln_unit(float u) { return mbpo_ln_unit(u); }

void mbpo_host_sincos_turns(float v, float *s, float *c) { mbpo_sincos_turns(v, s, c); }
