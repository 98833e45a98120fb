// ensemble.go: the bootstrap ensemble of probabilistic dynamics models
// (engine.Ensemble) on the GPU.
//
// One TrainStep is a fixed sequence of launches, each covering every member:
// Adam's step counter, input normalisation, one batched product per layer
// (swish kept for the backward pass), the Gaussian NLL's gradient per member,
// the log-variance bounds' gradients and the loss, per layer the weight and
// bias gradients and the input gradient through swish, one Adam launch over
// every parameter with each layer's weight decay, and the loss's final sum.
// Inference (Evaluate, ForwardAll, Predict) runs the fused forward kernel,
// which keeps a block's activations in shared memory through all layers.

package cuda

import (
	"fmt"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
)

// ensemble implements engine.Ensemble.
type ensemble struct {
	m    kernels.Machine
	spec engine.EnsembleSpec
	st   stack
	plan kernels.ForwardPlan
	mem  arena

	params, adamM, adamV, grads kernels.Ptr
	normMean, normStd           kernels.Ptr
	sched                       kernels.Ptr // Adam's step and bias corrections
	part                        kernels.Ptr // NLL stage partials [E][3][Out]
	loss                        kernels.Ptr // double: the loss before weight decay
	lossOut                     kernels.Ptr // float: the step's loss
	decayPart                   kernels.Ptr // doubles: weight decay per Adam block
	snap                        kernels.Ptr // SaveMembers: weights and biases ("params" up to the bounds)
	saved                       []bool      // per member: snap holds its weights

	fixed int // allocations above are the first fixed ones; scratch follows

	// Training scratch for batches of up to trainRows rows per member.
	trainRows int
	x, y, z   kernels.Ptr
	tr        *trace

	// Inference scratch for up to inferRows rows.
	inferRows               int
	xi, yi, mean, logvar    kernels.Ptr
	evalPart, mse, nll      kernels.Ptr
	members, counts, cursor kernels.Ptr
	list                    kernels.Ptr
	trainMark               int
	hostOne                 []float32
}

func newEnsemble(m kernels.Machine, spec engine.EnsembleSpec, seed uint64) (*ensemble, error) {
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("cuda engine: %w", err)
	}
	spec = spec.Clone()
	plan, err := kernels.PlanForward(spec)
	if err != nil {
		return nil, fmt.Errorf("cuda engine: %w", err)
	}
	if len(spec.WeightDecay) > kernels.MaxDecays {
		return nil, fmt.Errorf("cuda engine: %d weight layers, the Adam kernel takes at most %d", len(spec.WeightDecay), kernels.MaxDecays)
	}
	e := &ensemble{m: m, spec: spec, st: ensembleStack(spec), plan: plan, mem: arena{m: m}}
	n := spec.NumParams()
	a := &e.mem
	e.params, e.adamM, e.adamV, e.grads = a.floats(n), a.floats(n), a.floats(n), a.floats(n)
	e.normMean, e.normStd = a.floats(spec.In), a.floats(spec.In)
	e.sched = a.bytes(kernels.SchedBytes)
	e.part = a.floats(spec.Members * 3 * spec.Out)
	e.loss, e.lossOut = a.doubles(1), a.floats(1)
	e.decayPart = a.doubles(kernels.AdamBlocks(m, n))
	e.snap, e.saved = a.floats(spec.MaxLogVar()), make([]bool, spec.Members)
	e.fixed = len(a.ptrs)
	if a.err != nil {
		e.Close()
		return nil, a.err
	}
	p := make([]float32, n)
	spec.Init(p, rng.Key{Seed: seed, Purpose: rng.Init, Step: engine.InitStepEnsemble})
	ones := make([]float32, spec.In)
	for i := range ones {
		ones[i] = 1
	}
	if err := firstErr(kernels.Upload(m, e.params, p), kernels.Upload(m, e.normStd, ones)); err != nil {
		e.Close()
		return nil, err
	}
	e.hostOne = make([]float32, 1)
	return e, nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// Close frees the ensemble's device memory.
func (e *ensemble) Close() error { return e.mem.release(0) }

// Spec returns the ensemble's shape and settings.
func (e *ensemble) Spec() engine.EnsembleSpec { return e.spec.Clone() }

// SetNormalizer sets the input normalisation; it panics unless both slices
// have length In, which is a bug in the caller.
func (e *ensemble) SetNormalizer(mean, std []float32) {
	if err := engine.CheckNormalizer(who, e.spec, mean, std); err != nil {
		panic(err.Error())
	}
	if err := firstErr(kernels.Upload(e.m, e.normMean, mean), kernels.Upload(e.m, e.normStd, std)); err != nil {
		panic(fmt.Sprintf("cuda engine: SetNormalizer: %v", err))
	}
}

