// kernels_test.go: every C kernel against a plain float64 Go twin on random
// inputs, and the kernels' own exp/log/softplus/tanh against package math.
//
// Tolerances are float32-sized: the approximations are within a few ulp
// (relative 1e-6), kernels that sum a handful of terms within 1e-5.

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestMathApproximations(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	uniform := func(lo, hi float64) []float32 {
		x := make([]float32, 4099) // not a multiple of any vector width
		for i := range x {
			x[i] = float32(lo + (hi-lo)*r.Float64())
		}
		return x
	}
	logUniform := func(lo, hi float64) []float32 {
		x := uniform(math.Log(lo), math.Log(hi))
		for i := range x {
			x[i] = float32(math.Exp(float64(x[i])))
		}
		return x
	}
	sigmoid := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	sech2 := func(x float64) float64 { c := math.Cosh(x); return 1 / (c * c) }
	cases := []struct {
		name string
		fn   mathFn
		x    []float32
		ref  func(float64) float64
		rtol float64 // relative error bound
		atol float64 // absolute error bound (either may hold)
	}{
		{"exp", mathExp, uniform(-87, 88), math.Exp, 5e-7, 0},
		{"exp small", mathExp, uniform(-1, 1), math.Exp, 5e-7, 0},
		{"log", mathLog, logUniform(1e-30, 1e30), math.Log, 5e-7, 5e-7},
		{"log near 1", mathLog, uniform(0.5, 2), math.Log, 5e-7, 1e-7},
		{"softplus", mathSoftplus, uniform(-80, 80), refSoftplus, 1e-6, 0},
		{"softplus tiny", mathSoftplus, uniform(-85, -15), refSoftplus, 1e-6, 0},
		{"sigmoid", mathSigmoid, uniform(-80, 80), sigmoid, 1e-6, 0},
		{"tanh", mathTanh, uniform(-10, 10), math.Tanh, 1e-6, 0},
		{"tanh small", mathTanh, uniform(-0.2, 0.2), math.Tanh, 1e-6, 0},
		{"sech2", mathSech2, uniform(-20, 20), sech2, 2e-6, 0},
		{"sqrt", mathSqrt, logUniform(1e-30, 1e30), math.Sqrt, 5e-7, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := make([]float32, len(c.x))
			applyMath(y, c.x, c.fn)
			worst := 0.0
			for i, x := range c.x {
				want := c.ref(float64(x))
				err := math.Abs(float64(y[i]) - want)
				if err > c.atol && err > c.rtol*math.Abs(want) {
					t.Fatalf("%s(%g) = %g, want %g (error %.3g)", c.name, x, y[i], want, err)
				}
				if want != 0 {
					worst = max(worst, err/math.Abs(want))
				}
			}
			t.Logf("worst relative error %.3g", worst)
		})
	}
	// Exact values the kernels rely on.
	y := make([]float32, 2)
	applyMath(y, []float32{0, 1}, mathSqrt)
	if y[0] != 0 || y[1] != 1 {
		t.Errorf("sqrt(0), sqrt(1) = %v, want 0, 1", y)
	}
	applyMath(y, []float32{1, 1}, mathLog)
	if y[0] != 0 {
		t.Errorf("log(1) = %v, want exactly 0", y[0])
	}
}

// near reports whether got is within tol of want, relative to max(1, |want|).
func near(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*math.Max(1, math.Abs(want))
}

func TestBiasActAndBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, d = 37, 29
	b := randSlice(r, d, 1)
	for _, c := range []struct {
		name string
		act  activation
		f    func(float64) float64
		df   func(float64) float64
	}{
		{"linear", linear, func(x float64) float64 { return x }, nil},
		{"relu", relu, refReLU, func(x float64) float64 {
			if x > 0 {
				return 1
			}
			return 0
		}},
		{"swish", swish, refSwish, func(x float64) float64 {
			s := 1 / (1 + math.Exp(-x))
			return s + x*s*(1-s)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x := randSlice(r, n*d, 3)
			y := append([]float32(nil), x...)
			var pre []float32
			if c.act == swish {
				pre = make([]float32, n*d)
			}
			biasAct(y, pre, b, n, d, c.act)
			for i := 0; i < n; i++ {
				for j := 0; j < d; j++ {
					a := float64(x[i*d+j]) + float64(b[j])
					if !near(y[i*d+j], c.f(a), 1e-6) {
						t.Fatalf("out[%d][%d] = %g, want %g", i, j, y[i*d+j], c.f(a))
					}
					if sig := 1 / (1 + math.Exp(-a)); pre != nil && !near(pre[i*d+j], sig, 1e-6) {
						t.Fatalf("pre[%d][%d] = %g, want σ = %g", i, j, pre[i*d+j], sig)
					}
				}
			}
			if c.df == nil {
				return
			}
			dy := randSlice(r, n*d, 1)
			got := append([]float32(nil), dy...)
			actBackward(got, y, pre, n*d, c.act)
			for i := range got {
				a := float64(x[i]) + float64(b[i%d])
				want := float64(dy[i]) * c.df(a)
				if !near(got[i], want, 1e-6) {
					t.Fatalf("backward[%d] = %g, want %g", i, got[i], want)
				}
			}
		})
	}
}

func TestVectorKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const n, d = 53, 19

	x := randSlice(r, n*d, 1)
	out := randSlice(r, d, 1)
	prev := append([]float32(nil), out...)
	colsum(out, x, n, d, true)
	for j := 0; j < d; j++ {
		want := float64(prev[j])
		for i := 0; i < n; i++ {
			want += float64(x[i*d+j])
		}
		if !near(out[j], want, 1e-5) {
			t.Errorf("colsum[%d] = %g, want %g", j, out[j], want)
		}
	}
	colsum(out, x, n, d, false)
	colsum(prev, x, n, d, true)
	if out[0] == prev[0] {
		t.Errorf("colsum without accumulate kept the previous value")
	}

	size := 1001
	p, g := randSlice(r, size, 1), randSlice(r, size, 1)
	m, v := randSlice(r, size, 0.1), randSlice(r, size, 0.1)
	for i := range v {
		v[i] *= v[i]
	}
	p0, m0, v0 := to64(p), to64(m), to64(v)
	cfg := adamStep(3e-4, 7)
	adam(p, g, m, v, cfg)
	for i := 0; i < size; i++ {
		gi := float64(g[i])
		mi := 0.9*m0[i] + 0.1*gi
		vi := 0.999*v0[i] + 0.001*gi*gi
		mh := mi / (1 - math.Pow(0.9, 7))
		vh := vi / (1 - math.Pow(0.999, 7))
		want := p0[i] - 3e-4*mh/(math.Sqrt(vh)+1e-8)
		if !near(m[i], mi, 1e-6) || !near(v[i], vi, 1e-6) || !near(p[i], want, 1e-6) {
			t.Fatalf("adam[%d]: p, m, v = %g, %g, %g, want %g, %g, %g", i, p[i], m[i], v[i], want, mi, vi)
		}
	}

	tgt, src := randSlice(r, size, 1), randSlice(r, size, 1)
	t0 := to64(tgt)
	polyak(tgt, src, 0.005)
	for i := range tgt {
		if want := 0.005*float64(src[i]) + 0.995*t0[i]; !near(tgt[i], want, 1e-6) {
			t.Fatalf("polyak[%d] = %g, want %g", i, tgt[i], want)
		}
	}

	ys := append([]float32(nil), tgt...)
	axpy(ys, src, -2.5)
	ss := 0.0
	for i := range ys {
		if want := float64(tgt[i]) - 2.5*float64(src[i]); !near(ys[i], want, 1e-6) {
			t.Fatalf("axpy[%d] = %g, want %g", i, ys[i], want)
		}
		ss += float64(src[i]) * float64(src[i])
	}
	if got := sumsq(src); math.Abs(got-ss) > 1e-5*ss {
		t.Errorf("sumsq = %g, want %g", got, ss)
	}

	mean, std := randSlice(r, d, 1), randSlice(r, d, 1)
	inv := make([]float32, d)
	for j := range std {
		std[j] = float32(math.Abs(float64(std[j]))) + 0.1
		inv[j] = 1 / std[j]
	}
	z := make([]float32, n*d)
	normalize(z, x, mean, inv, n, d)
	want := refNormalize(to64(x), n, to64(mean), to64(std))
	for i := range z {
		if !near(z[i], want[i], 1e-6) {
			t.Fatalf("normalize[%d] = %g, want %g", i, z[i], want[i])
		}
	}
}

