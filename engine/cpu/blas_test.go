// blas_test.go: the sgemm wrapper against a naive product, for every
// transpose combination, leading dimensions wider than the matrices and beta.

package cpu

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestGemm(t *testing.T) {
	b := testEngine(t).blas
	r := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct {
		name           string
		transA, transB bool
		m, n, k        int
		beta           float32
	}{
		{"NN", false, false, 37, 29, 41, 0},
		{"TN", true, false, 37, 29, 41, 0},
		{"NT", false, true, 37, 29, 41, 0.5},
		{"TT", true, true, 37, 29, 41, 1},
		{"outer product", false, true, 64, 33, 1, 0},
		{"matrix-vector", false, false, 300, 1, 256, 0},
		{"large", false, false, 300, 200, 200, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			const pad = 3 // leading dimensions wider than the rows
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
			bm := randSlice(r, br*ldb, 1)
			cm := randSlice(r, c.m*ldc, 1)
			c0 := append([]float32(nil), cm...)
			b.gemm(c.transA, c.transB, c.m, c.n, c.k, 0.75, a, lda, bm, ldb, c.beta, cm, ldc)
			at := func(i, k int) float64 {
				if c.transA {
					return float64(a[k*lda+i])
				}
				return float64(a[i*lda+k])
			}
			bt := func(k, j int) float64 {
				if c.transB {
					return float64(bm[j*ldb+k])
				}
				return float64(bm[k*ldb+j])
			}
			for i := 0; i < c.m; i++ {
				for j := 0; j < ldc; j++ {
					got := cm[i*ldc+j]
					if j >= c.n {
						if got != c0[i*ldc+j] {
							t.Fatalf("c[%d][%d] beyond n changed", i, j)
						}
						continue
					}
					want := float64(c.beta) * float64(c0[i*ldc+j])
					for k := 0; k < c.k; k++ {
						want += 0.75 * at(i, k) * bt(k, j)
					}
					if math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("c[%d][%d] = %g, want %g", i, j, got, want)
					}
				}
			}
		})
	}
}

func TestGemmRejectsShortOperands(t *testing.T) {
	b := testEngine(t).blas
	defer func() {
		if recover() == nil {
			t.Error("gemm with a short operand did not panic")
		}
	}()
	b.gemm(false, false, 4, 4, 4, 1, make([]float32, 15), 4, make([]float32, 16), 4, 0, make([]float32, 16), 4)
}

func TestEngineReportsBLAS(t *testing.T) {
	e := testEngine(t)
	if e.Name() != "cpu" {
		t.Errorf("Name() = %q, want cpu", e.Name())
	}
	if e.BLASCore() == "" || e.Threads() < 1 || e.blas.threads() != 1 {
		t.Errorf("BLASCore() = %q, Threads() = %d, OpenBLAS threads %d (want 1)", e.BLASCore(), e.Threads(), e.blas.threads())
	}
	t.Logf("OpenBLAS core %s, %d workers", e.BLASCore(), e.Threads())
	if err := e.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