// trainScratch makes room for batches of rows rows per member.
func (e *ensemble) trainScratch(rows int) error {
	if rows <= e.trainRows {
		return nil
	}
	// Training scratch is allocated after the fixed buffers and before any
	// inference scratch; growing it frees both (inference regrows on use).
	if err := e.mem.release(e.fixed); err != nil {
		return err
	}
	e.inferRows, e.trainRows = 0, 0
	E, s := e.spec.Members, e.spec
	a := &e.mem
	e.x, e.y, e.z = a.floats(E*rows*s.In), a.floats(E*rows*s.Out), a.floats(E*rows*s.In)
	e.tr = e.st.newTrace(a, rows)
	e.trainMark = len(a.ptrs)
	if err := a.settle(e.fixed); err != nil {
		return err
	}
	e.trainRows = rows
	return nil
}

// inferScratch makes room for inference over rows rows.
func (e *ensemble) inferScratch(rows int) error {
	if rows <= e.inferRows {
		return nil
	}
	mark := e.fixed
	if e.trainRows > 0 {
		mark = e.trainMark
	}
	if err := e.mem.release(mark); err != nil {
		return err
	}
	e.inferRows = 0
	E, s := e.spec.Members, e.spec
	a := &e.mem
	e.xi, e.yi = a.floats(rows*s.In), a.floats(rows*s.Out)
	e.mean, e.logvar = a.floats(E*rows*s.Out), a.floats(E*rows*s.Out)
	e.evalPart = a.doubles(2 * E * kernels.EvalBlocks(rows))
	e.mse, e.nll = a.floats(E), a.floats(E)
	e.members, e.counts, e.cursor, e.list = a.floats(rows), a.floats(E), a.floats(E), a.floats(rows)
	if err := a.settle(mark); err != nil {
		return err
	}
	e.inferRows = rows
	return nil
}

// TrainStep takes one Adam step of every member on its own minibatch.
func (e *ensemble) TrainStep(x, y []float32, batch int) (float32, error) {
	E, in, out := e.spec.Members, e.spec.In, e.spec.Out
	if err := engine.CheckTrainStep(who, e.spec, x, y, batch); err != nil {
		return 0, err
	}
	if err := e.trainScratch(batch); err != nil {
		return 0, err
	}
	if err := firstErr(kernels.Upload(e.m, e.x, x[:E*batch*in]), kernels.Upload(e.m, e.y, y[:E*batch*out])); err != nil {
		return 0, err
	}
	if err := e.queueTrainStep(batch); err != nil {
		return 0, err
	}
	if err := kernels.Download(e.m, e.hostOne, e.lossOut); err != nil {
		return 0, err
	}
	return e.hostOne[0], nil
}

// queueTrainStep queues one training step on the batch in e.x and e.y; the
// loss lands in e.lossOut.
func (e *ensemble) queueTrainStep(batch int) error {
	m, s := e.m, e.spec
	E := s.Members
	if err := kernels.Tick(m, e.sched); err != nil {
		return err
	}
	if err := kernels.Normalize(m, e.z, e.x, e.normMean, e.normStd, E*batch, s.In); err != nil {
		return err
	}
	if err := e.st.forward(m, e.params, e.z, batch*s.In, batch, e.tr); err != nil {
		return err
	}
	maxLV, minLV := at(e.params, s.MaxLogVar()), at(e.params, s.MinLogVar())
	if err := kernels.GaussNLLGrad(m, e.tr.grad(), e.part, e.tr.out(), e.y, maxLV, minLV, E, batch, s.Out,
		1/float32(batch*s.Out)); err != nil {
		return err
	}
	if err := kernels.GaussBounds(m, at(e.grads, s.MaxLogVar()), at(e.grads, s.MinLogVar()), e.loss, e.part,
		maxLV, minLV, E, batch, s.Out); err != nil {
		return err
	}
	if err := e.st.backward(m, e.params, e.grads, e.z, batch*s.In, batch, e.tr, 0, 0, 0); err != nil {
		return err
	}
	n := s.NumParams()
	if err := kernels.Adam(m, kernels.AdamArgs{P: e.params, G: e.grads, M: e.adamM, V: e.adamV, Partial: e.decayPart,
		Sched: e.sched, N: n, Decay: decay(s), LR: s.LR}); err != nil {
		return err
	}
	return kernels.LossFinish(m, e.lossOut, e.loss, e.decayPart, kernels.AdamBlocks(m, n))
}

// Evaluate writes each member's MSE and mean Gaussian NLL on n rows.
func (e *ensemble) Evaluate(x, y []float32, n int, mse, nll []float32) error {
	E, out := e.spec.Members, e.spec.Out
	if err := engine.CheckEvaluate(who, e.spec, x, y, n, mse, nll); err != nil {
		return err
	}
	if err := e.inferScratch(n); err != nil {
		return err
	}
	m := e.m
	if err := firstErr(kernels.Upload(m, e.xi, x[:n*e.spec.In]), kernels.Upload(m, e.yi, y[:n*out])); err != nil {
		return err
	}
	if err := kernels.Forward(m, e.plan, e.mean, e.logvar, e.xi, e.params, e.normMean, e.normStd, n, 0); err != nil {
		return err
	}
	if err := kernels.GaussEval(m, e.mse, e.nll, e.evalPart, e.mean, e.logvar, e.yi, E, n, out); err != nil {
		return err
	}
	return firstErr(kernels.Download(m, mse[:E], e.mse), kernels.Download(m, nll[:E], e.nll))
}

