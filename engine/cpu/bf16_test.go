// bf16_test.go: the bf16 products (engine.BF16): rounding to bf16, each
// product against float32 and exactly-rounded references within bounds
// derived below, gradients through bf16 products against finite
// differences, training steps that lower the loss on a fixed batch, and the
// errors where oneDNN or the processor's bf16 instructions are missing.

package cpu

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// Error bounds of one bf16 product c = Σ_k a_k·b_k (float32 accumulation).
//
// Rounding a float32 to bf16 (8 significant bits) to nearest moves it by at
// most u = 2⁻⁸ of its magnitude, so |ã·b̃ - a·b| ≤ (2u + u²)·|a·b|. The
// products of bf16 values are exact in float32 (8 + 8 significant bits), and
// a sum of K float32 terms adds at most about K·2⁻²⁴ of Σ|terms| (the
// standard γ_K bound, any summation order). So, against the float64 product
// of the float32 operands,
//
//	|c̃ - c| ≤ (2u + u² + (K+1)·2⁻²⁴) · Σ_k |a_k·b_k|,
//
// about 0.8% of Σ|a·b|: the "relative 1e-2" of bf16. Against the float64
// product of the operands rounded to bf16 only the accumulation remains:
// (K+1)·2⁻²⁴ · Σ|ã·b̃|, which proves that the rounding is to nearest and the
// accumulation float32.
const (
	bf16Unit = 1.0 / 256      // u = 2⁻⁸
	f32Unit  = 1.0 / 16777216 // 2⁻²⁴
)

func bf16Bound(k int) float64 { return 2*bf16Unit + bf16Unit*bf16Unit + float64(k+1)*f32Unit }

func accumulationBound(k int) float64 { return float64(k+1) * f32Unit }

// bf16Engine returns an engine whose bf16 products work, or skips the test
// on a processor without bf16 instructions (a missing oneDNN fails it:
// scripts/deps.sh installs it).
func bf16Engine(t testing.TB) *Engine {
	t.Helper()
	e := testEngine(t)
	if err := e.CheckPrecision(engine.BF16); err != nil {
		if strings.Contains(err.Error(), "cannot be loaded") {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return e
}

// roundBF16 is the reference rounding: float32 to the nearest bf16, ties to
// even, in float64 arithmetic; subnormals to a zero of their sign, as the
// processors' bf16 instructions do.
func roundBF16(x float32) float32 {
	if x != x || math.IsInf(float64(x), 0) || x == 0 {
		return x
	}
	if math.Abs(float64(x)) < 0x1p-126 {
		return float32(math.Copysign(0, float64(x)))
	}
	// 8 significant bits: a quantum of 2^(e-8) for x = m·2^e, |m| in [0.5, 1).
	_, e := math.Frexp(float64(x))
	q := math.Ldexp(1, e-8)
	v := math.RoundToEven(float64(x)/q) * q
	if v > math.MaxFloat32 || v < -math.MaxFloat32 {
		return float32(math.Inf(int(math.Copysign(1, v))))
	}
	return float32(v)
}

func bf16Value(h uint16) float32 { return math.Float32frombits(uint32(h) << 16) }

// TestToBF16 checks both roundings, the AVX512-BF16 instruction's (where the
// processor has it) and the portable loop's, against the reference on
// random values of every magnitude, random bit patterns, ties, the largest
// float32, subnormals, zeros, infinities and NaNs, with lengths that leave
// every tail.
func TestToBF16(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var src []float32
	for i := 0; i < 5000; i++ {
		src = append(src, float32(r.NormFloat64()*math.Pow(10, float64(r.IntN(80)-40))))
		src = append(src, math.Float32frombits(r.Uint32()))
	}
	src = append(src, math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000),
		-math.Float32frombits(0x3f808000), math.MaxFloat32, -math.MaxFloat32, 1e-40, -3e-39, 0x1p-126, 0,
		float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), math.Float32frombits(0x7f800001), math.Float32frombits(0xffffffff))
	used := map[bool]bool{}
	for _, instruction := range []bool{true, false} {
		for _, n := range []int{len(src), 1, 15, 16, 17, 31, 33, 47} {
			dst := make([]uint16, n+1)
			dst[n] = 0xbeef
			used[toBF16Path(dst[:n], src[:n], instruction)] = true
			if dst[n] != 0xbeef {
				t.Fatalf("instruction %v, %d values: wrote past the end", instruction, n)
			}
			for i, x := range src[:n] {
				got, want := bf16Value(dst[i]), roundBF16(x)
				if x != x {
					if got == got || dst[i]&0x8000 != uint16(math.Float32bits(x)>>16)&0x8000 {
						t.Errorf("instruction %v: bf16(NaN %#08x) = %#04x, want a NaN of the same sign", instruction, math.Float32bits(x), dst[i])
					}
					continue
				}
				if math.Float32bits(got) != math.Float32bits(want) {
					t.Errorf("instruction %v: bf16(%g = %#08x) = %g (%#04x), want %g", instruction, x, math.Float32bits(x), got, dst[i], want)
				}
			}
		}
	}
	t.Logf("roundings checked: AVX512-BF16 instruction %v, portable loop %v", used[true], used[false])
}

