// onednn.h: the oneDNN entry points the CPU engine's bf16 products use,
// loaded with dlopen (see onednn.go for why), and the products themselves.
#ifndef MBPO_CPU_ONEDNN_H
#define MBPO_CPU_ONEDNN_H

#include <stdint.h>
#include <dnnl.h>

// One entry point of libdnnl, typed after its declaration in dnnl.h.
#define MBPO_DNNL_FN(name) __typeof__(&name) name

// mbpo_onednn holds a dlopen handle of libdnnl, its resolved entry points,
// the CPU engine object and the matrix-product primitives, created once.
typedef struct {
	void *handle;
	MBPO_DNNL_FN(dnnl_engine_create);
	MBPO_DNNL_FN(dnnl_stream_create);
	MBPO_DNNL_FN(dnnl_stream_destroy);
	MBPO_DNNL_FN(dnnl_memory_desc_init_by_strides);
	MBPO_DNNL_FN(dnnl_matmul_desc_init);
	MBPO_DNNL_FN(dnnl_primitive_attr_create);
	MBPO_DNNL_FN(dnnl_primitive_attr_destroy);
	MBPO_DNNL_FN(dnnl_primitive_attr_set_scratchpad_mode);
	MBPO_DNNL_FN(dnnl_primitive_attr_set_post_ops);
	MBPO_DNNL_FN(dnnl_post_ops_create);
	MBPO_DNNL_FN(dnnl_post_ops_append_sum);
	MBPO_DNNL_FN(dnnl_post_ops_destroy);
	MBPO_DNNL_FN(dnnl_primitive_desc_create);
	MBPO_DNNL_FN(dnnl_primitive_desc_query);
	MBPO_DNNL_FN(dnnl_primitive_desc_query_md);
	MBPO_DNNL_FN(dnnl_primitive_desc_destroy);
	MBPO_DNNL_FN(dnnl_primitive_create);
	MBPO_DNNL_FN(dnnl_primitive_execute);
	MBPO_DNNL_FN(dnnl_memory_create);
	MBPO_DNNL_FN(dnnl_memory_destroy);
	MBPO_DNNL_FN(dnnl_memory_desc_get_size);
	MBPO_DNNL_FN(dnnl_get_effective_cpu_isa);
	MBPO_DNNL_FN(dnnl_version);
	// omp_set_num_threads of the OpenMP runtime libdnnl runs on (Debian's
	// is built with OpenMP), or NULL for a sequential or TBB build.
	void (*omp_set_num_threads)(int);
	dnnl_engine_t engine;
	// Matrix-product primitives by [data type: 0 bf16, 1 f32][op(A)
	// transposed][op(B) transposed][accumulate into C], every size and
	// leading dimension given at execution (DNNL_RUNTIME_DIM_VAL).
	dnnl_primitive_t mm[2][2][2][2];
	const char *impl; // implementation of the bf16 primitives (e.g. "gemm:jit")
} mbpo_onednn;

// Why mbpo_onednn_open failed.
enum {
	MBPO_ONEDNN_OK = 0,
	MBPO_ONEDNN_NO_LIBRARY = 1, // dlopen or dlsym failed
	MBPO_ONEDNN_NO_BF16 = 2,    // the processor (or ONEDNN_MAX_CPU_ISA) has no bf16 instructions
	MBPO_ONEDNN_FAILED = 3,     // an engine or primitive could not be created
};

// mbpo_onednn_open loads the shared library name, checks that oneDNN runs
// bf16 products on this processor and creates the engine and primitives. On
// failure it returns one of the codes above and writes a message into err.
int mbpo_onednn_open(mbpo_onednn *d, const char *name, char *err, int errlen);

// mbpo_onednn_isa is the instruction set oneDNN uses (dnnl_cpu_isa_t).
int mbpo_onednn_isa(const mbpo_onednn *d);

// mbpo_onednn_version writes oneDNN's version.
void mbpo_onednn_version(const mbpo_onednn *d, int *major, int *minor, int *patch);

// mbpo_onednn_stream creates a stream to run products on (one per caller
// that runs products concurrently with others); NULL on failure.
dnnl_stream_t mbpo_onednn_stream(const mbpo_onednn *d);
void mbpo_onednn_stream_free(const mbpo_onednn *d, dnnl_stream_t s);

// mbpo_to_bf16 rounds src [n] to bfloat16 into dst [n] as bf16 instructions
// do: to nearest, ties to even; subnormals to a zero of their sign; a NaN
// to a quiet NaN of its sign.
void mbpo_to_bf16(uint16_t *dst, const float *src, int64_t n);

// mbpo_to_bf16_path is mbpo_to_bf16 through the AVX512-BF16 instruction
// (instruction set, where the processor has it) or the portable loop; it
// returns 1 if it used the instruction. For tests.
int mbpo_to_bf16_path(uint16_t *dst, const float *src, int64_t n, int instruction);

// mbpo_onednn_matmul computes c = op(a)·op(b) + beta·c on row-major
// matrices, op(a) [m][k], op(b) [k][n], c [m][n] (float32), op transposing
// when the flag is set, on one thread, on stream s: with bf16 set a and b
// hold bfloat16 values (float32 accumulation), otherwise float32. Returns a
// dnnl_status_t.
int mbpo_onednn_matmul(const mbpo_onednn *d, dnnl_stream_t s, int bf16, int transA, int transB,
		       int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
		       float beta, float *c, int64_t ldc);

#endif