// ForwardAll runs every member on the same n rows.
func (e *ensemble) ForwardAll(x []float32, n int, mean, logvar []float32) error {
	E, out := e.spec.Members, e.spec.Out
	if err := engine.CheckForwardAll(who, e.spec, x, n, mean, logvar); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := e.inferScratch(n); err != nil {
		return err
	}
	m := e.m
	if err := kernels.Upload(m, e.xi, x[:n*e.spec.In]); err != nil {
		return err
	}
	if err := kernels.Forward(m, e.plan, e.mean, e.logvar, e.xi, e.params, e.normMean, e.normStd, n, 0); err != nil {
		return err
	}
	return firstErr(kernels.Download(m, mean[:E*n*out], e.mean), kernels.Download(m, logvar[:E*n*out], e.logvar))
}

// Predict runs member members[i] on row i: the rows are grouped by member on
// the device and each member runs once on its rows.
func (e *ensemble) Predict(x []float32, members []int32, n int, mean, logvar []float32) error {
	out := e.spec.Out
	if err := engine.CheckPredict(who, e.spec, x, members, n, mean, logvar); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if err := e.inferScratch(n); err != nil {
		return err
	}
	m := e.m
	if err := firstErr(kernels.Upload(m, e.xi, x[:n*e.spec.In]), kernels.Upload(m, e.members, members[:n])); err != nil {
		return err
	}
	if err := e.queuePredict(e.xi, e.members, n, 0, e.mean, e.logvar); err != nil {
		return err
	}
	return firstErr(kernels.Download(m, mean[:n*out], e.mean), kernels.Download(m, logvar[:n*out], e.logvar))
}

// queuePredict queues member members[i] on row i of x for n rows (or the
// count at nDev when it is not 0 and members were picked on the device):
// counts and lists the rows by member, then one predict launch.
func (e *ensemble) queuePredict(x, members kernels.Ptr, n int, nDev kernels.Ptr, mean, logvar kernels.Ptr) error {
	m, E := e.m, e.spec.Members
	if nDev == 0 {
		if err := kernels.CountMembers(m, e.counts, members, E, n); err != nil {
			return err
		}
	}
	if err := kernels.GroupRows(m, e.list, e.cursor, members, e.counts, E, n, nDev); err != nil {
		return err
	}
	return kernels.Predict(m, e.plan, mean, logvar, x, e.params, e.normMean, e.normStd, e.counts, e.list, n)
}

func (e *ensemble) buffers() map[string]named {
	n := e.spec.NumParams()
	return map[string]named{
		"params": {e.params, n}, "adam_m": {e.adamM, n}, "adam_v": {e.adamV, n},
		"norm_mean": {e.normMean, e.spec.In}, "norm_std": {e.normStd, e.spec.In},
	}
}

// SaveMembers queues copies of the listed members' weights and biases into
// the snapshot, one device-to-device copy per layer's weights and biases.
func (e *ensemble) SaveMembers(members []int) error {
	if err := engine.CheckMembers(who, "SaveMembers", e.spec, members, nil); err != nil {
		return err
	}
	for _, m := range members {
		if err := e.copyMember(e.snap, e.params, m); err != nil {
			return err
		}
		e.saved[m] = true
	}
	return nil
}

// RestoreMembers queues copies of the listed members' snapshots back.
func (e *ensemble) RestoreMembers(members []int) error {
	if err := engine.CheckMembers(who, "RestoreMembers", e.spec, members, e.saved); err != nil {
		return err
	}
	for _, m := range members {
		if err := e.copyMember(e.params, e.snap, m); err != nil {
			return err
		}
	}
	return nil
}

// copyMember queues copying member m's weights and biases from src to dst,
// both laid out as "params".
func (e *ensemble) copyMember(dst, src kernels.Ptr, m int) error {
	for _, sp := range e.spec.MemberSpans(m) {
		if err := e.m.Copy(at(dst, sp[0]), at(src, sp[0]), 4*sp[1]); err != nil {
			return err
		}
	}
	return nil
}

// State returns a copy of the parameters, Adam moments, normaliser and step.
// It panics if the device fails, as a lost device leaves nothing to return.
func (e *ensemble) State() engine.State { return readState(e.m, "ensemble", e.buffers(), e.sched) }

// SetState restores a State after checking every buffer's name and length.
func (e *ensemble) SetState(st engine.State) error {
	return writeState(e.m, "ensemble", e.buffers(), e.sched, st)
}
