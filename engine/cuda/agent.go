// agent.go: the SAC learner (engine.Agent) on the GPU: a tanh-Gaussian
// policy, twin Q critics with Polyak-averaged targets and a learned
// temperature, with the CPU engine's semantics (engine.go):
//
//	y      = r + γ(1-done)(min(Q1ᵗ,Q2ᵗ)(s',a') - α·logπ(a'|s')), a' ~ π(s')
//	critic = ½·mean((Q_i(s,a) - y)²) for i = 1, 2; Adam step on q1, q2
//	actor  = mean(α·logπ(ã|s) - min(Q1,Q2)(s,ã)), ã ~ π(s), updated critics
//	alpha  = -mean(logα·(logπ(ã|s) + TargetEntropy))
//	targets ← τ·q + (1-τ)·targets
//
// The two critics (and the two targets) sit one after the other in one
// buffer, so each of their layers is one batched launch; the critics' Adam
// step and the targets' Polyak update are one launch. The temperature, the
// step count and the statistics stay on the device.

package cuda

import (
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
)

// agent implements engine.Agent.
type agent struct {
	m                kernels.Machine
	spec             engine.AgentSpec
	pol, cri         engine.MLP
	polSt, criSt     stack // the policy; both critics (and both targets)
	plan             kernels.ForwardPlan
	mem              arena
	np, nq           int // parameters of the policy and of one critic
	fixed, batchMark int

	// Parameters, gradients and Adam moments ("q" holds q1 then q2, "qt"
	// q1_target then q2_target).
	policy, q, qt, logAlpha kernels.Ptr
	gPol, gQ, gAlpha        kernels.Ptr
	polM, polV, qM, qV      kernels.Ptr
	alphaM, alphaV          kernels.Ptr
	sched, key, stats       kernels.Ptr
	hostStats               []float32
	actRows                 int
	actObs, actHead, actOut kernels.Ptr
	rows                    int // Update scratch size
	gen                     int // counts reallocations of the Update scratch, which invalidate recorded graphs
	obs, act, rew, next     kernels.Ptr
	done, y, logp, xq       kernels.Ptr
	epsNext, epsNow, actPi  kernels.Ptr
	dact                    kernels.Ptr // the actor loss's gradient w.r.t. ã through each critic [2][n][A]
	trPol, trQ              *trace
}

func newAgent(m kernels.Machine, spec engine.AgentSpec, seed uint64) (*agent, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cuda engine: %w", err)
	}
	spec = spec.Clone()
	plan, err := kernels.PlanPolicy(spec)
	if err != nil {
		return nil, fmt.Errorf("cuda engine: %w", err)
	}
	a := &agent{m: m, spec: spec, pol: spec.Policy(), cri: spec.Critic(), plan: plan, mem: arena{m: m}}
	a.polSt, a.criSt = mlpStack(a.pol, 1), mlpStack(a.cri, 2)
	a.np, a.nq = a.pol.NumParams(), a.cri.NumParams()
	ar := &a.mem
	a.policy, a.q, a.qt, a.logAlpha = ar.floats(a.np), ar.floats(2*a.nq), ar.floats(2*a.nq), ar.floats(1)
	a.gPol, a.gQ, a.gAlpha = ar.floats(a.np), ar.floats(2*a.nq), ar.floats(1)
	a.polM, a.polV, a.qM, a.qV = ar.floats(a.np), ar.floats(a.np), ar.floats(2*a.nq), ar.floats(2*a.nq)
	a.alphaM, a.alphaV = ar.floats(1), ar.floats(1)
	a.sched, a.key, a.stats = ar.bytes(kernels.SchedBytes), ar.bytes(kernels.KeyBytes), ar.floats(7)
	a.fixed = len(ar.ptrs)
	a.batchMark = a.fixed
	if ar.err != nil {
		a.Close()
		return nil, ar.err
	}
	a.hostStats = make([]float32, 7)
	st := engine.State{Buffers: spec.Init(rng.Key{Seed: seed, Purpose: rng.Init, Step: engine.InitStepAgent})}
	if err := upload(m, a.buffers(), st); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// Close frees the agent's device memory.
func (a *agent) Close() error { return a.mem.release(0) }

// Spec returns the agent's shape and settings.
func (a *agent) Spec() engine.AgentSpec { return a.spec.Clone() }

func (a *agent) buffers() map[string]named {
	np, nq := a.np, a.nq
	return map[string]named{
		"policy": {a.policy, np}, "q1": {a.q, nq}, "q2": {at(a.q, nq), nq},
		"q1_target": {a.qt, nq}, "q2_target": {at(a.qt, nq), nq}, "log_alpha": {a.logAlpha, 1},
		"policy_adam_m": {a.polM, np}, "policy_adam_v": {a.polV, np},
		"q1_adam_m": {a.qM, nq}, "q1_adam_v": {a.qV, nq},
		"q2_adam_m": {at(a.qM, nq), nq}, "q2_adam_v": {at(a.qV, nq), nq},
		"log_alpha_adam_m": {a.alphaM, 1}, "log_alpha_adam_v": {a.alphaV, 1},
	}
}

