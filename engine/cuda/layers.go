// layers.go: forward and backward passes of batched MLPs through the batched
// matrix product: Z networks of one shape (ensemble members, the two
// critics) whose parameters sit at fixed strides in one buffer, every layer
// of all Z in one launch.
//
// Shapes: activations are [Z][rows][width], weights [K][N] per network, so a
// layer is out = in·W + b; backward is dW = inᵀ·d, db = Σ_rows d,
// d_in = (d·Wᵀ) ⊙ act'(in), with the activation's derivative fused into the
// product's epilogue.

package cuda

import (
	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
)

// stack is Z networks of one shape in one parameter buffer: layer l's weights
// of network z at w[l] + z·sw[l] and biases at b[l] + z·sb[l] (floats).
type stack struct {
	sizes  []int
	z      int
	w, sw  []int
	b, sb  []int
	swish  bool // hidden layers are swish (else ReLU)
	layers int
}

// ensembleStack is the ensemble's members in the "params" layout.
func ensembleStack(spec engine.EnsembleSpec) stack {
	net := spec.Net()
	s := stack{sizes: net.Sizes, z: spec.Members, swish: true, layers: net.Layers()}
	for l := 0; l < s.layers; l++ {
		s.w, s.sw = append(s.w, spec.Weight(l)), append(s.sw, net.Sizes[l]*net.Sizes[l+1])
		s.b, s.sb = append(s.b, spec.Bias(l)), append(s.sb, net.Sizes[l+1])
	}
	return s
}

// mlpStack is z networks of shape, each in engine.MLP's layout, one after
// another (the critics q1 and q2 in one buffer).
func mlpStack(shape engine.MLP, z int) stack {
	s := stack{sizes: shape.Sizes, z: z, layers: shape.Layers()}
	for l := 0; l < s.layers; l++ {
		s.w, s.sw = append(s.w, shape.Weight(l)), append(s.sw, shape.NumParams())
		s.b, s.sb = append(s.b, shape.Bias(l)), append(s.sb, shape.NumParams())
	}
	return s
}

// trace holds a pass over up to rows rows: per layer the output h
// [Z][rows][N_l], for swish layers σ of the pre-activation, and the gradient d.
type trace struct {
	rows    int
	h, s, d []kernels.Ptr
}

// newTrace allocates a trace of s over rows rows from a.
func (s stack) newTrace(a *arena, rows int) *trace {
	t := &trace{rows: rows}
	for l := 0; l < s.layers; l++ {
		n := s.z * rows * s.sizes[l+1]
		t.h, t.d = append(t.h, a.floats(n)), append(t.d, a.floats(n))
		var sig kernels.Ptr
		if s.swish && l+1 < s.layers {
			sig = a.floats(n)
		}
		t.s = append(t.s, sig)
	}
	return t
}

// out is the network output [Z][rows][sizes[L]].
func (t *trace) out() kernels.Ptr { return t.h[len(t.h)-1] }

// grad is the gradient w.r.t. the output, to be filled before backward.
func (t *trace) grad() kernels.Ptr { return t.d[len(t.d)-1] }

// forward runs the Z networks on n rows of x ([Z][n][sizes[0]], network z's
// rows at x + z·sx floats; sx 0 shares one input), keeping what backward
// needs in tr.
func (s stack) forward(m kernels.Machine, params, x kernels.Ptr, sx, n int, tr *trace) error {
	in, sin := x, sx
	for l := 0; l < s.layers; l++ {
		K, N := s.sizes[l], s.sizes[l+1]
		g := kernels.GemmArgs{
			A: in, B: at(params, s.w[l]), C: tr.h[l], Bias: at(params, s.b[l]),
			SA: sin, SB: s.sw[l], SC: n * N, SBias: s.sb[l],
			M: n, N: N, K: K, Batch: s.z, LDA: K, LDB: N, LDC: N, Alpha: 1, Epi: kernels.EpiNone,
		}
		if l+1 < s.layers {
			g.Epi = kernels.EpiReLU
			if s.swish {
				g.Epi, g.Aux, g.LDAux, g.SAux = kernels.EpiSwishSave, tr.s[l], N, n*N
			}
		}
		if err := kernels.Gemm(m, g); err != nil {
			return err
		}
		in, sin = tr.h[l], n*N
	}
	return nil
}

// backward propagates tr's output gradient (tr.grad(), filled by the caller)
// back through the forward pass of the Z networks on x that filled tr. Unless
// grads is 0 it writes the weight and bias gradients there (the layout of
// params). Unless dx is 0 it writes the gradient w.r.t. input columns
// [c0, c0+cols) into dx [Z][n][cols]. The hidden layers' d are overwritten.
func (s stack) backward(m kernels.Machine, params, grads, x kernels.Ptr, sx, n int, tr *trace, dx kernels.Ptr, c0, cols int) error {
	for l := s.layers - 1; l >= 0; l-- {
		K, N := s.sizes[l], s.sizes[l+1]
		in, sin := x, sx
		if l > 0 {
			in, sin = tr.h[l-1], n*K
		}
		if grads != 0 {
			// dW = inᵀ·d: M = K, N = N, depth n.
			if err := kernels.Gemm(m, kernels.GemmArgs{
				A: in, B: tr.d[l], C: at(grads, s.w[l]), SA: sin, SB: n * N, SC: s.sw[l],
				M: K, N: N, K: n, Batch: s.z, LDA: K, LDB: N, LDC: N, TA: true, Alpha: 1,
			}); err != nil {
				return err
			}
			if err := kernels.Colsum(m, at(grads, s.b[l]), tr.d[l], n, N, s.z, n*N, s.sb[l]); err != nil {
				return err
			}
		}
		switch {
		case l > 0:
			// d_{l-1} = (d_l·W_lᵀ) ⊙ act'(h_{l-1}).
			g := kernels.GemmArgs{
				A: tr.d[l], B: at(params, s.w[l]), C: tr.d[l-1], SA: n * N, SB: s.sw[l], SC: n * K,
				M: n, N: K, K: N, Batch: s.z, LDA: N, LDB: N, LDC: K, TB: true, Alpha: 1,
				Epi: kernels.EpiDReLU, Aux: tr.h[l-1], LDAux: K, SAux: n * K,
			}
			if s.swish {
				g.Epi, g.Aux, g.Aux2 = kernels.EpiDSwish, tr.s[l-1], tr.h[l-1]
			}
			if err := kernels.Gemm(m, g); err != nil {
				return err
			}
		case dx != 0:
			// The input columns [c0, c0+cols): rows c0... of W_0.
			if err := kernels.Gemm(m, kernels.GemmArgs{
				A: tr.d[0], B: at(params, s.w[0]+c0*N), C: dx, SA: n * N, SB: s.sw[0], SC: n * cols,
				M: n, N: cols, K: N, Batch: s.z, LDA: N, LDB: N, LDC: cols, TB: true, Alpha: 1,
			}); err != nil {
				return err
			}
		}
	}
	return nil
}

// decay is the weight-decay ranges of the ensemble's "params" buffer: every
// member's W_l with WeightDecay[l].
func decay(spec engine.EnsembleSpec) []kernels.Decay {
	net := spec.Net()
	var d []kernels.Decay
	for l := 0; l < net.Layers(); l++ {
		start := spec.Weight(l)
		d = append(d, kernels.Decay{Start: start, End: start + spec.Members*net.Sizes[l]*net.Sizes[l+1], WD: spec.WeightDecay[l]})
	}
	return d
}
