// blas.go: OpenBLAS's sgemm for the CPU engine, loaded at run time, and the
// matrix-multiply peak of the machine (MatmulPeak).
//
// The library is opened with dlopen rather than linked, so the engine can pick
// OpenBLAS's kernels before the library initialises: OpenBLAS 0.3.21 (Debian 12)
// does not recognise recent Intel server processors and falls back to its
// Prescott (SSE3) kernels, which run sgemm about 8× slower than its SkylakeX
// (AVX-512) kernels on the development machine. See Options.BLASCore.

package cpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "blas.h"
*/
import "C"

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/mbpogo/mbpo/engine"
)

// blasLibrary is the shared object the engine opens: Debian's libopenblas0
// (any of its pthread, openmp or serial flavours through the alternatives link).
const blasLibrary = "libopenblas.so.0"

// coreEnv is OpenBLAS's variable that forces its kernel family at load time.
const coreEnv = "OPENBLAS_CORETYPE"

// blas is one opened OpenBLAS.
type blas struct {
	lib  C.mbpo_blas
	core string // kernel family OpenBLAS runs, as it reports it
}

// openBLAS loads OpenBLAS, choosing its kernels as Options.BLASCore says, and
// sets its (process-wide) thread count; 0 means runtime.NumCPU().
func openBLAS(core string, threads int) (*blas, error) {
	if _, set := os.LookupEnv(coreEnv); !set {
		switch {
		case core == "" && C.mbpo_cpu_has_avx512() != 0:
			core = "SkylakeX"
		case core == "" || core == "detect":
			core = ""
		}
		if core != "" {
			// Read by OpenBLAS's constructor during dlopen only; the
			// process environment is restored right after.
			os.Setenv(coreEnv, core)
			defer os.Unsetenv(coreEnv)
		}
	}
	b := &blas{}
	name := C.CString(blasLibrary)
	defer C.free(unsafe.Pointer(name))
	var msg [512]C.char
	if C.mbpo_blas_open(&b.lib, name, &msg[0], C.int(len(msg))) != 0 {
		return nil, fmt.Errorf("cpu engine: cannot load OpenBLAS (%s): install it with scripts/deps.sh or apt-get install libopenblas0-pthread", C.GoString(&msg[0]))
	}
	b.core = C.GoString(C.mbpo_blas_core(&b.lib))
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	b.setThreads(threads)
	return b, nil
}

// setThreads sets OpenBLAS's thread count, for the whole process.
func (b *blas) setThreads(n int) { C.mbpo_blas_set_threads(&b.lib, C.int(n)) }

// threads is OpenBLAS's current thread count.
func (b *blas) threads() int { return int(C.mbpo_blas_get_threads(&b.lib)) }

// gemm computes c = alpha·op(a)·op(bm) + beta·c on row-major matrices, where
// op(a) is [m][k], op(bm) is [k][n] and c is [m][n]; op transposes when the
// flag is set. It panics if a slice is too short for its shape.
func (b *blas) gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	bm []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	if k > 0 && (len(a) < (ar-1)*lda+ac || len(bm) < (br-1)*ldb+bc) || len(c) < (m-1)*ldc+n {
		panic(fmt.Sprintf("cpu: gemm %dx%dx%d: operand too short (a %d, b %d, c %d)", m, n, k, len(a), len(bm), len(c)))
	}
	if k == 0 {
		// Nothing to multiply: c = beta·c.
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	C.mbpo_sgemm(&b.lib, cbool(transA), cbool(transB), C.int(m), C.int(n), C.int(k),
		C.float(alpha), (*C.float)(&a[0]), C.int(lda), (*C.float)(&bm[0]), C.int(ldb),
		C.float(beta), (*C.float)(&c[0]), C.int(ldc))
}

func cbool(v bool) C.int {
	if v {
		return 1
	}
	return 0
}

// MatmulPeak measures this machine's single-precision matrix-multiply speed
// in GFLOP/s the way the engine uses it: threads goroutines (0 = all CPUs)
// each running single-threaded n×n×n sgemm products through OpenBLAS at the
// same time. It returns the best aggregate rate over about half a second, or
// 0 if OpenBLAS cannot be loaded (New's engine then reports why).
func MatmulPeak(threads, n int) float64 { return MatmulPeakPrecision(threads, n, engine.FP32) }

// MatmulPeakPrecision is MatmulPeak for the products of precision p: for
// engine.BF16, oneDNN's products of operands already in bf16; 0 where they
// cannot run.
func MatmulPeakPrecision(threads, n int, p engine.Precision) float64 {
	b, err := openBLAS("", 1)
	if err != nil || n < 1 {
		return 0
	}
	if threads <= 0 {
		threads = runtime.NumCPU()
	}
	var bf16 *onednn
	if p.OrFP32() == engine.BF16 {
		if bf16, err = openOneDNN(""); err != nil {
			return 0
		}
	}
	type operands struct {
		x, y, z []float32
		xb, yb  []uint16
		s       *bf16Scratch
	}
	ops := make([]operands, threads)
	for t := range ops {
		ops[t] = operands{x: make([]float32, n*n), y: make([]float32, n*n), z: make([]float32, n*n)}
		for i := range ops[t].x {
			ops[t].x[i] = float32(i%7) * 0.01
			ops[t].y[i] = float32(i%5) * 0.01
		}
		if bf16 != nil {
			ops[t].s = newBF16Scratch(bf16, 0, 0)
			ops[t].xb, ops[t].yb = make([]uint16, n*n), make([]uint16, n*n)
			toBF16(ops[t].xb, ops[t].x)
			toBF16(ops[t].yb, ops[t].y)
		}
	}
	round := func() time.Duration {
		var wg sync.WaitGroup
		start := time.Now()
		for t := range ops {
			wg.Add(1)
			go func(o operands) {
				defer wg.Done()
				if o.s != nil {
					o.s.matmul(false, false, n, n, n, o.xb, n, o.yb, n, 0, o.z, n)
					return
				}
				b.gemm(false, false, n, n, n, 1, o.x, n, o.y, n, 0, o.z, n)
			}(ops[t])
		}
		wg.Wait()
		return time.Since(start)
	}
	round() // warm up: pages, caches
	flops := 2 * float64(n) * float64(n) * float64(n) * float64(threads)
	best := 0.0
	for start := time.Now(); time.Since(start) < 500*time.Millisecond; {
		best = max(best, flops/round().Seconds()/1e9)
	}
	return best
}