// TestBF16Products runs the products a network makes (forward X·W, weight
// gradient Xᵀ·D, input gradient D·Wᵀ, and the other transposition) at
// MBPO's sizes and at odd ones, with leading dimensions wider than the
// matrices and beta 0, 1 and ½, against the bounds derived above.
func TestBF16Products(t *testing.T) {
	e := bf16Engine(t)
	mm, err := e.products(engine.BF16)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
		beta           float32
	}{
		{"forward 256x256x256", false, false, 256, 256, 256, 0},
		{"forward ensemble input 256x200x14", false, false, 256, 200, 14, 0},
		{"forward critic output 256x1x256", false, false, 256, 1, 256, 0},
		{"weight gradient 200x200 over 256 rows", true, false, 200, 200, 256, 0},
		{"input gradient 256x256x256", false, true, 256, 256, 256, 0},
		{"input gradient, action columns 256x3x256", false, true, 256, 3, 256, 0},
		{"TT odd", true, true, 37, 29, 41, 0},
		{"NN beta 1", false, false, 37, 29, 41, 1},
		{"NT beta 0.5", false, true, 37, 29, 41, 0.5},
		{"one row", false, false, 1, 64, 33, 0},
		{"outer product", false, true, 64, 33, 1, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			const pad = 3
			ar, ac := c.m, c.k
			if c.transA {
				ar, ac = c.k, c.m
			}
			br, bc := c.k, c.n
			if c.transB {
				br, bc = c.n, c.k
			}
			lda, ldb, ldc := ac+pad, bc+pad, c.n+pad
			a := randSlice(r, ar*lda, 1)
			b := randSlice(r, br*ldb, 1)
			cm := randSlice(r, c.m*ldc, 1)
			c0 := append([]float32(nil), cm...)
			s := newBF16Scratch(mm.bf16, ar*ac, br*bc)
			s.gemm(c.transA, c.transB, c.m, c.n, c.k, a, lda, b, ldb, c.beta, cm, ldc)
			ra, rb := make([]float32, len(a)), make([]float32, len(b))
			for i := range a {
				ra[i] = roundBF16(a[i])
			}
			for i := range b {
				rb[i] = roundBF16(b[i])
			}
			at := func(v []float32, i, k int) float32 {
				if c.transA {
					return v[k*lda+i]
				}
				return v[i*lda+k]
			}
			bt := func(v []float32, k, j int) float32 {
				if c.transB {
					return v[j*ldb+k]
				}
				return v[k*ldb+j]
			}
			worst, worstExact := 0.0, 0.0
			for i := 0; i < c.m; i++ {
				for j := 0; j < ldc; j++ {
					got := cm[i*ldc+j]
					if j >= c.n {
						if got != c0[i*ldc+j] {
							t.Fatalf("c[%d][%d] beyond n changed", i, j)
						}
						continue
					}
					var exact, rounded, mag, magRounded float64
					for k := 0; k < c.k; k++ {
						x, y := at(a, i, k), bt(b, k, j)
						exact += float64(x) * float64(y)
						mag += math.Abs(float64(x) * float64(y))
						xr, yr := float64(at(ra, i, k)), float64(bt(rb, k, j))
						rounded += xr * yr
						magRounded += math.Abs(xr * yr)
					}
					prior := float64(c.beta) * float64(c0[i*ldc+j])
					// beta·c adds its own float32 rounding.
					slack := math.Abs(prior) * 2 * f32Unit
					err := math.Abs(float64(got) - (exact + prior))
					errExact := math.Abs(float64(got) - (rounded + prior))
					if err > bf16Bound(c.k)*mag+slack {
						t.Fatalf("c[%d][%d] = %g, float32 product %g: error %.3g beyond the bf16 bound %.3g",
							i, j, got, exact+prior, err, bf16Bound(c.k)*mag+slack)
					}
					if errExact > accumulationBound(c.k)*magRounded+slack+1e-30 {
						t.Fatalf("c[%d][%d] = %g, product of the bf16-rounded operands %g: error %.3g beyond float32 accumulation's %.3g",
							i, j, got, rounded+prior, errExact, accumulationBound(c.k)*magRounded+slack)
					}
					if mag > 0 {
						worst = max(worst, err/mag)
						worstExact = max(worstExact, errExact/max(magRounded, 1e-300))
					}
				}
			}
			t.Logf("worst error / Σ|a·b|: %.2e against float32 operands (bound %.2e), %.2e against bf16-rounded ones",
				worst, bf16Bound(c.k), worstExact)
		})
	}
}

