// agent.go: the SAC learner (engine.Agent) on the CPU: a tanh-Gaussian policy,
// twin Q critics with Polyak-averaged targets and a learned temperature, as
// in MBPO's softlearning configuration.
//
// One Update, in order (engine.go fixes the semantics):
//
//	y      = r + γ(1-done)(min(Q1ᵗ,Q2ᵗ)(s',a') - α·logπ(a'|s')), a' ~ π(s')
//	critic = ½·mean((Q_i(s,a) - y)²) for i = 1, 2; Adam step on q1, q2
//	actor  = mean(α·logπ(ã|s) - min(Q1,Q2)(s,ã)), ã ~ π(s), updated critics
//	alpha  = -mean(logα·(logπ(ã|s) + TargetEntropy))
//	targets ← τ·q + (1-τ)·targets
package cpu

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// actChunk is the number of rows Act handles at a time.
const actChunk = 4096

// agent implements engine.Agent.
type agent struct {
	blas           *blas
	spec           engine.AgentSpec
	policy, critic network

	// The buffers of layout.go, by field.
	pol, q1, q2, q1t, q2t, logAlpha []float32
	polM, polV, q1M, q1V, q2M, q2V  []float32
	alphaM, alphaV                  []float32
	gPol, gQ1, gQ2, gAlpha          []float32 // gradients
	vPol, vQ1, vQ2, vQ1t, vQ2t      netView
	gvPol, gvQ1, gvQ2               netView
	step                            int64 // Adam steps taken (shared by all four optimisers)
	upd                             *updateScratch
	act                             *actScratch
}

// updateScratch is Update's scratch for batches of up to rows rows.
type updateScratch struct {
	rows              int
	eps               []float32 // [2][rows][Act]: s' noise then s noise
	xq                []float32 // critic input [rows][Obs+Act]
	act, dact         []float32 // [rows][Act]
	logp, y           []float32 // [rows]
	trPol, trQ1, trQ2 *trace
}

// actScratch is Act's scratch for one chunk.
type actScratch struct {
	eps []float32
	tr  *trace
}

func newAgent(b *blas, spec engine.AgentSpec, seed uint64) (*agent, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	spec.Hidden = append([]int(nil), spec.Hidden...)
	buf := spec.Init(rng.Key{Seed: seed, Purpose: rng.Init, Step: engine.InitStepAgent})
	a := &agent{
		blas:   b,
		spec:   spec,
		policy: network{sizes: spec.Policy().Sizes, hidden: relu},
		critic: network{sizes: spec.Critic().Sizes, hidden: relu},
		pol:    buf["policy"], q1: buf["q1"], q2: buf["q2"],
		q1t: buf["q1_target"], q2t: buf["q2_target"], logAlpha: buf["log_alpha"],
		polM: buf["policy_adam_m"], polV: buf["policy_adam_v"],
		q1M: buf["q1_adam_m"], q1V: buf["q1_adam_v"],
		q2M: buf["q2_adam_m"], q2V: buf["q2_adam_v"],
		alphaM: buf["log_alpha_adam_m"], alphaV: buf["log_alpha_adam_v"],
	}
	a.gPol = make([]float32, len(a.pol))
	a.gQ1 = make([]float32, len(a.q1))
	a.gQ2 = make([]float32, len(a.q2))
	a.gAlpha = make([]float32, 1)
	pol, cri := spec.Policy(), spec.Critic()
	a.vPol, a.gvPol = mlpView(pol, a.pol), mlpView(pol, a.gPol)
	a.vQ1, a.gvQ1 = mlpView(cri, a.q1), mlpView(cri, a.gQ1)
	a.vQ2, a.gvQ2 = mlpView(cri, a.q2), mlpView(cri, a.gQ2)
	a.vQ1t, a.vQ2t = mlpView(cri, a.q1t), mlpView(cri, a.q2t)
	return a, nil
}

// Spec returns the agent's shape and settings.
func (a *agent) Spec() engine.AgentSpec {
	s := a.spec
	s.Hidden = append([]int(nil), s.Hidden...)
	return s
}

func (a *agent) buffers() map[string][]float32 {
	return map[string][]float32{
		"policy": a.pol, "q1": a.q1, "q2": a.q2,
		"q1_target": a.q1t, "q2_target": a.q2t, "log_alpha": a.logAlpha,
		"policy_adam_m": a.polM, "policy_adam_v": a.polV,
		"q1_adam_m": a.q1M, "q1_adam_v": a.q1V,
		"q2_adam_m": a.q2M, "q2_adam_v": a.q2V,
		"log_alpha_adam_m": a.alphaM, "log_alpha_adam_v": a.alphaV,
	}
}

// State returns a copy of all networks, targets, logα and Adam moments.
func (a *agent) State() engine.State {
	return engine.State{Step: a.step, Buffers: copyBuffers(a.buffers())}
}

// SetState restores a State after checking every buffer's name and length.
func (a *agent) SetState(st engine.State) error {
	if err := setBuffers("agent", a.buffers(), st); err != nil {
		return err
	}
	a.step = st.Step
	return nil
}

