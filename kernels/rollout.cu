// rollout.cu: branched rollouts and the device transition buffers (math in
// rollout.h and terminal.h). Each kernel names its CPU twin and the tests
// that compare them (see ensemble.cu).
#include "device.h"
#include "rollout.h"

// mbpo_ring_store: append n transitions to a ring, one thread per row.
// twin: stages Replay.Add
// tests: engine/cuda TestHostTransitions, TestGPUTransitions, TestHostFit, TestGPUFit
KERNEL void mbpo_ring_store(mbpo_ring r, const float *obs, const float *act, const float *rew, const float *next,
                            const float *done, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_ring_store(&k, r, obs, act, rew, next, done, n, n_dev);
}

// mbpo_ring_advance: move the ring's state past the rows appended (one thread).
// twin: stages Replay.Add
// tests: engine/cuda TestHostTransitions, TestGPUTransitions
KERNEL void mbpo_ring_advance(mbpo_ring r, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_ring_advance(&k, r, n, n_dev);
}

// mbpo_rollout_start: n start states drawn from the real ring.
// twin: stages Rollouts.Run
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL void mbpo_rollout_start(float *obs, int *n_live, mbpo_ring real, const mbpo_key *key, int n) {
	kctx k = thread_ctx();
	mbpo_rollout_start(&k, obs, n_live, real, key, n);
}

// mbpo_pick_elites: a random elite per live row, and the rows per member.
// twin: stages Rollouts.step
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL void mbpo_pick_elites(int *members, int *counts, const int *elites, int n_elites, const mbpo_key *key, int n,
                             const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_pick_elites(&k, members, counts, elites, n_elites, key, n, n_dev);
}

// mbpo_count_members: the rows of each member, members given.
// twin: engine/cpu ensemble.predictChunk
// tests: engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference
KERNEL void mbpo_count_members(int *counts, const int *members, int n) {
	kctx k = thread_ctx();
	mbpo_count_members(&k, counts, members, n);
}

// mbpo_group_rows: the rows listed member by member.
// twin: engine/cpu ensemble.predictChunk
// tests: engine/cuda TestHostEnsembleInference, TestGPUEnsembleInference, TestHostRollouts, TestGPURollouts
KERNEL void mbpo_group_rows(int *list, int *cursor, const int *members, const int *counts, int n, const int *n_dev) {
	kctx k = thread_ctx();
	mbpo_group_rows(&k, list, cursor, members, counts, n, n_dev);
}

// mbpo_model_sample: the model's sampled next states and rewards, and the
// environment's termination rule on them.
// twin: stages Rollouts.step
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL void mbpo_model_sample(float *next, float *rew, float *done, const float *obs, const float *mean,
                              const float *logvar, const mbpo_key *key, int n, const int *n_dev, int od, int term) {
	kctx k = thread_ctx();
	mbpo_model_sample(&k, next, rew, done, obs, mean, logvar, key, n, n_dev, od, term);
}

// mbpo_live_count: the live rows and reward sum of each block (compaction, 1 of 3).
// twin: stages Rollouts.step
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL LAUNCH_BOUNDS(MBPO_SCAN_THREADS, 4) void mbpo_live_count(int *part, double *rew_part, const float *done,
                                                              const float *rew, const int *n) {
	kctx k = thread_ctx();
	mbpo_live_count(&k, part, rew_part, done, rew, n);
}

// mbpo_live_scan: the blocks' offsets, the live count and the step's statistics
// (compaction, 2 of 3; one thread).
// twin: stages Rollouts.step
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL void mbpo_live_scan(int *part, int *n_next, double *stats, const double *rew_part, const int *n, int blocks) {
	kctx k = thread_ctx();
	mbpo_live_scan(&k, part, n_next, stats, rew_part, n, blocks);
}

// mbpo_live_move: the live rows' next states moved, in order, to the front
// (compaction, 3 of 3).
// twin: stages Rollouts.step
// tests: engine/cuda TestHostRollouts, TestGPURollouts
KERNEL LAUNCH_BOUNDS(MBPO_SCAN_THREADS, 4) void mbpo_live_move(float *obs, const float *next, const float *done,
                                                             const int *part, const int *n, int od) {
	kctx k = thread_ctx();
	mbpo_live_move(&k, obs, next, done, part, n, od);
}

// mbpo_sac_gather: a SAC minibatch drawn from the real and model rings.
// twin: stages sacBatcher.fill
// tests: engine/cuda TestHostSACUpdates, TestGPUSACUpdates
KERNEL void mbpo_sac_gather(float *obs, float *act, float *rew, float *next, float *done, mbpo_ring real,
                            mbpo_ring model, const mbpo_key *key, int n_real, int size) {
	kctx k = thread_ctx();
	mbpo_sac_gather(&k, obs, act, rew, next, done, real, model, key, n_real, size);
}

// mbpo_terminal_rows: an environment's termination rule on n next states.
// twin: env hopperTerminal, walkerTerminal, antTerminal, humanoidTerminal, invertedPendulumTerminal, invertedDoublePendulumTerminal
// tests: kernels TestHostTerminalMatchesEnv, TestGPUTerminalMatchesEnv
KERNEL void mbpo_terminal_rows(float *done, const float *next, int n, int od, int kind) {
	kctx k = thread_ctx();
	mbpo_terminal_rows(&k, done, next, n, od, kind);
}

// mbpo_model_rows: the model's dataset rows [obs, act] -> [next - obs, rew].
// twin: stages dataset
// tests: engine/cuda TestHostFit, TestGPUFit
KERNEL void mbpo_model_rows(float *x, float *y, mbpo_ring r, const int *idx, int n) {
	kctx k = thread_ctx();
	mbpo_model_rows(&k, x, y, r, idx, n);
}

// mbpo_gather_batch: every member's minibatch of dataset rows.
// twin: stages Fit
// tests: engine/cuda TestHostFit, TestGPUFit
KERNEL void mbpo_gather_batch(float *dst, const float *src, const int *idx, int members, int b, long long stride,
                              int start, int w) {
	kctx k = thread_ctx();
	mbpo_gather_batch(&k, dst, src, idx, members, b, stride, start, w);
}

// mbpo_column_stats: each column's mean and standard deviation (the normaliser).
// twin: stages columnStats
// tests: engine/cuda TestHostFit, TestGPUFit
KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 4) void mbpo_column_stats(float *mean, float *std, const float *x, int rows,
                                                                  int w) {
	kctx k = thread_ctx();
	mbpo_column_stats(&k, mean, std, x, rows, w);
}
