// ensemble.go: the bootstrap ensemble of probabilistic dynamics models
// (engine.Ensemble) on the CPU.
//
// Each member is a swish MLP [In, Hidden..., 2·Out] run with one sgemm per
// layer; members run one after another, each sgemm using all OpenBLAS threads.
// Inference (Evaluate, ForwardAll, Predict) works through the rows in chunks
// of inferChunk, so its scratch memory does not grow with n.
package cpu

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// inferChunk is the number of rows an inference pass handles at a time.
const inferChunk = 4096

// Adam settings shared by the ensemble and the agent.
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
	adamEps   = 1e-8
)

// logVarPenalty weighs ΣMaxLogVar - ΣMinLogVar in the training loss.
const logVarPenalty = 0.01

// ensemble implements engine.Ensemble.
type ensemble struct {
	blas *blas
	spec engine.EnsembleSpec
	net  network

	params, adamM, adamV, grads []float32
	normMean, normStd, invStd   []float32
	step                        int64

	members, gradMembers []netView // per-member views of params and grads
	maxLV, minLV         []float32 // views of params
	gMaxLV, gMinLV       []float32 // views of grads

	train *trainScratch // TrainStep scratch, grown to the largest batch seen
	infer *inferScratch // inference scratch, allocated on first use
}

type trainScratch struct {
	z   []float32 // normalised inputs [batch][In]
	tr  *trace
	acc []float64
}

type inferScratch struct {
	z        []float32 // normalised inputs [inferChunk][In]
	tr       *trace
	acc      []float64
	sums     []float64 // Evaluate's per-member sums: squared errors, then NLL terms
	byMember [][]int32 // per member: rows of the chunk it predicts
}

func newEnsemble(b *blas, spec engine.EnsembleSpec, seed uint64) (*ensemble, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cpu engine: %w", err)
	}
	spec.Hidden = append([]int(nil), spec.Hidden...)
	spec.WeightDecay = append([]float32(nil), spec.WeightDecay...)
	n := spec.NumParams()
	e := &ensemble{
		blas:     b,
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
	}
	mx, mn := spec.MaxLogVar(), spec.MinLogVar()
	e.maxLV, e.minLV = e.params[mx:mx+spec.Out], e.params[mn:mn+spec.Out]
	e.gMaxLV, e.gMinLV = e.grads[mx:mx+spec.Out], e.grads[mn:mn+spec.Out]
	return e, nil
}

// Spec returns the ensemble's shape and settings.
func (e *ensemble) Spec() engine.EnsembleSpec {
	s := e.spec
	s.Hidden = append([]int(nil), s.Hidden...)
	s.WeightDecay = append([]float32(nil), s.WeightDecay...)
	return s
}

