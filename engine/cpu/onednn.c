// onednn.c: loads oneDNN at run time and runs the engine's bf16 matrix
// products through its matmul primitive (declared in onednn.h).
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include "onednn.h"

#if defined(__x86_64__) && !defined(MBPO_NO_CLONES)
#define KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNEL
#endif

// resolve looks up every entry point; it returns the first one missing.
static const char *resolve(mbpo_onednn *d) {
#define R(name)                                                  \
	d->name = (__typeof__(d->name))dlsym(d->handle, #name); \
	if (!d->name)                                            \
		return #name;
	R(dnnl_engine_create)
	R(dnnl_stream_create)
	R(dnnl_stream_destroy)
	R(dnnl_memory_desc_init_by_strides)
	R(dnnl_matmul_desc_init)
	R(dnnl_primitive_attr_create)
	R(dnnl_primitive_attr_destroy)
	R(dnnl_primitive_attr_set_scratchpad_mode)
	R(dnnl_primitive_attr_set_post_ops)
	R(dnnl_post_ops_create)
	R(dnnl_post_ops_append_sum)
	R(dnnl_post_ops_destroy)
	R(dnnl_primitive_desc_create)
	R(dnnl_primitive_desc_query)
	R(dnnl_primitive_desc_query_md)
	R(dnnl_primitive_desc_destroy)
	R(dnnl_primitive_create)
	R(dnnl_primitive_execute)
	R(dnnl_memory_create)
	R(dnnl_memory_destroy)
	R(dnnl_memory_desc_get_size)
	R(dnnl_get_effective_cpu_isa)
	R(dnnl_version)
#undef R
	// Searched in libdnnl's dependencies too: its OpenMP runtime.
	d->omp_set_num_threads = (void (*)(int))dlsym(d->handle, "omp_set_num_threads");
	return NULL;
}

// strides of a 2-D operand stored row-major with leading dimension ld, read
// transposed or not; every value DNNL_RUNTIME_DIM_VAL when ld is.
static void strides(dnnl_dims_t s, int trans, dnnl_dim_t ld) {
	s[0] = trans ? 1 : ld;
	s[1] = trans ? ld : 1;
}

// make_matmul creates the primitive for one data type, transposition and
// accumulation, with every size left to execution time. Runtime sizes make
// oneDNN 2.6 choose its jit gemm (AMX kernels where the processor has them,
// AVX512-BF16 otherwise), which needs no scratchpad: the primitive can run on
// several threads at once.
static dnnl_status_t make_matmul(mbpo_onednn *d, dnnl_data_type_t dt, int ta, int tb, int sum,
				 dnnl_primitive_t *p, const char **impl) {
	const dnnl_dim_t R = DNNL_RUNTIME_DIM_VAL;
	dnnl_memory_desc_t a, b, c;
	dnnl_dims_t dims = {R, R}, sa, sb, sc;
	strides(sa, ta, R);
	strides(sb, tb, R);
	strides(sc, 0, R);
	dnnl_status_t st;
	if ((st = d->dnnl_memory_desc_init_by_strides(&a, 2, dims, dt, sa)) ||
	    (st = d->dnnl_memory_desc_init_by_strides(&b, 2, dims, dt, sb)) ||
	    (st = d->dnnl_memory_desc_init_by_strides(&c, 2, dims, dnnl_f32, sc)))
		return st;
	dnnl_matmul_desc_t md;
	if ((st = d->dnnl_matmul_desc_init(&md, &a, &b, NULL, &c)))
		return st;
	dnnl_primitive_attr_t attr;
	if ((st = d->dnnl_primitive_attr_create(&attr)))
		return st;
	dnnl_post_ops_t ops = NULL;
	dnnl_primitive_desc_t pd = NULL;
	if ((st = d->dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user)))
		goto out;
	if (sum) {
		if ((st = d->dnnl_post_ops_create(&ops)) || (st = d->dnnl_post_ops_append_sum(ops, 1.0f)) ||
		    (st = d->dnnl_primitive_attr_set_post_ops(attr, ops)))
			goto out;
	}
	if ((st = d->dnnl_primitive_desc_create(&pd, &md, attr, d->engine, NULL)))
		goto out;
	const dnnl_memory_desc_t *scratch = d->dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
	if (scratch && d->dnnl_memory_desc_get_size(scratch) > 0) {
		st = dnnl_unimplemented; // would need a scratchpad per thread
		goto out;
	}
	if (impl)
		d->dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, (void *)impl);
	st = d->dnnl_primitive_create(p, pd);