// gradCheckBF16 compares gradients computed through bf16 products with
// central differences of the float64 loss f (float64 products), which
// differ by the bf16 products' errors: |g - fd| ≤ tol·(|fd| + rms(fd)).
// The product bound above gives tol: each of the L products a gradient of a
// network of L weight layers passes through (forward to the loss, back to
// the layer) moves it by about 2u of the magnitudes it sums, so
// tol = 2u·(L + 1), with one more for the loss's own product.
func gradCheckBF16(t *testing.T, what string, f func(p []float64) float64, p []float64, g []float32, idx []int, layers int) {
	t.Helper()
	tol := 2 * bf16Unit * float64(layers+1)
	fd := make([]float64, len(idx))
	rms := 0.0
	for k, i := range idx {
		h := 1e-6 * math.Max(1, math.Abs(p[i]))
		old := p[i]
		p[i] = old + h
		up := f(p)
		p[i] = old - h
		down := f(p)
		p[i] = old
		fd[k] = (up - down) / (2 * h)
		rms += fd[k] * fd[k]
	}
	rms = math.Sqrt(rms / float64(len(idx)))
	if rms == 0 {
		t.Fatalf("%s: every sampled gradient is zero; the check would prove nothing", what)
	}
	worst := 0.0
	for k, i := range idx {
		err := math.Abs(float64(g[i]) - fd[k])
		worst = max(worst, err/(math.Abs(fd[k])+rms))
		if err > tol*(math.Abs(fd[k])+rms) {
			t.Errorf("%s: gradient[%d] = %.6g, finite difference %.6g (error %.3g, bound %.3g)", what, i, g[i], fd[k], err, tol*(math.Abs(fd[k])+rms))
		}
	}
	t.Logf("%s: worst |g - fd| / (|fd| + rms) = %.2e (bound %.2e)", what, worst, tol)
}

func bf16Spec(s engine.EnsembleSpec) engine.EnsembleSpec {
	s.Precision = engine.BF16
	return s
}

func bf16AgentSpec(s engine.AgentSpec) engine.AgentSpec {
	s.Precision = engine.BF16
	return s
}

