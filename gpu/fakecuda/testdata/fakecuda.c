// fakecuda.c: a stand-in for libcuda.so.1 that runs on the host, for testing
// package gpu without a GPU. Tests build it with the system C compiler; -D
// switches script its failures:
//
//   FAKE_INIT_RESULT=n     cuInit returns n
//   FAKE_DEVICE_COUNT=n    the number of devices (default 1)
//   FAKE_TOTAL_MEM=n       bytes of "device memory" (default 1 GiB)
//   FAKE_OMIT_MEMALLOC     cuMemAlloc_v2 is not exported
//   FAKE_OMIT_GRAPH_UPDATE cuGraphExecUpdate_v2 is not exported
//
// Device memory is host memory. Work runs when it is queued, except while a
// stream is being captured, when kernels and memsets are recorded into the
// graph instead. Every call that needs a context checks that the primary
// context is current on the calling thread, as the real driver does.
// Kernels: "empty" (), "axpy" (float *y, const float *x, float a, int n):
// y += a*x, "scale" (float *y, struct {int n; float s;}): y *= s, and two of
// package kernels': "mbpo_empty" () and "mbpo_add_one" (float *x, int n):
// x += 1. Every other "mbpo_" kernel is found, but launching it fails with
// CUDA_ERROR_NOT_SUPPORTED.
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FAKE_INIT_RESULT
#define FAKE_INIT_RESULT 0
#endif
#ifndef FAKE_DEVICE_COUNT
#define FAKE_DEVICE_COUNT 1
#endif
#ifndef FAKE_TOTAL_MEM
#define FAKE_TOTAL_MEM (1ull << 30)
#endif

typedef int CUresult;
enum {
	OK = 0, INVALID_VALUE = 1, OUT_OF_MEMORY = 2, NOT_INITIALIZED = 3, NO_DEVICE = 100,
	INVALID_DEVICE = 101, INVALID_CONTEXT = 201, INVALID_PTX = 218, INVALID_HANDLE = 400,
	NOT_FOUND = 500, NOT_SUPPORTED = 801, CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901,
	UPDATE_FAILURE = 910
};

#define EXPORT __attribute__((visibility("default")))

static int initialized;
static int primary_refs;
static char primary_ctx; // its address is the context handle
static __thread void *current;
static size_t used;

static int in_ctx(void) { return initialized && current == &primary_ctx && primary_refs > 0; }
#define NEED_CTX() do { if (!in_ctx()) return INVALID_CONTEXT; } while (0)

// Allocations, to check frees and report free memory.
typedef struct alloc { void *p; size_t n; struct alloc *next; } alloc;
static alloc *allocs;
static pthread_mutex_t allocs_mu = PTHREAD_MUTEX_INITIALIZER;

static void *track(size_t n) {
	pthread_mutex_lock(&allocs_mu);
	void *p = NULL;
	if (used + n <= FAKE_TOTAL_MEM) {
		alloc *a = malloc(sizeof *a);
		a->p = p = calloc(1, n ? n : 1);
		a->n = n;
		a->next = allocs;
		allocs = a;
		used += n;
	}
	pthread_mutex_unlock(&allocs_mu);
	return p;
}

static int untrack(void *p) {
	int found = 0;
	pthread_mutex_lock(&allocs_mu);
	for (alloc **pa = &allocs; *pa; pa = &(*pa)->next) {
		if ((*pa)->p == p) {
			alloc *a = *pa;
			*pa = a->next;
			used -= a->n;
			free(a->p);
			free(a);
			found = 1;
			break;
		}
	}
	pthread_mutex_unlock(&allocs_mu);
	return found;
}

// Kernels and recorded work.
enum { K_EMPTY = 1, K_AXPY, K_SCALE, K_ADD_ONE, K_UNSUPPORTED, N_MEMSET32 };
typedef struct { int n; float s; } scale_args;
typedef struct node {
	int kind;
	unsigned char args[64];
	struct node *next;
} node;
typedef struct { node *head, *tail; int count; } graph;
typedef struct { int capturing; graph *g; } stream;

static void run(const node *w) {
	switch (w->kind) {
	case K_AXPY: {
		float *y, *x, a;
		int n;
		memcpy(&y, w->args, 8);
		memcpy(&x, w->args + 8, 8);
		memcpy(&a, w->args + 16, 4);
		memcpy(&n, w->args + 20, 4);
		for (int i = 0; i < n; i++) y[i] += a * x[i];
		break;
	}
	case K_ADD_ONE: {
		float *x;
		int n;
		memcpy(&x, w->args, 8);
		memcpy(&n, w->args + 8, 4);
		for (int i = 0; i < n; i++) x[i] += 1.0f;
		break;
	}
	case K_SCALE: {
		float *y;
		scale_args s;
		memcpy(&y, w->args, 8);
		memcpy(&s, w->args + 8, sizeof s);
		for (int i = 0; i < s.n; i++) y[i] *= s.s;
		break;
	}
	case N_MEMSET32: {
		uint32_t *p, v;
		size_t n;
		memcpy(&p, w->args, 8);
		memcpy(&v, w->args + 8, 4);
		memcpy(&n, w->args + 16, 8);
		for (size_t i = 0; i < n; i++) p[i] = v;
		break;
	}
	}
}

