// gemm_test.go: the batched product's host build against a float64 product,
// for every layout and epilogue, on shapes that cross tile edges.

package kernels

import (
	"fmt"
	"math"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

// gemmRef is the float64 product of one batch slice followed by the epilogue.
func gemmRef(g GemmArgs, a, b, c, bias, aux, aux2 []float32, z int) []float64 {
	out := make([]float64, g.M*g.N)
	for i := 0; i < g.M; i++ {
		for j := 0; j < g.N; j++ {
			s := 0.0
			for k := 0; k < g.K; k++ {
				ai, bi := z*g.SA+i*g.LDA+k, z*g.SB+k*g.LDB+j
				if g.TA {
					ai = z*g.SA + k*g.LDA + i
				}
				if g.TB {
					bi = z*g.SB + j*g.LDB + k
				}
				av, bv := a[ai], b[bi]
				s += float64(av) * float64(bv)
			}
			v := float64(g.Alpha)*s + float64(g.Beta)*float64(c[z*g.SC+i*g.LDC+j])
			if bias != nil {
				v += float64(bias[z*g.SBias+j])
			}
			ai := z*g.SAux + i*g.LDAux + j
			switch g.Epi {
			case EpiReLU:
				v = math.Max(v, 0)
			case EpiSwish, EpiSwishSave:
				v = v / (1 + math.Exp(-v))
			case EpiDReLU:
				if !(aux[ai] > 0) {
					v = 0
				}
			case EpiDSwish:
				s := float64(aux[ai])
				v *= s + float64(aux2[ai])*(1-s)
			}
			out[i*g.N+j] = v
		}
	}
	return out
}

func TestHostGemmMatchesFloat64(t *testing.T) {
	m := hostMachineFor(t)
	tests := []struct {
		m, n, k, batch int
		ta, tb         bool
		epi            Epilogue
		beta           float32
		bias           bool
	}{
		{37, 70, 19, 2, false, false, EpiNone, 0, true},    // crosses the 64-column tile edge
		{70, 5, 33, 3, true, false, EpiSwishSave, 0, true}, // weight-gradient layout (Aᵀ), wide M
		{9, 40, 65, 2, false, true, EpiDSwish, 0, false},   // input-gradient layout (Bᵀ), K across three slices
		{16, 16, 16, 1, true, true, EpiReLU, 0.5, true},    // both transposed, accumulating into C
		{130, 1, 7, 2, false, false, EpiDReLU, 0, false},   // a critic's head: one column
		{5, 3, 1, 1, false, false, EpiSwish, 1, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%dx%dx%d_ta%v_tb%v_epi%d", tt.m, tt.n, tt.k, tt.ta, tt.tb, tt.epi), func(t *testing.T) {
			g := GemmArgs{M: tt.m, N: tt.n, K: tt.k, Batch: tt.batch, TA: tt.ta, TB: tt.tb, Epi: tt.epi,
				Alpha: 1.5, Beta: tt.beta}
			// Leading dimensions wider than the matrices, so a mix-up shows.
			rowsA, colsA := tt.m, tt.k
			if tt.ta {
				rowsA, colsA = tt.k, tt.m
			}
			rowsB, colsB := tt.k, tt.n
			if tt.tb {
				rowsB, colsB = tt.n, tt.k
			}
			g.LDA, g.LDB, g.LDC, g.LDAux = colsA+3, colsB+1, tt.n+2, tt.n+2
			g.SA, g.SB, g.SC, g.SBias, g.SAux = rowsA*g.LDA+5, rowsB*g.LDB, tt.m*g.LDC, tt.n, tt.m*g.LDAux
			fill := func(n int, step uint64, scale float32) []float32 {
				v := make([]float32, n)
				rng.Key{Seed: uint64(i), Purpose: rng.Test, Step: step}.FillNormal(v)
				for j := range v {
					v[j] *= scale
				}
				return v
			}
			a, b := fill(tt.batch*g.SA, 1, 1), fill(tt.batch*g.SB, 2, 1)
			c := fill(tt.batch*g.SC, 3, 1)
			aux := fill(tt.batch*g.SAux, 4, 1)
			aux2 := fill(tt.batch*g.SAux, 5, 3)
			for j := range aux {
				if g.Epi == EpiDSwish {
					aux[j] = 1 / (1 + float32(math.Exp(float64(-aux[j]))))
				}
			}
			var bias []float32
			g.A, g.B, g.C = alloc(t, m, len(a), a), alloc(t, m, len(b), b), alloc(t, m, len(c), c)
			if tt.bias {
				bias = fill(tt.batch*g.SBias, 6, 1)
				g.Bias = alloc(t, m, len(bias), bias)
			}
			g.Aux, g.Aux2 = alloc(t, m, len(aux), aux), alloc(t, m, len(aux2), aux2)
			if err := Gemm(m, g); err != nil {
				t.Fatal(err)
			}
			got := fetch[float32](t, m, g.C, len(c))
			gotAux := fetch[float32](t, m, g.Aux, len(aux))
			worst := 0.0
			for z := 0; z < tt.batch; z++ {
				want := gemmRef(g, a, b, c, bias, aux, aux2, z)
				for r := 0; r < tt.m; r++ {
					for col := 0; col < tt.n; col++ {
						w, gv := want[r*tt.n+col], float64(got[z*g.SC+r*g.LDC+col])
						d := math.Abs(gv-w) / math.Max(1, math.Abs(w))
						worst = max(worst, d)
						if !(d <= 1e-5) {
							t.Fatalf("batch %d C[%d][%d] = %v, float64 gives %v", z, r, col, gv, w)
						}
					}
				}
			}
			// Outside the matrices nothing moved: C's padding columns keep their values.
			for z := 0; z < tt.batch; z++ {
				for r := 0; r < tt.m; r++ {
					for col := tt.n; col < g.LDC; col++ {
						if j := z*g.SC + r*g.LDC + col; got[j] != c[j] {
							t.Fatalf("C[%d] outside the product changed", j)
						}
					}
				}
			}
			if g.Epi == EpiSwishSave {
				// aux holds σ of the pre-activation: swish(v) = v·σ(v) = C.
				for z := 0; z < tt.batch; z++ {
					for r := 0; r < tt.m; r++ {
						for col := 0; col < tt.n; col++ {
							s, cv := float64(gotAux[z*g.SAux+r*g.LDAux+col]), float64(got[z*g.SC+r*g.LDC+col])
							pre := cv / s // C = pre·σ(pre)
							if math.Abs(1/(1+math.Exp(-pre))-s) > 1e-6 {
								t.Fatalf("saved σ %v does not give the output %v", s, cv)
							}
						}
					}
				}
			}
			t.Logf("max relative error (floor 1) against float64: %.3g", worst)
		})
	}
}
