// dispatch.c: the host's side of kernels.Machine: each kernel's body called
// with the arguments unpacked from the driver-style list (params[i] points at
// argument i), run over the grid by mbpo_host_launch (host.c).
#include <errno.h>

#include "bench.h"
#include "dispatch.h"
#include "gemm.h"
#include "host.h"
#include "mlp.h"
#include "policy.h"
#include "rng.h"
#include "rollout.h"
#include "terminal.h"
#include "train.h"

// A(i, T) is argument i, of type T.
#define A(i, T) (*(T *)p[i])
#define F(i) A(i, float *)
#define CF(i) A(i, const float *)
#define I(i) A(i, int)

static void k_forward(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_ensemble_forward(k, F(0), F(1), CF(2), CF(3), CF(4), CF(5), I(6), A(7, const int *), A(8, mbpo_net));
}

static void k_predict(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_ensemble_predict(k, F(0), F(1), CF(2), CF(3), CF(4), CF(5), A(6, const int *), A(7, const int *),
	                      A(8, mbpo_net));
}

static void k_gemm(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gemm_tile(k, A(0, mbpo_gemm_args));
}

static void k_normalize(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_normalize(k, F(0), CF(1), CF(2), CF(3), A(4, ku64), I(5));
}

static void k_colsum(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_colsum(k, F(0), CF(1), I(2), I(3), A(4, long long), A(5, long long));
}

static void k_nll_grad(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gauss_nll_grad(k, F(0), F(1), CF(2), CF(3), CF(4), CF(5), I(6), I(7), A(8, float));
}

static void k_bounds(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gauss_bounds(k, F(0), F(1), A(2, double *), CF(3), CF(4), CF(5), I(6), I(7), I(8));
}

static void k_tick(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_tick(k, A(0, mbpo_adam_sched *));
}

static void k_adam(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_adam(k, A(0, mbpo_adam_args));
}

static void k_loss_finish(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_loss_finish(k, F(0), A(1, const double *), A(2, const double *), I(3));
}

static void k_eval_part(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gauss_eval_part(k, A(0, double *), CF(1), CF(2), CF(3), I(4), I(5), I(6));
}

static void k_eval_finish(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gauss_eval_finish(k, F(0), F(1), A(2, const double *), I(3), I(4), I(5), I(6));
}

static void k_policy_act(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_policy_act(k, F(0), F(1), CF(2), CF(3), A(4, const mbpo_key *), I(5), A(6, const int *), I(7), I(8),
	                A(9, float), A(10, float), I(11));
}

static void k_policy_sample(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_policy_sample(k, F(0), F(1), F(2), F(3), CF(4), CF(5), A(6, const mbpo_key *), A(7, ku64), I(8), I(9),
	                   I(10), A(11, float), A(12, float));
}

static void k_concat(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_concat(k, F(0), CF(1), CF(2), I(3), I(4), I(5));
}

static void k_td_target(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_td_target(k, F(0), CF(1), CF(2), CF(3), CF(4), CF(5), A(6, float), I(7));
}

static void k_critic_grad(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_critic_grad(k, F(0), F(1), CF(2), CF(3), I(4));
}

static void k_actor_grad(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_actor_grad(k, F(0), F(1), F(2), A(3, double *), CF(4), CF(5), CF(6), A(7, float), I(8));
}

static void k_policy_backward(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_policy_backward(k, F(0), CF(1), CF(2), CF(3), CF(4), I(5), I(6), A(7, float), A(8, float));
}

static void k_ring_store(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_ring_store(k, A(0, mbpo_ring), CF(1), CF(2), CF(3), CF(4), CF(5), I(6), A(7, const int *));
}

static void k_ring_advance(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_ring_advance(k, A(0, mbpo_ring), I(1), A(2, const int *));
}

static void k_rollout_start(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_rollout_start(k, F(0), A(1, int *), A(2, mbpo_ring), A(3, const mbpo_key *), I(4));
}

static void k_pick_elites(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_pick_elites(k, A(0, int *), A(1, int *), A(2, const int *), I(3), A(4, const mbpo_key *), I(5),
	                 A(6, const int *));
}

static void k_count_members(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_count_members(k, A(0, int *), A(1, const int *), I(2));
}

static void k_group_rows(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_group_rows(k, A(0, int *), A(1, int *), A(2, const int *), A(3, const int *), I(4), A(5, const int *));
}

static void k_model_sample(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_model_sample(k, F(0), F(1), F(2), CF(3), CF(4), CF(5), A(6, const mbpo_key *), I(7), A(8, const int *),
	                  I(9), I(10));
}

static void k_live_count(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_live_count(k, A(0, int *), A(1, double *), CF(2), CF(3), A(4, const int *));
}

static void k_live_scan(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_live_scan(k, A(0, int *), A(1, int *), A(2, double *), A(3, const double *), A(4, const int *), I(5));
}

static void k_live_move(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_live_move(k, F(0), CF(1), CF(2), A(3, const int *), A(4, const int *), I(5));
}