// State returns a copy of all networks, targets, logα, Adam moments and the
// step. It panics if the device fails.
func (a *agent) State() engine.State { return readState(a.m, "agent", a.buffers(), a.sched) }

// SetState restores a State after checking every buffer's name and length.
func (a *agent) SetState(st engine.State) error {
	return writeState(a.m, "agent", a.buffers(), a.sched, st)
}

// scratch makes room for SAC updates on batches of up to n rows (Act's
// scratch, allocated after it, is dropped when this grows).
func (a *agent) scratch(n int) error {
	if n <= a.rows {
		return nil
	}
	if err := a.mem.release(a.fixed); err != nil {
		return err
	}
	a.rows, a.actRows = 0, 0
	O, A := a.spec.Obs, a.spec.Act
	ar := &a.mem
	a.obs, a.act, a.rew, a.next, a.done = ar.floats(n*O), ar.floats(n*A), ar.floats(n), ar.floats(n*O), ar.floats(n)
	a.y, a.logp, a.xq = ar.floats(n), ar.floats(n), ar.floats(n*(O+A))
	a.epsNext, a.epsNow, a.actPi = ar.floats(n*A), ar.floats(n*A), ar.floats(n*A)
	a.dact = ar.floats(2 * n * A)
	a.trPol, a.trQ = a.polSt.newTrace(ar, n), a.criSt.newTrace(ar, n)
	a.batchMark = len(ar.ptrs)
	a.gen++
	if err := ar.settle(a.fixed); err != nil {
		a.batchMark = a.fixed
		return err
	}
	a.rows = n
	return nil
}

// actScratch makes room for Act on n rows.
func (a *agent) actScratch(n int) error {
	if n <= a.actRows {
		return nil
	}
	if err := a.mem.release(a.batchMark); err != nil {
		return err
	}
	a.actRows = 0
	ar := &a.mem
	a.actObs, a.actHead, a.actOut = ar.floats(n*a.spec.Obs), ar.floats(n*2*a.spec.Act), ar.floats(n*a.spec.Act)
	if err := ar.settle(a.batchMark); err != nil {
		return err
	}
	a.actRows = n
	return nil
}

// Act writes actions for n observations.
func (a *agent) Act(obs []float32, n int, deterministic bool, key rng.Key, act []float32) error {
	O, A := a.spec.Obs, a.spec.Act
	if err := engine.CheckAct(who, a.spec, obs, n, act); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := a.actScratch(n); err != nil {
		return err
	}
	m := a.m
	if err := firstErr(kernels.Upload(m, a.actObs, obs[:n*O]), m.Upload(a.key, kernels.EncodeKey(key))); err != nil {
		return err
	}
	if err := a.queueAct(a.actObs, n, 0, a.actHead, a.actOut, 0, a.key, deterministic); err != nil {
		return err
	}
	return kernels.Download(m, act[:n*A], a.actOut)
}

// queueAct queues actions for n rows of obs (or the count at nDev): the
// policy's fused forward into head [n][2A], then the actions into act and,
// unless x is 0, the model inputs [obs, act] into x.
func (a *agent) queueAct(obs kernels.Ptr, n int, nDev, head, act, x, key kernels.Ptr, deterministic bool) error {
	s := a.spec
	if err := kernels.Forward(a.m, a.plan, head, 0, obs, a.policy, 0, 0, n, nDev); err != nil {
		return err
	}
	return kernels.PolicyAct(a.m, act, x, head, obs, key, n, nDev, s.Obs, s.Act, s.LogStdMin, s.LogStdMax, deterministic)
}

// Update performs one SAC update.
func (a *agent) Update(b engine.Batch, key rng.Key) (engine.UpdateStats, error) {
	if err := engine.CheckBatch(who, a.spec, b); err != nil {
		return engine.UpdateStats{}, err
	}
	n, O, A := b.N, a.spec.Obs, a.spec.Act
	if err := a.scratch(n); err != nil {
		return engine.UpdateStats{}, err
	}
	m := a.m
	if err := firstErr(
		kernels.Upload(m, a.obs, b.Obs[:n*O]), kernels.Upload(m, a.act, b.Act[:n*A]), kernels.Upload(m, a.rew, b.Rew[:n]),
		kernels.Upload(m, a.next, b.NextObs[:n*O]), kernels.Upload(m, a.done, b.Done[:n]),
		m.Upload(a.key, kernels.EncodeKey(key)),
	); err != nil {
		return engine.UpdateStats{}, err
	}
	if err := a.queueUpdate(n, a.key, 0); err != nil {
		return engine.UpdateStats{}, err
	}
	if err := kernels.Download(m, a.hostStats, a.stats); err != nil {
		return engine.UpdateStats{}, err
	}
	return statsFrom(a.hostStats), nil
}