// testHead returns a random ensemble head [n][2·out] whose raw log-variances
// straddle both soft bounds, and the bounds.
func testHead(r *rand.Rand, n, out int) (head, hi, lo []float32) {
	head = randSlice(r, n*2*out, 1)
	hi, lo = make([]float32, out), make([]float32, out)
	for j := 0; j < out; j++ {
		hi[j] = float32(0.5 + 0.3*r.NormFloat64())
		lo[j] = float32(-2 + 0.3*r.NormFloat64())
	}
	for i := 0; i < n; i++ {
		for j := 0; j < out; j++ {
			head[i*2*out+out+j] = float32(-4 + 6*r.Float64())
		}
	}
	return head, hi, lo
}

// refGaussTerms returns the per-entry bounded logvar of a head row and the
// float64 NLL terms for targets y.
func refGaussTerms(head []float32, hi, lo []float32, out int, i int) (mu, lv []float64) {
	mu, lv = make([]float64, out), make([]float64, out)
	for j := 0; j < out; j++ {
		mu[j] = float64(head[i*2*out+j])
		v := float64(hi[j]) - refSoftplus(float64(hi[j])-float64(head[i*2*out+out+j]))
		lv[j] = float64(lo[j]) + refSoftplus(v-float64(lo[j]))
	}
	return mu, lv
}

func TestGaussHeadKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const n, out = 171, 13 // three blocks of whole rows in the kernels (78, 78, 15)
	head, hi, lo := testHead(r, n, out)
	y := randSlice(r, n*out, 1)

	// Forward, scattered to reversed rows.
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(n - 1 - i)
	}
	mean, logvar := make([]float32, n*out), make([]float32, n*out)
	gaussHead(mean, logvar, head, rows, hi, lo, n, out)
	var sse, snll float64
	for i := 0; i < n; i++ {
		mu, lv := refGaussTerms(head, hi, lo, out, i)
		for j := 0; j < out; j++ {
			k := int(rows[i])*out + j
			if mean[k] != head[i*2*out+j] || !near(logvar[k], lv[j], 2e-6) {
				t.Fatalf("row %d col %d: mean, logvar = %g, %g, want %g, %g", i, j, mean[k], logvar[k], mu[j], lv[j])
			}
			d := mu[j] - float64(y[i*out+j])
			sse += d * d
			snll += d*d*math.Exp(-lv[j]) + lv[j]
		}
	}

	var gotSSE, gotNLL float64 = 1, 2 // gaussEval adds to what is there
	acc := make([]float64, 2*out)
	gaussEval(&gotSSE, &gotNLL, head, y, hi, lo, n, out, acc)
	if math.Abs(gotSSE-1-sse) > 1e-5*sse || math.Abs(gotNLL-2-snll) > 1e-5*math.Abs(snll) {
		t.Errorf("gaussEval sums = %g, %g, want %g, %g", gotSSE-1, gotNLL-2, sse, snll)
	}

	// Loss and gradient against central differences of the float64 loss.
	dhead := make([]float32, n*2*out)
	dmax, dmin := make([]float32, out), make([]float32, out)
	sum := gaussNLLGrad(dhead, dmax, dmin, head, y, hi, lo, 1/float32(n*out), n, out, acc)
	if math.Abs(sum-snll) > 1e-5*math.Abs(snll) {
		t.Errorf("gaussNLLGrad sum = %g, want %g", sum, snll)
	}
	h64, hi64, lo64, y64 := to64(head), to64(hi), to64(lo), to64(y)
	loss := func() float64 {
		s := 0.0
		for i := 0; i < n; i++ {
			for j := 0; j < out; j++ {
				v := hi64[j] - refSoftplus(hi64[j]-h64[i*2*out+out+j])
				lv := lo64[j] + refSoftplus(v-lo64[j])
				d := h64[i*2*out+j] - y64[i*out+j]
				s += d*d*math.Exp(-lv) + lv
			}
		}
		return s / float64(n*out)
	}
	fd := func(p *float64) float64 {
		const eps = 1e-6
		old := *p
		*p = old + eps
		up := loss()
		*p = old - eps
		down := loss()
		*p = old
		return (up - down) / (2 * eps)
	}
	for k := 0; k < len(h64); k += 5 { // every block, μ and ρ columns
		if want := fd(&h64[k]); !near(dhead[k], want, 1e-5) {
			t.Fatalf("dhead[%d] = %g, want %g", k, dhead[k], want)
		}
	}
	for j := 0; j < out; j++ {
		if want := fd(&hi64[j]); !near(dmax[j], want, 1e-5) {
			t.Errorf("dmax[%d] = %g, want %g", j, dmax[j], want)
		}
		if want := fd(&lo64[j]); !near(dmin[j], want, 1e-5) {
			t.Errorf("dmin[%d] = %g, want %g", j, dmin[j], want)
		}
	}
}

func TestPolicyKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	const n, a = 450, 5 // three blocks of whole rows in the kernels (204, 204, 42)
	const lsmin, lsmax = -1.5, 0.7
	head := randSlice(r, n*2*a, 1.5)
	eps := randSlice(r, n*a, 1)
	dact := randSlice(r, n*a, 1)
	const coef = 0.37

	h64, e64, da64 := to64(head), to64(eps), to64(dact)
	sample := func(i, j int) (act, logpTerm float64) {
		ls := math.Min(math.Max(h64[i*2*a+a+j], lsmin), lsmax)
		e := e64[i*a+j]
		u := h64[i*2*a+j] + math.Exp(ls)*e
		return math.Tanh(u), -0.5*e*e - ls - 0.5*math.Log(2*math.Pi) - refLogSech2(u)
	}

	act, logp := make([]float32, n*a), make([]float32, n)
	policySample(act, logp, head, eps, n, a, lsmin, lsmax)
	stoch, det := make([]float32, n*a), make([]float32, n*a)
	policyAct(stoch, head, eps, n, a, lsmin, lsmax)
	policyAct(det, head, nil, n, a, lsmin, lsmax)
	for i := 0; i < n; i++ {
		lp := 0.0
		for j := 0; j < a; j++ {
			want, term := sample(i, j)
			lp += term
			if !near(act[i*a+j], want, 1e-6) || stoch[i*a+j] != act[i*a+j] {
				t.Fatalf("act[%d][%d] = %g (sample), %g (act), want %g", i, j, act[i*a+j], stoch[i*a+j], want)
			}
			if want := math.Tanh(h64[i*2*a+j]); !near(det[i*a+j], want, 1e-6) {
				t.Fatalf("deterministic act[%d][%d] = %g, want %g", i, j, det[i*a+j], want)
			}
		}
		if !near(logp[i], lp, 1e-5) {
			t.Fatalf("logp[%d] = %g, want %g", i, logp[i], lp)
		}
	}

	// policyBackward against central differences of
	// Σ_i coef·logπ_i + Σ_ij dact_ij·act_ij, with raw log σ both inside and
	// outside the clip (the latter must get exactly zero gradient).
	f := func() float64 {
		s := 0.0
		for i := 0; i < n; i++ {
			for j := 0; j < a; j++ {
				act, term := sample(i, j)
				s += coef*term + da64[i*a+j]*act
			}
		}
		return s
	}
	dhead := make([]float32, n*2*a)
	policyBackward(dhead, head, eps, dact, coef, n, a, lsmin, lsmax)
	outside := 0
	for k := 0; k < len(h64); k += 7 { // every block, μ and log σ columns
		const h = 1e-6
		old := h64[k]
		h64[k] = old + h
		up := f()
		h64[k] = old - h
		down := f()
		h64[k] = old
		want := (up - down) / (2 * h)
		if col := k % (2 * a); col >= a && (old < lsmin || old > lsmax) {
			outside++
			if dhead[k] != 0 {
				t.Fatalf("dhead[%d] = %g for a clipped log σ, want 0", k, dhead[k])
			}
			continue
		}
		if !near(dhead[k], want, 1e-5) {
			t.Fatalf("dhead[%d] = %g, want %g", k, dhead[k], want)
		}
	}
	if outside == 0 {
		t.Fatal("test draws no clipped log σ; widen the head")
	}
	// Without critic gradients only the log-probability term remains.
	policyBackward(dhead, head, eps, nil, coef, n, a, lsmin, lsmax)
	if want := coef * 2 * math.Tanh(h64[0]+math.Exp(math.Min(math.Max(h64[a], lsmin), lsmax))*e64[0]); !near(dhead[0], want, 1e-6) {
		t.Errorf("dhead[0] without dact = %g, want %g", dhead[0], want)
	}
}
