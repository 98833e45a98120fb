// rollout.cu: branched rollouts and the device transition buffers (math in
// rollout.h and terminal.h).
#include "device.h"
#include "rollout.h"

KERNEL void mbpo_ring_store(mbpo_ring r, const float *obs, const float *act, const float *rew, const float *next,
                            const float *done, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_ring_store(&k, r, obs, act, rew, next, done, n, n_dev);
}

KERNEL void mbpo_ring_advance(mbpo_ring r, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_ring_advance(&k, r, n, n_dev);
}

KERNEL void mbpo_rollout_start(float *obs, int *n_live, mbpo_ring real, const mbpo_key *key, int n) {
	kctx k = thread_ctx();
	mbpo_rollout_start(&k, obs, n_live, real, key, n);
}

KERNEL void mbpo_pick_elites(int *members, int *counts, const int *elites, int n_elites, const mbpo_key *key, int n,
                             const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_pick_elites(&k, members, counts, elites, n_elites, key, n, n_dev);
}

KERNEL void mbpo_count_members(int *counts, const int *members, int n) {
	kctx k = thread_ctx();
	mbpo_count_members(&k, counts, members, n);
}

KERNEL void mbpo_group_rows(int *list, int *cursor, const int *members, const int *counts, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_group_rows(&k, list, cursor, members, counts, n, n_dev);
}

KERNEL void mbpo_model_sample(float *next, float *rew, float *done, const float *obs, const float *mean,
                              const float *logvar, const mbpo_key *key, int n, const int *n_dev, int od, int term) {
	kctx k = thread_ctx();
	mbpo_model_sample(&k, next, rew, done, obs, mean, logvar, key, n, n_dev, od, term);
}

KERNEL LAUNCH_BOUNDS(MBPO_SCAN_THREADS, 4) void mbpo_live_count(int *part, double *rew_part, const float *done,
                                                              const float *rew, const int *n) {
	kctx k = thread_ctx();
	mbpo_live_count(&k, part, rew_part, done, rew, n);
}

KERNEL void mbpo_live_scan(int *part, int *n_next, double *stats, const double *rew_part, const int *n, int blocks) {
	kctx k = thread_ctx();
	mbpo_live_scan(&k, part, n_next, stats, rew_part, n, blocks);
}

KERNEL LAUNCH_BOUNDS(MBPO_SCAN_THREADS, 4) void mbpo_live_move(float *obs, const float *next, const float *done,
                                                             const int *part, const int *n, int od) {
	kctx k = thread_ctx();
	mbpo_live_move(&k, obs, next, done, part, n, od);
}

KERNEL void mbpo_sac_gather(float *obs, float *act, float *rew, float *next, float *done, mbpo_ring real,
                            mbpo_ring model, const mbpo_key *key, int n_real, int size) {
	kctx k = thread_ctx();
	mbpo_sac_gather(&k, obs, act, rew, next, done, real, model, key, n_real, size);
}

KERNEL void mbpo_terminal_rows(float *done, const float *next, int n, int od, int kind) {
	kctx k = thread_ctx();
	mbpo_terminal_rows(&k, done, next, n, od, kind);
}

KERNEL void mbpo_model_rows(float *x, float *y, mbpo_ring r, const int *idx, int n) {
	kctx k = thread_ctx();
	mbpo_model_rows(&k, x, y, r, idx, n);
}

KERNEL void mbpo_gather_batch(float *dst, const float *src, const int *idx, int members, int b, long long stride,
                              int start, int w) {
	kctx k = thread_ctx();
	mbpo_gather_batch(&k, dst, src, idx, members, b, stride, start, w);
}

KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_column_stats(float *mean, float *std, const float *x, int rows,
                                                                  int w) {
	kctx k = thread_ctx();
	mbpo_column_stats(&k, mean, std, x, rows, w);
}
