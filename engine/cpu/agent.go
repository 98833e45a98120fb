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
//
// The work is split over the engine's workers: the two critics (and their
// targets) run side by side, and the policy's passes over the batch are cut
// into row blocks of about policyBlockRows rows, whose gradients are summed
// in block order. The blocks depend only on the batch size, never on the
// number of workers, so an update gives bitwise the same result on any
// number of threads.

package cpu

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// actChunk is the number of rows Act handles at a time.
const actChunk = 4096

// adamPiece is the number of policy parameters one worker steps at a time.
// The pieces start at multiples of it, whatever the number of workers: the
// vectorised Adam treats a piece's tail apart, so moving the boundaries
// would change the last bits.
const adamPiece = 1 << 14

// policyBlockRows is the most rows of an Update's policy block: a batch of
// 256 makes two blocks, one per core of a 2-core machine.
const policyBlockRows = 128

// agent implements engine.Agent.
type agent struct {
	mm             matmul
	team           *team
	spec           engine.AgentSpec
	policy, critic network

	// The buffers of layout.go, by field.
	pol, q1, q2, q1t, q2t, logAlpha []float32
	polM, polV, q1M, q1V, q2M, q2V  []float32
	alphaM, alphaV                  []float32
	gQ1, gQ2, gAlpha                []float32 // gradients
	gPol                            [][]float32
	vPol                            netView
	vQ, vQt, gvQ                    [2]netView // critics, targets, critic gradients
	wPol                            bf16Net    // bf16: the policy's weights rounded
	wQ, wQt                         [2]bf16Net // bf16: the critics' and targets' weights rounded
	gvPol                           []netView  // per row block: policy gradient (block 0's is the sum)
	step                            int64      // Adam steps taken (shared by all four optimisers)

	upd  *updateScratch
	acts []*actScratch // per worker
	call agentCall
}

// updateScratch is Update's scratch for batches of up to rows rows, the
// policy's passes cut into row blocks (agent.blocks).
type updateScratch struct {
	rows    int
	eps     []float32    // [2][rows][Act]: s' noise then s noise
	xq      []float32    // critic input [rows][Obs+Act]
	act     []float32    // [rows][Act]
	dact    [2][]float32 // per critic: the actor loss gradient w.r.t. ã [rows][Act]
	logp, y []float32    // [rows]
	trPol   []*trace     // per row block
	trQ     [2]*trace    // per critic
}

// actScratch is Act's scratch for one chunk.
type actScratch struct {
	eps []float32
	tr  *trace
}

// agentCall is what the workers of one call share.
type agentCall struct {
	op            agentOp
	b             engine.Batch
	obs, out      []float32
	eps           []float32
	n             int
	key           rng.Key
	fillNoise     bool // the target pass also draws the noise of the update
	alpha         float32
	applyAdam     bool
	cfg           adamConfig
	loss          [2]float64 // per critic
	qsum          float64
	deterministic bool
}

type agentOp int

const (
	opTargetPolicy agentOp = iota
	opTargetCritics
	opCritics
	opActorPolicy
	opActorCritics
	opActorBack
	opPolicyBack
	opPolicyAdam
	opAct
)

func newAgent(mm matmul, workers int, spec engine.AgentSpec, seed uint64) (*agent, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	spec = spec.Clone()
	buf := spec.Init(rng.Key{Seed: seed, Purpose: rng.Init, Step: engine.InitStepAgent})
	a := &agent{
		mm:     mm,
		spec:   spec,
		policy: network{sizes: spec.Policy().Sizes, hidden: relu},
		critic: network{sizes: spec.Critic().Sizes, hidden: relu},
		pol:    buf["policy"], q1: buf["q1"], q2: buf["q2"],
		q1t: buf["q1_target"], q2t: buf["q2_target"], logAlpha: buf["log_alpha"],
		polM: buf["policy_adam_m"], polV: buf["policy_adam_v"],
		q1M: buf["q1_adam_m"], q1V: buf["q1_adam_v"],
		q2M: buf["q2_adam_m"], q2V: buf["q2_adam_v"],
		alphaM: buf["log_alpha_adam_m"], alphaV: buf["log_alpha_adam_v"],
		acts: make([]*actScratch, workers),
	}
	a.team = newTeam(a, workers)
	a.gQ1 = make([]float32, len(a.q1))
	a.gQ2 = make([]float32, len(a.q2))
	a.gAlpha = make([]float32, 1)
	pol, cri := spec.Policy(), spec.Critic()
	a.vPol = mlpView(pol, a.pol)
	a.vQ = [2]netView{mlpView(cri, a.q1), mlpView(cri, a.q2)}
	a.vQt = [2]netView{mlpView(cri, a.q1t), mlpView(cri, a.q2t)}
	a.gvQ = [2]netView{mlpView(cri, a.gQ1), mlpView(cri, a.gQ2)}
	a.wPol = mm.newBF16Net(a.policy)
	for i := range a.wQ {
		a.wQ[i], a.wQt[i] = mm.newBF16Net(a.critic), mm.newBF16Net(a.critic)
	}
	return a, nil
}

