// driver.h: the few CUDA driver API types and prototypes package gpu uses,
// declared here so the package builds without CUDA headers or toolkit, and the
// table of entry points resolved from libcuda.so.1 with dlopen/dlsym at run time.
//
// Every mbpo_* function is a small trampoline that calls through the resolved
// pointer; those that act on a context first make the device's primary
// context current on the calling thread (Go moves goroutines between threads).
#ifndef MBPO_GPU_DRIVER_H
#define MBPO_GPU_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUstream_st *CUstream;
typedef struct CUevent_st *CUevent;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUgraph_st *CUgraph;
typedef struct CUgraphExec_st *CUgraphExec;
typedef struct CUgraphNode_st *CUgraphNode;

// CUgraphExecUpdateResultInfo of cuGraphExecUpdate_v2.
typedef struct {
	int result;
	CUgraphNode errorNode;
	CUgraphNode errorFromNode;
} mbpo_update_info;

// Values from the driver API's enums.
enum {
	MBPO_JIT_INFO_LOG_BUFFER = 3,
	MBPO_JIT_INFO_LOG_BUFFER_SIZE_BYTES = 4,
	MBPO_JIT_ERROR_LOG_BUFFER = 5,
	MBPO_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
	MBPO_STREAM_NON_BLOCKING = 1,
	MBPO_STREAM_CAPTURE_MODE_RELAXED = 2,
	MBPO_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8,
	MBPO_JIT_LOG_BYTES = 16384,
	MBPO_MAX_ARGS = 64,
	MBPO_MAX_ARG_BYTES = 4096,
};

// mbpo_cu is one loaded driver library: its handle and entry points.
typedef struct mbpo_cu {
	void *lib;
	CUresult (*cuInit)(unsigned int);
	CUresult (*cuDriverGetVersion)(int *);
	CUresult (*cuGetErrorName)(CUresult, const char **);
	CUresult (*cuGetErrorString)(CUresult, const char **);
	CUresult (*cuDeviceGetCount)(int *);
	CUresult (*cuDeviceGet)(CUdevice *, int);
	CUresult (*cuDeviceGetName)(char *, int, CUdevice);
	CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
	CUresult (*cuDeviceTotalMem)(size_t *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
	CUresult (*cuDevicePrimaryCtxRelease)(CUdevice);
	CUresult (*cuCtxGetCurrent)(CUcontext *);
	CUresult (*cuCtxSetCurrent)(CUcontext);
	CUresult (*cuCtxSynchronize)(void);
	CUresult (*cuMemGetInfo)(size_t *, size_t *);
	CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
	CUresult (*cuMemFree)(CUdeviceptr);
	CUresult (*cuMemAllocHost)(void **, size_t);
	CUresult (*cuMemFreeHost)(void *);
	CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
	CUresult (*cuMemcpyDtoHAsync)(void *, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemcpyDtoDAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
	CUresult (*cuMemsetD8Async)(CUdeviceptr, unsigned char, size_t, CUstream);
	CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned int, size_t, CUstream);
	CUresult (*cuStreamCreate)(CUstream *, unsigned int);
	CUresult (*cuStreamDestroy)(CUstream);
	CUresult (*cuStreamSynchronize)(CUstream);
	CUresult (*cuEventCreate)(CUevent *, unsigned int);
	CUresult (*cuEventDestroy)(CUevent);
	CUresult (*cuEventRecord)(CUevent, CUstream);
	CUresult (*cuEventSynchronize)(CUevent);
	CUresult (*cuEventElapsedTime)(float *, CUevent, CUevent);
	CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned int, int *, void **);
	CUresult (*cuModuleUnload)(CUmodule);
	CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
	CUresult (*cuFuncGetAttribute)(int *, int, CUfunction);
	CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
	CUresult (*cuLaunchKernel)(CUfunction, unsigned int, unsigned int, unsigned int,
	                           unsigned int, unsigned int, unsigned int, unsigned int,
	                           CUstream, void **, void **);
	CUresult (*cuStreamBeginCapture)(CUstream, int);
	CUresult (*cuStreamEndCapture)(CUstream, CUgraph *);
	CUresult (*cuGraphInstantiateWithFlags)(CUgraphExec *, CUgraph, unsigned long long);
	CUresult (*cuGraphLaunch)(CUgraphExec, CUstream);
	CUresult (*cuGraphExecUpdate)(CUgraphExec, CUgraph, mbpo_update_info *); // optional
	CUresult (*cuGraphDestroy)(CUgraph);
	CUresult (*cuGraphExecDestroy)(CUgraphExec);
} mbpo_cu;

// mbpo_cu_open loads the library at path and resolves every entry point.
// On success it stores a new table in *out and returns NULL; on failure it
// returns a message (the loader's, or the name of the first missing entry
// point, copied into msg) and stores nothing.
const char *mbpo_cu_open(const char *path, mbpo_cu **out, char *msg, size_t msg_len);

// mbpo_cu_error_text looks up the driver's name and description of r; either
// may come back NULL when the driver does not know r.
void mbpo_cu_error_text(mbpo_cu *d, CUresult r, const char **name, const char **text);

