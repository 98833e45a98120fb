// flops.go: operation counts of the engine's calls, for reporting achieved
// GFLOP/s next to the machine's matrix-multiply peak (MatmulPeak).
//
// Counts cover the matrix products only (2 operations per multiply-add), the
// work that any engine must do; element-wise work is not counted.

package cpu

import "github.com/mbpogo/mbpo/engine"

// backwardFLOPs counts one row's backward pass through m: the weight
// gradients of every layer and the input gradients of every layer but the
// first, whose input gradient costs inCols of its Sizes[0] columns.
func backwardFLOPs(m engine.MLP, weights bool, inCols int) float64 {
	f := 0.0
	for l := 0; l < m.Layers(); l++ {
		mac := float64(m.Sizes[l] * m.Sizes[l+1])
		if weights {
			f += 2 * mac
		}
		if l > 0 {
			f += 2 * mac
		} else {
			f += 2 * float64(inCols*m.Sizes[1])
		}
	}
	return f
}

// UpdateFLOPs is the operation count of one Agent.Update on n rows: the
// target pass (policy and both target critics at s'), both critics' forward
// and backward passes, the actor pass (policy forward, both critics forward
// and back to the action) and the policy's backward pass.
func UpdateFLOPs(spec engine.AgentSpec, n int) float64 {
	pol, cri := spec.Policy(), spec.Critic()
	p, q := float64(pol.FLOPs()), float64(cri.FLOPs())
	row := p + 2*q                                         // targets
	row += 2*q + 2*backwardFLOPs(cri, true, 0)             // critics
	row += p + 2*q + 2*backwardFLOPs(cri, false, spec.Act) // actor through the critics
	row += backwardFLOPs(pol, true, 0)                     // policy
	return row * float64(n)
}

// ActFLOPs is the operation count of Agent.Act on n rows.
func ActFLOPs(spec engine.AgentSpec, n int) float64 {
	return float64(spec.Policy().FLOPs()) * float64(n)
}

// TrainStepFLOPs is the operation count of one Ensemble.TrainStep with
// minibatches of batch rows (every member forward and backward).
func TrainStepFLOPs(spec engine.EnsembleSpec, batch int) float64 {
	net := spec.Net()
	return (float64(net.FLOPs()) + backwardFLOPs(net, true, 0)) * float64(batch*spec.Members)
}

// PredictFLOPs is the operation count of Ensemble.Predict on n rows (one
// member per row); ForwardAll and Evaluate cost Members times as much.
func PredictFLOPs(spec engine.EnsembleSpec, n int) float64 {
	return float64(spec.Net().FLOPs()) * float64(n)
}
