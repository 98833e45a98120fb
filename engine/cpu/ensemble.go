// ensemble.go: the bootstrap ensemble of probabilistic dynamics models
// (engine.Ensemble) on the CPU.
//
// Each member is a swish MLP [In, Hidden..., 2·Out] run with one sgemm per
// layer. TrainStep spreads the members over the engine's workers: each
// member's forward pass, loss, backward pass, weight decay and Adam step run
// on one worker; the shared log-variance bounds step last. (Cutting the
// seventh member into row blocks to even out 7 members on 2 workers measured
// slower: the smaller products lose more than the balance gains.)
// Inference (Evaluate, ForwardAll, Predict) works through the rows in chunks
// of inferChunk spread over the workers, so its scratch memory does not grow
// with n.

package cpu

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// inferChunk is the number of rows an inference pass handles at a time.
const inferChunk = 4096

// Adam settings shared by the ensemble and the agent.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// ensemble implements engine.Ensemble.
type ensemble struct {
	mm   matmul
	team *team
	spec engine.EnsembleSpec
	net  network

	params, adamM, adamV, grads []float32
	snap                        []float32 // SaveMembers: weights and biases ("params" up to the bounds)
	saved                       []bool    // per member: snap holds its weights
	normMean, normStd, invStd   []float32
	step                        int64

	members, gradMembers []netView // per-member views of params and grads
	wMembers             []bf16Net // bf16: per member, its weights rounded
	mMembers, vMembers   []netView // per-member views of the Adam moments
	maxLV, minLV         []float32 // views of params
	gMaxLV, gMinLV       []float32 // views of grads

	// Per worker: scratch grown to the largest batch seen, and inference
	// scratch allocated on first use.
	train []*trainScratch
	infer []*inferScratch

	call ensembleCall // the arguments of the call in progress, for run
}

// ensembleCall is what the workers of one call share.
type ensembleCall struct {
	op         ensembleOp
	x, y       []float32
	n, batch   int
	members    []int32
	mean, lv   []float32
	memberLoss []float64 // TrainStep: each member's NLL + weight decay
	memberDMax []float32 // TrainStep: each member's bound gradients [Members][Out]
	memberDMin []float32
	chunkSums  []float64 // Evaluate: per chunk and member, squared errors then NLL terms
	cfg        adamConfig
	applyAdam  bool // TrainStep: each member takes its Adam step as soon as its gradient is ready
}

// release drops the references to the caller's slices.
func (c *ensembleCall) release() {
	c.x, c.y, c.members, c.mean, c.lv = nil, nil, nil, nil, nil
}

type ensembleOp int

const (
	opTrain ensembleOp = iota
	opEvaluate
	opForwardAll
	opPredict
	opRound
)

type trainScratch struct {
	z   []float32 // normalised inputs [batch][In]
	tr  *trace
	acc []float64
}

type inferScratch struct {
	z        []float32 // normalised inputs [inferChunk][In]
	tr       *trace
	acc      []float64
	byMember [][]int32 // Predict: per member, rows of the chunk it predicts
}

func newEnsemble(mm matmul, workers int, spec engine.EnsembleSpec, seed uint64) (*ensemble, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	spec = spec.Clone()
	n := spec.NumParams()
	e := &ensemble{
		mm:       mm,
		spec:     spec,
		net:      network{sizes: spec.Net().Sizes, hidden: swish},
		params:   make([]float32, n),
		adamM:    make([]float32, n),
		adamV:    make([]float32, n),
		grads:    make([]float32, n),
		normMean: make([]float32, spec.In),
		normStd:  make([]float32, spec.In),
		invStd:   make([]float32, spec.In),
	}
	spec.Init(e.params, rng.Key{Seed: seed, Purpose: rng.Init, Step: engine.InitStepEnsemble})
	for i := range e.normStd {
		e.normStd[i], e.invStd[i] = 1, 1
	}
	for m := 0; m < spec.Members; m++ {
		e.members = append(e.members, memberView(spec, e.params, m))
		e.gradMembers = append(e.gradMembers, memberView(spec, e.grads, m))
		e.mMembers = append(e.mMembers, memberView(spec, e.adamM, m))
		e.vMembers = append(e.vMembers, memberView(spec, e.adamV, m))
		e.wMembers = append(e.wMembers, mm.newBF16Net(e.net))
	}
	mx, mn := spec.MaxLogVar(), spec.MinLogVar()
	e.maxLV, e.minLV = e.params[mx:mx+spec.Out], e.params[mn:mn+spec.Out]
	e.gMaxLV, e.gMinLV = e.grads[mx:mx+spec.Out], e.grads[mn:mn+spec.Out]
	e.team = newTeam(e, workers)
	e.train = make([]*trainScratch, workers)
	e.infer = make([]*inferScratch, workers)
	e.call.memberLoss = make([]float64, spec.Members)
	e.call.memberDMax = make([]float32, spec.Members*spec.Out)
	e.call.memberDMin = make([]float32, spec.Members*spec.Out)
	return e, nil
}