func (a *agent) updateScratch(n int) *updateScratch {
	if a.upd != nil && a.upd.rows >= n {
		return a.upd
	}
	O, A := a.spec.Obs, a.spec.Act
	a.upd = &updateScratch{
		rows:  n,
		eps:   make([]float32, 2*n*A),
		xq:    make([]float32, n*(O+A)),
		act:   make([]float32, n*A),
		dact:  make([]float32, n*A),
		logp:  make([]float32, n),
		y:     make([]float32, n),
		trPol: newTrace(a.policy, n, true),
		trQ1:  newTrace(a.critic, n, true),
		trQ2:  newTrace(a.critic, n, true),
	}
	return a.upd
}

// Act writes actions for n observations, a chunk of rows at a time.
func (a *agent) Act(obs []float32, n int, deterministic bool, key rng.Key, act []float32) error {
	O, A := a.spec.Obs, a.spec.Act
	if n < 0 || len(obs) < n*O || len(act) < n*A {
		return fmt.Errorf("cpu engine: Act on n = %d rows needs obs of n·Obs = %d and act of n·Act = %d values, got %d and %d",
			n, n*O, n*A, len(obs), len(act))
	}
	if a.act == nil {
		a.act = &actScratch{eps: make([]float32, actChunk*A), tr: newTrace(a.policy, actChunk, false)}
	}
	s := a.act
	head := s.tr.out[a.policy.layers()-1]
	for r0 := 0; r0 < n; r0 += actChunk {
		c := min(actChunk, n-r0)
		a.blas.forward(a.policy, a.vPol, obs[r0*O:], c, s.tr)
		var eps []float32
		if !deterministic {
			eps = s.eps[:c*A]
			fillNormal(key, eps, uint64(r0*A))
		}
		policyAct(act[r0*A:], head, eps, c, A, a.spec.LogStdMin, a.spec.LogStdMax)
	}
	return nil
}

// checkBatch reports a batch whose slices do not match its N.
func (a *agent) checkBatch(b engine.Batch) error {
	O, A, n := a.spec.Obs, a.spec.Act, b.N
	switch {
	case n < 1:
		return fmt.Errorf("cpu engine: Update batch N = %d, want at least 1", n)
	case len(b.Obs) < n*O || len(b.NextObs) < n*O:
		return fmt.Errorf("cpu engine: Update batch Obs and NextObs need N·Obs = %d values, got %d and %d", n*O, len(b.Obs), len(b.NextObs))
	case len(b.Act) < n*A:
		return fmt.Errorf("cpu engine: Update batch Act needs N·Act = %d values, got %d", n*A, len(b.Act))
	case len(b.Rew) < n || len(b.Done) < n:
		return fmt.Errorf("cpu engine: Update batch Rew and Done need N = %d values, got %d and %d", n, len(b.Rew), len(b.Done))
	}
	return nil
}

// Update performs one SAC update.
func (a *agent) Update(b engine.Batch, key rng.Key) (engine.UpdateStats, error) {
	if err := a.checkBatch(b); err != nil {
		return engine.UpdateStats{}, err
	}
	n, A := b.N, a.spec.Act
	s := a.updateScratch(n)
	fillNormal(key, s.eps[:2*n*A], 0)
	epsNext, epsNow := s.eps[:n*A], s.eps[n*A:2*n*A]

	a.step++
	cfg := adamStep(a.spec.LR, a.step)
	var st engine.UpdateStats
	alpha := float32(math.Exp(float64(a.logAlpha[0])))
	st.Alpha = alpha

	st.Q1Loss, st.Q2Loss, st.QMean = a.criticGradients(b, epsNext, alpha)
	adam(a.q1, a.gQ1, a.q1M, a.q1V, cfg)
	adam(a.q2, a.gQ2, a.q2M, a.q2V, cfg)

	var meanLogp float64
	st.PolicyLoss, meanLogp = a.actorGradients(b.Obs, n, epsNow, alpha)
	adam(a.pol, a.gPol, a.polM, a.polV, cfg)

	// Temperature: the loss is linear in logα, with slope -mean(logπ + H̄).
	slope := -(meanLogp + float64(a.spec.TargetEntropy))
	st.AlphaLoss = float32(float64(a.logAlpha[0]) * slope)
	st.Entropy = float32(-meanLogp)
	a.gAlpha[0] = float32(slope)
	adam(a.logAlpha, a.gAlpha, a.alphaM, a.alphaV, cfg)

	polyak(a.q1t, a.q1, a.spec.Tau)
	polyak(a.q2t, a.q2, a.spec.Tau)
	return st, nil
}

// concatRows writes [x | u] row by row into dst [n][dx+du].
func concatRows(dst, x, u []float32, n, dx, du int) {
	w := dx + du
	for i := 0; i < n; i++ {
		copy(dst[i*w:i*w+dx], x[i*dx:(i+1)*dx])
		copy(dst[i*w+dx:(i+1)*w], u[i*du:(i+1)*du])
	}
}

