// gorgonia_test.go: the hand-written gradients against gorgonia's symbolic
// differentiation of the same losses built as gorgonia graphs (float64) from
// the same parameters, and the benchmark of one MLP training step in gorgonia
// (with its default pure-Go BLAS and with OpenBLAS wired in) against the
// engine's path. Run the benchmark with
//
//	go test ./engine/cpu -run '^$' -bench CriticStep

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/mbpogo/mbpo/engine"
)

// gMLP holds one network's parameters as gorgonia nodes: W_l (in, out) and
// b_l (1, out), in layout order.
type gMLP struct {
	w, b []*G.Node
}

// newGMLP creates learnable nodes for the flat parameters p of shape, of
// dtype dt (p is converted).
func newGMLP(g *G.ExprGraph, shape engine.MLP, p []float64, dt tensor.Dtype, name string) gMLP {
	var m gMLP
	for l := 0; l < shape.Layers(); l++ {
		in, out := shape.Sizes[l], shape.Sizes[l+1]
		w := p[shape.Weight(l) : shape.Weight(l)+in*out]
		b := p[shape.Bias(l) : shape.Bias(l)+out]
		m.w = append(m.w, G.NewMatrix(g, dt, G.WithShape(in, out), G.WithName(name+"_w"+string(rune('0'+l))),
			G.WithValue(gTensor(dt, w, in, out))))
		m.b = append(m.b, G.NewMatrix(g, dt, G.WithShape(1, out), G.WithName(name+"_b"+string(rune('0'+l))),
			G.WithValue(gTensor(dt, b, 1, out))))
	}
	return m
}

func gTensor(dt tensor.Dtype, v []float64, rows, cols int) *tensor.Dense {
	if dt == tensor.Float32 {
		f := make([]float32, len(v))
		for i := range v {
			f[i] = float32(v[i])
		}
		return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(f))
	}
	return tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(append([]float64(nil), v...)))
}

func (m gMLP) params() G.Nodes {
	var out G.Nodes
	for l := range m.w {
		out = append(out, m.w[l], m.b[l])
	}
	return out
}

// forward builds x·W_l + b_l with act between layers.
func (m gMLP) forward(x *G.Node, act func(*G.Node) *G.Node) *G.Node {
	h := x
	for l := range m.w {
		h = G.Must(G.BroadcastAdd(G.Must(G.Mul(h, m.w[l])), m.b[l], nil, []byte{0}))
		if l < len(m.w)-1 {
			h = act(h)
		}
	}
	return h
}

func gReLU(x *G.Node) *G.Node  { return G.Must(G.Rectify(x)) }
func gSwish(x *G.Node) *G.Node { return G.Must(G.HadamardProd(x, G.Must(G.Sigmoid(x)))) }

// gValues returns a node's value (or gradient) as float64s.
func gValues(t *testing.T, v G.Value) []float64 {
	t.Helper()
	switch d := v.Data().(type) {
	case []float64:
		return d
	case []float32:
		return to64(d)
	}
	t.Fatalf("unexpected gorgonia value %T", v.Data())
	return nil
}

// compareGrads checks our float32 gradient against gorgonia's float64 one:
// |g - want| ≤ 1e-4·|want| + 1e-5·rms(want).
func compareGrads(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	rms := 0.0
	for _, w := range want {
		rms += w * w
	}
	rms = math.Sqrt(rms / float64(len(want)))
	if rms == 0 {
		t.Fatalf("%s: gorgonia's gradient is zero", what)
	}
	for i, w := range want {
		if math.Abs(float64(got[i])-w) > 1e-4*math.Abs(w)+1e-5*rms {
			t.Fatalf("%s[%d] = %.7g, gorgonia %.7g", what, i, got[i], w)
		}
	}
}

// mlpGrads returns our gradient slices in gMLP order for view v.
func mlpGrads(v netView) [][]float32 {
	var out [][]float32
	for l := range v.w {
		out = append(out, v.w[l], v.b[l])
	}
	return out
}