// Spec returns the ensemble's shape and settings.
func (e *ensemble) Spec() engine.EnsembleSpec { return e.spec.Clone() }

// SetNormalizer sets the input normalisation; it panics unless both slices
// have length In, which is a bug in the caller.
func (e *ensemble) SetNormalizer(mean, std []float32) {
	if err := engine.CheckNormalizer(who, e.spec, mean, std); err != nil {
		panic(err.Error())
	}
	copy(e.normMean, mean)
	copy(e.normStd, std)
	e.updateInvStd()
}

func (e *ensemble) updateInvStd() {
	for i, s := range e.normStd {
		if !(s >= 1e-12) {
			s = 1
		}
		e.invStd[i] = 1 / s
	}
}

func (e *ensemble) trainScratch(w, batch int) *trainScratch {
	if s := e.train[w]; s != nil && s.tr.rows >= batch {
		return s
	}
	e.train[w] = &trainScratch{
		z:   make([]float32, batch*e.spec.In),
		tr:  e.mm.newTrace(e.net, batch, true),
		acc: make([]float64, e.spec.Out),
	}
	return e.train[w]
}

func (e *ensemble) inferScratch(w int) *inferScratch {
	if e.infer[w] == nil {
		s := &inferScratch{
			z:        make([]float32, inferChunk*e.spec.In),
			tr:       e.mm.newTrace(e.net, inferChunk, false),
			acc:      make([]float64, 2*e.spec.Out),
			byMember: make([][]int32, e.spec.Members),
		}
		for m := range s.byMember {
			s.byMember[m] = make([]int32, 0, inferChunk)
		}
		e.infer[w] = s
	}
	return e.infer[w]
}

// run does item i of the call in progress on worker w.
func (e *ensemble) run(w, i int) {
	c := &e.call
	switch c.op {
	case opTrain:
		e.trainMember(w, i)
	case opEvaluate:
		e.evaluateChunk(w, i)
	case opForwardAll:
		e.forwardAllChunk(w, i)
	case opPredict:
		e.predictChunk(w, i)
	case opRound:
		e.wMembers[i].round(e.members[i])
	}
}

// chunks is the number of inferChunk-row chunks of n rows.
func chunks(n int) int { return (n + inferChunk - 1) / inferChunk }

// TrainStep takes one Adam step of every member on its own minibatch.
func (e *ensemble) TrainStep(x, y []float32, batch int) (float32, error) {
	if err := engine.CheckTrainStep(who, e.spec, x, y, batch); err != nil {
		return 0, err
	}
	e.step++
	c := &e.call
	c.applyAdam, c.cfg = true, adamStep(e.spec.LR, e.step)
	loss := e.gradients(x, y, batch)
	c.applyAdam = false
	// The shared bounds (MaxLogVar then MinLogVar) step once all members are in.
	lo := len(e.params) - 2*e.spec.Out // MaxLogVar then MinLogVar end the layout
	adam(e.params[lo:], e.grads[lo:], e.adamM[lo:], e.adamV[lo:], c.cfg)
	return float32(loss), nil
}

// gradients fills e.grads with the gradient of the training loss on the
// members' minibatches and returns the loss (at the parameters before any
// step). With e.call.applyAdam set, every member's own parameters also take
// their Adam step; the shared bounds are left to the caller.
func (e *ensemble) gradients(x, y []float32, batch int) float64 {
	for w := range e.train {
		e.trainScratch(w, batch)
	}
	c := &e.call
	clear(c.memberDMax)
	clear(c.memberDMin)
	c.op, c.x, c.y, c.batch = opTrain, x, y, batch
	e.team.do(e.spec.Members, e)
	c.release()
	loss := 0.0
	for _, l := range c.memberLoss {
		loss += l
	}
	// Summed in member order, so the result does not depend on which worker
	// ran which member.
	clear(e.gMaxLV)
	clear(e.gMinLV)
	out := e.spec.Out
	for m := 0; m < e.spec.Members; m++ {
		axpy(e.gMaxLV, c.memberDMax[m*out:(m+1)*out], 1)
		axpy(e.gMinLV, c.memberDMin[m*out:(m+1)*out], 1)
	}
	for j := range e.gMaxLV {
		loss += engine.LogVarPenalty * float64(e.maxLV[j]-e.minLV[j])
		e.gMaxLV[j] += engine.LogVarPenalty
		e.gMinLV[j] -= engine.LogVarPenalty
	}
	return loss
}