// criticGradients computes the TD targets with the target critics and the
// policy at s' (noise eps [n][Act]), then fills gQ1 and gQ2 with the gradients
// of both critic losses. It returns the losses and mean Q1(s,a).
func (a *agent) criticGradients(b engine.Batch, eps []float32, alpha float32) (loss1, loss2, qmean float32) {
	n, O, A := b.N, a.spec.Obs, a.spec.Act
	s := a.upd
	lp, lc := a.policy.layers()-1, a.critic.layers()-1

	// Targets (no gradient): a' ~ π(s'), y = r + γ(1-d)(min Qᵗ - α logπ).
	a.blas.forward(a.policy, a.vPol, b.NextObs, n, s.trPol)
	policySample(s.act, s.logp, s.trPol.out[lp], eps, n, A, a.spec.LogStdMin, a.spec.LogStdMax)
	concatRows(s.xq, b.NextObs, s.act, n, O, A)
	a.blas.forward(a.critic, a.vQ1t, s.xq, n, s.trQ1)
	a.blas.forward(a.critic, a.vQ2t, s.xq, n, s.trQ2)
	q1t, q2t := s.trQ1.out[lc], s.trQ2.out[lc]
	for i := 0; i < n; i++ {
		s.y[i] = b.Rew[i] + a.spec.Gamma*(1-b.Done[i])*(min(q1t[i], q2t[i])-alpha*s.logp[i])
	}

	// Critic losses ½·mean((Q_i - y)²) and their output gradients (Q_i - y)/n.
	concatRows(s.xq, b.Obs, b.Act, n, O, A)
	a.blas.forward(a.critic, a.vQ1, s.xq, n, s.trQ1)
	a.blas.forward(a.critic, a.vQ2, s.xq, n, s.trQ2)
	q1, q2 := s.trQ1.out[lc], s.trQ2.out[lc]
	d1, d2 := s.trQ1.grad[lc], s.trQ2.grad[lc]
	var l1, l2, qm float64
	inv := 1 / float32(n)
	for i := 0; i < n; i++ {
		e1, e2 := q1[i]-s.y[i], q2[i]-s.y[i]
		l1 += float64(e1 * e1)
		l2 += float64(e2 * e2)
		qm += float64(q1[i])
		d1[i], d2[i] = e1*inv, e2*inv
	}
	a.blas.backward(a.critic, a.vQ1, &a.gvQ1, s.xq, n, s.trQ1, nil, 0, 0, 0)
	a.blas.backward(a.critic, a.vQ2, &a.gvQ2, s.xq, n, s.trQ2, nil, 0, 0, 0)
	return float32(0.5 * l1 / float64(n)), float32(0.5 * l2 / float64(n)), float32(qm / float64(n))
}

// actorGradients fills gPol with the gradient of the actor loss at ã ~ π(s)
// (noise eps [n][Act]) under the current critics, and returns the loss and
// mean logπ(ã|s).
func (a *agent) actorGradients(obs []float32, n int, eps []float32, alpha float32) (loss float32, meanLogp float64) {
	O, A := a.spec.Obs, a.spec.Act
	s := a.upd
	lp, lc := a.policy.layers()-1, a.critic.layers()-1

	a.blas.forward(a.policy, a.vPol, obs, n, s.trPol)
	head := s.trPol.out[lp]
	policySample(s.act, s.logp, head, eps, n, A, a.spec.LogStdMin, a.spec.LogStdMax)
	concatRows(s.xq, obs, s.act, n, O, A)
	a.blas.forward(a.critic, a.vQ1, s.xq, n, s.trQ1)
	a.blas.forward(a.critic, a.vQ2, s.xq, n, s.trQ2)

	// min(Q1, Q2): its gradient -1/n flows into the smaller critic (Q1 on ties).
	q1, q2 := s.trQ1.out[lc], s.trQ2.out[lc]
	d1, d2 := s.trQ1.grad[lc], s.trQ2.grad[lc]
	var sum, sumLogp float64
	inv := 1 / float32(n)
	for i := 0; i < n; i++ {
		q := q1[i]
		d1[i], d2[i] = -inv, 0
		if q2[i] < q1[i] {
			q = q2[i]
			d1[i], d2[i] = 0, -inv
		}
		sum += float64(alpha*s.logp[i] - q)
		sumLogp += float64(s.logp[i])
	}
	// dL/dã through both critics' inputs (action columns only), no weight gradients.
	a.blas.backward(a.critic, a.vQ1, nil, s.xq, n, s.trQ1, s.dact, O, O+A, 0)
	a.blas.backward(a.critic, a.vQ2, nil, s.xq, n, s.trQ2, s.dact, O, O+A, 1)

	policyBackward(s.trPol.grad[lp], head, eps, s.dact, alpha*inv, n, A, a.spec.LogStdMin, a.spec.LogStdMax)
	a.blas.backward(a.policy, a.vPol, &a.gvPol, obs, n, s.trPol, nil, 0, 0, 0)
	return float32(sum / float64(n)), sumLogp / float64(n)
}
