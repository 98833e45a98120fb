// memory.go: device buffers, pinned host buffers, copies and memsets.

package gpu

/*
#include "driver.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// DevicePtr is an address in device memory.
type DevicePtr uint64

// Add returns p moved by bytes.
func (p DevicePtr) Add(bytes int) DevicePtr { return p + DevicePtr(bytes) }

// Buffer is an allocation of device memory. Close frees it.
type Buffer struct {
	dev  *Device
	ptr  DevicePtr
	size int
}

// Alloc allocates bytes of device memory (uninitialised, 256-byte aligned).
func (d *Device) Alloc(bytes int) (*Buffer, error) {
	if bytes <= 0 {
		return nil, fmt.Errorf("gpu: Alloc(%d): size must be positive", bytes)
	}
	var p C.CUdeviceptr
	if r := C.mbpo_mem_alloc(d.drv, d.ctx, &p, C.size_t(bytes)); r != 0 {
		free, _, _ := d.MemInfo()
		return nil, fmt.Errorf("gpu: allocating %d bytes (%.1f MiB free): %w", bytes, float64(free)/(1<<20), d.err("cuMemAlloc_v2", r))
	}
	d.buffers.Add(1)
	d.bytes.Add(int64(bytes))
	return &Buffer{dev: d, ptr: DevicePtr(p), size: bytes}, nil
}

// AllocFloat32 allocates room for n float32 values.
func (d *Device) AllocFloat32(n int) (*Buffer, error) { return d.Alloc(4 * n) }

// Ptr is the buffer's device address.
func (b *Buffer) Ptr() DevicePtr { return b.ptr }

// Size is the buffer's length in bytes.
func (b *Buffer) Size() int { return b.size }

// Close frees the buffer; a second Close does nothing. Work still queued on
// a stream that uses the buffer must be finished first.
func (b *Buffer) Close() error {
	if b == nil || b.ptr == 0 {
		return nil
	}
	d := b.dev
	if r := C.mbpo_mem_free(d.drv, d.ctx, C.CUdeviceptr(b.ptr)); r != 0 {
		return d.err("cuMemFree_v2", r)
	}
	d.buffers.Add(-1)
	d.bytes.Add(-int64(b.size))
	b.ptr = 0
	return nil
}

// HostBuffer is page-locked (pinned) host memory: the source or target of
// truly asynchronous copies, and of copies captured into a graph. Its memory
// belongs to C, so it may be handed to the driver for as long as needed.
type HostBuffer struct {
	dev  *Device
	ptr  unsafe.Pointer
	size int
}

// AllocHost allocates bytes of pinned host memory.
func (d *Device) AllocHost(bytes int) (*HostBuffer, error) {
	if bytes <= 0 {
		return nil, fmt.Errorf("gpu: AllocHost(%d): size must be positive", bytes)
	}
	var p unsafe.Pointer
	if r := C.mbpo_mem_alloc_host(d.drv, d.ctx, &p, C.size_t(bytes)); r != 0 {
		return nil, fmt.Errorf("gpu: pinning %d bytes of host memory: %w", bytes, d.err("cuMemAllocHost_v2", r))
	}
	d.buffers.Add(1)
	d.bytes.Add(int64(bytes))
	return &HostBuffer{dev: d, ptr: p, size: bytes}, nil
}

// Bytes is the buffer's memory. It is valid until Close.
func (h *HostBuffer) Bytes() []byte { return unsafe.Slice((*byte)(h.ptr), h.size) }

// Float32s is the buffer's memory as float32 values. It is valid until Close.
func (h *HostBuffer) Float32s() []float32 { return unsafe.Slice((*float32)(h.ptr), h.size/4) }

// Size is the buffer's length in bytes.
func (h *HostBuffer) Size() int { return h.size }

// Close frees the buffer; a second Close does nothing.
func (h *HostBuffer) Close() error {
	if h == nil || h.ptr == nil {
		return nil
	}
	d := h.dev
	if r := C.mbpo_mem_free_host(d.drv, d.ctx, h.ptr); r != 0 {
		return d.err("cuMemFreeHost", r)
	}
	d.buffers.Add(-1)
	d.bytes.Add(-int64(h.size))
	h.ptr = nil
	return nil
}

// Elem is a value type that copies between Go slices and device memory.
type Elem interface {
	~float32 | ~float64 | ~int32 | ~uint32 | ~int64 | ~uint64 | ~uint8 | ~int8 | ~int16 | ~uint16
}

func sliceBytes[T Elem](s []T) (unsafe.Pointer, int) {
	if len(s) == 0 {
		return nil, 0
	}
	return unsafe.Pointer(&s[0]), len(s) * int(unsafe.Sizeof(s[0]))
}

// Upload copies src into device memory at dst, in order on stream s. src is
// ordinary (pageable) Go memory: the driver has read it by the time Upload
// returns, so src may be reused at once. It cannot be captured into a graph;
// use CopyFromHost with a HostBuffer for that.
func Upload[T Elem](s *Stream, dst DevicePtr, src []T) error {
	p, n := sliceBytes(src)
	if n == 0 {
		return nil
	}
	d := s.dev
	if r := C.mbpo_copy_htod(d.drv, d.ctx, C.CUdeviceptr(dst), p, C.size_t(n), s.s); r != 0 {
		return d.err("cuMemcpyHtoDAsync_v2", r)
	}
	return nil
}

// Download copies device memory at src into dst, in order on stream s. dst is
// ordinary (pageable) Go memory: Download returns when the copy has landed.
func Download[T Elem](s *Stream, dst []T, src DevicePtr) error {
	p, n := sliceBytes(dst)
	if n == 0 {
		return nil
	}
	d := s.dev
	if r := C.mbpo_copy_dtoh(d.drv, d.ctx, p, C.CUdeviceptr(src), C.size_t(n), s.s); r != 0 {
		return d.err("cuMemcpyDtoHAsync_v2", r)
	}
	// A copy to pageable memory is synchronous in the driver; synchronising
	// the stream as well makes the guarantee explicit.
	return s.Synchronize()
}

// CopyFromHost queues a copy of bytes from the start of src to dst on s.
func (s *Stream) CopyFromHost(dst DevicePtr, src *HostBuffer, bytes int) error {
	if bytes < 0 || bytes > src.size {
		return fmt.Errorf("gpu: CopyFromHost of %d bytes from a %d-byte host buffer", bytes, src.size)
	}
	d := s.dev
	if r := C.mbpo_copy_htod(d.drv, d.ctx, C.CUdeviceptr(dst), src.ptr, C.size_t(bytes), s.s); r != 0 {
		return d.err("cuMemcpyHtoDAsync_v2", r)
	}
	return nil
}

// CopyToHost queues a copy of bytes from src to the start of dst on s; the
// data is there once the stream has been synchronised.
func (s *Stream) CopyToHost(dst *HostBuffer, src DevicePtr, bytes int) error {
	if bytes < 0 || bytes > dst.size {
		return fmt.Errorf("gpu: CopyToHost of %d bytes into a %d-byte host buffer", bytes, dst.size)
	}
	d := s.dev
	if r := C.mbpo_copy_dtoh(d.drv, d.ctx, dst.ptr, C.CUdeviceptr(src), C.size_t(bytes), s.s); r != 0 {
		return d.err("cuMemcpyDtoHAsync_v2", r)
	}
	return nil
}

// Copy queues a device-to-device copy of bytes on s.
func (s *Stream) Copy(dst, src DevicePtr, bytes int) error {
	d := s.dev
	if r := C.mbpo_copy_dtod(d.drv, d.ctx, C.CUdeviceptr(dst), C.CUdeviceptr(src), C.size_t(bytes), s.s); r != 0 {
		return d.err("cuMemcpyDtoDAsync_v2", r)
	}
	return nil
}

// Memset8 queues setting n bytes at dst to v on s.
func (s *Stream) Memset8(dst DevicePtr, v byte, n int) error {
	d := s.dev
	if r := C.mbpo_memset8(d.drv, d.ctx, C.CUdeviceptr(dst), C.uchar(v), C.size_t(n), s.s); r != 0 {
		return d.err("cuMemsetD8Async", r)
	}
	return nil
}

// Memset32 queues setting n 32-bit words at dst (4-byte aligned) to v on s;
// math.Float32bits(x) gives the word of a float32 x.
func (s *Stream) Memset32(dst DevicePtr, v uint32, n int) error {
	d := s.dev
	if r := C.mbpo_memset32(d.drv, d.ctx, C.CUdeviceptr(dst), C.uint(v), C.size_t(n), s.s); r != 0 {
		return d.err("cuMemsetD32Async", r)
	}
	return nil
}
