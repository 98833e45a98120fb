// driver.c: loads the CUDA driver library at run time and calls through the
// resolved entry points (see driver.h). No CUDA header is used.
#include "driver.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MBPO_NOT_SUPPORTED 801

// One entry point: the field it fills and the exported names to try, in order
// of preference. Optional ones may be missing; the rest must be there.
typedef struct {
	size_t field;
	const char *names[3];
	int optional;
} mbpo_symbol;

#define SYM(f, ...) {offsetof(mbpo_cu, f), {__VA_ARGS__}, 0}
#define OPT(f, ...) {offsetof(mbpo_cu, f), {__VA_ARGS__}, 1}

static const mbpo_symbol mbpo_symbols[] = {
	SYM(cuInit, "cuInit"),
	SYM(cuDriverGetVersion, "cuDriverGetVersion"),
	SYM(cuGetErrorName, "cuGetErrorName"),
	SYM(cuGetErrorString, "cuGetErrorString"),
	SYM(cuDeviceGetCount, "cuDeviceGetCount"),
	SYM(cuDeviceGet, "cuDeviceGet"),
	SYM(cuDeviceGetName, "cuDeviceGetName"),
	SYM(cuDeviceGetAttribute, "cuDeviceGetAttribute"),
	SYM(cuDeviceTotalMem, "cuDeviceTotalMem_v2"),
	SYM(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain"),
	SYM(cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2"),
	SYM(cuCtxGetCurrent, "cuCtxGetCurrent"),
	SYM(cuCtxSetCurrent, "cuCtxSetCurrent"),
	SYM(cuCtxSynchronize, "cuCtxSynchronize"),
	SYM(cuMemGetInfo, "cuMemGetInfo_v2"),
	SYM(cuMemAlloc, "cuMemAlloc_v2"),
	SYM(cuMemFree, "cuMemFree_v2"),
	SYM(cuMemAllocHost, "cuMemAllocHost_v2"),
	SYM(cuMemFreeHost, "cuMemFreeHost"),
	SYM(cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2"),
	SYM(cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2"),
	SYM(cuMemcpyDtoDAsync, "cuMemcpyDtoDAsync_v2"),
	SYM(cuMemsetD8Async, "cuMemsetD8Async"),
	SYM(cuMemsetD32Async, "cuMemsetD32Async"),
	SYM(cuStreamCreate, "cuStreamCreate"),
	SYM(cuStreamDestroy, "cuStreamDestroy_v2"),
	SYM(cuStreamSynchronize, "cuStreamSynchronize"),
	SYM(cuEventCreate, "cuEventCreate"),
	SYM(cuEventDestroy, "cuEventDestroy_v2"),
	SYM(cuEventRecord, "cuEventRecord"),
	SYM(cuEventSynchronize, "cuEventSynchronize"),
	SYM(cuEventElapsedTime, "cuEventElapsedTime", "cuEventElapsedTime_v2"),
	SYM(cuModuleLoadDataEx, "cuModuleLoadDataEx"),
	SYM(cuModuleUnload, "cuModuleUnload"),
	SYM(cuModuleGetFunction, "cuModuleGetFunction"),
	SYM(cuFuncGetAttribute, "cuFuncGetAttribute"),
	SYM(cuFuncSetAttribute, "cuFuncSetAttribute"),
	SYM(cuLaunchKernel, "cuLaunchKernel"),
	SYM(cuStreamBeginCapture, "cuStreamBeginCapture_v2"),
	SYM(cuStreamEndCapture, "cuStreamEndCapture"),
	SYM(cuGraphInstantiateWithFlags, "cuGraphInstantiateWithFlags"),
	SYM(cuGraphLaunch, "cuGraphLaunch"),
	OPT(cuGraphExecUpdate, "cuGraphExecUpdate_v2"),
	SYM(cuGraphDestroy, "cuGraphDestroy"),
	SYM(cuGraphExecDestroy, "cuGraphExecDestroy"),
};

const char *mbpo_cu_open(const char *path, mbpo_cu **out, char *msg, size_t msg_len) {
	void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		const char *e = dlerror();
		snprintf(msg, msg_len, "%s", e ? e : "dlopen failed");
		return msg;
	}
	mbpo_cu *d = calloc(1, sizeof *d);
	if (!d) {
		snprintf(msg, msg_len, "out of host memory");
		return msg;
	}
	d->lib = lib;
	for (size_t i = 0; i < sizeof mbpo_symbols / sizeof mbpo_symbols[0]; i++) {
		const mbpo_symbol *s = &mbpo_symbols[i];
		void *p = NULL;
		for (int j = 0; j < 3 && s->names[j] && !p; j++) p = dlsym(lib, s->names[j]);
		if (!p && !s->optional) {
			snprintf(msg, msg_len, "%s has no entry point %s", path, s->names[0]);
			free(d);
			// The library stays loaded: unloading a half-initialised driver is not safe.
			return msg;
		}
		memcpy((char *)d + s->field, &p, sizeof p);
	}
	*out = d;
	return NULL;
}

void mbpo_cu_error_text(mbpo_cu *d, CUresult r, const char **name, const char **text) {
	*name = NULL;
	*text = NULL;
	if (d->cuGetErrorName(r, name) != 0) *name = NULL;
	if (d->cuGetErrorString(r, text) != 0) *text = NULL;
}

CUresult mbpo_use(mbpo_cu *d, CUcontext ctx) {
	CUcontext cur = NULL;
	CUresult r = d->cuCtxGetCurrent(&cur);
	if (r != 0 || cur == ctx) return r;
	return d->cuCtxSetCurrent(ctx);
}

// USE makes ctx current or returns the driver's error.
#define USE(d, ctx)                         \
	do {                                    \
		CUresult use_r = mbpo_use(d, ctx);  \
		if (use_r != 0) return use_r;       \
	} while (0)

CUresult mbpo_init(mbpo_cu *d, int *version, int *count) {
	CUresult r = d->cuInit(0);
	if (r != 0) return r;
	r = d->cuDriverGetVersion(version);
	if (r != 0) return r;
	return d->cuDeviceGetCount(count);
}

CUresult mbpo_device_get(mbpo_cu *d, int ordinal, CUdevice *dev) { return d->cuDeviceGet(dev, ordinal); }
CUresult mbpo_device_name(mbpo_cu *d, CUdevice dev, char *name, int len) { return d->cuDeviceGetName(name, len, dev); }
CUresult mbpo_device_attribute(mbpo_cu *d, CUdevice dev, int attr, int *v) { return d->cuDeviceGetAttribute(v, attr, dev); }
CUresult mbpo_device_total_mem(mbpo_cu *d, CUdevice dev, size_t *bytes) { return d->cuDeviceTotalMem(bytes, dev); }
CUresult mbpo_primary_retain(mbpo_cu *d, CUdevice dev, CUcontext *ctx) { return d->cuDevicePrimaryCtxRetain(ctx, dev); }
CUresult mbpo_primary_release(mbpo_cu *d, CUdevice dev) { return d->cuDevicePrimaryCtxRelease(dev); }

CUresult mbpo_ctx_synchronize(mbpo_cu *d, CUcontext ctx) {
	USE(d, ctx);
	return d->cuCtxSynchronize();
}

CUresult mbpo_mem_info(mbpo_cu *d, CUcontext ctx, size_t *free_bytes, size_t *total) {
	USE(d, ctx);
	return d->cuMemGetInfo(free_bytes, total);
}

CUresult mbpo_mem_alloc(mbpo_cu *d, CUcontext ctx, CUdeviceptr *p, size_t bytes) {
	USE(d, ctx);
	return d->cuMemAlloc(p, bytes);
}

CUresult mbpo_mem_free(mbpo_cu *d, CUcontext ctx, CUdeviceptr p) {
	USE(d, ctx);
	return d->cuMemFree(p);
}

CUresult mbpo_mem_alloc_host(mbpo_cu *d, CUcontext ctx, void **p, size_t bytes) {
	USE(d, ctx);
	return d->cuMemAllocHost(p, bytes);
}

CUresult mbpo_mem_free_host(mbpo_cu *d, CUcontext ctx, void *p) {
	USE(d, ctx);
	return d->cuMemFreeHost(p);
}

CUresult mbpo_copy_htod(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, const void *src, size_t n, CUstream s) {
	USE(d, ctx);
	return d->cuMemcpyHtoDAsync(dst, src, n, s);
}

CUresult mbpo_copy_dtoh(mbpo_cu *d, CUcontext ctx, void *dst, CUdeviceptr src, size_t n, CUstream s) {
	USE(d, ctx);
	return d->cuMemcpyDtoHAsync(dst, src, n, s);
}

CUresult mbpo_copy_dtod(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s) {
	USE(d, ctx);
	return d->cuMemcpyDtoDAsync(dst, src, n, s);
}

CUresult mbpo_memset8(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, unsigned char v, size_t n, CUstream s) {
	USE(d, ctx);
	return d->cuMemsetD8Async(dst, v, n, s);
}

CUresult mbpo_memset32(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, unsigned int v, size_t n, CUstream s) {
	USE(d, ctx);
	return d->cuMemsetD32Async(dst, v, n, s);
}

CUresult mbpo_stream_create(mbpo_cu *d, CUcontext ctx, CUstream *s) {
	USE(d, ctx);
	return d->cuStreamCreate(s, MBPO_STREAM_NON_BLOCKING);
}

CUresult mbpo_stream_destroy(mbpo_cu *d, CUcontext ctx, CUstream s) {
	USE(d, ctx);
	return d->cuStreamDestroy(s);
}

CUresult mbpo_stream_sync(mbpo_cu *d, CUcontext ctx, CUstream s) {
	USE(d, ctx);
	return d->cuStreamSynchronize(s);
}

CUresult mbpo_event_create(mbpo_cu *d, CUcontext ctx, CUevent *e) {
	USE(d, ctx);
	return d->cuEventCreate(e, 0);
}

CUresult mbpo_event_destroy(mbpo_cu *d, CUcontext ctx, CUevent e) {
	USE(d, ctx);
	return d->cuEventDestroy(e);
}

CUresult mbpo_event_record(mbpo_cu *d, CUcontext ctx, CUevent e, CUstream s) {
	USE(d, ctx);
	return d->cuEventRecord(e, s);
}

CUresult mbpo_event_sync(mbpo_cu *d, CUcontext ctx, CUevent e) {
	USE(d, ctx);
	return d->cuEventSynchronize(e);
}

CUresult mbpo_event_elapsed(mbpo_cu *d, CUcontext ctx, float *ms, CUevent start, CUevent end) {
	USE(d, ctx);
	return d->cuEventElapsedTime(ms, start, end);
}

CUresult mbpo_module_load(mbpo_cu *d, CUcontext ctx, CUmodule *m, const void *image, char *log) {
	USE(d, ctx);
	int opts[2] = {MBPO_JIT_ERROR_LOG_BUFFER, MBPO_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
	void *vals[2] = {log, (void *)(uintptr_t)MBPO_JIT_LOG_BYTES};
	log[0] = 0;
	CUresult r = d->cuModuleLoadDataEx(m, image, 2, opts, vals);
	log[MBPO_JIT_LOG_BYTES - 1] = 0;
	return r;
}

CUresult mbpo_module_unload(mbpo_cu *d, CUcontext ctx, CUmodule m) {
	USE(d, ctx);
	return d->cuModuleUnload(m);
}

CUresult mbpo_module_function(mbpo_cu *d, CUcontext ctx, CUmodule m, const char *name, CUfunction *f) {
	USE(d, ctx);
	return d->cuModuleGetFunction(f, m, name);
}

CUresult mbpo_func_get_attribute(mbpo_cu *d, CUcontext ctx, CUfunction f, int attr, int *v) {
	USE(d, ctx);
	return d->cuFuncGetAttribute(v, attr, f);
}

CUresult mbpo_func_set_attribute(mbpo_cu *d, CUcontext ctx, CUfunction f, int attr, int v) {
	USE(d, ctx);
	return d->cuFuncSetAttribute(f, attr, v);
}

CUresult mbpo_launch(mbpo_cu *d, CUcontext ctx, CUfunction f,
                     unsigned int gx, unsigned int gy, unsigned int gz,
                     unsigned int bx, unsigned int by, unsigned int bz,
                     unsigned int shared, CUstream s,
                     const unsigned char *vals, const int *offs, int n) {
	if (n < 0 || n > MBPO_MAX_ARGS) return 1; // CUDA_ERROR_INVALID_VALUE
	USE(d, ctx);
	void *params[MBPO_MAX_ARGS];
	for (int i = 0; i < n; i++) params[i] = (void *)(vals + offs[i]);
	return d->cuLaunchKernel(f, gx, gy, gz, bx, by, bz, shared, s, n ? params : NULL, NULL);
}

CUresult mbpo_capture_begin(mbpo_cu *d, CUcontext ctx, CUstream s) {
	USE(d, ctx);
	return d->cuStreamBeginCapture(s, MBPO_STREAM_CAPTURE_MODE_RELAXED);
}

CUresult mbpo_capture_end(mbpo_cu *d, CUcontext ctx, CUstream s, CUgraph *g) {
	USE(d, ctx);
	return d->cuStreamEndCapture(s, g);
}

CUresult mbpo_graph_instantiate(mbpo_cu *d, CUcontext ctx, CUgraphExec *e, CUgraph g) {
	USE(d, ctx);
	return d->cuGraphInstantiateWithFlags(e, g, 0);
}

CUresult mbpo_graph_launch(mbpo_cu *d, CUcontext ctx, CUgraphExec e, CUstream s) {
	USE(d, ctx);
	return d->cuGraphLaunch(e, s);
}

CUresult mbpo_graph_update(mbpo_cu *d, CUcontext ctx, CUgraphExec e, CUgraph g, int *result) {
	*result = 0;
	if (!d->cuGraphExecUpdate) return MBPO_NOT_SUPPORTED;
	USE(d, ctx);
	mbpo_update_info info;
	memset(&info, 0, sizeof info);
	CUresult r = d->cuGraphExecUpdate(e, g, &info);
	*result = info.result;
	return r;
}

CUresult mbpo_graph_destroy(mbpo_cu *d, CUcontext ctx, CUgraph g) {
	USE(d, ctx);
	return d->cuGraphDestroy(g);
}

CUresult mbpo_graph_exec_destroy(mbpo_cu *d, CUcontext ctx, CUgraphExec e) {
	USE(d, ctx);
	return d->cuGraphExecDestroy(e);
}
