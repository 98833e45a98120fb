// blas.h: the OpenBLAS entry points the CPU engine uses, loaded with dlopen
// (see blas.go for why the library is loaded at run time).
#ifndef MBPO_CPU_BLAS_H
#define MBPO_CPU_BLAS_H

#include <cblas.h>

typedef __typeof__(&cblas_sgemm) mbpo_sgemm_fn;
typedef void (*mbpo_set_threads_fn)(int);
typedef int (*mbpo_get_threads_fn)(void);
typedef char *(*mbpo_corename_fn)(void);

// mbpo_blas holds a dlopen handle and the resolved entry points.
typedef struct {
	void *handle;
	mbpo_sgemm_fn sgemm;
	mbpo_set_threads_fn set_threads;
	mbpo_get_threads_fn get_threads;
	mbpo_corename_fn corename;
} mbpo_blas;

// mbpo_blas_open loads the shared library name and resolves the entry points.
// It returns 0 on success; on failure it writes a message into err.
int mbpo_blas_open(mbpo_blas *b, const char *name, char *err, int errlen);

// mbpo_blas_close releases the handle.
void mbpo_blas_close(mbpo_blas *b);

// mbpo_sgemm calls b->sgemm on row-major matrices.
void mbpo_sgemm(const mbpo_blas *b, int transA, int transB, int m, int n, int k,
		float alpha, const float *a, int lda, const float *bm, int ldb,
		float beta, float *c, int ldc);

// mbpo_blas_set_threads, mbpo_blas_get_threads and mbpo_blas_core forward to
// openblas_set_num_threads, openblas_get_num_threads and openblas_get_corename.
void mbpo_blas_set_threads(const mbpo_blas *b, int n);
int mbpo_blas_get_threads(const mbpo_blas *b);
const char *mbpo_blas_core(const mbpo_blas *b);

// mbpo_cpu_has_avx512 reports whether the processor runs AVX-512 F, CD, BW, DQ
// and VL: the instructions of OpenBLAS's SkylakeX kernels.
int mbpo_cpu_has_avx512(void);

#endif