static void append(graph *g, const node *w) {
	node *c = malloc(sizeof *c);
	*c = *w;
	c->next = NULL;
	if (g->tail) g->tail->next = c; else g->head = c;
	g->tail = c;
	g->count++;
}

static CUresult submit(stream *s, const node *w) {
	if (s && s->capturing) append(s->g, w);
	else run(w);
	return OK;
}

static void free_graph(graph *g) {
	for (node *w = g->head; w;) { node *n = w->next; free(w); w = n; }
	free(g);
}

static graph *copy_graph(const graph *g) {
	graph *c = calloc(1, sizeof *c);
	for (node *w = g->head; w; w = w->next) append(c, w);
	return c;
}

static const char *names[][2] = {
	{"CUDA_ERROR_INVALID_VALUE", "invalid argument"},
	{"CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
};

EXPORT CUresult cuGetErrorName(CUresult r, const char **s) {
	if (r == 1 || r == 2) { *s = names[r - 1][0]; return OK; }
	if (r == INVALID_PTX) { *s = "CUDA_ERROR_INVALID_PTX"; return OK; }
	*s = NULL;
	return INVALID_VALUE;
}

EXPORT CUresult cuGetErrorString(CUresult r, const char **s) {
	if (r == 1 || r == 2) { *s = names[r - 1][1]; return OK; }
	if (r == INVALID_PTX) { *s = "a PTX JIT compilation failed"; return OK; }
	*s = NULL;
	return INVALID_VALUE;
}

EXPORT CUresult cuInit(unsigned int flags) {
	if (flags != 0) return INVALID_VALUE;
	if (FAKE_INIT_RESULT != 0) return FAKE_INIT_RESULT;
	initialized = 1;
	return OK;
}

EXPORT CUresult cuDriverGetVersion(int *v) { *v = 13000; return OK; }

EXPORT CUresult cuDeviceGetCount(int *n) {
	if (!initialized) return NOT_INITIALIZED;
	*n = FAKE_DEVICE_COUNT;
	return OK;
}

EXPORT CUresult cuDeviceGet(int *dev, int ordinal) {
	if (!initialized) return NOT_INITIALIZED;
	if (ordinal < 0 || ordinal >= FAKE_DEVICE_COUNT) return INVALID_DEVICE;
	*dev = ordinal;
	return OK;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, int dev) {
	(void)dev;
	strncpy(name, "Fake GPU", (size_t)len);
	name[len - 1] = 0;
	return OK;
}

EXPORT CUresult cuDeviceGetAttribute(int *v, int attr, int dev) {
	(void)dev;
	switch (attr) {
	case 1: *v = 1024; return OK;    // max threads per block
	case 16: *v = 4; return OK;      // SMs
	case 38: *v = 1 << 20; return OK; // L2
	case 75: *v = 9; return OK;      // compute capability 9.0
	case 76: *v = 0; return OK;
	case 97: *v = 232448; return OK; // opt-in shared memory per block
	}
	return INVALID_VALUE; // clocks and bus width: "no longer reported"
}

EXPORT CUresult cuDeviceTotalMem_v2(size_t *n, int dev) { (void)dev; *n = FAKE_TOTAL_MEM; return OK; }

EXPORT CUresult cuDevicePrimaryCtxRetain(void **ctx, int dev) {
	if (!initialized) return NOT_INITIALIZED;
	if (dev < 0 || dev >= FAKE_DEVICE_COUNT) return INVALID_DEVICE;
	primary_refs++;
	*ctx = &primary_ctx;
	return OK;
}

EXPORT CUresult cuDevicePrimaryCtxRelease_v2(int dev) {
	(void)dev;
	if (primary_refs == 0) return INVALID_CONTEXT;
	primary_refs--;
	return OK;
}

EXPORT CUresult cuCtxGetCurrent(void **ctx) { *ctx = current; return OK; }

EXPORT CUresult cuCtxSetCurrent(void *ctx) {
	if (ctx != NULL && ctx != &primary_ctx) return INVALID_CONTEXT;
	current = ctx;
	return OK;
}

EXPORT CUresult cuCtxSynchronize(void) { NEED_CTX(); return OK; }

EXPORT CUresult cuMemGetInfo_v2(size_t *free_bytes, size_t *total) {
	NEED_CTX();
	*free_bytes = FAKE_TOTAL_MEM - used;
	*total = FAKE_TOTAL_MEM;
	return OK;
}

#ifndef FAKE_OMIT_MEMALLOC
EXPORT CUresult cuMemAlloc_v2(uint64_t *p, size_t n) {
	NEED_CTX();
	if (n == 0) return INVALID_VALUE;
	void *q = track(n);
	if (!q) return OUT_OF_MEMORY;
	*p = (uint64_t)(uintptr_t)q;
	return OK;
}
#endif

EXPORT CUresult cuMemFree_v2(uint64_t p) {
	NEED_CTX();
	return untrack((void *)(uintptr_t)p) ? OK : INVALID_VALUE;
}

EXPORT CUresult cuMemAllocHost_v2(void **p, size_t n) {
	NEED_CTX();
	*p = track(n);
	return *p ? OK : OUT_OF_MEMORY;
}

EXPORT CUresult cuMemFreeHost(void *p) {
	NEED_CTX();
	return untrack(p) ? OK : INVALID_VALUE;
}

static CUresult copy(stream *s, void *dst, const void *src, size_t n) {
	NEED_CTX();
	if (s && s->capturing) return CAPTURE_UNSUPPORTED;
	memcpy(dst, src, n);
	return OK;
}

EXPORT CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src, size_t n, stream *s) {
	return copy(s, (void *)(uintptr_t)dst, src, n);
}

EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t n, stream *s) {
	return copy(s, dst, (void *)(uintptr_t)src, n);
}

EXPORT CUresult cuMemcpyDtoDAsync_v2(uint64_t dst, uint64_t src, size_t n, stream *s) {
	return copy(s, (void *)(uintptr_t)dst, (void *)(uintptr_t)src, n);
}

EXPORT CUresult cuMemsetD8Async(uint64_t dst, unsigned char v, size_t n, stream *s) {
	NEED_CTX();
	if (s && s->capturing) return CAPTURE_UNSUPPORTED;
	memset((void *)(uintptr_t)dst, v, n);
	return OK;
}

EXPORT CUresult cuMemsetD32Async(uint64_t dst, unsigned int v, size_t n, stream *s) {
	NEED_CTX();
	node w = {N_MEMSET32, {0}, NULL};
	memcpy(w.args, &dst, 8);
	memcpy(w.args + 8, &v, 4);
	memcpy(w.args + 16, &n, 8);
	return submit(s, &w);
}

EXPORT CUresult cuStreamCreate(stream **s, unsigned int flags) {
	NEED_CTX();
	if (flags != 1) return INVALID_VALUE; // package gpu always asks for non-blocking
	*s = calloc(1, sizeof **s);
	return OK;
}

EXPORT CUresult cuStreamDestroy_v2(stream *s) { NEED_CTX(); free(s); return OK; }
EXPORT CUresult cuStreamSynchronize(stream *s) { NEED_CTX(); return s && s->capturing ? CAPTURE_UNSUPPORTED : OK; }

typedef struct { double t; int recorded; } event;

EXPORT CUresult cuEventCreate(event **e, unsigned int flags) {
	NEED_CTX();
	(void)flags;
	*e = calloc(1, sizeof **e);
	return OK;
}

EXPORT CUresult cuEventDestroy_v2(event *e) { NEED_CTX(); free(e); return OK; }

EXPORT CUresult cuEventRecord(event *e, stream *s) {
	NEED_CTX();
	(void)s;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	e->t = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
	e->recorded = 1;
	return OK;
}

EXPORT CUresult cuEventSynchronize(event *e) { NEED_CTX(); (void)e; return OK; }

EXPORT CUresult cuEventElapsedTime(float *ms, event *a, event *b) {
	NEED_CTX();
	if (!a->recorded || !b->recorded) return INVALID_HANDLE;
	*ms = (float)(b->t - a->t);
	return OK;
}

enum { JIT_ERROR_LOG_BUFFER = 5, JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6 };

EXPORT CUresult cuModuleLoadDataEx(void **m, const void *image, unsigned int n, int *opts, void **vals) {
	NEED_CTX();
	char *log = NULL;
	size_t log_len = 0;
	for (unsigned int i = 0; i < n; i++) {
		if (opts[i] == JIT_ERROR_LOG_BUFFER) log = vals[i];
		if (opts[i] == JIT_ERROR_LOG_BUFFER_SIZE_BYTES) log_len = (size_t)(uintptr_t)vals[i];
	}
	if (strstr(image, "FAKE_SYNTAX_ERROR")) {
		if (log && log_len) {
			strncpy(log, "ptxas application ptx input, line 7; error   : Unknown symbol 'FAKE_SYNTAX_ERROR'", log_len);
			log[log_len - 1] = 0;
		}
		return INVALID_PTX;
	}
	*m = malloc(1);
	return OK;
}

