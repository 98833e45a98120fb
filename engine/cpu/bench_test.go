// bench_test.go: throughput of the engine's hot paths at MBPO's sizes, with
// achieved GFLOP/s (matrix products, flops.go) to set against BenchmarkMatmulPeak.
//
//	go test ./engine/cpu -run '^$' -bench . -benchtime 3s

package cpu

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

func TestFLOPCounts(t *testing.T) {
	// Obs 1, Act 1, one hidden layer of 2: policy [1 2 2], critics [2 2 1].
	// Per row: targets 12 + 2·12; critics 2·12 + 2·16 (weights 12, input
	// gradient of layer 1: 4); actor 12 + 2·12 + 2·8 (layer 1: 4, action
	// column of layer 0: 4); policy backward 20 (weights 12, layer 1: 8).
	spec := engine.PaperAgent(1, 1, -1)
	spec.Hidden = []int{2}
	if got, want := UpdateFLOPs(spec, 3), 3*164.0; got != want {
		t.Errorf("UpdateFLOPs = %g, want %g", got, want)
	}
	if got := ActFLOPs(spec, 5); got != 60 {
		t.Errorf("ActFLOPs = %g, want 60", got)
	}
	// Ensemble [1 2 4] (In 1, Out 2): forward 2·(2+8) = 20, backward 20 + 16.
	ens := engine.EnsembleSpec{Members: 3, In: 1, Out: 2, Hidden: []int{2}}
	if got := TrainStepFLOPs(ens, 2); got != 56*6 {
		t.Errorf("TrainStepFLOPs = %g, want %d", got, 56*6)
	}
	if got := PredictFLOPs(ens, 7); got != 140 {
		t.Errorf("PredictFLOPs = %g, want 140", got)
	}
	hopper := UpdateFLOPs(engine.PaperAgent(11, 3, -1), 256)
	t.Logf("Hopper SAC update: %.3f GFLOP", hopper/1e9)
	if math.Abs(hopper/1e9-0.57) > 0.02 {
		t.Errorf("Hopper update %.3f GFLOP, the issue's estimate is 0.57", hopper/1e9)
	}
}

// benchEnv is one environment's sizes.
type benchEnv struct {
	name          string
	obs, act      int
	hidden        int // ensemble width
	targetEntropy float32
}

func benchEnvs() []benchEnv {
	return []benchEnv{
		{"hopper", 11, 3, 200, -1},
		{"humanoid", 45, 17, 400, -2},
	}
}

// benchCase is one environment's sizes in one precision: the fp32 case
// keeps the environment's name (Update/hopper), bf16 adds a suffix
// (Update/hopper-bf16).
type benchCase struct {
	benchEnv
	precision engine.Precision
}

func benchCases() []benchCase {
	var cs []benchCase
	for _, env := range benchEnvs() {
		cs = append(cs, benchCase{env, engine.FP32})
		bf := benchCase{env, engine.BF16}
		bf.name += "-bf16"
		cs = append(cs, bf)
	}
	return cs
}

// benchEngine returns the engine for a case, skipping bf16 cases on a
// processor without bf16 instructions.
func benchEngine(b *testing.B, p engine.Precision) *Engine {
	if p == engine.BF16 {
		return bf16Engine(b)
	}
	return testEngine(b)
}

func reportRate(b *testing.B, perOp float64, unit string, flopsPerOp float64) {
	s := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perOp/s, unit)
	b.ReportMetric(flopsPerOp/s/1e9, "GFLOP/s")
}

// BenchmarkUpdate is one SAC update on a batch of 256.
func BenchmarkUpdate(b *testing.B) {
	for _, env := range benchCases() {
		b.Run(env.name, func(b *testing.B) {
			spec := engine.PaperAgent(env.obs, env.act, env.targetEntropy)
			spec.Precision = env.precision
			ag, err := benchEngine(b, env.precision).NewAgent(spec, 1)
			if err != nil {
				b.Fatal(err)
			}
			batch := randomBatch(rand.New(rand.NewPCG(1, 2)), spec, 256)
			if _, err := ag.Update(batch, rng.Key{}); err != nil { // warm: scratch
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ag.Update(batch, rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(i)})
			}
			reportRate(b, 1, "updates/s", UpdateFLOPs(spec, 256))
		})
	}
}

// BenchmarkTrainStep is one ensemble step: 7 members, batch 256 each.
func BenchmarkTrainStep(b *testing.B) {
	for _, env := range benchCases() {
		b.Run(env.name, func(b *testing.B) {
			spec := engine.PaperEnsemble(env.obs, env.act, env.hidden)
			spec.Precision = env.precision
			ens, err := benchEngine(b, env.precision).NewEnsemble(spec, 1)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(3, 4))
			const batch = 256
			x := randSlice(r, spec.Members*batch*spec.In, 1)
			y := randSlice(r, spec.Members*batch*spec.Out, 1)
			ens.TrainStep(x, y, batch)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ens.TrainStep(x, y, batch)
			}
			reportRate(b, float64(spec.Members*batch), "samples/s", TrainStepFLOPs(spec, batch))
		})
	}
}

// BenchmarkPredict runs one model step of a rollout: 100,000 rows, each on
// a random one of 5 elite members.
func BenchmarkPredict(b *testing.B) {
	for _, env := range benchCases() {
		b.Run(env.name, func(b *testing.B) {
			spec := engine.PaperEnsemble(env.obs, env.act, env.hidden)
			spec.Precision = env.precision
			ens, err := benchEngine(b, env.precision).NewEnsemble(spec, 1)
			if err != nil {
				b.Fatal(err)
			}
			r := rand.New(rand.NewPCG(5, 6))
			const n = 100_000
			x := randSlice(r, n*spec.In, 1)
			members := make([]int32, n)
			for i := range members {
				members[i] = int32(r.IntN(5))
			}
			mean, logvar := make([]float32, n*spec.Out), make([]float32, n*spec.Out)
			ens.Predict(x, members, n, mean, logvar)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ens.Predict(x, members, n, mean, logvar)
			}
			reportRate(b, n, "rows/s", PredictFLOPs(spec, n))
		})
	}
}