func TestBF16EnsembleGradient(t *testing.T) {
	bf16Engine(t)
	spec := bf16Spec(smallSpec())
	e := newTestEnsemble(t, spec, 1)
	r := rand.New(rand.NewPCG(2, 3))
	const batch = 9
	x := randSlice(r, spec.Members*batch*spec.In, 2)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	loss := e.gradients(x, y, batch)

	p := to64(e.params)
	mean, std, x64, y64 := to64(e.normMean), to64(e.normStd), to64(x), to64(y)
	f := func(p []float64) float64 { return refEnsembleLoss(spec, p, mean, std, x64, y64, batch) }
	L := spec.Net().Layers()
	if want := f(p); math.Abs(loss-want) > 2*bf16Unit*float64(L)*math.Abs(want) {
		t.Fatalf("loss = %.8g, reference %.8g", loss, want)
	}
	var idx []int
	shape := spec.Net()
	for l := 0; l < shape.Layers(); l++ {
		in, out := shape.Sizes[l], shape.Sizes[l+1]
		for m := 0; m < spec.Members; m++ {
			w := spec.Weight(l) + m*in*out
			idx = append(idx, sampleIndices(r, w, w+in*out, 4)...)
			b := spec.Bias(l) + m*out
			idx = append(idx, sampleIndices(r, b, b+out, 3)...)
		}
	}
	for j := 0; j < 2*spec.Out; j++ {
		idx = append(idx, spec.MaxLogVar()+j)
	}
	gradCheckBF16(t, "ensemble loss", f, p, e.grads, idx, L)
}

func TestBF16CriticAndActorGradients(t *testing.T) {
	bf16Engine(t)
	// Two switches of the actor loss are kept away from their edges: where
	// the engine's and the float64 reference's values fall on either side of
	// one, the gradients differ by a jump no tolerance fits (the float32
	// tests cover both switches). The log σ clip is the paper's [-20, 2],
	// which no raw log σ reaches here, and Q2 lies well above Q1, so that
	// min(Q1, Q2) is Q1 on every row.
	spec := bf16AgentSpec(smallAgentSpec())
	spec.LogStdMin, spec.LogStdMax = -20, 2
	a := newTestAgent(t, spec, 1)
	a.q2[spec.Critic().Bias(spec.Critic().Layers()-1)] += 10
	r := rand.New(rand.NewPCG(2, 3))
	const n = 128
	b := randomBatch(r, spec, n)
	eps := randSlice(r, n*spec.Act, 1)
	alpha := float32(math.Exp(float64(a.logAlpha[0])))
	a.updateScratch(n)
	a.criticGradients(b, eps, alpha)
	rb := toRef(b)
	// The targets come through bf16 products too: the check differentiates
	// the critic loss at the targets the engine computed.
	y := to64(a.upd.y[:n])
	q1, q2 := to64(a.q1), to64(a.q2)
	Lq := spec.Critic().Layers()
	idx := layerIndices(r, spec.Critic())
	gradCheckBF16(t, "critic 1", func(p []float64) float64 { return refCriticLoss(spec, p, rb, y) }, q1, a.gQ1, idx, Lq)
	gradCheckBF16(t, "critic 2", func(p []float64) float64 { return refCriticLoss(spec, p, rb, y) }, q2, a.gQ2, idx, Lq)

	obs := randSlice(r, n*spec.Obs, 1)
	a.actorGradients(obs, n, eps, alpha)
	pol, o64, e64 := to64(a.pol), to64(obs), to64(eps)
	f := func(p []float64) float64 {
		l, _ := refActorLoss(spec, p, q1, q2, o64, e64, n, float64(alpha))
		return l
	}
	// The actor's gradient passes through the policy and a critic.
	gradCheckBF16(t, "actor", f, pol, a.gPol[0], layerIndices(r, spec.Policy()), spec.Policy().Layers()+Lq)
}