EXPORT CUresult cuModuleUnload(void *m) { NEED_CTX(); free(m); return OK; }

EXPORT CUresult cuModuleGetFunction(intptr_t *f, void *m, const char *name) {
	NEED_CTX();
	(void)m;
	if (!strcmp(name, "empty") || !strcmp(name, "mbpo_empty")) *f = K_EMPTY;
	else if (!strcmp(name, "axpy")) *f = K_AXPY;
	else if (!strcmp(name, "scale")) *f = K_SCALE;
	else if (!strcmp(name, "mbpo_add_one")) *f = K_ADD_ONE;
	else if (!strncmp(name, "mbpo_", 5)) *f = K_UNSUPPORTED;
	else return NOT_FOUND;
	return OK;
}

EXPORT CUresult cuFuncGetAttribute(int *v, int attr, intptr_t f) {
	NEED_CTX();
	(void)f;
	switch (attr) {
	case 0: *v = 1024; return OK;
	case 4: *v = 32; return OK;
	case 1: case 3: case 8: *v = 0; return OK;
	}
	return INVALID_VALUE;
}

EXPORT CUresult cuFuncSetAttribute(intptr_t f, int attr, int v) {
	NEED_CTX();
	(void)f;
	return attr == 8 && v >= 0 && v <= 232448 ? OK : INVALID_VALUE;
}

EXPORT CUresult cuLaunchKernel(intptr_t f, unsigned gx, unsigned gy, unsigned gz,
                               unsigned bx, unsigned by, unsigned bz, unsigned shared,
                               stream *s, void **params, void **extra) {
	NEED_CTX();
	if (extra) return INVALID_VALUE;
	if (!gx || !gy || !gz || !bx || !by || !bz || bx * by * bz > 1024 || shared > 232448) return INVALID_VALUE;
	node w = {(int)f, {0}, NULL};
	switch (f) {
	case K_EMPTY:
		break;
	case K_AXPY:
		memcpy(w.args, params[0], 8);
		memcpy(w.args + 8, params[1], 8);
		memcpy(w.args + 16, params[2], 4);
		memcpy(w.args + 20, params[3], 4);
		break;
	case K_SCALE:
		memcpy(w.args, params[0], 8);
		memcpy(w.args + 8, params[1], sizeof(scale_args));
		break;
	case K_ADD_ONE:
		memcpy(w.args, params[0], 8);
		memcpy(w.args + 8, params[1], 4);
		break;
	case K_UNSUPPORTED:
		return NOT_SUPPORTED;
	default:
		return INVALID_HANDLE;
	}
	return submit(s, &w);
}

EXPORT CUresult cuStreamBeginCapture_v2(stream *s, int mode) {
	NEED_CTX();
	if (!s || s->capturing || mode < 0 || mode > 2) return INVALID_VALUE;
	s->capturing = 1;
	s->g = calloc(1, sizeof(graph));
	return OK;
}

EXPORT CUresult cuStreamEndCapture(stream *s, graph **g) {
	NEED_CTX();
	if (!s || !s->capturing) return CAPTURE_INVALIDATED;
	s->capturing = 0;
	*g = s->g;
	s->g = NULL;
	return OK;
}

EXPORT CUresult cuGraphInstantiateWithFlags(graph **e, graph *g, unsigned long long flags) {
	NEED_CTX();
	if (flags != 0) return INVALID_VALUE;
	*e = copy_graph(g);
	return OK;
}

EXPORT CUresult cuGraphLaunch(graph *e, stream *s) {
	NEED_CTX();
	if (s && s->capturing) return CAPTURE_UNSUPPORTED;
	for (node *w = e->head; w; w = w->next) run(w);
	return OK;
}

#ifndef FAKE_OMIT_GRAPH_UPDATE
typedef struct { int result; void *errorNode, *errorFromNode; } update_info;

EXPORT CUresult cuGraphExecUpdate_v2(graph *e, graph *g, update_info *info) {
	NEED_CTX();
	int same = e->count == g->count;
	for (node *a = e->head, *b = g->head; same && a; a = a->next, b = b->next) same = a->kind == b->kind;
	if (!same) {
		info->result = 2; // CU_GRAPH_EXEC_UPDATE_ERROR_TOPOLOGY_CHANGED
		return UPDATE_FAILURE;
	}
	for (node *a = e->head, *b = g->head; a; a = a->next, b = b->next) memcpy(a->args, b->args, sizeof a->args);
	info->result = 0;
	return OK;
}
#endif

EXPORT CUresult cuGraphDestroy(graph *g) { NEED_CTX(); free_graph(g); return OK; }
EXPORT CUresult cuGraphExecDestroy(graph *e) { NEED_CTX(); free_graph(e); return OK; }
