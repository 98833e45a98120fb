// rng.cu: the counter-based generator's fill kernel (math in rng.h; the other
// kernels draw from rng.h directly).
#include "device.h"
#include "rng.h"

// mbpo_rng_fill: numbers first..first+n-1 of key's stream as raw bits,
// uniforms or normals (kind); any grid, grid-stride.
// twin: rng Key.Uint32, Key.Uniform, Key.Normal
// tests: kernels TestHostRNGMatchesGo, TestGPURNG
KERNEL void mbpo_rng_fill(ku32 *out, ku64 first, ku64 n, mbpo_key key, int kind) {
	kctx k = thread_ctx();
	mbpo_rng_fill(&k, out, first, n, key, kind);
}