CUresult mbpo_use(mbpo_cu *d, CUcontext ctx);
CUresult mbpo_init(mbpo_cu *d, int *version, int *count);
CUresult mbpo_device_get(mbpo_cu *d, int ordinal, CUdevice *dev);
CUresult mbpo_device_name(mbpo_cu *d, CUdevice dev, char *name, int len);
CUresult mbpo_device_attribute(mbpo_cu *d, CUdevice dev, int attr, int *v);
CUresult mbpo_device_total_mem(mbpo_cu *d, CUdevice dev, size_t *bytes);
CUresult mbpo_primary_retain(mbpo_cu *d, CUdevice dev, CUcontext *ctx);
CUresult mbpo_primary_release(mbpo_cu *d, CUdevice dev);
CUresult mbpo_ctx_synchronize(mbpo_cu *d, CUcontext ctx);
CUresult mbpo_mem_info(mbpo_cu *d, CUcontext ctx, size_t *free_bytes, size_t *total);
CUresult mbpo_mem_alloc(mbpo_cu *d, CUcontext ctx, CUdeviceptr *p, size_t bytes);
CUresult mbpo_mem_free(mbpo_cu *d, CUcontext ctx, CUdeviceptr p);
CUresult mbpo_mem_alloc_host(mbpo_cu *d, CUcontext ctx, void **p, size_t bytes);
CUresult mbpo_mem_free_host(mbpo_cu *d, CUcontext ctx, void *p);
CUresult mbpo_copy_htod(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, const void *src, size_t n, CUstream s);
CUresult mbpo_copy_dtoh(mbpo_cu *d, CUcontext ctx, void *dst, CUdeviceptr src, size_t n, CUstream s);
CUresult mbpo_copy_dtod(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, CUdeviceptr src, size_t n, CUstream s);
CUresult mbpo_memset8(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, unsigned char v, size_t n, CUstream s);
CUresult mbpo_memset32(mbpo_cu *d, CUcontext ctx, CUdeviceptr dst, unsigned int v, size_t n, CUstream s);
CUresult mbpo_stream_create(mbpo_cu *d, CUcontext ctx, CUstream *s);
CUresult mbpo_stream_destroy(mbpo_cu *d, CUcontext ctx, CUstream s);
CUresult mbpo_stream_sync(mbpo_cu *d, CUcontext ctx, CUstream s);
CUresult mbpo_event_create(mbpo_cu *d, CUcontext ctx, CUevent *e);
CUresult mbpo_event_destroy(mbpo_cu *d, CUcontext ctx, CUevent e);
CUresult mbpo_event_record(mbpo_cu *d, CUcontext ctx, CUevent e, CUstream s);
CUresult mbpo_event_sync(mbpo_cu *d, CUcontext ctx, CUevent e);
CUresult mbpo_event_elapsed(mbpo_cu *d, CUcontext ctx, float *ms, CUevent start, CUevent end);
// mbpo_module_load JIT-compiles image; the error log (NUL-terminated) goes
// to log, which must hold MBPO_JIT_LOG_BYTES bytes.
CUresult mbpo_module_load(mbpo_cu *d, CUcontext ctx, CUmodule *m, const void *image, char *log);
CUresult mbpo_module_unload(mbpo_cu *d, CUcontext ctx, CUmodule m);
CUresult mbpo_module_function(mbpo_cu *d, CUcontext ctx, CUmodule m, const char *name, CUfunction *f);
CUresult mbpo_func_get_attribute(mbpo_cu *d, CUcontext ctx, CUfunction f, int attr, int *v);
CUresult mbpo_func_set_attribute(mbpo_cu *d, CUcontext ctx, CUfunction f, int attr, int v);
// mbpo_launch launches f with n arguments whose values sit in vals at the
// byte offsets offs[i]; the driver copies the values before it returns.
CUresult mbpo_launch(mbpo_cu *d, CUcontext ctx, CUfunction f,
                     unsigned int gx, unsigned int gy, unsigned int gz,
                     unsigned int bx, unsigned int by, unsigned int bz,
                     unsigned int shared, CUstream s,
                     const unsigned char *vals, const int *offs, int n);
CUresult mbpo_capture_begin(mbpo_cu *d, CUcontext ctx, CUstream s);
CUresult mbpo_capture_end(mbpo_cu *d, CUcontext ctx, CUstream s, CUgraph *g);
CUresult mbpo_graph_instantiate(mbpo_cu *d, CUcontext ctx, CUgraphExec *e, CUgraph g);
CUresult mbpo_graph_launch(mbpo_cu *d, CUcontext ctx, CUgraphExec e, CUstream s);
// mbpo_graph_update returns CUDA_ERROR_NOT_SUPPORTED (801) when the driver
// lacks cuGraphExecUpdate_v2.
CUresult mbpo_graph_update(mbpo_cu *d, CUcontext ctx, CUgraphExec e, CUgraph g, int *result);
CUresult mbpo_graph_destroy(mbpo_cu *d, CUcontext ctx, CUgraph g);
CUresult mbpo_graph_exec_destroy(mbpo_cu *d, CUcontext ctx, CUgraphExec e);

#endif