// Spec returns the agent's shape and settings.
func (a *agent) Spec() engine.AgentSpec { return a.spec.Clone() }

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

// updateScratch returns Update's scratch for n rows.
func (a *agent) updateScratch(n int) *updateScratch {
	if a.upd != nil && a.upd.rows >= n {
		return a.upd
	}
	O, A := a.spec.Obs, a.spec.Act
	blocks := a.blocks(n)
	s := &updateScratch{
		rows: n,
		eps:  make([]float32, 2*n*A),
		xq:   make([]float32, n*(O+A)),
		act:  make([]float32, n*A),
		dact: [2][]float32{make([]float32, n*A), make([]float32, n*A)},
		logp: make([]float32, n),
		y:    make([]float32, n),
		trQ:  [2]*trace{a.mm.newTrace(a.critic, n, true), a.mm.newTrace(a.critic, n, true)},
	}
	for p := 0; p < blocks; p++ {
		s.trPol = append(s.trPol, a.mm.newTrace(a.policy, min(n, policyBlockRows), true)) // a block of any n' <= n fits
	}
	for len(a.gPol) < blocks {
		g := make([]float32, len(a.pol))
		a.gPol = append(a.gPol, g)
		a.gvPol = append(a.gvPol, mlpView(a.spec.Policy(), g))
	}
	a.upd = s
	return s
}

// blocks is the number of row blocks the policy's passes over n rows use:
// n/policyBlockRows rounded up, whatever the number of workers.
func (a *agent) blocks(n int) int { return (n + policyBlockRows - 1) / policyBlockRows }

// run does item i of the call in progress on worker w.
func (a *agent) run(w, i int) {
	switch a.call.op {
	case opTargetPolicy:
		a.targetPolicyBlock(i)
	case opTargetCritics:
		// In bf16 the critics' weights are rounded here, once per update
		// (and again after their Adam step, criticStep).
		a.wQt[i].round(a.vQt[i])
		a.wQ[i].round(a.vQ[i])
		s, n := a.upd, a.call.b.N
		a.mm.forward(a.critic, a.vQt[i], a.wQt[i], s.xq, n, s.trQ[i])
	case opCritics:
		a.criticStep(i)
	case opActorPolicy:
		a.actorPolicyBlock(i)
	case opActorCritics:
		a.mm.forward(a.critic, a.vQ[i], a.wQ[i], a.upd.xq, a.call.n, a.upd.trQ[i])
	case opActorBack:
		// dL/dã through critic i's input (action columns only), no weight gradients.
		O, A := a.spec.Obs, a.spec.Act
		a.mm.backward(a.critic, a.vQ[i], a.wQ[i], nil, a.upd.xq, a.call.n, a.upd.trQ[i], a.upd.dact[i], O, O+A, 0)
	case opPolicyBack:
		a.policyBackBlock(i)
	case opPolicyAdam:
		lo, hi := i*adamPiece, min((i+1)*adamPiece, len(a.pol))
		adam(a.pol[lo:hi], a.gPol[0][lo:hi], a.polM[lo:hi], a.polV[lo:hi], a.call.cfg)
	case opAct:
		a.actChunk(w, i)
	}
}

// Act writes actions for n observations, chunks of rows spread over the workers.
func (a *agent) Act(obs []float32, n int, deterministic bool, key rng.Key, act []float32) error {
	A := a.spec.Act
	if err := engine.CheckAct(who, a.spec, obs, n, act); err != nil {
		return err
	}
	for w := range a.acts {
		if a.acts[w] == nil {
			a.acts[w] = &actScratch{eps: make([]float32, actChunk*A), tr: a.mm.newTrace(a.policy, actChunk, false)}
		}
	}
	a.wPol.round(a.vPol)
	c := &a.call
	c.op, c.obs, c.out, c.n, c.deterministic, c.key = opAct, obs, act, n, deterministic, key
	a.team.do((n+actChunk-1)/actChunk, a)
	c.obs, c.out = nil, nil
	return nil
}

// actChunk samples the actions of chunk k.
func (a *agent) actChunk(w, k int) {
	O, A := a.spec.Obs, a.spec.Act
	s := a.acts[w]
	r0 := k * actChunk
	c := min(actChunk, a.call.n-r0)
	a.mm.forward(a.policy, a.vPol, a.wPol, a.call.obs[r0*O:], c, s.tr)
	var eps []float32
	if !a.call.deterministic {
		eps = s.eps[:c*A]
		fillNormal(a.call.key, eps, uint64(r0*A))
	}
	policyAct(a.call.out[r0*A:], s.tr.out[a.policy.layers()-1], eps, c, A, a.spec.LogStdMin, a.spec.LogStdMax)
}