// TestBF16TrainingLowersLoss takes bf16 training steps on one fixed batch:
// the ensemble's loss must fall, and so must the critics' loss with γ = 0
// (targets that are the rewards, fixed).
func TestBF16TrainingLowersLoss(t *testing.T) {
	e := bf16Engine(t)
	spec := bf16Spec(engine.PaperEnsemble(11, 3, 200))
	ens, err := e.NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	const batch = 256
	x := randSlice(r, spec.Members*batch*spec.In, 1)
	y := make([]float32, spec.Members*batch*spec.Out)
	for i := range y { // a smooth function of the inputs plus noise
		row := i / spec.Out
		y[i] = float32(math.Sin(float64(x[row*spec.In+i%spec.Out%spec.In])) + 0.1*r.NormFloat64())
	}
	first, _ := ens.TrainStep(x, y, batch)
	var last float32
	for i := 0; i < 100; i++ {
		if last, err = ens.TrainStep(x, y, batch); err != nil {
			t.Fatal(err)
		}
	}
	if !(last < first-0.5) {
		t.Errorf("ensemble loss %g after 100 bf16 steps on one batch, %g at the first", last, first)
	}
	t.Logf("ensemble loss on a fixed batch: %.4g, after 100 bf16 steps %.4g", first, last)

	aspec := bf16AgentSpec(engine.PaperAgent(11, 3, -3))
	aspec.Gamma = 0
	ag, err := e.NewAgent(aspec, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := randomBatch(r, aspec, batch)
	var q0, q float32
	for i := 0; i < 200; i++ {
		st, err := ag.Update(b, rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			q0 = st.Q1Loss + st.Q2Loss
		}
		q = st.Q1Loss + st.Q2Loss
	}
	if !(q < q0/4) {
		t.Errorf("critic loss %g after 200 bf16 updates on one batch with fixed targets, %g at the first", q, q0)
	}
	t.Logf("critic loss on a fixed batch: %.4g, after 200 bf16 updates %.4g", q0, q)
}

// TestBF16Unavailable: bf16 without oneDNN, or on a processor without bf16
// instructions, is an error that says which, and fp32 still works.
func TestBF16Unavailable(t *testing.T) {
	e := New(Options{OneDNNLibrary: "libdnnl-missing.so.2"})
	_, err := e.NewAgent(bf16AgentSpec(smallAgentSpec()), 1)
	if err == nil || !strings.Contains(err.Error(), "cannot be loaded") || !strings.Contains(err.Error(), "libdnnl2") {
		t.Errorf("bf16 without oneDNN: error %v, want one naming libdnnl2", err)
	}
	if _, err := e.NewAgent(smallAgentSpec(), 1); err != nil {
		t.Errorf("fp32 beside a failed bf16: %v", err)
	}

	// oneDNN reads ONEDNN_MAX_CPU_ISA when it loads: in a child process,
	// capped below AVX512-BF16, it stands for a processor without bf16.
	if os.Getenv("MBPO_BF16_CHILD") == "1" {
		err := New(Options{}).CheckPrecision(engine.BF16)
		if err == nil {
			t.Fatal("bf16 with oneDNN capped at avx512_core: no error")
		}
		t.Log(err)
		if !strings.Contains(err.Error(), "AVX512-BF16 or AMX") || !strings.Contains(err.Error(), "use fp32") {
			t.Fatalf("error %q does not say what is missing and what to do", err)
		}
		return
	}
	bf16Engine(t) // the child's check needs a oneDNN that loads
	cmd := exec.Command(os.Args[0], "-test.run", "^TestBF16Unavailable$", "-test.v")
	cmd.Env = append(os.Environ(), "MBPO_BF16_CHILD=1", "ONEDNN_MAX_CPU_ISA=AVX512_CORE")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "bf16 precision needs a processor") {
		t.Errorf("child printed no error about the processor:\n%s", out)
	}
}

