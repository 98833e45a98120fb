// ref_test.go: float64 reference implementations of the engine's losses,
// written directly from the formulas in engine.go (not from the kernels), for
// the finite-difference and value checks of the tests.

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// testEngine returns a CPU engine or fails the test.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	e := New(Options{})
	if e.err != nil {
		t.Fatalf("cannot load OpenBLAS: %v", e.err)
	}
	return e
}

func to64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

func randSlice(r *rand.Rand, n int, scale float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(r.NormFloat64() * scale)
	}
	return out
}

// refForward runs an MLP of the given shape (flat layout of layout.go) on
// rows x [n][Sizes[0]]; hidden layers use act, the last is linear.
func refForward(shape engine.MLP, act func(float64) float64, p []float64, x []float64, n int) []float64 {
	in := x
	for l := 0; l < shape.Layers(); l++ {
		din, dout := shape.Sizes[l], shape.Sizes[l+1]
		w, b := p[shape.Weight(l):], p[shape.Bias(l):]
		out := make([]float64, n*dout)
		for i := 0; i < n; i++ {
			for j := 0; j < dout; j++ {
				s := b[j]
				for k := 0; k < din; k++ {
					s += in[i*din+k] * w[k*dout+j]
				}
				if l < shape.Layers()-1 {
					s = act(s)
				}
				out[i*dout+j] = s
			}
		}
		in = out
	}
	return in
}

func refReLU(x float64) float64 { return math.Max(x, 0) }

func refSwish(x float64) float64 { return x / (1 + math.Exp(-x)) }

func refSoftplus(x float64) float64 { return math.Max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

// refMember extracts member e's network from an ensemble "params" buffer
// into a single-network flat buffer.
func refMember(spec engine.EnsembleSpec, p []float64, e int) []float64 {
	shape := spec.Net()
	out := make([]float64, shape.NumParams())
	for l := 0; l < shape.Layers(); l++ {
		in, o := shape.Sizes[l], shape.Sizes[l+1]
		copy(out[shape.Weight(l):shape.Weight(l)+in*o], p[spec.Weight(l)+e*in*o:])
		copy(out[shape.Bias(l):shape.Bias(l)+o], p[spec.Bias(l)+e*o:])
	}
	return out
}

// refHead splits a member's output row into μ and the bounded log-variance.
func refHead(spec engine.EnsembleSpec, p []float64, row []float64) (mu, lv []float64) {
	out := spec.Out
	hi, lo := p[spec.MaxLogVar():], p[spec.MinLogVar():]
	mu, lv = make([]float64, out), make([]float64, out)
	for j := 0; j < out; j++ {
		mu[j] = row[j]
		v := hi[j] - refSoftplus(hi[j]-row[out+j])
		lv[j] = lo[j] + refSoftplus(v-lo[j])
	}
	return mu, lv
}

// refNormalize applies the ensemble's input normalisation.
func refNormalize(x []float64, n int, mean, std []float64) []float64 {
	d := len(mean)
	z := make([]float64, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			s := std[j]
			if !(s >= 1e-12) {
				s = 1
			}
			z[i*d+j] = (x[i*d+j] - mean[j]) / s
		}
	}
	return z
}

// refEnsembleLoss is TrainStep's loss (engine.go) on x [E][batch][In] and
// y [E][batch][Out] at parameters p.
func refEnsembleLoss(spec engine.EnsembleSpec, p, mean, std, x, y []float64, batch int) float64 {
	shape := spec.Net()
	in, out := spec.In, spec.Out
	total := 0.0
	for e := 0; e < spec.Members; e++ {
		z := refNormalize(x[e*batch*in:(e+1)*batch*in], batch, mean, std)
		h := refForward(shape, refSwish, refMember(spec, p, e), z, batch)
		sum := 0.0
		for i := 0; i < batch; i++ {
			mu, lv := refHead(spec, p, h[i*2*out:(i+1)*2*out])
			for j := 0; j < out; j++ {
				d := mu[j] - y[(e*batch+i)*out+j]
				sum += d*d*math.Exp(-lv[j]) + lv[j]
			}
		}
		total += sum / float64(batch*out)
	}
	for l := 0; l < shape.Layers(); l++ {
		w := p[spec.Weight(l) : spec.Weight(l)+spec.Members*shape.Sizes[l]*shape.Sizes[l+1]]
		ss := 0.0
		for _, v := range w {
			ss += v * v
		}
		total += 0.5 * float64(spec.WeightDecay[l]) * ss
	}
	for j := 0; j < out; j++ {
		total += 0.01 * (p[spec.MaxLogVar()+j] - p[spec.MinLogVar()+j])
	}
	return total
}

