// module.go: modules JIT-compiled from PTX, their kernels, typed kernel
// arguments and launches.

package gpu

/*
#include <stdlib.h>
#include "driver.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"
	"unsafe"
)

// Module is PTX compiled for the device by the driver's JIT.
type Module struct {
	dev *Device
	m   C.CUmodule
}

// LoadModule JIT-compiles ptx (text, with or without a trailing NUL) for the
// device. A compile error comes back as an *Error whose Log holds the JIT
// compiler's messages.
func (d *Device) LoadModule(ptx string) (*Module, error) {
	if !strings.HasSuffix(ptx, "\x00") {
		ptx += "\x00"
	}
	image := C.CBytes([]byte(ptx))
	defer C.free(image)
	log := (*C.char)(C.malloc(C.MBPO_JIT_LOG_BYTES))
	defer C.free(unsafe.Pointer(log))
	m := &Module{dev: d}
	if r := C.mbpo_module_load(d.drv, d.ctx, &m.m, image, log); r != 0 {
		e := d.err("cuModuleLoadDataEx", r).(*Error)
		e.Log = strings.TrimSpace(C.GoString(log))
		return nil, e
	}
	return m, nil
}

// Function looks up the kernel name (an extern "C" entry) in the module.
func (m *Module) Function(name string) (*Function, error) {
	d := m.dev
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	f := &Function{dev: d, name: name}
	if r := C.mbpo_module_function(d.drv, d.ctx, m.m, cname, &f.f); r != 0 {
		return nil, fmt.Errorf("gpu: kernel %q: %w", name, d.err("cuModuleGetFunction", r))
	}
	return f, nil
}

// Close unloads the module; its Functions become invalid. A second Close does
// nothing.
func (m *Module) Close() error {
	if m == nil || m.m == nil {
		return nil
	}
	d := m.dev
	if r := C.mbpo_module_unload(d.drv, d.ctx, m.m); r != 0 {
		return d.err("cuModuleUnload", r)
	}
	m.m = nil
	return nil
}

// Function is a kernel of a loaded module.
type Function struct {
	dev  *Device
	f    C.CUfunction
	name string
}

// Name is the kernel's entry name.
func (f *Function) Name() string { return f.name }

// FuncAttr is a kernel attribute (CUfunction_attribute).
type FuncAttr int32

// Kernel attributes.
const (
	MaxThreadsPerBlock   FuncAttr = 0 // largest block the kernel can be launched with
	StaticSharedBytes    FuncAttr = 1 // statically declared shared memory
	LocalBytes           FuncAttr = 3 // local memory (spills) per thread
	Registers            FuncAttr = 4 // registers per thread
	MaxDynamicSharedSize FuncAttr = 8 // dynamic shared memory the kernel may use
)

// Attribute reads a kernel attribute.
func (f *Function) Attribute(a FuncAttr) (int, error) {
	d := f.dev
	var v C.int
	if r := C.mbpo_func_get_attribute(d.drv, d.ctx, f.f, C.int(a), &v); r != 0 {
		return 0, d.err("cuFuncGetAttribute", r)
	}
	return int(v), nil
}

// SetMaxDynamicShared lets the kernel use up to bytes of dynamic shared
// memory, above the 48 KiB a launch gets without asking.
func (f *Function) SetMaxDynamicShared(bytes int) error {
	d := f.dev
	if r := C.mbpo_func_set_attribute(d.drv, d.ctx, f.f, C.MBPO_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, C.int(bytes)); r != 0 {
		return fmt.Errorf("gpu: kernel %s: allowing %d bytes of shared memory: %w", f.name, bytes, d.err("cuFuncSetAttribute", r))
	}
	return nil
}

// Dim3 is a grid or block shape; zero components count as 1.
type Dim3 struct{ X, Y, Z int }

// String writes d as XxYxZ, zeros as 1.
func (d Dim3) String() string {
	x, y, z := d.c()
	return fmt.Sprintf("%dx%dx%d", x, y, z)
}

func (d Dim3) c() (C.uint, C.uint, C.uint) {
	one := func(v int) C.uint {
		if v <= 0 {
			return 1
		}
		return C.uint(v)
	}
	return one(d.X), one(d.Y), one(d.Z)
}

// Args holds a kernel's arguments, in order, as the bytes the kernel expects.
// Build it with the typed methods, which append one argument each:
//
//	var a gpu.Args
//	a.Ptr(y.Ptr()).Ptr(x.Ptr()).Float32(2).Int32(n)
//
// The values live in the Args, not in C; a launch hands the driver their
// addresses for the duration of the call only (the driver copies them), so an
// Args may be reused and changed between launches.
type Args struct {
	vals  []byte
	offs  []C.int
	sizes []int
}

// slot appends one argument of n bytes, 8-byte aligned, and returns its bytes.
func (a *Args) slot(n int) []byte {
	old := len(a.vals)
	start := (old + 7) &^ 7
	a.vals = slices.Grow(a.vals, start+n-old)[:start+n]
	clear(a.vals[old:])
	a.offs = append(a.offs, C.int(start))
	a.sizes = append(a.sizes, n)
	return a.vals[start:]
}

// Ptr appends a device pointer argument (T* in the kernel).
func (a *Args) Ptr(p DevicePtr) *Args { return a.Uint64(uint64(p)) }

// Int32 appends an int argument.
func (a *Args) Int32(v int32) *Args { return a.Uint32(uint32(v)) }

// Uint32 appends an unsigned int argument.
func (a *Args) Uint32(v uint32) *Args {
	binary.LittleEndian.PutUint32(a.slot(4), v)
	return a
}

// Int64 appends a long long argument.
func (a *Args) Int64(v int64) *Args { return a.Uint64(uint64(v)) }

// Uint64 appends an unsigned long long argument.
func (a *Args) Uint64(v uint64) *Args {
	binary.LittleEndian.PutUint64(a.slot(8), v)
	return a
}

// Float32 appends a float argument.
func (a *Args) Float32(v float32) *Args { return a.Uint32(math.Float32bits(v)) }

// Float64 appends a double argument.
func (a *Args) Float64(v float64) *Args { return a.Uint64(math.Float64bits(v)) }

// Bytes appends a struct passed by value: b must be exactly the struct's
// bytes as the kernel lays it out (little-endian, C alignment).
func (a *Args) Bytes(b []byte) *Args {
	copy(a.slot(len(b)), b)
	return a
}

// Len is the number of arguments.
func (a *Args) Len() int { return len(a.offs) }

// Sizes returns the size in bytes of each argument, in order: what a test
// compares with a kernel's signature.
func (a *Args) Sizes() []int { return append([]int(nil), a.sizes...) }

// Value returns the bytes of argument i (a view, valid until a is changed):
// what a launcher that runs kernels without the driver (package kernels' host
// machine) hands its kernels.
func (a *Args) Value(i int) []byte {
	off := int(a.offs[i])
	return a.vals[off : off+a.sizes[i] : off+a.sizes[i]]
}

// Reset empties a for reuse.
func (a *Args) Reset() { a.vals, a.offs, a.sizes = a.vals[:0], a.offs[:0], a.sizes[:0] }

// Launch queues kernel f on s with the given grid and block shapes, bytes of
// dynamic shared memory and arguments.
func (s *Stream) Launch(f *Function, grid, block Dim3, shared int, args *Args) error {
	var vals *C.uchar
	var offs *C.int
	n := 0
	if args != nil && len(args.offs) > 0 {
		if len(args.offs) > C.MBPO_MAX_ARGS || len(args.vals) > C.MBPO_MAX_ARG_BYTES {
			return fmt.Errorf("gpu: kernel %s: %d arguments of %d bytes, at most %d and %d", f.name, len(args.offs), len(args.vals), C.MBPO_MAX_ARGS, C.MBPO_MAX_ARG_BYTES)
		}
		vals, offs, n = (*C.uchar)(unsafe.Pointer(&args.vals[0])), &args.offs[0], len(args.offs)
	}
	gx, gy, gz := grid.c()
	bx, by, bz := block.c()
	d := s.dev
	if r := C.mbpo_launch(d.drv, d.ctx, f.f, gx, gy, gz, bx, by, bz, C.uint(shared), s.s, vals, offs, C.int(n)); r != 0 {
		return fmt.Errorf("gpu: launching %s (grid %v, block %v, %d B shared): %w", f.name, grid, block, shared, d.err("cuLaunchKernel", r))
	}
	return nil
}