// SetNormalizer sets the input normalisation; it panics unless both slices
// have length In, which is a bug in the caller.
func (e *ensemble) SetNormalizer(mean, std []float32) {
	if len(mean) != e.spec.In || len(std) != e.spec.In {
		panic(fmt.Sprintf("cpu engine: SetNormalizer with %d means and %d stds, want In = %d each",
			len(mean), len(std), e.spec.In))
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

func (e *ensemble) trainScratch(batch int) *trainScratch {
	if e.train == nil || e.train.tr.rows < batch {
		e.train = &trainScratch{
			z:   make([]float32, batch*e.spec.In),
			tr:  newTrace(e.net, batch, true),
			acc: make([]float64, e.spec.Out),
		}
	}
	return e.train
}

func (e *ensemble) inferScratch() *inferScratch {
	if e.infer == nil {
		e.infer = &inferScratch{
			z:        make([]float32, inferChunk*e.spec.In),
			tr:       newTrace(e.net, inferChunk, false),
			acc:      make([]float64, 2*e.spec.Out),
			sums:     make([]float64, 2*e.spec.Members),
			byMember: make([][]int32, e.spec.Members),
		}
		for m := range e.infer.byMember {
			e.infer.byMember[m] = make([]int32, 0, inferChunk)
		}
	}
	return e.infer
}

// TrainStep takes one Adam step of every member on its own minibatch.
func (e *ensemble) TrainStep(x, y []float32, batch int) (float32, error) {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	if batch < 1 {
		return 0, fmt.Errorf("cpu engine: TrainStep batch %d, want at least 1", batch)
	}
	if len(x) < E*batch*in || len(y) < E*batch*out {
		return 0, fmt.Errorf("cpu engine: TrainStep needs x of %d and y of %d values (%d members × batch %d), got %d and %d",
			E*batch*in, E*batch*out, E, batch, len(x), len(y))
	}
	loss := e.gradients(x, y, batch)
	e.step++
	adam(e.params, e.grads, e.adamM, e.adamV, adamStep(e.spec.LR, e.step))
	return float32(loss), nil
}

// gradients fills e.grads with the gradient of the training loss on the
// members' minibatches and returns the loss.
func (e *ensemble) gradients(x, y []float32, batch int) float64 {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	s := e.trainScratch(batch)
	L := e.net.layers()
	clear(e.gMaxLV)
	clear(e.gMinLV)
	loss := 0.0
	for m := 0; m < E; m++ {
		z := s.z[:batch*in]
		normalize(z, x[m*batch*in:], e.normMean, e.invStd, batch, in)
		e.blas.forward(e.net, e.members[m], z, batch, s.tr)
		sum := gaussNLLGrad(s.tr.grad[L-1], e.gMaxLV, e.gMinLV, s.tr.out[L-1], y[m*batch*out:],
			e.maxLV, e.minLV, batch, out, s.acc)
		loss += sum / float64(batch*out)
		e.blas.backward(e.net, e.members[m], &e.gradMembers[m], z, batch, s.tr, nil, 0, 0, 0)
	}
	shape := e.spec.Net()
	for l := 0; l < L; l++ {
		wd := e.spec.WeightDecay[l]
		lo, hi := e.spec.Weight(l), e.spec.Weight(l)+E*shape.Sizes[l]*shape.Sizes[l+1]
		loss += 0.5 * float64(wd) * sumsq(e.params[lo:hi])
		axpy(e.grads[lo:hi], e.params[lo:hi], wd)
	}
	for j := 0; j < out; j++ {
		loss += logVarPenalty * float64(e.maxLV[j]-e.minLV[j])
		e.gMaxLV[j] += logVarPenalty
		e.gMinLV[j] -= logVarPenalty
	}
	return loss
}

// adamStep is the Adam configuration of step t (counted from 1).
func adamStep(lr float32, t int64) adamConfig {
	return adamConfig{
		lr: lr, b1: adamBeta1, b2: adamBeta2, eps: adamEps,
		bc1: float32(1 - math.Pow(adamBeta1, float64(t))),
		bc2: float32(1 - math.Pow(adamBeta2, float64(t))),
	}
}

// checkRows reports x and outputs too short for n rows.
func (e *ensemble) checkRows(op string, x []float32, n int) error {
	if n < 0 {
		return fmt.Errorf("cpu engine: %s with n = %d rows", op, n)
	}
	if len(x) < n*e.spec.In {
		return fmt.Errorf("cpu engine: %s x has %d values, want n·In = %d", op, len(x), n*e.spec.In)
	}
	return nil
}

// Evaluate writes each member's MSE and mean Gaussian NLL on n rows.
func (e *ensemble) Evaluate(x, y []float32, n int, mse, nll []float32) error {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	if err := e.checkRows("Evaluate", x, n); err != nil {
		return err
	}
	if n < 1 || len(y) < n*out || len(mse) < E || len(nll) < E {
		return fmt.Errorf("cpu engine: Evaluate needs n ≥ 1, y of n·Out = %d and mse, nll of %d values; got n = %d, %d, %d, %d",
			n*out, E, n, len(y), len(mse), len(nll))
	}
	s := e.inferScratch()
	L := e.net.layers()
	sse := s.sums
	clear(sse)
	for r0 := 0; r0 < n; r0 += inferChunk {
		c := min(inferChunk, n-r0)
		normalize(s.z, x[r0*in:], e.normMean, e.invStd, c, in)
		for m := 0; m < E; m++ {
			e.blas.forward(e.net, e.members[m], s.z, c, s.tr)
			gaussEval(&sse[m], &sse[E+m], s.tr.out[L-1], y[r0*out:], e.maxLV, e.minLV, c, out, s.acc)
		}
	}
	for m := 0; m < E; m++ {
		mse[m] = float32(sse[m] / float64(n*out))
		nll[m] = float32(sse[E+m] / float64(n*out))
	}
	return nil
}

// ForwardAll runs every member on the same n rows.
func (e *ensemble) ForwardAll(x []float32, n int, mean, logvar []float32) error {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	if err := e.checkRows("ForwardAll", x, n); err != nil {
		return err
	}
	if len(mean) < E*n*out || len(logvar) < E*n*out {
		return fmt.Errorf("cpu engine: ForwardAll needs mean and logvar of Members·n·Out = %d values, got %d and %d",
			E*n*out, len(mean), len(logvar))
	}
	s := e.inferScratch()
	L := e.net.layers()
	for r0 := 0; r0 < n; r0 += inferChunk {
		c := min(inferChunk, n-r0)
		normalize(s.z, x[r0*in:], e.normMean, e.invStd, c, in)
		for m := 0; m < E; m++ {
			e.blas.forward(e.net, e.members[m], s.z, c, s.tr)
			off := (m*n + r0) * out
			gaussHead(mean[off:], logvar[off:], s.tr.out[L-1], nil, e.maxLV, e.minLV, c, out)
		}
	}
	return nil
}

// Predict runs member members[i] on row i: within each chunk of rows it
// gathers every member's rows, runs that member once on them and scatters the
// results back.
func (e *ensemble) Predict(x []float32, members []int32, n int, mean, logvar []float32) error {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	if err := e.checkRows("Predict", x, n); err != nil {
		return err
	}
	if len(members) < n || len(mean) < n*out || len(logvar) < n*out {
		return fmt.Errorf("cpu engine: Predict needs members of n = %d and mean, logvar of n·Out = %d values, got %d, %d, %d",
			n, n*out, len(members), len(mean), len(logvar))
	}
	for i, m := range members[:n] {
		if m < 0 || int(m) >= E {
			return fmt.Errorf("cpu engine: Predict members[%d] = %d, want a member in [0, %d)", i, m, E)
		}
	}
	s := e.inferScratch()
	L := e.net.layers()
	for r0 := 0; r0 < n; r0 += inferChunk {
		c := min(inferChunk, n-r0)
		for m := range s.byMember {
			s.byMember[m] = s.byMember[m][:0]
		}
		for i, m := range members[r0 : r0+c] {
			s.byMember[m] = append(s.byMember[m], int32(r0+i))
		}
		for m, rows := range s.byMember {
			if len(rows) == 0 {
				continue
			}
			for k, r := range rows {
				copy(s.z[k*in:(k+1)*in], x[int(r)*in:])
			}
			normalize(s.z, s.z, e.normMean, e.invStd, len(rows), in)
			e.blas.forward(e.net, e.members[m], s.z, len(rows), s.tr)
			gaussHead(mean, logvar, s.tr.out[L-1], rows, e.maxLV, e.minLV, len(rows), out)
		}
	}
	return nil
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
