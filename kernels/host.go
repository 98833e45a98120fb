// host.go: rng.h's building blocks compiled for the host (host.c), for the
// generator's accuracy tests. The kernels themselves run on the host through
// OnHost (machine.go, dispatch.c), launched like on a GPU.

package kernels

/*
#cgo CFLAGS: -std=gnu11
#cgo LDFLAGS: -lpthread -lm
#include "host.h"
*/
import "C"

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
