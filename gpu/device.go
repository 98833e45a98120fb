// device.go: loading the driver, opening a device on its primary context,
// device queries, and the --device auto|cpu|cuda choice.

package gpu

/*
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "driver.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"unsafe"
)

// DefaultLibrary is the driver library Open loads: the NVIDIA driver's
// libcuda, found by the dynamic loader.
const DefaultLibrary = "libcuda.so.1"

// Options says which driver library and which device to open. The zero value
// opens device 0 through libcuda.so.1.
type Options struct {
	// Library is the driver library to load; empty means DefaultLibrary.
	// Tests point it at a missing name or at a stand-in library.
	Library string
	// Ordinal is the device to open, counting from 0.
	Ordinal int
}

// Device is one CUDA device and its primary context, ready for streams,
// memory, modules and graphs. Its methods may be called from any goroutine:
// each driver call first makes the context current on the calling thread.
type Device struct {
	drv  *C.mbpo_cu
	dev  C.CUdevice
	ctx  C.CUcontext
	info Info

	buffers atomic.Int64 // device and pinned host allocations not yet freed
	bytes   atomic.Int64 // their total size
	closed  atomic.Bool
}

// Info describes a device.
type Info struct {
	Name                 string
	Ordinal              int
	ComputeMajor         int   // compute capability, e.g. 9 for Hopper
	ComputeMinor         int   // e.g. 0 for sm_90
	SMs                  int   // streaming multiprocessors
	TotalMemory          int64 // bytes of device memory
	DriverVersion        int   // CUDA version the driver supports, e.g. 13000 for 13.0
	ClockKHz             int   // peak SM clock (0 when the driver no longer reports it)
	MemoryClockKHz       int   // peak memory clock (0 when not reported)
	MemoryBusBits        int   // memory bus width (0 when not reported)
	L2Bytes              int
	MaxThreadsPerBlock   int
	MaxSharedPerBlockOpt int // bytes of shared memory a block may opt in to
}

// Arch is the device's architecture name, e.g. "sm_90".
func (i Info) Arch() string { return fmt.Sprintf("sm_%d%d", i.ComputeMajor, i.ComputeMinor) }

// String is a one-line description for logs.
func (i Info) String() string {
	return fmt.Sprintf("%s (device %d, %s, %d SMs, %.1f GiB, driver CUDA %d.%d)",
		i.Name, i.Ordinal, i.Arch(), i.SMs, float64(i.TotalMemory)/(1<<30),
		i.DriverVersion/1000, i.DriverVersion%1000/10)
}

// Open opens device 0 through the system's NVIDIA driver. On a machine
// without the driver or without a device it returns an error that says so and
// wraps ErrNoDriver or ErrNoDevice.
func Open() (*Device, error) { return Options{}.Open() }

// LibraryEnv names the environment variable that, when set, replaces
// DefaultLibrary: a driver library at a path the dynamic loader does not
// search, or the tests' stand-in.
const LibraryEnv = "MBPO_LIBCUDA"

// library is the driver library o loads.
func (o Options) library() string {
	switch {
	case o.Library != "":
		return o.Library
	case os.Getenv(LibraryEnv) != "":
		return os.Getenv(LibraryEnv)
	}
	return DefaultLibrary
}

// Count loads the driver and returns how many CUDA devices it sees, without
// creating a context on any. Its errors are Open's.
func (o Options) Count() (int, error) {
	_, _, count, err := o.load()
	return count, err
}

// load loads the driver library and initialises it.
func (o Options) load() (*C.mbpo_cu, int, int, error) {
	lib := o.library()
	clib := C.CString(lib)
	defer C.free(unsafe.Pointer(clib))
	var msg [512]C.char
	var drv *C.mbpo_cu
	if e := C.mbpo_cu_open(clib, &drv, &msg[0], C.size_t(len(msg))); e != nil {
		return nil, 0, 0, fmt.Errorf("gpu: %w: cannot load the NVIDIA driver library %s (%s); "+
			"this machine has no usable NVIDIA driver, so run on the CPU engine (--device cpu or auto)",
			ErrNoDriver, lib, C.GoString(e))
	}
	d := &Device{drv: drv}
	var version, count C.int
	if r := C.mbpo_init(drv, &version, &count); r != 0 {
		err := d.err("cuInit", r)
		if Result(r) == NoDevice {
			return nil, 0, 0, fmt.Errorf("gpu: %w: the NVIDIA driver sees no CUDA device: %w", ErrNoDevice, err)
		}
		return nil, 0, 0, fmt.Errorf("gpu: %w: the NVIDIA driver failed to start: %w", ErrNoDriver, err)
	}
	if count == 0 {
		return nil, 0, 0, fmt.Errorf("gpu: %w: the NVIDIA driver (CUDA %d.%d) sees no CUDA device; check CUDA_VISIBLE_DEVICES and nvidia-smi",
			ErrNoDevice, int(version)/1000, int(version)%1000/10)
	}
	return drv, int(version), int(count), nil
}

// Open opens the device o names.
func (o Options) Open() (*Device, error) {
	drv, version, count, err := o.load()
	if err != nil {
		return nil, err
	}
	d := &Device{drv: drv}
	if o.Ordinal < 0 || o.Ordinal >= count {
		return nil, &OrdinalError{Ordinal: o.Ordinal, Count: count}
	}
	if r := C.mbpo_device_get(drv, C.int(o.Ordinal), &d.dev); r != 0 {
		return nil, fmt.Errorf("gpu: %w", d.err("cuDeviceGet", r))
	}
	info, err := d.query(o.Ordinal, version)
	if err != nil {
		return nil, err
	}
	d.info = info
	if r := C.mbpo_primary_retain(drv, d.dev, &d.ctx); r != 0 {
		return nil, fmt.Errorf("gpu: cannot create a context on %s: %w", info.Name, d.err("cuDevicePrimaryCtxRetain", r))
	}
	return d, nil
}

// OrdinalError is Open's error for a device the driver does not have; it
// wraps ErrNoDevice.
type OrdinalError struct {
	Ordinal int // the device asked for
	Count   int // the devices the driver sees
}

func (e *OrdinalError) Error() string {
	return fmt.Sprintf("gpu: no device cuda:%d: the NVIDIA driver sees %d CUDA device%s (cuda:0 to cuda:%d); check CUDA_VISIBLE_DEVICES and nvidia-smi",
		e.Ordinal, e.Count, map[bool]string{true: "", false: "s"}[e.Count == 1], e.Count-1)
}

// Unwrap makes errors.Is(err, ErrNoDevice) hold.
func (e *OrdinalError) Unwrap() error { return ErrNoDevice }

// ParseDevice splits a --device value: auto, cpu, cuda (device 0) or
// cuda:N (device N) into its kind (auto, cpu or cuda) and ordinal.
func ParseDevice(device string) (kind string, ordinal int, err error) {
	switch device {
	case DeviceAuto, DeviceCPU, DeviceCUDA:
		return device, 0, nil
	}
	if n, ok := strings.CutPrefix(device, DeviceCUDA+":"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 0 && strconv.Itoa(v) == n {
			return DeviceCUDA, v, nil
		}
	}
	return "", 0, fmt.Errorf("--device %q: want auto, cpu, cuda or cuda:N (the GPU numbered N, from 0)", device)
}

// Device attributes (CUdevice_attribute).
const (
	attrMaxThreadsPerBlock   = 1
	attrClockRate            = 13
	attrMultiprocessorCount  = 16
	attrMemoryClockRate      = 36
	attrGlobalMemoryBusWidth = 37
	attrL2CacheSize          = 38
	attrComputeMajor         = 75
	attrComputeMinor         = 76
	attrMaxSharedOptin       = 97
)

func (d *Device) query(ordinal, version int) (Info, error) {
	info := Info{Ordinal: ordinal, DriverVersion: version}
	var name [256]C.char
	if r := C.mbpo_device_name(d.drv, d.dev, &name[0], C.int(len(name))); r != 0 {
		return info, fmt.Errorf("gpu: %w", d.err("cuDeviceGetName", r))
	}
	info.Name = C.GoString(&name[0])
	var total C.size_t
	if r := C.mbpo_device_total_mem(d.drv, d.dev, &total); r != 0 {
		return info, fmt.Errorf("gpu: %w", d.err("cuDeviceTotalMem_v2", r))
	}
	info.TotalMemory = int64(total)
	attrs := []struct {
		attr     C.int
		dst      *int
		required bool
	}{
		{attrComputeMajor, &info.ComputeMajor, true},
		{attrComputeMinor, &info.ComputeMinor, true},
		{attrMultiprocessorCount, &info.SMs, true},
		{attrMaxThreadsPerBlock, &info.MaxThreadsPerBlock, true},
		{attrMaxSharedOptin, &info.MaxSharedPerBlockOpt, true},
		{attrL2CacheSize, &info.L2Bytes, false},
		{attrClockRate, &info.ClockKHz, false},
		{attrMemoryClockRate, &info.MemoryClockKHz, false},
		{attrGlobalMemoryBusWidth, &info.MemoryBusBits, false},
	}
	for _, a := range attrs {
		var v C.int
		if r := C.mbpo_device_attribute(d.drv, d.dev, a.attr, &v); r != 0 {
			if a.required {
				return info, fmt.Errorf("gpu: device attribute %d: %w", int(a.attr), d.err("cuDeviceGetAttribute", r))
			}
			v = 0
		}
		*a.dst = int(v)
	}
	return info, nil
}

// Info describes the device.
func (d *Device) Info() Info { return d.info }

// MemInfo returns the device's free and total memory in bytes, as the driver
// sees it (all processes together).
func (d *Device) MemInfo() (free, total int64, err error) {
	var f, t C.size_t
	if r := C.mbpo_mem_info(d.drv, d.ctx, &f, &t); r != 0 {
		return 0, 0, d.err("cuMemGetInfo_v2", r)
	}
	return int64(f), int64(t), nil
}

// Live returns the allocations made through d (device buffers and pinned host
// buffers) that are not yet closed, and their total size in bytes.
func (d *Device) Live() (allocations int, bytes int64) {
	return int(d.buffers.Load()), d.bytes.Load()
}

// Synchronize waits for all work on the device's context to finish and
// returns the first asynchronous error, if any.
func (d *Device) Synchronize() error {
	if r := C.mbpo_ctx_synchronize(d.drv, d.ctx); r != 0 {
		return d.err("cuCtxSynchronize", r)
	}
	return nil
}

// Close releases the device's primary context. Free the device's buffers,
// streams, modules and graphs first. The driver library stays loaded for the
// life of the process; a second Close does nothing.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	if r := C.mbpo_primary_release(d.drv, d.dev); r != 0 {
		return d.err("cuDevicePrimaryCtxRelease_v2", r)
	}
	return nil
}

// err turns a failed call's CUresult into an *Error with the driver's text.
func (d *Device) err(op string, r C.CUresult) error {
	var name, text *C.char
	C.mbpo_cu_error_text(d.drv, r, &name, &text)
	var n, t string
	if name != nil {
		n = C.GoString(name)
	}
	if text != nil {
		t = C.GoString(text)
	}
	return newError(op, Result(r), n, t)
}

// Device choices of the --device flag.
const (
	DeviceAuto = "auto" // the GPU when one is usable, else the CPU
	DeviceCPU  = "cpu"  // the CPU engine, even on a machine with a GPU
	DeviceCUDA = "cuda" // the GPU (device 0, or N in cuda:N); an error where there is none
)

// Select resolves a --device value. It returns the opened device, or nil for
// the CPU engine, and a sentence saying which engine runs and why, for the
// log. "auto" falls back to the CPU (nil, reason, nil) where no GPU is
// usable; "cuda" returns an error there; "cpu" never opens the driver.
func Select(device string) (*Device, string, error) { return Options{}.Select(device) }

// Select resolves a --device value with the library and device of o.
// A device cuda:N opens device N, whatever o.Ordinal says.
func (o Options) Select(device string) (*Device, string, error) {
	kind, ordinal, err := ParseDevice(device)
	if err != nil {
		return nil, "", err
	}
	if device != DeviceAuto && device != DeviceCUDA {
		o.Ordinal = ordinal
	}
	switch kind {
	case DeviceCPU:
		return nil, "engine cpu: --device cpu asks for the CPU engine", nil
	case DeviceAuto, DeviceCUDA:
		d, err := o.Open()
		if err == nil {
			return d, "engine cuda: " + d.Info().String(), nil
		}
		if kind == DeviceCUDA {
			return nil, "", fmt.Errorf("--device %s: %w", device, err)
		}
		if errors.Is(err, ErrNoDriver) || errors.Is(err, ErrNoDevice) {
			return nil, "engine cpu: --device auto found no usable GPU (" + err.Error() + ")", nil
		}
		return nil, "", fmt.Errorf("--device auto: the GPU is present but failed to open (use --device cpu to run on the CPU): %w", err)
	}
	return nil, "", fmt.Errorf("--device %q: want auto, cpu, cuda or cuda:N", device)
}