// statsFrom reads the seven statistics in engine.UpdateStats' order.
func statsFrom(s []float32) engine.UpdateStats {
	return engine.UpdateStats{Q1Loss: s[0], Q2Loss: s[1], PolicyLoss: s[2], AlphaLoss: s[3], Alpha: s[4], Entropy: s[5], QMean: s[6]}
}

// queueUpdate queues one SAC update on the batch in a.obs ... a.done with
// the noise key at key; acc (may be 0) accumulates the statistics.
func (a *agent) queueUpdate(n int, key, acc kernels.Ptr) error {
	m, s := a.m, a.spec
	O, A := s.Obs, s.Act
	if err := kernels.Tick(m, a.sched); err != nil {
		return err
	}
	// Targets: a' ~ π(s') (noise numbers [0, n·A)), both target critics.
	if err := a.polSt.forward(m, a.policy, a.next, 0, n, a.trPol); err != nil {
		return err
	}
	if err := kernels.PolicySample(m, a.actPi, a.epsNext, a.logp, a.xq, a.trPol.out(), a.next, key, 0, n, O, A,
		s.LogStdMin, s.LogStdMax); err != nil {
		return err
	}
	if err := a.criSt.forward(m, a.qt, a.xq, 0, n, a.trQ); err != nil {
		return err
	}
	if err := kernels.TDTarget(m, a.y, a.trQ.out(), a.rew, a.done, a.logp, a.logAlpha, s.Gamma, n); err != nil {
		return err
	}
	// Critics on (s, a), their gradients, Adam and the targets' update.
	if err := kernels.Concat(m, a.xq, a.obs, a.act, n, O, A); err != nil {
		return err
	}
	if err := a.criSt.forward(m, a.q, a.xq, 0, n, a.trQ); err != nil {
		return err
	}
	if err := kernels.CriticGrad(m, a.trQ.grad(), a.stats, a.trQ.out(), a.y, n); err != nil {
		return err
	}
	if err := a.criSt.backward(m, a.q, a.gQ, a.xq, 0, n, a.trQ, 0, 0, 0); err != nil {
		return err
	}
	if err := kernels.Adam(m, kernels.AdamArgs{P: a.q, G: a.gQ, M: a.qM, V: a.qV, Target: a.qt, Sched: a.sched,
		N: 2 * a.nq, LR: s.LR, Tau: s.Tau}); err != nil {
		return err
	}
	// Actor: ã ~ π(s) (noise numbers [n·A, 2n·A)) under the updated critics.
	if err := a.polSt.forward(m, a.policy, a.obs, 0, n, a.trPol); err != nil {
		return err
	}
	if err := kernels.PolicySample(m, a.actPi, a.epsNow, a.logp, a.xq, a.trPol.out(), a.obs, key, uint64(n*A), n, O, A,
		s.LogStdMin, s.LogStdMax); err != nil {
		return err
	}
	if err := a.criSt.forward(m, a.q, a.xq, 0, n, a.trQ); err != nil {
		return err
	}
	if err := kernels.ActorGrad(m, a.trQ.grad(), a.stats, a.gAlpha, acc, a.trQ.out(), a.logp, a.logAlpha,
		s.TargetEntropy, n); err != nil {
		return err
	}
	if err := a.criSt.backward(m, a.q, 0, a.xq, 0, n, a.trQ, a.dact, O, A); err != nil {
		return err
	}
	if err := kernels.PolicyBackward(m, a.trPol.grad(), a.trPol.out(), a.epsNow, a.dact, a.logAlpha, n, A,
		s.LogStdMin, s.LogStdMax); err != nil {
		return err
	}
	if err := a.polSt.backward(m, a.policy, a.gPol, a.obs, 0, n, a.trPol, 0, 0, 0); err != nil {
		return err
	}
	if err := kernels.Adam(m, kernels.AdamArgs{P: a.policy, G: a.gPol, M: a.polM, V: a.polV, Sched: a.sched,
		N: a.np, LR: s.LR}); err != nil {
		return err
	}
	// Temperature, last: the updates above used α before its step.
	return kernels.Adam(m, kernels.AdamArgs{P: a.logAlpha, G: a.gAlpha, M: a.alphaM, V: a.alphaV, Sched: a.sched,
		N: 1, LR: s.LR})
}