func TestGorgoniaCriticGradient(t *testing.T) {
	spec := smallAgentSpec()
	a := newTestAgent(t, spec, 31)
	r := rand.New(rand.NewPCG(32, 33))
	const n = 19
	b := randomBatch(r, spec, n)
	a.updateScratch(n)
	loss1, _, _ := a.criticGradients(b, randSlice(r, n*spec.Act, 1), 0.7)

	in := spec.Obs + spec.Act
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(n, in), G.WithName("x"),
		G.WithValue(gTensor(tensor.Float64, to64(a.upd.xq[:n*in]), n, in)))
	y := G.NewMatrix(g, tensor.Float64, G.WithShape(n, 1), G.WithName("y"),
		G.WithValue(gTensor(tensor.Float64, to64(a.upd.y[:n]), n, 1)))
	q := newGMLP(g, spec.Critic(), to64(a.q1), tensor.Float64, "q1")
	diff := G.Must(G.Sub(q.forward(x, gReLU), y))
	loss := G.Must(G.Mul(G.NewConstant(0.5), G.Must(G.Mean(G.Must(G.Square(diff))))))
	grads, err := G.Grad(loss, q.params()...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if want := loss.Value().Data().(float64); !near(loss1, want, 1e-5) {
		t.Errorf("critic loss = %g, gorgonia %g", loss1, want)
	}
	ours := mlpGrads(a.gvQ[0])
	for i, gr := range grads {
		compareGrads(t, "critic "+q.params()[i].Name(), ours[i], gValues(t, gr.Value()))
	}
}

func TestGorgoniaEnsembleGradient(t *testing.T) {
	spec := smallSpec()
	spec.Members = 2
	e := newTestEnsemble(t, spec, 41)
	r := rand.New(rand.NewPCG(42, 43))
	const batch = 11
	x := randSlice(r, spec.Members*batch*spec.In, 2)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	loss := e.gradients(x, y, batch)

	p := to64(e.params)
	out := spec.Out
	g := G.NewGraph()
	// Every node gets its own name: gorgonia merges nodes it cannot tell
	// apart, such as unnamed inputs of one shape (the members' batches).
	hi := G.NewMatrix(g, tensor.Float64, G.WithShape(1, out), G.WithName("max_logvar"),
		G.WithValue(gTensor(tensor.Float64, p[spec.MaxLogVar():spec.MaxLogVar()+out], 1, out)))
	lo := G.NewMatrix(g, tensor.Float64, G.WithShape(1, out), G.WithName("min_logvar"),
		G.WithValue(gTensor(tensor.Float64, p[spec.MinLogVar():spec.MinLogVar()+out], 1, out)))
	var total *G.Node
	add := func(n *G.Node) {
		if total == nil {
			total = n
		} else {
			total = G.Must(G.Add(total, n))
		}
	}
	members := make([]gMLP, spec.Members)
	for m := range members {
		tag := string(rune('0' + m))
		members[m] = newGMLP(g, spec.Net(), refMember(spec, p, m), tensor.Float64, "member"+tag)
		z := refNormalize(to64(x[m*batch*spec.In:(m+1)*batch*spec.In]), batch, to64(e.normMean), to64(e.normStd))
		zn := G.NewMatrix(g, tensor.Float64, G.WithShape(batch, spec.In), G.WithName("z_"+tag),
			G.WithValue(gTensor(tensor.Float64, z, batch, spec.In)))
		yn := G.NewMatrix(g, tensor.Float64, G.WithShape(batch, out), G.WithName("y_"+tag),
			G.WithValue(gTensor(tensor.Float64, to64(y[m*batch*out:(m+1)*batch*out]), batch, out)))
		head := members[m].forward(zn, gSwish)
		mu := G.Must(G.Slice(head, nil, G.S(0, out)))
		rho := G.Must(G.Slice(head, nil, G.S(out, 2*out)))
		// logvar = hi - softplus(hi - ρ); logvar = lo + softplus(logvar - lo)
		lv := G.Must(G.BroadcastSub(hi, G.Must(G.Softplus(G.Must(G.BroadcastSub(hi, rho, []byte{0}, nil)))), []byte{0}, nil))
		lv = G.Must(G.BroadcastAdd(lo, G.Must(G.Softplus(G.Must(G.BroadcastSub(lv, lo, nil, []byte{0})))), []byte{0}, nil))
		d := G.Must(G.Sub(mu, yn))
		terms := G.Must(G.Add(G.Must(G.HadamardProd(G.Must(G.Square(d)), G.Must(G.Exp(G.Must(G.Neg(lv)))))), lv))
		add(G.Must(G.Mean(terms)))
		for l, w := range members[m].w {
			decay := G.NewConstant(0.5 * float64(spec.WeightDecay[l]))
			add(G.Must(G.Mul(decay, G.Must(G.Sum(G.Must(G.Square(w)))))))
		}
	}
	add(G.Must(G.Mul(G.NewConstant(0.01), G.Must(G.Sub(G.Must(G.Sum(hi)), G.Must(G.Sum(lo)))))))

	wrt := G.Nodes{hi, lo}
	for _, m := range members {
		wrt = append(wrt, m.params()...)
	}
	grads, err := G.Grad(total, wrt...)
	if err != nil {
		t.Fatal(err)
	}
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if want := total.Value().Data().(float64); math.Abs(loss-want) > 1e-5*math.Abs(want) {
		t.Errorf("ensemble loss = %g, gorgonia %g", loss, want)
	}
	compareGrads(t, "max_logvar", e.gMaxLV, gValues(t, grads[0].Value()))
	compareGrads(t, "min_logvar", e.gMinLV, gValues(t, grads[1].Value()))
	k := 2
	for m := range members {
		for _, ours := range mlpGrads(e.gradMembers[m]) {
			compareGrads(t, wrt[k].Name(), ours, gValues(t, grads[k].Value()))
			k++
		}
	}
}