// TestBF16PaperSizesIndependentOfThreads trains and runs the paper's Hopper
// networks in bf16 in child processes on 1 and 2 engine threads, with
// OpenMP told to use 1 and 3 threads: every result is bit for bit the same,
// so oneDNN runs each product on the calling thread alone, as the engine
// asks, whatever OMP_NUM_THREADS says.
func TestBF16PaperSizesIndependentOfThreads(t *testing.T) {
	if threads := os.Getenv("MBPO_BF16_THREADS"); threads != "" {
		n := 1
		if threads == "2" {
			n = 2
		}
		fmt.Printf("digest %016x\n", bf16PaperDigest(t, n))
		return
	}
	bf16Engine(t)
	digests := map[string]string{}
	for _, c := range []struct{ threads, omp string }{{"1", "1"}, {"2", "3"}} {
		cmd := exec.Command(os.Args[0], "-test.run", "^TestBF16PaperSizesIndependentOfThreads$", "-test.v")
		cmd.Env = append(os.Environ(), "MBPO_BF16_THREADS="+c.threads, "OMP_NUM_THREADS="+c.omp)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("child on %s threads: %v\n%s", c.threads, err, out)
		}
		_, d, ok := strings.Cut(string(out), "digest ")
		if !ok {
			t.Fatalf("child printed no digest:\n%s", out)
		}
		digests[c.threads+" engine threads, OMP_NUM_THREADS="+c.omp] = strings.Fields(d)[0]
	}
	if len(uniq(digests)) != 1 {
		t.Errorf("bf16 results differ: %v", digests)
	}
}

func uniq(m map[string]string) map[string]bool {
	u := map[string]bool{}
	for _, v := range m {
		u[v] = true
	}
	return u
}

// bf16PaperDigest hashes what bf16 networks of the paper's Hopper sizes
// compute on threads engine threads: two SAC updates, two ensemble steps,
// a Predict and a 1024³ product.
func bf16PaperDigest(t *testing.T, threads int) uint64 {
	e := New(Options{Threads: threads})
	r := rand.New(rand.NewPCG(1, 1))
	h := fnv.New64a()
	put := func(v []float32) {
		for _, x := range v {
			binary.Write(h, binary.LittleEndian, math.Float32bits(x))
		}
	}
	aspec := bf16AgentSpec(engine.PaperAgent(11, 3, -3))
	ag, err := e.NewAgent(aspec, 1)
	if err != nil {
		t.Fatal(err)
	}
	b := randomBatch(r, aspec, 256)
	for i := 0; i < 2; i++ {
		if _, err := ag.Update(b, rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(i)}); err != nil {
			t.Fatal(err)
		}
	}
	st := ag.State()
	for _, name := range []string{"policy", "q1", "q2", "q1_target", "q2_target", "log_alpha"} {
		put(st.Buffers[name])
	}
	spec := bf16Spec(engine.PaperEnsemble(11, 3, 200))
	ens, err := e.NewEnsemble(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	x := randSlice(r, spec.Members*256*spec.In, 1)
	y := randSlice(r, spec.Members*256*spec.Out, 1)
	for i := 0; i < 2; i++ {
		ens.TrainStep(x, y, 256)
	}
	const n = 5000
	xs := randSlice(r, n*spec.In, 1)
	members := make([]int32, n)
	for i := range members {
		members[i] = int32(r.IntN(spec.Members))
	}
	mean, lv := make([]float32, n*spec.Out), make([]float32, n*spec.Out)
	ens.Predict(xs, members, n, mean, lv)
	put(ens.State().Buffers["params"])
	put(mean)
	put(lv)
	mm, _ := e.products(engine.BF16)
	const k = 1024
	a, bm, c := randSlice(r, k*k, 1), randSlice(r, k*k, 1), make([]float32, k*k)
	newBF16Scratch(mm.bf16, k*k, k*k).gemm(false, false, k, k, k, a, k, bm, k, 0, c, k)
	put(c)
	return h.Sum64()
}
