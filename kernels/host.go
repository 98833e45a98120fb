// host.go: the kernels' host builds (host.c), run over the same grids as on
// the device. They are the references of the GPU tests and the subject of
// the tests that run everywhere; they are slow (one pthread per GPU thread).

package kernels

/*
#cgo CFLAGS: -std=gnu11
#cgo LDFLAGS: -lpthread -lm
#include "host.h"
*/
import "C"

import (
	"fmt"
	"syscall"
	"unsafe"

	"github.com/mbpogo/mbpo/rng"
)

// RNGKind is what mbpo_rng_fill writes for each number of a stream.
type RNGKind int32

// Kinds of numbers.
const (
	RNGBits    RNGKind = 0 // the raw 32-bit output
	RNGUniform RNGKind = 1 // a float32 in (0, 1), as rng.Key.Uniform
	RNGNormal  RNGKind = 2 // a standard normal float32, as rng.Key.Normal
)

// fillThreads and fillBlocks are the grid of the element-wise and generator
// kernels for n items: 256 threads, grid-stride beyond maxBlocks blocks.
const fillThreads = 256

func fillBlocks(n, maxBlocks int) int {
	return max(1, min((n+fillThreads-1)/fillThreads, maxBlocks))
}

func hostErr(op string, rc C.int) error {
	if rc == 0 {
		return nil
	}
	return fmt.Errorf("kernels: host %s: %w", op, syscall.Errno(rc))
}

func ptr(v []float32) *C.float {
	if len(v) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&v[0]))
}

// checkForward reports slices too short for a forward pass over n rows.
func checkForward(p ForwardPlan, n, mean, logvar, x, params, normMean, normStd int) error {
	s := p.Spec
	switch {
	case n < 1:
		return fmt.Errorf("kernels: forward over %d rows", n)
	case x < n*s.In:
		return fmt.Errorf("kernels: forward over %d rows of %d inputs needs %d values of x, got %d", n, s.In, n*s.In, x)
	case params < s.NumParams():
		return fmt.Errorf("kernels: forward needs %d parameters, got %d", s.NumParams(), params)
	case normMean < s.In || normStd < s.In:
		return fmt.Errorf("kernels: forward needs %d normaliser means and stds, got %d and %d", s.In, normMean, normStd)
	case mean < s.Members*n*s.Out || logvar < s.Members*n*s.Out:
		return fmt.Errorf("kernels: forward needs mean and logvar of %d values, got %d and %d", s.Members*n*s.Out, mean, logvar)
	}
	return nil
}

// HostEnsembleForward runs the forward kernel's host build: every member on
// the n rows of x ([n][In]), writing mean and logvar ([Members][n][Out]).
func HostEnsembleForward(p ForwardPlan, mean, logvar, x, params, normMean, normStd []float32, n int) error {
	if err := checkForward(p, n, len(mean), len(logvar), len(x), len(params), len(normMean), len(normStd)); err != nil {
		return err
	}
	var net C.mbpo_net
	v := p.net()
	net.members, net.layers, net.in, net.out, net.rows = C.int(v[0]), C.int(v[1]), C.int(v[2]), C.int(v[3]), C.int(v[4])
	net.act, net.head = C.int(v[5]), C.int(v[6])
	for i := range net.sizes {
		net.sizes[i] = C.int(v[7+i])
	}
	g := p.Grid(n)
	rc := C.mbpo_host_ensemble_forward(ptr(mean), ptr(logvar), ptr(x), ptr(params), ptr(normMean), ptr(normStd),
		C.int(n), &net, C.int(g.X), C.int(p.Threads), C.int(p.SharedBytes))
	return hostErr("ensemble forward", rc)
}

// HostSwish runs the swish kernel's host build: y[i] = swish(x[i]).
func HostSwish(y, x []float32) error {
	if len(y) < len(x) {
		return fmt.Errorf("kernels: swish of %d values into %d", len(x), len(y))
	}
	if len(x) == 0 {
		return nil
	}
	rc := C.mbpo_host_swish(ptr(y), ptr(x), C.ulonglong(len(x)), C.int(fillBlocks(len(x), 64)), fillThreads)
	return hostErr("swish", rc)
}

// HostGaussianHead runs the Gaussian head kernel's host build: head is
// [rows][2·out]; mean and logvar are [rows][out].
func HostGaussianHead(mean, logvar, head, maxLogVar, minLogVar []float32, rows, out int) error {
	if rows < 1 || out < 1 || len(head) < rows*2*out || len(mean) < rows*out || len(logvar) < rows*out ||
		len(maxLogVar) < out || len(minLogVar) < out {
		return fmt.Errorf("kernels: Gaussian head of %d rows of %d outputs: slices too short", rows, out)
	}
	rc := C.mbpo_host_gaussian_head(ptr(mean), ptr(logvar), ptr(head), ptr(maxLogVar), ptr(minLogVar),
		C.ulonglong(rows), C.int(out), C.int(fillBlocks(rows*out, 64)), fillThreads)
	return hostErr("Gaussian head", rc)
}

func cKey(k rng.Key) C.mbpo_key {
	return C.mbpo_key{
		seed_lo: C.uint(uint32(k.Seed)), seed_hi: C.uint(uint32(k.Seed >> 32)),
		purpose: C.uint(k.Purpose),
		step_lo: C.uint(uint32(k.Step)), step_hi: C.uint(uint32(k.Step >> 32)),
	}
}

// rngBlocks is the number of Philox blocks numbers first..first+n-1 span.
func rngBlocks(first uint64, n int) int {
	return int((first+uint64(n)+3)/4 - first/4)
}

// HostRNGFill runs the generator kernel's host build: numbers first ..
// first+len(dst)-1 of key's stream, as kind says (floats as their bits).
func HostRNGFill(dst []uint32, key rng.Key, first uint64, kind RNGKind) error {
	if len(dst) == 0 {
		return nil
	}
	k := cKey(key)
	rc := C.mbpo_host_rng_fill((*C.uint)(unsafe.Pointer(&dst[0])), C.ulonglong(first), C.ulonglong(len(dst)), &k,
		C.int(kind), C.int(fillBlocks(rngBlocks(first, len(dst)), 8)), fillThreads)
	return hostErr("rng fill", rc)
}

// HostPhilox is rng.h's Philox4x32-10 on the host.
func HostPhilox(ctr [4]uint32, key [2]uint32) [4]uint32 {
	var out, c [4]C.uint
	var k [2]C.uint
	for i := range c {
		c[i] = C.uint(ctr[i])
	}
	k[0], k[1] = C.uint(key[0]), C.uint(key[1])
	C.mbpo_host_philox(&out[0], &c[0], &k[0])
	return [4]uint32{uint32(out[0]), uint32(out[1]), uint32(out[2]), uint32(out[3])}
}

// hostLnUnit and hostSinCosTurns expose rng.h's float32 log and sine/cosine
// to the tests.
func hostLnUnit(u float32) float32 { return float32(C.mbpo_host_ln_unit(C.float(u))) }

func hostSinCosTurns(v float32) (s, c float32) {
	var cs, cc C.float
	C.mbpo_host_sincos_turns(C.float(v), &cs, &cc)
	return float32(cs), float32(cc)
}