static void k_sac_gather(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_sac_gather(k, F(0), F(1), F(2), F(3), F(4), A(5, mbpo_ring), A(6, mbpo_ring), A(7, const mbpo_key *), I(8),
	                I(9));
}

static void k_terminal_rows(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_terminal_rows(k, F(0), CF(1), I(2), I(3), I(4));
}

static void k_model_rows(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_model_rows(k, F(0), F(1), A(2, mbpo_ring), A(3, const int *), I(4));
}

static void k_gather_batch(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gather_batch(k, F(0), CF(1), A(2, const int *), I(3), I(4), A(5, long long), I(6), I(7));
}

static void k_column_stats(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_column_stats(k, F(0), F(1), CF(2), I(3), I(4));
}

static void k_swish(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_swish_fill(k, F(0), CF(1), A(2, ku64));
}

static void k_gaussian_head(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_gaussian_head(k, F(0), F(1), CF(2), CF(3), CF(4), A(5, ku64), I(6));
}

static void k_rng_fill(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_rng_fill(k, A(0, ku32 *), A(1, ku64), A(2, ku64), A(3, mbpo_key), I(4));
}

static void k_empty(const kctx *k, const void *a) {
	(void)k;
	(void)a;
}

static void k_add_one(const kctx *k, const void *a) {
	void *const *p = a;
	mbpo_add_one(k, F(0), I(1));
}

// entry is a kernel's body and whether it synchronises its block's threads.
typedef struct {
	kbody body;
	int syncs;
} entry;

static const entry table[MBPO_K_COUNT] = {
	[MBPO_K_ENSEMBLE_FORWARD] = {k_forward, 1},
	[MBPO_K_ENSEMBLE_PREDICT] = {k_predict, 1},
	[MBPO_K_GEMM] = {k_gemm, 1},
	[MBPO_K_NORMALIZE] = {k_normalize, 0},
	[MBPO_K_COLSUM] = {k_colsum, 0},
	[MBPO_K_GAUSS_NLL_GRAD] = {k_nll_grad, 0},
	[MBPO_K_GAUSS_BOUNDS] = {k_bounds, 0},
	[MBPO_K_TICK] = {k_tick, 0},
	[MBPO_K_ADAM] = {k_adam, 1},
	[MBPO_K_LOSS_FINISH] = {k_loss_finish, 0},
	[MBPO_K_GAUSS_EVAL_PART] = {k_eval_part, 1},
	[MBPO_K_GAUSS_EVAL_FINISH] = {k_eval_finish, 0},
	[MBPO_K_POLICY_ACT] = {k_policy_act, 0},
	[MBPO_K_POLICY_SAMPLE] = {k_policy_sample, 0},
	[MBPO_K_CONCAT] = {k_concat, 0},
	[MBPO_K_TD_TARGET] = {k_td_target, 0},
	[MBPO_K_CRITIC_GRAD] = {k_critic_grad, 1},
	[MBPO_K_ACTOR_GRAD] = {k_actor_grad, 1},
	[MBPO_K_POLICY_BACKWARD] = {k_policy_backward, 0},
	[MBPO_K_RING_STORE] = {k_ring_store, 0},
	[MBPO_K_RING_ADVANCE] = {k_ring_advance, 0},
	[MBPO_K_ROLLOUT_START] = {k_rollout_start, 0},
	[MBPO_K_PICK_ELITES] = {k_pick_elites, 0},
	[MBPO_K_COUNT_MEMBERS] = {k_count_members, 0},
	[MBPO_K_GROUP_ROWS] = {k_group_rows, 0},
	[MBPO_K_MODEL_SAMPLE] = {k_model_sample, 0},
	[MBPO_K_LIVE_COUNT] = {k_live_count, 1},
	[MBPO_K_LIVE_SCAN] = {k_live_scan, 0},
	[MBPO_K_LIVE_MOVE] = {k_live_move, 1},
	[MBPO_K_SAC_GATHER] = {k_sac_gather, 0},
	[MBPO_K_TERMINAL_ROWS] = {k_terminal_rows, 0},
	[MBPO_K_MODEL_ROWS] = {k_model_rows, 0},
	[MBPO_K_GATHER_BATCH] = {k_gather_batch, 0},
	[MBPO_K_COLUMN_STATS] = {k_column_stats, 1},
	[MBPO_K_SWISH] = {k_swish, 0},
	[MBPO_K_GAUSSIAN_HEAD] = {k_gaussian_head, 0},
	[MBPO_K_RNG_FILL] = {k_rng_fill, 0},
	[MBPO_K_EMPTY] = {k_empty, 0},
	[MBPO_K_ADD_ONE] = {k_add_one, 0},
};

int mbpo_host_run(int id, int gx, int gy, int bx, int smem, void **params) {
	if (id < 0 || id >= MBPO_K_COUNT || !table[id].body) return ENOSYS;
	return mbpo_host_launch(gx, gy, bx, (size_t)smem, table[id].syncs, table[id].body, params);
}
