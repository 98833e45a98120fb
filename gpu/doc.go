// Package gpu is the project's binding of the CUDA driver API.
//
// It loads the NVIDIA driver library (libcuda.so.1) with dlopen when a device
// is opened and resolves the entry points it uses with dlsym; the few types
// and prototypes it needs are declared in driver.h. So the package, and the
// one mbpo binary, build with no CUDA headers or toolkit, and the binary runs
// on machines without a GPU, where Open says plainly that there is none.
//
// The binding covers what the GPU engine needs: device queries, the primary
// context, streams, events and their elapsed time, device and pinned host
// memory, asynchronous copies and memsets, modules JIT-compiled from PTX (the
// compiler's log comes back in the error), kernel launches with typed
// arguments (Args), and CUDA graphs by stream capture (instantiate, launch,
// update in place or instantiate anew).
//
// Every failed driver call returns an *Error carrying the call, the CUresult
// code and the driver's name and text for it; errors.Is(err, gpu.OutOfMemory)
// tests the code. Every resource has a Close method, and Device.Live counts
// the allocations not yet freed (gputest.CheckLeaks uses it in tests).
//
// gorgonia.org/cu is not used: its cgo directives include cuda.h and link
// -lcuda at build time, so no binary that imports it can be built on a
// machine without the CUDA toolkit (CI, the Docker image, a laptop).
package gpu
