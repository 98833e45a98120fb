// onednn.go: the bf16 matrix products of the CPU engine (engine.BF16),
// through oneDNN's matmul primitive, with float32 accumulation.
//
// Like OpenBLAS, oneDNN is opened with dlopen, when the first bf16 network is
// created: the binary runs without it, and only a bf16 run needs it (Debian's
// libdnnl2; libdnnl-dev at build time for its header). The primitives are
// created once per engine, one per data type, transposition and
// accumulation, with every size and leading dimension given at execution, so
// one primitive serves every shape; oneDNN 2.6 then runs its jit gemm: AMX
// tiles where the processor has them, AVX512-BF16 otherwise. Each product
// runs on one thread, the calling worker's, so a product's result depends
// only on its operands and shape, never on the engine's thread count.

package cpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "onednn.h"
*/
import "C"

import (
	"fmt"
	"runtime"
	"unsafe"
)

// onednnLibrary is the shared object the engine opens for bf16 products:
// Debian 12's libdnnl2 (oneDNN 2.6).
const onednnLibrary = "libdnnl.so.2"

// onednn is one opened oneDNN with its primitives.
type onednn struct {
	lib     *C.mbpo_onednn // C memory: its primitives live as long as the process
	isa     string         // instruction set oneDNN uses
	impl    string         // implementation of the bf16 products
	version string
}

// openOneDNN loads oneDNN from library (onednnLibrary when empty) and
// creates its primitives. The error says what is missing: the library, or
// bf16 instructions on this processor.
func openOneDNN(library string) (*onednn, error) {
	if library == "" {
		library = onednnLibrary
	}
	name := C.CString(library)
	defer C.free(unsafe.Pointer(name))
	lib := (*C.mbpo_onednn)(C.calloc(1, C.size_t(unsafe.Sizeof(C.mbpo_onednn{}))))
	var msg [512]C.char
	code := C.mbpo_onednn_open(lib, name, &msg[0], C.int(len(msg)))
	if code != C.MBPO_ONEDNN_OK {
		defer C.free(unsafe.Pointer(lib))
	}
	switch code {
	case C.MBPO_ONEDNN_OK:
	case C.MBPO_ONEDNN_NO_LIBRARY:
		return nil, fmt.Errorf("%s: bf16 precision needs oneDNN, which cannot be loaded (%s): install it with scripts/deps.sh or apt-get install libdnnl2, or use fp32",
			who, C.GoString(&msg[0]))
	case C.MBPO_ONEDNN_NO_BF16:
		return nil, fmt.Errorf("%s: bf16 precision needs a processor with bf16 matrix instructions (AVX512-BF16 or AMX), and this one has none (oneDNN runs %s here): use fp32",
			who, isaName(int(C.mbpo_onednn_isa(lib))))
	default:
		return nil, fmt.Errorf("%s: oneDNN cannot run bf16 products: %s", who, C.GoString(&msg[0]))
	}
	var major, minor, patch C.int
	C.mbpo_onednn_version(lib, &major, &minor, &patch)
	return &onednn{
		lib:     lib,
		isa:     isaName(int(C.mbpo_onednn_isa(lib))),
		impl:    C.GoString(lib.impl),
		version: fmt.Sprintf("%d.%d.%d", major, minor, patch),
	}, nil
}

// isaName names a dnnl_cpu_isa_t as oneDNN's ONEDNN_MAX_CPU_ISA does.
func isaName(isa int) string {
	for _, n := range []struct {
		isa  int
		name string
	}{
		{C.dnnl_cpu_isa_avx512_core_amx, "avx512_core_amx"},
		{C.dnnl_cpu_isa_avx512_core_bf16, "avx512_core_bf16"},
		{C.dnnl_cpu_isa_avx512_core_vnni, "avx512_core_vnni"},
		{C.dnnl_cpu_isa_avx512_core, "avx512_core"},
		{C.dnnl_cpu_isa_avx2_vnni, "avx2_vnni"},
		{C.dnnl_cpu_isa_avx2, "avx2"},
		{C.dnnl_cpu_isa_avx, "avx"},
		{C.dnnl_cpu_isa_sse41, "sse41"},
	} {
		if isa&n.isa == n.isa {
			return n.name
		}
	}
	return fmt.Sprintf("isa 0x%x", isa)
}

// Describe is how the bf16 products run, e.g. "oneDNN 2.6.3 gemm:jit,
// avx512_core_bf16".
func (d *onednn) describe() string {
	return fmt.Sprintf("oneDNN %s %s, %s", d.version, d.impl, d.isa)
}

// bf16Scratch is what one caller needs to run bf16 products while others
// run theirs: its own oneDNN stream, and for gemm, room for float32
// operands rounded to bf16. Each trace that runs bf16 products owns one.
type bf16Scratch struct {
	d      *onednn
	stream C.dnnl_stream_t
	a, b   []uint16
}

// newBF16Scratch returns scratch whose gemm takes operands of at most aLen
// and bLen values (0 for one that only runs matmul).
func newBF16Scratch(d *onednn, aLen, bLen int) *bf16Scratch {
	s := &bf16Scratch{d: d, stream: C.mbpo_onednn_stream(d.lib), a: make([]uint16, aLen), b: make([]uint16, bLen)}
	if s.stream == nil {
		panic("cpu: oneDNN cannot create a stream")
	}
	runtime.AddCleanup(s, func(st C.dnnl_stream_t) { C.mbpo_onednn_stream_free(d.lib, st) }, s.stream)
	return s
}