// BenchmarkAct samples actions for 100,000 rollout rows.
func BenchmarkAct(b *testing.B) {
	for _, env := range benchCases() {
		b.Run(env.name, func(b *testing.B) {
			spec := engine.PaperAgent(env.obs, env.act, env.targetEntropy)
			spec.Precision = env.precision
			ag, err := benchEngine(b, env.precision).NewAgent(spec, 1)
			if err != nil {
				b.Fatal(err)
			}
			const n = 100_000
			obs := randSlice(rand.New(rand.NewPCG(7, 8)), n*spec.Obs, 1)
			act := make([]float32, n*spec.Act)
			ag.Act(obs, n, false, rng.Key{}, act)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				ag.Act(obs, n, false, rng.Key{Seed: 1, Purpose: rng.PolicyNoise, Step: uint64(i)}, act)
			}
			reportRate(b, n, "rows/s", ActFLOPs(spec, n))
		})
	}
}

// BenchmarkMatmulPeak reports this machine's sgemm GFLOP/s (1024³), and
// the bf16 products' (bf16-threads=N).
func BenchmarkMatmulPeak(b *testing.B) {
	for _, p := range []engine.Precision{engine.FP32, engine.BF16} {
		for _, threads := range []int{1, 0} {
			name := fmt.Sprintf("threads=%d", threads)
			if p == engine.BF16 {
				name = "bf16-" + name
			}
			b.Run(name, func(b *testing.B) {
				benchEngine(b, p)
				peak := 0.0
				for i := 0; i < b.N; i++ {
					peak = max(peak, MatmulPeakPrecision(threads, 1024, p))
				}
				if peak == 0 {
					b.Fatal("the products could not be loaded")
				}
				b.ReportMetric(peak, "GFLOP/s")
			})
		}
	}
}

// BenchmarkProducts times one product of each shape an SAC update and an
// ensemble step make at batch 256, single-threaded: OpenBLAS's sgemm,
// oneDNN's float32 primitive, the bf16 product of operands already rounded
// and the rounding of both operands alone, for the choice of OpenBLAS for
// fp32 and the share of the roundings in bf16.
func BenchmarkProducts(b *testing.B) {
	e := bf16Engine(b)
	mm, err := e.products(engine.BF16)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"forward-256x256x256", false, false, 256, 256, 256},
		{"forward-256x256x14", false, false, 256, 256, 14},
		{"weightgrad-256x256x256", true, false, 256, 256, 256},
		{"inputgrad-256x256x256", false, true, 256, 256, 256},
		{"forward-256x200x200", false, false, 256, 200, 200},
		{"forward-256x24x200", false, false, 256, 24, 200},
	} {
		ar, ac := c.m, c.k
		if c.transA {
			ar, ac = c.k, c.m
		}
		br, bc := c.k, c.n
		if c.transB {
			br, bc = c.n, c.k
		}
		a, bm, out := randSlice(r, ar*ac, 1), randSlice(r, br*bc, 1), make([]float32, c.m*c.n)
		s := newBF16Scratch(mm.bf16, ar*ac, br*bc)
		flops := 2 * float64(c.m*c.n*c.k)
		ab, bb := make([]uint16, len(a)), make([]uint16, len(bm))
		toBF16(ab, a)
		toBF16(bb, bm)
		for _, path := range []string{"openblas", "onednn-f32", "onednn-bf16"} {
			b.Run(c.name+"/"+path, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					switch path {
					case "openblas":
						e.blas.gemm(c.transA, c.transB, c.m, c.n, c.k, 1, a, ac, bm, bc, 0, out, c.n)
					case "onednn-f32":
						s.matmulF32(c.transA, c.transB, c.m, c.n, c.k, a, ac, bm, bc, 0, out, c.n)
					default:
						s.matmul(c.transA, c.transB, c.m, c.n, c.k, ab, ac, bb, bc, 0, out, c.n)
					}
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
		b.Run(c.name+"/bf16-rounding-only", func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				toBF16(s.a, a)
				toBF16(s.b, bm)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e3, "µs/op")
		})
	}
}

// adamGo is Adam in plain Go, to compare with the C kernel.
func adamGo(p, g, m, v []float32, c adamConfig) {
	for i := range p {
		gi := g[i]
		mi := c.b1*m[i] + (1-c.b1)*gi
		vi := c.b2*v[i] + (1-c.b2)*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= c.lr * (mi / c.bc1) / (float32(math.Sqrt(float64(vi/c.bc2))) + c.eps)
	}
}

// BenchmarkAdam is one Adam step over the ~350k parameters of a Humanoid
// SAC update, in the C kernel and in plain Go.
func BenchmarkAdam(b *testing.B) {
	const n = 350_000
	r := rand.New(rand.NewPCG(9, 10))
	p, g := randSlice(r, n, 1), randSlice(r, n, 1)
	m, v := make([]float32, n), make([]float32, n)
	for _, c := range []struct {
		name string
		step func(p, g, m, v []float32, c adamConfig)
	}{{"c", adam}, {"go", adamGo}} {
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				c.step(p, g, m, v, adamStep(3e-4, int64(i+1)))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mparams/s")
		})
	}
}