// Update performs one SAC update.
func (a *agent) Update(b engine.Batch, key rng.Key) (engine.UpdateStats, error) {
	if err := engine.CheckBatch(who, a.spec, b); err != nil {
		return engine.UpdateStats{}, err
	}
	n, A := b.N, a.spec.Act
	s := a.updateScratch(n)
	epsNext, epsNow := s.eps[:n*A], s.eps[n*A:2*n*A]

	a.step++
	cfg := adamStep(a.spec.LR, a.step)
	var st engine.UpdateStats
	alpha := float32(math.Exp(float64(a.logAlpha[0])))
	st.Alpha = alpha

	// Critics, their Adam steps and the soft target update (the targets are
	// not read again in this update, so they can move right away).
	a.call.fillNoise, a.call.key = true, key
	a.call.applyAdam, a.call.cfg = true, cfg
	st.Q1Loss, st.Q2Loss, st.QMean = a.criticGradients(b, epsNext, alpha)
	a.call.fillNoise, a.call.applyAdam = false, false

	var meanLogp float64
	st.PolicyLoss, meanLogp = a.actorGradients(b.Obs, n, epsNow, alpha)
	a.call.op = opPolicyAdam
	a.team.do((len(a.pol)+adamPiece-1)/adamPiece, a)

	// Temperature: the loss is linear in logα, with slope -mean(logπ + H̄).
	slope := -(meanLogp + float64(a.spec.TargetEntropy))
	st.AlphaLoss = float32(float64(a.logAlpha[0]) * slope)
	st.Entropy = float32(-meanLogp)
	a.gAlpha[0] = float32(slope)
	adam(a.logAlpha, a.gAlpha, a.alphaM, a.alphaV, cfg)
	a.call.b = engine.Batch{}
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
// of both critic losses (and, when a.call.applyAdam is set, takes their Adam
// and soft target steps). It returns the losses and mean Q1(s,a).
// a.updateScratch(b.N) must have been called. In bf16 it rounds the weights
// of every network (actorGradients, which follows it, relies on that).
func (a *agent) criticGradients(b engine.Batch, eps []float32, alpha float32) (loss1, loss2, qmean float32) {
	n, O, A := b.N, a.spec.Obs, a.spec.Act
	s := a.upd
	c := &a.call
	c.b, c.n, c.eps, c.alpha = b, n, eps, alpha
	a.wPol.round(a.vPol)

	// Targets (no gradient): a' ~ π(s'), y = r + γ(1-d)(min Qᵗ - α logπ).
	c.op = opTargetPolicy
	a.team.do(a.blocks(n), a)
	c.op = opTargetCritics
	a.team.do(2, a)
	lc := a.critic.layers() - 1
	q1t, q2t := s.trQ[0].out[lc], s.trQ[1].out[lc]
	for i := 0; i < n; i++ {
		s.y[i] = b.Rew[i] + a.spec.Gamma*(1-b.Done[i])*(min(q1t[i], q2t[i])-alpha*s.logp[i])
	}

	concatRows(s.xq, b.Obs, b.Act, n, O, A)
	c.op = opCritics
	a.team.do(2, a)
	return float32(0.5 * c.loss[0] / float64(n)), float32(0.5 * c.loss[1] / float64(n)), float32(c.qsum / float64(n))
}

// targetPolicyBlock samples a' ~ π(s') for row block p and writes [s', a']
// into the critic input, drawing the block's noise first when asked to.
func (a *agent) targetPolicyBlock(p int) {
	c, s := &a.call, a.upd
	n, O, A := c.n, a.spec.Obs, a.spec.Act
	lo, hi := split(n, a.blocks(n), p)
	if c.fillNoise {
		// s' noise is number i·Act+j of the key; s noise N·Act + i·Act+j.
		fillNormal(c.key, s.eps[lo*A:hi*A], uint64(lo*A))
		fillNormal(c.key, s.eps[(n+lo)*A:(n+hi)*A], uint64((n+lo)*A))
	}
	tr := s.trPol[p]
	a.mm.forward(a.policy, a.vPol, a.wPol, c.b.NextObs[lo*O:], hi-lo, tr)
	policySample(s.act[lo*A:], s.logp[lo:], tr.out[a.policy.layers()-1], c.eps[lo*A:], hi-lo, A,
		a.spec.LogStdMin, a.spec.LogStdMax)
	concatRows(s.xq[lo*(O+A):], c.b.NextObs[lo*O:], s.act[lo*A:], hi-lo, O, A)
}

// criticStep runs critic i on (s, a): loss ½·mean((Q_i - y)²), its output
// gradient (Q_i - y)/n, the backward pass and, if asked, Adam and the soft
// target update.
func (a *agent) criticStep(i int) {
	c, s := &a.call, a.upd
	n := c.n
	tr := s.trQ[i]
	a.mm.forward(a.critic, a.vQ[i], a.wQ[i], s.xq, n, tr)
	lc := a.critic.layers() - 1
	q, d := tr.out[lc], tr.grad[lc]
	var loss, qsum float64
	inv := 1 / float32(n)
	for r := 0; r < n; r++ {
		e := q[r] - s.y[r]
		loss += float64(e * e)
		qsum += float64(q[r])
		d[r] = e * inv
	}
	c.loss[i] = loss
	if i == 0 {
		c.qsum = qsum
	}
	a.mm.backward(a.critic, a.vQ[i], a.wQ[i], &a.gvQ[i], s.xq, n, tr, nil, 0, 0, 0)
	if c.applyAdam {
		q, g, m, v, t := a.q1, a.gQ1, a.q1M, a.q1V, a.q1t
		if i == 1 {
			q, g, m, v, t = a.q2, a.gQ2, a.q2M, a.q2V, a.q2t
		}
		adam(q, g, m, v, c.cfg)
		polyak(t, q, a.spec.Tau)
		a.wQ[i].round(a.vQ[i]) // the actor's pass uses the updated critic
	}
}

// actorGradients fills gPol[0] with the gradient of the actor loss at
// ã ~ π(s) (noise eps [n][Act]) under the current critics, and returns the
// loss and mean logπ(ã|s). a.updateScratch(n) must have been called, and in
// bf16 criticGradients before it (it rounds the weights).
func (a *agent) actorGradients(obs []float32, n int, eps []float32, alpha float32) (loss float32, meanLogp float64) {
	s := a.upd
	c := &a.call
	c.obs, c.n, c.eps, c.alpha = obs, n, eps, alpha
	c.op = opActorPolicy
	a.team.do(a.blocks(n), a)
	c.op = opActorCritics
	a.team.do(2, a)

	// min(Q1, Q2): its gradient -1/n flows into the smaller critic (Q1 on ties).
	lc := a.critic.layers() - 1
	q1, q2 := s.trQ[0].out[lc], s.trQ[1].out[lc]
	d1, d2 := s.trQ[0].grad[lc], s.trQ[1].grad[lc]
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
	c.op = opActorBack
	a.team.do(2, a)
	blocks := a.blocks(n)
	c.op = opPolicyBack
	a.team.do(blocks, a)
	for p := 1; p < blocks; p++ {
		axpy(a.gPol[0], a.gPol[p], 1)
	}
	c.obs = nil
	return float32(sum / float64(n)), sumLogp / float64(n)
}

// actorPolicyBlock samples ã ~ π(s) for row block p, keeping the policy's
// forward pass for the backward one, and writes [s, ã] into the critic input.
func (a *agent) actorPolicyBlock(p int) {
	c, s := &a.call, a.upd
	n, O, A := c.n, a.spec.Obs, a.spec.Act
	lo, hi := split(n, a.blocks(n), p)
	tr := s.trPol[p]
	a.mm.forward(a.policy, a.vPol, a.wPol, c.obs[lo*O:], hi-lo, tr)
	policySample(s.act[lo*A:], s.logp[lo:], tr.out[a.policy.layers()-1], c.eps[lo*A:], hi-lo, A,
		a.spec.LogStdMin, a.spec.LogStdMax)
	concatRows(s.xq[lo*(O+A):], c.obs[lo*O:], s.act[lo*A:], hi-lo, O, A)
}

// policyBackBlock back-propagates the actor loss through the policy on row
// block p into the block's gradient buffer gPol[p].
func (a *agent) policyBackBlock(p int) {
	c, s := &a.call, a.upd
	n, O, A := c.n, a.spec.Obs, a.spec.Act
	lo, hi := split(n, a.blocks(n), p)
	dact := s.dact[0][lo*A : hi*A]
	axpy(dact, s.dact[1][lo*A:hi*A], 1)
	tr := s.trPol[p]
	lp := a.policy.layers() - 1
	policyBackward(tr.grad[lp], tr.out[lp], c.eps[lo*A:], dact, c.alpha/float32(n), hi-lo, A,
		a.spec.LogStdMin, a.spec.LogStdMax)
	a.mm.backward(a.policy, a.vPol, a.wPol, &a.gvPol[p], c.obs[lo*O:], hi-lo, tr, nil, 0, 0, 0)
}
