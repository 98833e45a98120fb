// mlp.go: forward and backward passes of a fully connected network through
// sgemm, over parameters that live in flat buffers (layout.go's layouts).
//
// Shapes: activations are row-major [rows][features] and weights [in][out], so
// a layer is out = in·W + b; backward is dW = inᵀ·d, db = Σ_rows d,
// d_in = d·Wᵀ.

package cpu

import "github.com/mbpogo/mbpo/trainer/engine"

// netView is one network's parameters (or gradients) as per-layer slices of a
// flat buffer: w[l] is W_l [Sizes[l]][Sizes[l+1]] and b[l] is b_l.
type netView struct {
	w, b [][]float32
}

// mlpView views p as the flat buffer of one network of the given shape.
func mlpView(shape engine.MLP, p []float32) netView {
	v := netView{w: make([][]float32, shape.Layers()), b: make([][]float32, shape.Layers())}
	for l := range v.w {
		in, out := shape.Sizes[l], shape.Sizes[l+1]
		v.w[l] = p[shape.Weight(l) : shape.Weight(l)+in*out : shape.Weight(l)+in*out]
		v.b[l] = p[shape.Bias(l) : shape.Bias(l)+out : shape.Bias(l)+out]
	}
	return v
}

// memberView views member e of an ensemble "params"-layout buffer p.
func memberView(spec engine.EnsembleSpec, p []float32, e int) netView {
	shape := spec.Net()
	v := netView{w: make([][]float32, shape.Layers()), b: make([][]float32, shape.Layers())}
	for l := range v.w {
		in, out := shape.Sizes[l], shape.Sizes[l+1]
		w := spec.Weight(l) + e*in*out
		b := spec.Bias(l) + e*out
		v.w[l] = p[w : w+in*out : w+in*out]
		v.b[l] = p[b : b+out : b+out]
	}
	return v
}

// network is an MLP's shape and its hidden layers' activation; the last
// layer is linear.
type network struct {
	sizes  []int
	hidden activation
}

func (n network) layers() int { return len(n.sizes) - 1 }

func (n network) act(l int) activation {
	if l == n.layers()-1 {
		return linear
	}
	return n.hidden
}

// trace is the scratch of forward passes over up to rows rows: out[l] receives
// layer l's output [rows][sizes[l+1]], pre[l] the sigmoid of a swish layer's
// pre-activation, grad[l] the gradient w.r.t. out[l]. A trace made for inference has
// neither pre nor grad, and its hidden layers share two ping-pong buffers.
type trace struct {
	rows      int
	out, pre  [][]float32
	grad      [][]float32
	trainable bool
}

// newTrace allocates a trace for up to rows rows; train keeps what the
// backward pass needs.
func newTrace(n network, rows int, train bool) *trace {
	L := n.layers()
	t := &trace{rows: rows, out: make([][]float32, L), trainable: train}
	if train {
		t.grad = make([][]float32, L)
		t.pre = make([][]float32, L)
		for l := 0; l < L; l++ {
			t.out[l] = make([]float32, rows*n.sizes[l+1])
			t.grad[l] = make([]float32, rows*n.sizes[l+1])
			if n.act(l) == swish {
				t.pre[l] = make([]float32, rows*n.sizes[l+1])
			}
		}
		return t
	}
	width := 0
	for l := 0; l < L-1; l++ {
		width = max(width, n.sizes[l+1])
	}
	ping := [2][]float32{make([]float32, rows*width), make([]float32, rows*width)}
	for l := 0; l < L-1; l++ {
		t.out[l] = ping[l%2]
	}
	t.out[L-1] = make([]float32, rows*n.sizes[L])
	return t
}

// forward runs the network v on n rows of x [n][sizes[0]], writing every
// layer's output into tr (the network's output is tr.out[last]).
func (b *blas) forward(net network, v netView, x []float32, n int, tr *trace) {
	if n > tr.rows {
		panic("cpu: forward pass larger than its trace")
	}
	in := x
	for l := 0; l < net.layers(); l++ {
		din, dout := net.sizes[l], net.sizes[l+1]
		out := tr.out[l][:n*dout]
		b.gemm(false, false, n, dout, din, 1, in, din, v.w[l], dout, 0, out, dout)
		var pre []float32
		if tr.trainable && tr.pre[l] != nil {
			pre = tr.pre[l][:n*dout]
		}
		biasAct(out, pre, v.b[l], n, dout, net.act(l))
		in = out
	}
}

// backward propagates tr.grad[last] (the loss gradient w.r.t. the network's
// output, filled in by the caller) back through the forward pass of v on x
// that filled tr. Unless g is nil it overwrites g with the gradients of the
// weights and biases. Unless dx is nil it sets dx [n][c1-c0] to
// beta·dx + the gradient w.r.t. input columns c0..c1-1. tr.grad is clobbered.
func (b *blas) backward(net network, v netView, g *netView, x []float32, n int, tr *trace,
	dx []float32, c0, c1 int, beta float32) {
	for l := net.layers() - 1; l >= 0; l-- {
		din, dout := net.sizes[l], net.sizes[l+1]
		d := tr.grad[l][:n*dout]
		if l < net.layers()-1 {
			var pre []float32
			if tr.pre[l] != nil {
				pre = tr.pre[l][:n*dout]
			}
			actBackward(d, tr.out[l][:n*dout], pre, n*dout, net.act(l))
		}
		in := x
		if l > 0 {
			in = tr.out[l-1]
		}
		if g != nil {
			b.gemm(true, false, din, dout, n, 1, in, din, d, dout, 0, g.w[l], dout)
			colsum(g.b[l], d, n, dout, false)
		}
		switch {
		case l > 0:
			b.gemm(false, true, n, din, dout, 1, d, dout, v.w[l], dout, 0, tr.grad[l-1][:n*din], din)
		case dx != nil:
			b.gemm(false, true, n, c1-c0, dout, 1, d, dout, v.w[0][c0*dout:], dout, beta, dx, c1-c0)
		}
	}
}
