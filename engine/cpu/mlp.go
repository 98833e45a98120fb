// mlp.go: forward and backward passes of a fully connected network through
// the network's matrix products (sgemm, or bf16 products through oneDNN),
// over parameters that live in flat buffers (layout.go's layouts).
//
// Shapes: activations are row-major [rows][features] and weights [in][out], so
// a layer is out = in·W + b; backward is dW = inᵀ·d, db = Σ_rows d,
// d_in = d·Wᵀ.

package cpu

import "github.com/mbpogo/mbpo/engine"

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

// matmul computes a network's matrix products: OpenBLAS's sgemm, or, when
// bf16 is set, oneDNN's products of operands rounded to bf16 with float32
// accumulation (onednn.go). Either way a product runs on the calling
// goroutine's thread alone.
//
// In bf16, each operand is rounded once where it is made: a network's
// weights at the start of each call that uses them (bf16Net, refreshed
// after each Adam step they take), a layer's input as the forward pass
// multiplies it (kept in the trace for the weight gradient), an output
// gradient once for both products of the backward pass.
type matmul struct {
	blas *blas
	bf16 *onednn
}

// bf16Net holds a network's weight matrices rounded to bf16, layer by
// layer ([in][out] each); nil in fp32.
type bf16Net [][]uint16

// newBF16Net returns room for net's weights in bf16, or nil in fp32.
func (mm matmul) newBF16Net(net network) bf16Net {
	if mm.bf16 == nil {
		return nil
	}
	w := make(bf16Net, net.layers())
	for l := range w {
		w[l] = make([]uint16, net.sizes[l]*net.sizes[l+1])
	}
	return w
}

// round rounds v's weights into w (nothing in fp32).
func (w bf16Net) round(v netView) {
	for l := range w {
		toBF16(w[l], v.w[l])
	}
}

// trace is the scratch of forward passes over up to rows rows: out[l] receives
// layer l's output [rows][sizes[l+1]], pre[l] the sigmoid of a swish layer's
// pre-activation, grad[l] the gradient w.r.t. out[l]. A trace made for inference has
// neither pre nor grad, and its hidden layers share two ping-pong buffers.
// For bf16 products it holds in[l], layer l's input rounded to bf16 (one
// buffer for every layer in an inference trace), and dgrad, an output
// gradient rounded to bf16.
type trace struct {
	rows      int
	out, pre  [][]float32
	grad      [][]float32
	trainable bool
	bf16      *bf16Scratch
	in        [][]uint16
	dgrad     []uint16
}

// newTrace allocates a trace for up to rows rows; train keeps what the
// backward pass needs.
func (mm matmul) newTrace(n network, rows int, train bool) *trace {
	L := n.layers()
	t := &trace{rows: rows, out: make([][]float32, L), trainable: train}
	if mm.bf16 != nil {
		t.bf16 = newBF16Scratch(mm.bf16, 0, 0)
		t.in = make([][]uint16, L)
		widest, outs := 0, 0
		for l := 0; l < L; l++ {
			widest = max(widest, n.sizes[l])
			outs = max(outs, n.sizes[l+1])
		}
		shared := make([]uint16, rows*widest)
		for l := range t.in {
			t.in[l] = shared
			if train {
				t.in[l] = make([]uint16, rows*n.sizes[l])
			}
		}
		if train {
			t.dgrad = make([]uint16, rows*outs)
		}
	}
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
// layer's output into tr (the network's output is tr.out[last]). In bf16, wb
// holds v's weights rounded (bf16Net.round).
func (mm matmul) forward(net network, v netView, wb bf16Net, x []float32, n int, tr *trace) {
	if n > tr.rows {
		panic("cpu: forward pass larger than its trace")
	}
	in := x
	for l := 0; l < net.layers(); l++ {
		din, dout := net.sizes[l], net.sizes[l+1]
		out := tr.out[l][:n*dout]
		if mm.bf16 == nil {
			mm.blas.gemm(false, false, n, dout, din, 1, in, din, v.w[l], dout, 0, out, dout)
		} else {
			xb := tr.in[l][:n*din]
			toBF16(xb, in[:n*din])
			tr.bf16.matmul(false, false, n, dout, din, xb, din, wb[l], dout, 0, out, dout)
		}
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
// In bf16, wb holds v's weights rounded, as in the forward pass.
func (mm matmul) backward(net network, v netView, wb bf16Net, g *netView, x []float32, n int, tr *trace,
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
		if mm.bf16 != nil {
			mm.backwardBF16(l, din, dout, v, wb, g, n, tr, dx, c0, c1, beta)
			continue
		}
		in := x
		if l > 0 {
			in = tr.out[l-1]
		}
		if g != nil {
			mm.blas.gemm(true, false, din, dout, n, 1, in, din, d, dout, 0, g.w[l], dout)
			colsum(g.b[l], d, n, dout, false)
		}
		switch {
		case l > 0:
			mm.blas.gemm(false, true, n, din, dout, 1, d, dout, v.w[l], dout, 0, tr.grad[l-1][:n*din], din)
		case dx != nil:
			mm.blas.gemm(false, true, n, c1-c0, dout, 1, d, dout, v.w[0][c0*dout:], dout, beta, dx, c1-c0)
		}
	}
}

// backwardBF16 is layer l of backward in bf16: the output gradient rounded
// once for the weight gradient (against the layer's input as the forward
// pass rounded it) and the input gradient (against the rounded weights).
func (mm matmul) backwardBF16(l, din, dout int, v netView, wb bf16Net, g *netView, n int, tr *trace,
	dx []float32, c0, c1 int, beta float32) {
	d := tr.grad[l][:n*dout]
	db := tr.dgrad[:n*dout]
	toBF16(db, d)
	if g != nil {
		tr.bf16.matmul(true, false, din, dout, n, tr.in[l][:n*din], din, db, dout, 0, g.w[l], dout)
		colsum(g.b[l], d, n, dout, false)
	}
	switch {
	case l > 0:
		tr.bf16.matmul(false, true, n, din, dout, db, dout, wb[l], dout, 0, tr.grad[l-1][:n*din], din)
	case dx != nil:
		tr.bf16.matmul(false, true, n, c1-c0, dout, db, dout, wb[0][c0*dout:], dout, beta, dx, c1-c0)
	}
}
