// host.h: the host's launcher of kernel bodies (host.c, used by dispatch.c)
// and rng.h's building blocks for the generator's tests, called from Go
// through cgo.
#ifndef MBPO_HOST_H
#define MBPO_HOST_H

#include <stddef.h>

#include "portable.h"
#include "rng.h"

// kbody is a kernel's body as the host runs it: the calling thread's kctx
// and the kernel's arguments.
typedef void (*kbody)(const kctx *k, const void *args);

// mbpo_host_launch runs body over a gx x gy grid of blocks of bx threads with
// smem bytes of shared memory each; syncs says whether the kernel uses KSYNC
// (then each thread of a block runs on its own pthread). It returns 0, or an
// errno value.
int mbpo_host_launch(int gx, int gy, int bx, size_t smem, int syncs, kbody body, const void *args);

void mbpo_host_philox(unsigned int out[4], const unsigned int ctr[4], const unsigned int key[2]);
float mbpo_host_ln_unit(float u);
void mbpo_host_sincos_turns(float v, float *s, float *c);

#endif