// refLogSech2 is log(1 - tanh² u) = -2·log cosh u, computed as
// -2(|u| + log1p(e^{-2|u|}) - log 2).
func refLogSech2(u float64) float64 {
	a := math.Abs(u)
	return -2 * (a + math.Log1p(math.Exp(-2*a)) - math.Ln2)
}

// refSample returns the tanh-Gaussian actions [n][A] and log-probabilities
// [n] of the policy p at obs with noise eps.
func refSample(spec engine.AgentSpec, p, obs, eps []float64, n int) (act, logp []float64) {
	A := spec.Act
	head := refForward(spec.Policy(), refReLU, p, obs, n)
	act, logp = make([]float64, n*A), make([]float64, n)
	lo, hi := float64(spec.LogStdMin), float64(spec.LogStdMax)
	for i := 0; i < n; i++ {
		for j := 0; j < A; j++ {
			ls := math.Min(math.Max(head[i*2*A+A+j], lo), hi)
			e := eps[i*A+j]
			u := head[i*2*A+j] + math.Exp(ls)*e
			act[i*A+j] = math.Tanh(u)
			logp[i] += -0.5*e*e - ls - 0.5*math.Log(2*math.Pi) - refLogSech2(u)
		}
	}
	return act, logp
}

func refConcat(x, u []float64, n, dx, du int) []float64 {
	out := make([]float64, 0, n*(dx+du))
	for i := 0; i < n; i++ {
		out = append(out, x[i*dx:(i+1)*dx]...)
		out = append(out, u[i*du:(i+1)*du]...)
	}
	return out
}

// refTargets is the TD target y of engine.go's Update.
func refTargets(spec engine.AgentSpec, pol, q1t, q2t []float64, b refBatch, eps []float64, alpha float64) []float64 {
	n := b.n
	act, logp := refSample(spec, pol, b.next, eps, n)
	xq := refConcat(b.next, act, n, spec.Obs, spec.Act)
	v1 := refForward(spec.Critic(), refReLU, q1t, xq, n)
	v2 := refForward(spec.Critic(), refReLU, q2t, xq, n)
	y := make([]float64, n)
	for i := range y {
		y[i] = b.rew[i] + float64(spec.Gamma)*(1-b.done[i])*(math.Min(v1[i], v2[i])-alpha*logp[i])
	}
	return y
}

// refCriticLoss is ½·mean((Q(s,a) - y)²) for critic parameters q.
func refCriticLoss(spec engine.AgentSpec, q []float64, b refBatch, y []float64) float64 {
	xq := refConcat(b.obs, b.act, b.n, spec.Obs, spec.Act)
	v := refForward(spec.Critic(), refReLU, q, xq, b.n)
	s := 0.0
	for i := range y {
		s += (v[i] - y[i]) * (v[i] - y[i])
	}
	return 0.5 * s / float64(b.n)
}

// refActorLoss is mean(α·logπ(ã|s) - min(Q1,Q2)(s,ã)) and mean logπ.
func refActorLoss(spec engine.AgentSpec, pol, q1, q2, obs, eps []float64, n int, alpha float64) (loss, meanLogp float64) {
	act, logp := refSample(spec, pol, obs, eps, n)
	xq := refConcat(obs, act, n, spec.Obs, spec.Act)
	v1 := refForward(spec.Critic(), refReLU, q1, xq, n)
	v2 := refForward(spec.Critic(), refReLU, q2, xq, n)
	for i := 0; i < n; i++ {
		loss += alpha*logp[i] - math.Min(v1[i], v2[i])
		meanLogp += logp[i]
	}
	return loss / float64(n), meanLogp / float64(n)
}

// refBatch is an engine.Batch in float64.
type refBatch struct {
	n                         int
	obs, act, rew, next, done []float64
}

func toRef(b engine.Batch) refBatch {
	return refBatch{n: b.N, obs: to64(b.Obs), act: to64(b.Act), rew: to64(b.Rew), next: to64(b.NextObs), done: to64(b.Done)}
}

// randomBatch draws a SAC batch of n transitions; about a quarter are done.
func randomBatch(r *rand.Rand, spec engine.AgentSpec, n int) engine.Batch {
	b := engine.Batch{
		N:       n,
		Obs:     randSlice(r, n*spec.Obs, 1),
		Act:     make([]float32, n*spec.Act),
		Rew:     randSlice(r, n, 1),
		NextObs: randSlice(r, n*spec.Obs, 1),
		Done:    make([]float32, n),
	}
	for i := range b.Act {
		b.Act[i] = float32(2*r.Float64() - 1)
	}
	for i := range b.Done {
		if r.IntN(4) == 0 {
			b.Done[i] = 1
		}
	}
	return b
}

// normals returns numbers first... of key as float64 via rng's own Normal.
func normals(key rng.Key, first uint64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(key.Normal(first + uint64(i)))
	}
	return out
}