// checkShape panics unless operands of lengths la, lb and lc hold
// row-major op(a) [m][k], op(b) [k][n] and c [m][n] with those leading
// dimensions; it returns a's and b's rows and columns as stored.
func checkShape(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) (ar, ac, br, bc int) {
	ar, ac = m, k
	if transA {
		ar, ac = k, m
	}
	br, bc = k, n
	if transB {
		br, bc = n, k
	}
	if la < (ar-1)*lda+ac || lb < (br-1)*ldb+bc || lc < (m-1)*ldc+n || lda < ac || ldb < bc || ldc < n {
		panic(fmt.Sprintf("cpu: product %dx%dx%d: operand too short or leading dimension too small (a %d/%d, b %d/%d, c %d/%d)",
			m, n, k, la, lda, lb, ldb, lc, ldc))
	}
	return ar, ac, br, bc
}

// matmul computes c = op(a)·op(b) + beta·c on bf16 operands a and b with
// float32 accumulation, as blas.gemm does on float32 ones (alpha 1).
func (s *bf16Scratch) matmul(transA, transB bool, m, n, k int, a []uint16, lda int, b []uint16, ldb int,
	beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 {
		scaleRows(c, m, n, ldc, beta)
		return
	}
	checkShape(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	s.run(true, transA, transB, m, n, k, unsafe.Pointer(&a[0]), lda, unsafe.Pointer(&b[0]), ldb, beta, c, ldc)
}

// matmulF32 is matmul through oneDNN's float32 primitive, on float32
// operands (for comparisons with OpenBLAS).
func (s *bf16Scratch) matmulF32(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		scaleRows(c, m, n, ldc, beta)
		return
	}
	checkShape(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	s.run(false, transA, transB, m, n, k, unsafe.Pointer(&a[0]), lda, unsafe.Pointer(&b[0]), ldb, beta, c, ldc)
}

func (s *bf16Scratch) run(bf16, transA, transB bool, m, n, k int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int,
	beta float32, c []float32, ldc int) {
	st := C.mbpo_onednn_matmul(s.d.lib, s.stream, cbool(bf16), cbool(transA), cbool(transB),
		C.int64_t(m), C.int64_t(n), C.int64_t(k), a, C.int64_t(lda), b, C.int64_t(ldb),
		C.float(beta), (*C.float)(&c[0]), C.int64_t(ldc))
	if st != 0 {
		panic(fmt.Sprintf("cpu: oneDNN matmul %dx%dx%d (transposed %v/%v) failed with status %d", m, n, k, transA, transB, int(st)))
	}
}

// gemm is matmul on float32 operands, which it first rounds to bf16 into
// the scratch (packed: leading dimensions become the rows' widths).
func (s *bf16Scratch) gemm(transA, transB bool, m, n, k int, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 || k == 0 {
		s.matmul(transA, transB, m, n, k, nil, 1, nil, 1, beta, c, ldc)
		return
	}
	ar, ac, br, bc := checkShape(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if len(s.a) < ar*ac || len(s.b) < br*bc {
		panic(fmt.Sprintf("cpu: bf16 gemm %dx%dx%d: scratch of %d and %d values, operands %d and %d", m, n, k, len(s.a), len(s.b), ar*ac, br*bc))
	}
	roundRows(s.a, a, ar, ac, lda)
	roundRows(s.b, b, br, bc, ldb)
	s.matmul(transA, transB, m, n, k, s.a[:ar*ac], ac, s.b[:br*bc], bc, beta, c, ldc)
}

// roundRows rounds rows × cols values of src (leading dimension ld) to bf16
// into dst, packed.
func roundRows(dst []uint16, src []float32, rows, cols, ld int) {
	if ld == cols {
		toBF16(dst[:rows*cols], src[:rows*cols])
		return
	}
	for r := 0; r < rows; r++ {
		toBF16(dst[r*cols:(r+1)*cols], src[r*ld:r*ld+cols])
	}
}

// scaleRows multiplies the m×n matrix c (leading dimension ldc) by beta.
func scaleRows(c []float32, m, n, ldc int, beta float32) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		for j := range row {
			row[j] *= beta
		}
	}
}

// toBF16 rounds src to bfloat16 into dst as the processors' bf16
// instructions do: to nearest, ties to even; subnormals to a zero of their
// sign; a NaN to a quiet NaN.
func toBF16(dst []uint16, src []float32) {
	if len(dst) < len(src) {
		panic("cpu: toBF16 destination too short")
	}
	if len(src) == 0 {
		return
	}
	C.mbpo_to_bf16((*C.uint16_t)(&dst[0]), (*C.float)(&src[0]), C.int64_t(len(src)))
}

// toBF16Path is toBF16 through the AVX512-BF16 instruction (where the
// processor has it) or the portable loop; it reports whether it used the
// instruction.
func toBF16Path(dst []uint16, src []float32, instruction bool) bool {
	if len(dst) < len(src) || len(src) == 0 {
		panic("cpu: toBF16Path: empty source or short destination")
	}
	return C.mbpo_to_bf16_path((*C.uint16_t)(&dst[0]), (*C.float)(&src[0]), C.int64_t(len(src)), cbool(instruction)) != 0
}
