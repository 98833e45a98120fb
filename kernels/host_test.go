// host_test.go: the kernels' host builds against the Go references, on every
// machine (CI included): same sources, same launchers and grids as on the GPU
// (the checks are in compare_test.go, shared with gpu_test.go).

package kernels

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

func TestHostPhiloxMatchesGo(t *testing.T) {
	tests := []struct {
		ctr [4]uint32
		key [2]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}},
		{[4]uint32{7, 1 << 31, 3, uint32(rng.RolloutNoise)}, [2]uint32{12345, 1}},
	}
	for _, tt := range tests {
		if got, want := HostPhilox(tt.ctr, tt.key), rng.Philox4x32(tt.ctr, tt.key); got != want {
			t.Errorf("HostPhilox(%08x, %08x) = %08x, Go gives %08x", tt.ctr, tt.key, got, want)
		}
	}
}

// rngCases are the streams and ranges both the host and the GPU tests draw.
func rngCases() []struct {
	key   rng.Key
	first uint64
	n     int
} {
	return []struct {
		key   rng.Key
		first uint64
		n     int
	}{
		{rng.Key{Seed: 1, Purpose: rng.Test}, 0, 1},
		{rng.Key{Seed: 42, Purpose: rng.RolloutNoise, Step: 7}, 0, 4099},
		{rng.Key{Seed: 1<<40 + 3, Purpose: rng.PolicyNoise, Step: 1<<33 + 5}, 3, 1001}, // high halves, unaligned start
		{rng.Key{Seed: 9, Purpose: rng.SACNoise, Step: 2}, 1<<32 - 6, 20},              // block index wraps 32 bits
	}
}

// checkRNG compares words drawn by a kernel (as bits) with rng:
// bits and uniforms exactly, normals within normalAgreement.
func checkRNG(t *testing.T, got []uint32, key rng.Key, first uint64, kind RNGKind) {
	t.Helper()
	worst := 0.0
	for i, w := range got {
		idx := first + uint64(i)
		switch kind {
		case RNGBits:
			if want := key.Uint32(idx); w != want {
				t.Fatalf("%+v number %d: bits %08x, Go gives %08x", key, idx, w, want)
			}
		case RNGUniform:
			if g, want := math.Float32frombits(w), key.Uniform(idx); g != want {
				t.Fatalf("%+v number %d: uniform %v, Go gives %v", key, idx, g, want)
			}
		case RNGNormal:
			g, want := float64(math.Float32frombits(w)), float64(key.Normal(idx))
			d := math.Abs(g - want)
			if !(d <= normalAgreement(want)) {
				t.Fatalf("%+v number %d: normal %v, Go gives %v (difference %.3g)", key, idx, g, want, d)
			}
			worst = max(worst, d/(1+math.Abs(want)))
		}
	}
	if kind == RNGNormal {
		t.Logf("%+v: %d normals, largest |difference|/(1+|z|) %.3g", key, len(got), worst)
	}
}

func TestHostRNGMatchesGo(t *testing.T) { checkRNGFill(t, hostMachineFor(t)) }

// The float32 log and sine/cosine behind the normals, over their whole
// input range: every 24-bit uniform step near the ends, a sweep between.
func TestHostLogAndSinCos(t *testing.T) {
	var worstLog, worstTrig float64
	check := func(u float32) {
		l := float64(hostLnUnit(u))
		want := math.Log(float64(u))
		if d := math.Abs(l-want) / max(math.Abs(want), 1e-30); d > 3e-7 || math.IsNaN(l) {
			t.Fatalf("ln(%v) = %v, want %v (relative error %.3g)", u, l, want, d)
		} else {
			worstLog = max(worstLog, d)
		}
		s, c := hostSinCosTurns(u)
		ws, wc := math.Sincos(2 * math.Pi * float64(u))
		if d := max(math.Abs(float64(s)-ws), math.Abs(float64(c)-wc)); d > 3e-7 || math.IsNaN(d) {
			t.Fatalf("sincos(2π·%v) = %v, %v, want %v, %v", u, s, c, ws, wc)
		} else {
			worstTrig = max(worstTrig, d)
		}
	}
	for k := uint32(0); k < 1<<12; k++ {
		check(rng.UniformFromBits(k << 8))               // near 0
		check(rng.UniformFromBits((1<<24 - 1 - k) << 8)) // near 1
	}
	for k := uint32(0); k < 1<<24; k += 997 {
		check(rng.UniformFromBits(k << 8))
	}
	t.Logf("largest relative error of ln: %.3g; absolute error of sin/cos: %.3g", worstLog, worstTrig)
}

func swishRef(x float32) float64 { return float64(x) / (1 + math.Exp(-float64(x))) }

func softplusRef(x float64) float64 { return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x))) }

func softBoundRef(raw, hi, lo float32) float64 {
	lv := float64(hi) - softplusRef(float64(hi)-float64(raw))
	return float64(lo) + softplusRef(lv-float64(lo))
}

func TestHostSwishAndGaussianHead(t *testing.T) {
	// The host's exp and log are libm's: within 1e-6 of float64.
	checkSwishAndGaussianHead(t, hostMachineFor(t), 300, 7, 1e-6)
}

func TestHostEnsembleForwardMatchesCPUEngine(t *testing.T) {
	checkForward(t, hostMachineFor(t), forwardSpecs())
}

func TestHostBenchKernels(t *testing.T) { checkBenchKernels(t, hostMachineFor(t)) }

func TestPlanForward(t *testing.T) {
	tests := []struct {
		name                  string
		hidden                int
		rows, threads, shared int
	}{
		// 200 units: 25 column tiles, 10 row tiles of 8 rows; 200 x 84 floats.
		{"hidden 200", 200, 80, 256, 4 * 200 * 84},
		// 400 units: 50 column tiles, 5 row tiles; 400 x 44 floats.
		{"hidden 400", 400, 40, 256, 4 * 400 * 44},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := forwardSpecs()[0].spec
			spec.Hidden = []int{tt.hidden, tt.hidden, tt.hidden, tt.hidden}
			p, err := PlanForward(spec)
			if err != nil {
				t.Fatal(err)
			}
			if p.Rows != tt.rows || p.Threads != tt.threads || p.SharedBytes != tt.shared {
				t.Errorf("plan = %d rows, %d threads, %d bytes; want %d, %d, %d", p.Rows, p.Threads, p.SharedBytes, tt.rows, tt.threads, tt.shared)
			}
			if g := p.Grid(400000); g.X != (400000+tt.rows-1)/tt.rows || g.Y != 7 {
				t.Errorf("grid for 400000 rows = %+v", g)
			}
		})
	}
	spec := forwardSpecs()[0].spec
	spec.Hidden = []int{2500}
	spec.WeightDecay = []float32{0, 0}
	if _, err := PlanForward(spec); err == nil {
		t.Error("a 2500-unit layer was planned; the kernel holds at most 2048")
	}
	spec.Hidden = make([]int, 9)
	for i := range spec.Hidden {
		spec.Hidden[i] = 8
	}
	spec.WeightDecay = make([]float32, 10)
	if _, err := PlanForward(spec); err == nil {
		t.Error("10 weight layers were planned; the kernel holds at most 8")
	}
}
