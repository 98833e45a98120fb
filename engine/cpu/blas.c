// blas.c: loads OpenBLAS at run time and forwards sgemm calls to it.
#include <dlfcn.h>
#include <stdio.h>
#include "blas.h"

int mbpo_blas_open(mbpo_blas *b, const char *name, char *err, int errlen) {
	b->handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!b->handle) {
		snprintf(err, errlen, "%s", dlerror());
		return -1;
	}
	b->sgemm = (mbpo_sgemm_fn)dlsym(b->handle, "cblas_sgemm");
	b->set_threads = (mbpo_set_threads_fn)dlsym(b->handle, "openblas_set_num_threads");
	b->get_threads = (mbpo_get_threads_fn)dlsym(b->handle, "openblas_get_num_threads");
	b->corename = (mbpo_corename_fn)dlsym(b->handle, "openblas_get_corename");
	if (!b->sgemm || !b->set_threads || !b->get_threads || !b->corename) {
		snprintf(err, errlen, "%s lacks cblas_sgemm or the openblas_* thread and core functions", name);
		dlclose(b->handle);
		b->handle = 0;
		return -1;
	}
	return 0;
}

void mbpo_blas_close(mbpo_blas *b) {
	if (b->handle) {
		dlclose(b->handle);
		b->handle = 0;
	}
}

void mbpo_sgemm(const mbpo_blas *b, int transA, int transB, int m, int n, int k,
		float alpha, const float *a, int lda, const float *bm, int ldb,
		float beta, float *c, int ldc) {
	b->sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
		 m, n, k, alpha, a, lda, bm, ldb, beta, c, ldc);
}

void mbpo_blas_set_threads(const mbpo_blas *b, int n) { b->set_threads(n); }

int mbpo_blas_get_threads(const mbpo_blas *b) { return b->get_threads(); }

const char *mbpo_blas_core(const mbpo_blas *b) { return b->corename(); }

int mbpo_cpu_has_avx512(void) {
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
	       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("avx512vl");
}