// openBLASForGorgonia is gonum's BLAS with sgemm and dgemm-free float32
// products routed to the engine's OpenBLAS, for tensor.Use / G.Use.
type openBLASForGorgonia struct {
	gonum.Implementation
	b *blas
}

// Sgemm forwards to OpenBLAS (gonum's BLAS is row-major, like ours).
func (o openBLASForGorgonia) Sgemm(tA, tB gblas.Transpose, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	o.b.gemm(tA != gblas.NoTrans, tB != gblas.NoTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// criticSizes are the benchmark's critic: Hopper's obs 11 + act 3, 2 × 256.
func criticSizes() []int { return []int{14, 256, 256, 1} }

// BenchmarkCriticStep times one critic training step (forward, backward,
// Adam) on a batch of 256: the engine's path against gorgonia, with its
// default BLAS (gonum, pure Go) and with OpenBLAS's sgemm wired in.
func BenchmarkCriticStep(b *testing.B) {
	const n = 256
	sizes := criticSizes()
	shape := engine.MLP{Sizes: sizes}
	r := rand.New(rand.NewPCG(1, 2))
	x := randSlice(r, n*sizes[0], 1)
	y := randSlice(r, n, 1)
	p0 := make([]float64, shape.NumParams())
	for i := range p0 {
		p0[i] = 0.05 * r.NormFloat64()
	}
	eng := testEngine(b)

	b.Run("engine", func(b *testing.B) {
		net := network{sizes: sizes, hidden: relu}
		p := make([]float32, len(p0))
		for i := range p {
			p[i] = float32(p0[i])
		}
		g, m, v := make([]float32, len(p)), make([]float32, len(p)), make([]float32, len(p))
		pv, gv := mlpView(shape, p), mlpView(shape, g)
		mm := matmul{blas: eng.blas}
		tr := mm.newTrace(net, n, true)
		L := net.layers()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			mm.forward(net, pv, nil, x, n, tr)
			q, d := tr.out[L-1], tr.grad[L-1]
			for k := 0; k < n; k++ {
				d[k] = (q[k] - y[k]) / n
			}
			mm.backward(net, pv, nil, &gv, x, n, tr, nil, 0, 0, 0)
			adam(p, g, m, v, adamStep(3e-4, int64(i+1)))
		}
	})

	gorgoniaStep := func(b *testing.B) {
		g := G.NewGraph()
		xn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, sizes[0]), G.WithName("x"),
			G.WithValue(tensor.New(tensor.WithShape(n, sizes[0]), tensor.WithBacking(x))))
		yn := G.NewMatrix(g, tensor.Float32, G.WithShape(n, 1), G.WithName("y"),
			G.WithValue(tensor.New(tensor.WithShape(n, 1), tensor.WithBacking(y))))
		q := newGMLP(g, shape, p0, tensor.Float32, "q")
		diff := G.Must(G.Sub(q.forward(xn, gReLU), yn))
		loss := G.Must(G.Mul(G.NewConstant(float32(0.5)), G.Must(G.Mean(G.Must(G.Square(diff))))))
		if _, err := G.Grad(loss, q.params()...); err != nil {
			b.Fatal(err)
		}
		vm := G.NewTapeMachine(g, G.BindDualValues(q.params()...))
		defer vm.Close()
		solver := G.NewAdamSolver(G.WithLearnRate(3e-4))
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := vm.RunAll(); err != nil {
				b.Fatal(err)
			}
			if err := solver.Step(G.NodesToValueGrads(q.params())); err != nil {
				b.Fatal(err)
			}
			vm.Reset()
		}
	}
	b.Run("gorgonia-gonum", gorgoniaStep)
	b.Run("gorgonia-openblas", func(b *testing.B) {
		G.Use(openBLASForGorgonia{b: eng.blas})
		defer G.Use(gonum.Implementation{})
		gorgoniaStep(b)
	})
}