// trainMember computes member m's share of the loss and its gradients: its
// mean Gaussian NLL on its minibatch and its weights' decay; then, if asked,
// the Adam step of its weights and biases (while they are still in cache).
func (e *ensemble) trainMember(w, m int) {
	in, out, batch := e.spec.In, e.spec.Out, e.call.batch
	s := e.train[w]
	L := e.net.layers()
	z := s.z[:batch*in]
	normalize(z, e.call.x[m*batch*in:], e.normMean, e.invStd, batch, in)
	e.wMembers[m].round(e.members[m])
	e.mm.forward(e.net, e.members[m], e.wMembers[m], z, batch, s.tr)
	sum := gaussNLLGrad(s.tr.grad[L-1], e.call.memberDMax[m*out:], e.call.memberDMin[m*out:], s.tr.out[L-1],
		e.call.y[m*batch*out:], e.maxLV, e.minLV, 1/float32(batch*out), batch, out, s.acc)
	loss := sum / float64(batch*out)
	g := &e.gradMembers[m]
	e.mm.backward(e.net, e.members[m], e.wMembers[m], g, z, batch, s.tr, nil, 0, 0, 0)
	for l := 0; l < L; l++ {
		wd := e.spec.WeightDecay[l]
		loss += 0.5 * float64(wd) * sumsq(e.members[m].w[l])
		axpy(g.w[l], e.members[m].w[l], wd)
	}
	e.call.memberLoss[m] = loss
	if e.call.applyAdam {
		p, mo, v := &e.members[m], &e.mMembers[m], &e.vMembers[m]
		for l := 0; l < L; l++ {
			adam(p.w[l], g.w[l], mo.w[l], v.w[l], e.call.cfg)
			adam(p.b[l], g.b[l], mo.b[l], v.b[l], e.call.cfg)
		}
	}
}

// adamStep is the Adam configuration of step t (counted from 1).
func adamStep(lr float32, t int64) adamConfig {
	return adamConfig{
		lr: lr, b1: adamBeta1, b2: adamBeta2, eps: adamEps,
		bc1: float32(1 - math.Pow(adamBeta1, float64(t))),
		bc2: float32(1 - math.Pow(adamBeta2, float64(t))),
	}
}

// Evaluate writes each member's MSE and mean Gaussian NLL on n rows.
func (e *ensemble) Evaluate(x, y []float32, n int, mse, nll []float32) error {
	E, out := e.spec.Members, e.spec.Out
	if err := engine.CheckEvaluate(who, e.spec, x, y, n, mse, nll); err != nil {
		return err
	}
	for w := range e.infer {
		e.inferScratch(w)
	}
	c := &e.call
	if need := chunks(n) * 2 * E; cap(c.chunkSums) < need {
		c.chunkSums = make([]float64, need)
	}
	c.chunkSums = c.chunkSums[:chunks(n)*2*E]
	clear(c.chunkSums)
	e.roundWeights()
	c.op, c.x, c.y, c.n = opEvaluate, x, y, n
	e.team.do(chunks(n), e)
	c.release()
	for m := 0; m < E; m++ {
		var se, sn float64
		for k := 0; k < chunks(n); k++ { // in chunk order: independent of the workers
			se += c.chunkSums[k*2*E+m]
			sn += c.chunkSums[k*2*E+E+m]
		}
		mse[m] = float32(se / float64(n*out))
		nll[m] = float32(sn / float64(n*out))
	}
	return nil
}

// evaluateChunk sums chunk k's squared errors and NLL terms per member.
func (e *ensemble) evaluateChunk(w, k int) {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	s := e.infer[w]
	L := e.net.layers()
	r0 := k * inferChunk
	c := min(inferChunk, e.call.n-r0)
	normalize(s.z, e.call.x[r0*in:], e.normMean, e.invStd, c, in)
	for m := 0; m < E; m++ {
		e.mm.forward(e.net, e.members[m], e.wMembers[m], s.z, c, s.tr)
		sums := e.call.chunkSums[k*2*E:]
		gaussEval(&sums[m], &sums[E+m], s.tr.out[L-1], e.call.y[r0*out:], e.maxLV, e.minLV, c, out, s.acc)
	}
}

// ForwardAll runs every member on the same n rows.
func (e *ensemble) ForwardAll(x []float32, n int, mean, logvar []float32) error {
	if err := engine.CheckForwardAll(who, e.spec, x, n, mean, logvar); err != nil {
		return err
	}
	for w := range e.infer {
		e.inferScratch(w)
	}
	e.roundWeights()
	c := &e.call
	c.op, c.x, c.n, c.mean, c.lv = opForwardAll, x, n, mean, logvar
	e.team.do(chunks(n), e)
	c.release()
	return nil
}