out:
	if (pd)
		d->dnnl_primitive_desc_destroy(pd);
	if (ops)
		d->dnnl_post_ops_destroy(ops);
	d->dnnl_primitive_attr_destroy(attr);
	return st;
}

int mbpo_onednn_open(mbpo_onednn *d, const char *name, char *err, int errlen) {
	memset(d, 0, sizeof *d);
	d->handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	if (!d->handle) {
		snprintf(err, errlen, "%s", dlerror());
		return MBPO_ONEDNN_NO_LIBRARY;
	}
	const char *missing = resolve(d);
	if (missing) {
		snprintf(err, errlen, "%s lacks %s", name, missing);
		return MBPO_ONEDNN_NO_LIBRARY;
	}
	int isa = d->dnnl_get_effective_cpu_isa();
	if ((isa & dnnl_cpu_isa_avx512_core_bf16) != dnnl_cpu_isa_avx512_core_bf16) {
		snprintf(err, errlen, "oneDNN's instruction set here is 0x%x, without AVX512-BF16 or AMX", isa);
		return MBPO_ONEDNN_NO_BF16;
	}
	dnnl_status_t st = d->dnnl_engine_create(&d->engine, dnnl_cpu, 0);
	if (st) {
		snprintf(err, errlen, "dnnl_engine_create: status %d", (int)st);
		return MBPO_ONEDNN_FAILED;
	}
	if (d->omp_set_num_threads)
		d->omp_set_num_threads(1); // primitives are created for one thread
	for (int dt = 0; dt < 2; dt++)
		for (int ta = 0; ta < 2; ta++)
			for (int tb = 0; tb < 2; tb++)
				for (int sum = 0; sum < 2; sum++) {
					const char **impl = dt == 0 && !ta && !tb && !sum ? &d->impl : NULL;
					st = make_matmul(d, dt ? dnnl_f32 : dnnl_bf16, ta, tb, sum, &d->mm[dt][ta][tb][sum], impl);
					if (st) {
						snprintf(err, errlen, "%s matmul primitive (transposed %d/%d, sum %d): status %d",
							 dt ? "f32" : "bf16", ta, tb, sum, (int)st);
						return MBPO_ONEDNN_FAILED;
					}
				}
	return MBPO_ONEDNN_OK;
}

int mbpo_onednn_isa(const mbpo_onednn *d) { return d->dnnl_get_effective_cpu_isa(); }

void mbpo_onednn_version(const mbpo_onednn *d, int *major, int *minor, int *patch) {
	const dnnl_version_t *v = d->dnnl_version();
	*major = v->major;
	*minor = v->minor;
	*patch = v->patch;
}

dnnl_stream_t mbpo_onednn_stream(const mbpo_onednn *d) {
	dnnl_stream_t s = NULL;
	if (d->dnnl_stream_create(&s, d->engine, dnnl_stream_default_flags))
		return NULL;
	return s;
}

void mbpo_onednn_stream_free(const mbpo_onednn *d, dnnl_stream_t s) {
	if (s)
		d->dnnl_stream_destroy(s);
}

// Rounding to bf16, as the processors' bf16 instructions do it
// (VCVTNE2PS2BF16): to nearest, ties to even; subnormal inputs become a zero
// of their sign (the bf16 products treat subnormal operands as zero anyway);
// a NaN keeps its sign and upper payload and becomes a quiet NaN. Processors
// with AVX512-BF16 use that instruction, the others this loop, which
// vectorises (integer arithmetic only, the same bits in every clone).
KERNEL static void to_bf16_generic(uint16_t *dst, const float *src, int64_t n) {
	for (int64_t i = 0; i < n; i++) {
		uint32_t u;
		memcpy(&u, &src[i], sizeof u);
		uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
		uint32_t nan = (u >> 16) | 0x40u;
		uint32_t zero = (u >> 16) & 0x8000u;
		uint32_t abs = u & 0x7fffffffu;
		uint32_t r = abs > 0x7f800000u ? nan : rounded;
		dst[i] = (uint16_t)(abs < 0x00800000u ? zero : r);
	}
}

