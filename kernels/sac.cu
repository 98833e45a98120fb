// sac.cu: the SAC kernels around the networks (math in policy.h). Each kernel
// names its CPU twin and the tests that compare them (see ensemble.cu).
#include "device.h"
#include "policy.h"

// mbpo_policy_act: actions from the policy's raw head, tanh(μ) or tanh(μ + σ·ε).
// twin: engine/cpu agent.actChunk, policyAct
// tests: engine/cuda TestHostAgentAct, TestGPUAgentAct, TestHostRollouts, TestGPURollouts
KERNEL void mbpo_policy_act(float *act, float *x, const float *head, const float *obs, const mbpo_key *key, int n,
                            const int *n_dev, int O, int A, float lsmin, float lsmax, int deterministic) {
	kctx k = thread_ctx();
	mbpo_policy_act(&k, act, x, head, obs, key, n, n_dev, O, A, lsmin, lsmax, deterministic);
}

// mbpo_policy_sample: ã ~ π with its log-probability, and the critic input [obs, ã].
// twin: engine/cpu policySample
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate, TestHostSACUpdates, TestGPUSACUpdates
KERNEL void mbpo_policy_sample(float *act, float *eps, float *logp, float *xq, const float *head, const float *obs,
                               const mbpo_key *key, ku64 first, int n, int O, int A, float lsmin, float lsmax) {
	kctx k = thread_ctx();
	mbpo_policy_sample(&k, act, eps, logp, xq, head, obs, key, first, n, O, A, lsmin, lsmax);
}

// mbpo_concat: x = [obs, act], row by row.
// twin: engine/cpu concatRows
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL void mbpo_concat(float *x, const float *obs, const float *act, int n, int O, int A) {
	kctx k = thread_ctx();
	mbpo_concat(&k, x, obs, act, n, O, A);
}

// mbpo_td_target: y = r + γ(1 - done)(min of the target critics - α·logπ).
// twin: engine/cpu agent.criticGradients
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL void mbpo_td_target(float *y, const float *qt, const float *rew, const float *done, const float *logp,
                           const float *log_alpha, float gamma, int n) {
	kctx k = thread_ctx();
	mbpo_td_target(&k, y, qt, rew, done, logp, log_alpha, gamma, n);
}

// mbpo_critic_grad: both critics' output gradients and losses (one block).
// twin: engine/cpu agent.criticStep
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 1) void mbpo_critic_grad(float *dq, float *stats, const float *q,
                                                                 const float *y, int n) {
	kctx k = thread_ctx();
	mbpo_critic_grad(&k, dq, stats, q, y, n);
}

// mbpo_actor_grad: the actor loss's gradient w.r.t. the critics' outputs, its
// statistics and the temperature's gradient (one block).
// twin: engine/cpu agent.actorGradients, agent.Update
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL LAUNCH_BOUNDS(MBPO_REDUCE_THREADS, 1) void mbpo_actor_grad(float *dq, float *stats, float *galpha,
                                                                double *acc, const float *q, const float *logp,
                                                                const float *log_alpha, float target_entropy,
                                                                int n) {
	kctx k = thread_ctx();
	mbpo_actor_grad(&k, dq, stats, galpha, acc, q, logp, log_alpha, target_entropy, n);
}

// mbpo_policy_backward: the actor loss's gradient w.r.t. the policy's raw head.
// twin: engine/cpu policyBackward
// tests: engine/cuda TestHostAgentUpdate, TestGPUAgentUpdate
KERNEL void mbpo_policy_backward(float *dhead, const float *head, const float *eps, const float *dact,
                                 const float *log_alpha, int n, int A, float lsmin, float lsmax) {
	kctx k = thread_ctx();
	mbpo_policy_backward(&k, dhead, head, eps, dact, log_alpha, n, A, lsmin, lsmax);
}