// forwardAllChunk runs every member on chunk k.
func (e *ensemble) forwardAllChunk(w, k int) {
	E, in, out, n := e.spec.Members, e.spec.In, e.spec.Out, e.call.n
	s := e.infer[w]
	L := e.net.layers()
	r0 := k * inferChunk
	c := min(inferChunk, n-r0)
	normalize(s.z, e.call.x[r0*in:], e.normMean, e.invStd, c, in)
	for m := 0; m < E; m++ {
		e.mm.forward(e.net, e.members[m], e.wMembers[m], s.z, c, s.tr)
		off := (m*n + r0) * out
		gaussHead(e.call.mean[off:], e.call.lv[off:], s.tr.out[L-1], nil, e.maxLV, e.minLV, c, out)
	}
}

// Predict runs member members[i] on row i: within each chunk of rows it
// gathers every member's rows, runs that member once on them and scatters the
// results back.
func (e *ensemble) Predict(x []float32, members []int32, n int, mean, logvar []float32) error {
	if err := engine.CheckPredict(who, e.spec, x, members, n, mean, logvar); err != nil {
		return err
	}
	for w := range e.infer {
		e.inferScratch(w)
	}
	e.roundWeights()
	c := &e.call
	c.op, c.x, c.members, c.n, c.mean, c.lv = opPredict, x, members, n, mean, logvar
	e.team.do(chunks(n), e)
	c.release()
	return nil
}

// predictChunk groups chunk k's rows by member, runs each member once on its
// rows and scatters the results back.
func (e *ensemble) predictChunk(w, k int) {
	in, out := e.spec.In, e.spec.Out
	s := e.infer[w]
	L := e.net.layers()
	r0 := k * inferChunk
	c := min(inferChunk, e.call.n-r0)
	for m := range s.byMember {
		s.byMember[m] = s.byMember[m][:0]
	}
	for i, m := range e.call.members[r0 : r0+c] {
		s.byMember[m] = append(s.byMember[m], int32(r0+i))
	}
	for m, rows := range s.byMember {
		if len(rows) == 0 {
			continue
		}
		for k, r := range rows {
			copy(s.z[k*in:(k+1)*in], e.call.x[int(r)*in:])
		}
		normalize(s.z, s.z, e.normMean, e.invStd, len(rows), in)
		e.mm.forward(e.net, e.members[m], e.wMembers[m], s.z, len(rows), s.tr)
		gaussHead(e.call.mean, e.call.lv, s.tr.out[L-1], rows, e.maxLV, e.minLV, len(rows), out)
	}
}

// roundWeights rounds every member's weights to bf16, a member per worker,
// for an inference call (nothing in fp32).
func (e *ensemble) roundWeights() {
	if e.mm.bf16 != nil {
		e.call.op = opRound
		e.team.do(e.spec.Members, e)
	}
}

// SaveMembers copies the listed members' weights and biases into the
// snapshot.
func (e *ensemble) SaveMembers(members []int) error {
	if err := engine.CheckMembers(who, "SaveMembers", e.spec, members, nil); err != nil {
		return err
	}
	e.allocSnapshot()
	for _, m := range members {
		for _, sp := range e.spec.MemberSpans(m) {
			copy(e.snap[sp[0]:sp[0]+sp[1]], e.params[sp[0]:sp[0]+sp[1]])
		}
		e.saved[m] = true
	}
	return nil
}

// RestoreMembers copies the listed members' snapshots back.
func (e *ensemble) RestoreMembers(members []int) error {
	e.allocSnapshot()
	if err := engine.CheckMembers(who, "RestoreMembers", e.spec, members, e.saved); err != nil {
		return err
	}
	for _, m := range members {
		for _, sp := range e.spec.MemberSpans(m) {
			copy(e.params[sp[0]:sp[0]+sp[1]], e.snap[sp[0]:sp[0]+sp[1]])
		}
	}
	return nil
}

// allocSnapshot allocates the snapshot on first use.
func (e *ensemble) allocSnapshot() {
	if e.snap == nil {
		e.snap = make([]float32, e.spec.MaxLogVar())
		e.saved = make([]bool, e.spec.Members)
	}
}

// State returns a copy of the parameters, Adam moments and normaliser.
func (e *ensemble) State() engine.State {
	return engine.State{Step: e.step, Buffers: copyBuffers(e.buffers())}
}

// SetState restores a State after checking every buffer's name and length.
func (e *ensemble) SetState(st engine.State) error {
	if err := setBuffers("ensemble", e.buffers(), st); err != nil {
		return err
	}
	e.step = st.Step
	e.updateInvStd()
	return nil
}

func (e *ensemble) buffers() map[string][]float32 {
	return map[string][]float32{
		"params":    e.params,
		"adam_m":    e.adamM,
		"adam_v":    e.adamV,
		"norm_mean": e.normMean,
		"norm_std":  e.normStd,
	}
}