#if defined(__x86_64__) && !defined(MBPO_NO_CLONES)
#include <immintrin.h>
#define HAVE_BF16_PATH 1
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void to_bf16_avx512bf16(uint16_t *dst, const float *src,
												 int64_t n) {
	int64_t i = 0;
	for (; i + 32 <= n; i += 32) {
		__m512bh r = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(src + i + 16), _mm512_loadu_ps(src + i));
		_mm512_storeu_si512((void *)(dst + i), (__m512i)r);
	}
	if (i < n) {
		int64_t left = n - i;
		__mmask16 m0 = left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
		__mmask16 m1 = left <= 16 ? (__mmask16)0 : (__mmask16)((1u << (left - 16)) - 1);
		__m512bh r = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(m1, src + i + 16), _mm512_maskz_loadu_ps(m0, src + i));
		_mm512_mask_storeu_epi16(dst + i, (__mmask32)m0 | ((__mmask32)m1 << 16), (__m512i)r);
	}
}
#endif

// bf16_path is 1 where the processor has AVX512-BF16, else 0 (-1: not yet
// known; every thread that finds out writes the same value).
static int bf16_path = -1;

static int use_bf16_path(void) {
	int p = __atomic_load_n(&bf16_path, __ATOMIC_RELAXED);
	if (p < 0) {
		p = 0;
#ifdef HAVE_BF16_PATH
		__builtin_cpu_init();
		p = __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512bw") &&
		    __builtin_cpu_supports("avx512vl");
#endif
		__atomic_store_n(&bf16_path, p, __ATOMIC_RELAXED);
	}
	return p;
}

void mbpo_to_bf16(uint16_t *dst, const float *src, int64_t n) { mbpo_to_bf16_path(dst, src, n, use_bf16_path()); }

int mbpo_to_bf16_path(uint16_t *dst, const float *src, int64_t n, int instruction) {
#ifdef HAVE_BF16_PATH
	if (instruction && use_bf16_path()) {
		to_bf16_avx512bf16(dst, src, n);
		return 1;
	}
#endif
	to_bf16_generic(dst, src, n);
	return 0;
}

int mbpo_onednn_matmul(const mbpo_onednn *d, dnnl_stream_t s, int bf16, int transA, int transB,
		       int64_t m, int64_t n, int64_t k, const void *a, int64_t lda, const void *b, int64_t ldb,
		       float beta, float *c, int64_t ldc) {
	int ta = transA != 0, tb = transB != 0;
	dnnl_data_type_t dt = bf16 ? dnnl_bf16 : dnnl_f32;
	if (beta != 0 && beta != 1) { // the primitives add 0 or 1 times c
		for (int64_t i = 0; i < m; i++)
			for (int64_t j = 0; j < n; j++)
				c[i * ldc + j] *= beta;
	}
	dnnl_memory_desc_t ma, mb, mc;
	dnnl_dims_t da = {m, k}, db = {k, n}, dc = {m, n}, sa, sb, sc;
	strides(sa, ta, lda);
	strides(sb, tb, ldb);
	strides(sc, 0, ldc);
	dnnl_status_t st;
	if ((st = d->dnnl_memory_desc_init_by_strides(&ma, 2, da, dt, sa)) ||
	    (st = d->dnnl_memory_desc_init_by_strides(&mb, 2, db, dt, sb)) ||
	    (st = d->dnnl_memory_desc_init_by_strides(&mc, 2, dc, dnnl_f32, sc)))
		return st;
	dnnl_memory_t mem[3] = {NULL, NULL, NULL};
	if ((st = d->dnnl_memory_create(&mem[0], &ma, d->engine, (void *)a)) ||
	    (st = d->dnnl_memory_create(&mem[1], &mb, d->engine, (void *)b)) ||
	    (st = d->dnnl_memory_create(&mem[2], &mc, d->engine, c)))
		goto out;
	dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mem[0]}, {DNNL_ARG_WEIGHTS, mem[1]}, {DNNL_ARG_DST, mem[2]}};
	// One thread: the engine runs its own workers, each calling products
	// from its own thread. oneDNN reads OpenMP's thread count of the calling
	// thread, so each call sets it (a thread-local store).
	if (d->omp_set_num_threads)
		d->omp_set_num_threads(1);
	st = d->dnnl_primitive_execute(d->mm[!bf16][ta][tb][beta != 0], s, 3, args);
out:
	for (int i = 0; i < 3; i++)
		if (mem[i])
			d->dnnl_memory_destroy(mem[i]);
	return st;
}
