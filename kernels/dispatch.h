// dispatch.h: the numbers of the kernels a Machine launches (kernels.Kernel
// takes its values from here, so Go and C agree), and the host's launcher,
// which runs a kernel's body over a grid given the argument list the driver
// would get (params[i] points at argument i's bytes).
#ifndef MBPO_DISPATCH_H
#define MBPO_DISPATCH_H

enum {
	MBPO_K_ENSEMBLE_FORWARD,
	MBPO_K_ENSEMBLE_PREDICT,
	MBPO_K_GEMM,
	MBPO_K_NORMALIZE,
	MBPO_K_COLSUM,
	MBPO_K_GAUSS_NLL_GRAD,
	MBPO_K_GAUSS_BOUNDS,
	MBPO_K_TICK,
	MBPO_K_ADAM,
	MBPO_K_LOSS_FINISH,
	MBPO_K_GAUSS_EVAL_PART,
	MBPO_K_GAUSS_EVAL_FINISH,
	MBPO_K_POLICY_ACT,
	MBPO_K_POLICY_SAMPLE,
	MBPO_K_CONCAT,
	MBPO_K_TD_TARGET,
	MBPO_K_CRITIC_GRAD,
	MBPO_K_ACTOR_GRAD,
	MBPO_K_POLICY_BACKWARD,
	MBPO_K_RING_STORE,
	MBPO_K_RING_ADVANCE,
	MBPO_K_ROLLOUT_START,
	MBPO_K_PICK_ELITES,
	MBPO_K_COUNT_MEMBERS,
	MBPO_K_GROUP_ROWS,
	MBPO_K_MODEL_SAMPLE,
	MBPO_K_LIVE_COUNT,
	MBPO_K_LIVE_SCAN,
	MBPO_K_LIVE_MOVE,
	MBPO_K_SAC_GATHER,
	MBPO_K_TERMINAL_ROWS,
	MBPO_K_MODEL_ROWS,
	MBPO_K_GATHER_BATCH,
	MBPO_K_COLUMN_STATS,
	MBPO_K_SWISH,
	MBPO_K_GAUSSIAN_HEAD,
	MBPO_K_RNG_FILL,
	MBPO_K_EMPTY,
	MBPO_K_ADD_ONE,
	MBPO_K_COUNT
};

// mbpo_host_run runs kernel id over a gx x gy grid of blocks of bx threads
// with smem bytes of dynamic shared memory. It returns 0, ENOSYS for a kernel
// the host does not know, or another errno value.
int mbpo_host_run(int id, int gx, int gy, int bx, int smem, void **params);

#endif
