// kernels.go: Go entry points to the element-wise C kernels of kernels.c.
//
// Each wrapper checks that its slices are long enough for the sizes it passes
// (a short slice is a bug in this package, so it panics) and calls the kernel
// once: cgo costs tens of nanoseconds a call, so callers hand over whole
// batches, never single rows.

package cpu

/*
#cgo CFLAGS: -O3 -std=gnu11
#include "kernels.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// activation is a hidden layer's non-linearity.
type activation int

const (
	linear activation = C.MBPO_CPU_LINEAR
	relu   activation = C.MBPO_CPU_RELU
	swish  activation = C.MBPO_CPU_SWISH
)

func fp(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

func dp(s []float64) *C.double {
	if len(s) == 0 {
		return nil
	}
	return (*C.double)(unsafe.Pointer(&s[0]))
}

// need panics unless s holds at least n values.
func need(s []float32, n int, what string) {
	if len(s) < n {
		panic(fmt.Sprintf("cpu: %s has %d values, kernel needs %d", what, len(s), n))
	}
}

// biasAct sets y [n][d] to act(y + b); for swish, pre (if not nil) receives
// σ(y + b) for the backward pass.
func biasAct(y, pre, b []float32, n, d int, act activation) {
	need(y, n*d, "bias_act y")
	need(b, d, "bias_act b")
	if pre != nil {
		need(pre, n*d, "bias_act pre")
	}
	C.mbpo_cpu_bias_act(fp(y), fp(pre), fp(b), C.int64_t(n), C.int64_t(d), C.int(act))
}

// actBackward multiplies dy [size] by act's derivative, from the layer's
// output y and, for swish, the sigmoid pre that biasAct kept.
func actBackward(dy, y, pre []float32, size int, act activation) {
	need(dy, size, "act_backward dy")
	switch act {
	case relu:
		need(y, size, "act_backward y")
	case swish:
		need(y, size, "act_backward y")
		need(pre, size, "act_backward pre")
	}
	C.mbpo_cpu_act_backward(fp(dy), fp(y), fp(pre), C.int64_t(size), C.int(act))
}

// colsum sets out [d] to the column sums of x [n][d], or adds them.
func colsum(out, x []float32, n, d int, accumulate bool) {
	need(out, d, "colsum out")
	need(x, n*d, "colsum x")
	acc := 0
	if accumulate {
		acc = 1
	}
	C.mbpo_cpu_colsum(fp(out), fp(x), C.int64_t(n), C.int64_t(d), C.int(acc))
}

// adamConfig is one Adam step's settings.
type adamConfig struct {
	lr, b1, b2, eps float32
	bc1, bc2        float32 // 1 - b1^t and 1 - b2^t at step t
}

// adam takes one Adam step on p with gradient g and moments m, v.
func adam(p, g, m, v []float32, c adamConfig) {
	n := len(p)
	need(g, n, "adam g")
	need(m, n, "adam m")
	need(v, n, "adam v")
	C.mbpo_cpu_adam(fp(p), fp(g), fp(m), fp(v), C.int64_t(n), C.float(c.lr), C.float(c.b1), C.float(c.b2),
		C.float(c.eps), C.float(c.bc1), C.float(c.bc2))
}

// polyak moves t toward s: t = tau·s + (1 - tau)·t.
func polyak(t, s []float32, tau float32) {
	need(s, len(t), "polyak s")
	C.mbpo_cpu_polyak(fp(t), fp(s), C.int64_t(len(t)), C.float(tau))
}

// axpy adds a·x to y.
func axpy(y, x []float32, a float32) {
	need(x, len(y), "axpy x")
	C.mbpo_cpu_axpy(fp(y), fp(x), C.int64_t(len(y)), C.float(a))
}

// sumsq is Σx², accumulated in float64.
func sumsq(x []float32) float64 { return float64(C.mbpo_cpu_sumsq(fp(x), C.int64_t(len(x)))) }

// normalize sets z [n][d] to (x - mean)·invstd.
func normalize(z, x, mean, invstd []float32, n, d int) {
	need(z, n*d, "normalize z")
	need(x, n*d, "normalize x")
	need(mean, d, "normalize mean")
	need(invstd, d, "normalize invstd")
	C.mbpo_cpu_normalize(fp(z), fp(x), fp(mean), fp(invstd), C.int64_t(n), C.int64_t(d))
}

// maxHeadWidth is the widest head row (Out, Act) the head kernels take
// (HEAD_BLOCK in kernels.c).
const maxHeadWidth = 1024

// needWidth panics unless a head of w columns fits the head kernels.
func needWidth(w int, what string) {
	if w < 1 || w > maxHeadWidth {
		panic(fmt.Sprintf("cpu: %s width %d, kernels take 1 to %d", what, w, maxHeadWidth))
	}
}

// gaussHead writes the mean and bounded log-variance of head [n][2·out] into
// rows rows[i] (or i, when rows is nil) of mean and logvar [.][out].
func gaussHead(mean, logvar, head []float32, rows []int32, maxlv, minlv []float32, n, out int) {
	needWidth(out, "gaussHead")
	need(head, n*2*out, "gauss_head head")
	need(maxlv, out, "gauss_head maxlv")
	need(minlv, out, "gauss_head minlv")
	dst := n
	var rp *C.int32_t
	if rows != nil {
		if len(rows) < n {
			panic("cpu: gauss_head rows too short")
		}
		dst = 0
		for _, r := range rows[:n] {
			dst = max(dst, int(r)+1)
		}
		rp = (*C.int32_t)(unsafe.Pointer(&rows[0]))
	}
	need(mean, dst*out, "gauss_head mean")
	need(logvar, dst*out, "gauss_head logvar")
	C.mbpo_cpu_gauss_head(fp(mean), fp(logvar), fp(head), rp, fp(maxlv), fp(minlv), C.int64_t(n), C.int64_t(out))
}

// gaussNLLGrad returns the sum S of the Gaussian NLL terms of y [n][out]
// under head [n][2·out], writes the gradient of scale·S w.r.t. head into dhead
// and adds those w.r.t. the bounds into dmax and dmin. acc is scratch [out].
func gaussNLLGrad(dhead, dmax, dmin, head, y, maxlv, minlv []float32, scale float32, n, out int, acc []float64) float64 {
	needWidth(out, "gaussNLLGrad")
	need(dhead, n*2*out, "gauss_nll dhead")
	need(head, n*2*out, "gauss_nll head")
	need(y, n*out, "gauss_nll y")
	need(dmax, out, "gauss_nll dmax")
	need(dmin, out, "gauss_nll dmin")
	need(maxlv, out, "gauss_nll maxlv")
	need(minlv, out, "gauss_nll minlv")
	if len(acc) < out {
		panic("cpu: gauss_nll scratch too short")
	}
	return float64(C.mbpo_cpu_gauss_nll_grad(fp(dhead), fp(dmax), fp(dmin), fp(head), fp(y), fp(maxlv), fp(minlv),
		C.float(scale), C.int64_t(n), C.int64_t(out), dp(acc)))
}

// gaussEval adds the sums of squared errors and of NLL terms of y [n][out]
// under head [n][2·out] to *sse and *snll. acc is scratch [2·out].
func gaussEval(sse, snll *float64, head, y, maxlv, minlv []float32, n, out int, acc []float64) {
	needWidth(out, "gaussEval")
	need(head, n*2*out, "gauss_eval head")
	need(y, n*out, "gauss_eval y")
	need(maxlv, out, "gauss_eval maxlv")
	need(minlv, out, "gauss_eval minlv")
	if len(acc) < 2*out {
		panic("cpu: gauss_eval scratch too short")
	}
	C.mbpo_cpu_gauss_eval((*C.double)(unsafe.Pointer(sse)), (*C.double)(unsafe.Pointer(snll)), fp(head), fp(y),
		fp(maxlv), fp(minlv), C.int64_t(n), C.int64_t(out), dp(acc))
}

// policyAct writes tanh(μ + σ·eps) (tanh(μ) when eps is nil) into act [n][a].
func policyAct(act, head, eps []float32, n, a int, lsmin, lsmax float32) {
	needWidth(a, "policyAct")
	need(act, n*a, "policy_act act")
	need(head, n*2*a, "policy_act head")
	if eps != nil {
		need(eps, n*a, "policy_act eps")
	}
	C.mbpo_cpu_policy_act(fp(act), fp(head), fp(eps), C.int64_t(n), C.int64_t(a), C.float(lsmin), C.float(lsmax))
}

// policySample writes tanh(μ + σ·eps) into act [n][a] and log π into logp [n].
func policySample(act, logp, head, eps []float32, n, a int, lsmin, lsmax float32) {
	needWidth(a, "policySample")
	need(act, n*a, "policy_sample act")
	need(logp, n, "policy_sample logp")
	need(head, n*2*a, "policy_sample head")
	need(eps, n*a, "policy_sample eps")
	C.mbpo_cpu_policy_sample(fp(act), fp(logp), fp(head), fp(eps), C.int64_t(n), C.int64_t(a), C.float(lsmin),
		C.float(lsmax))
}

// policyBackward writes into dhead [n][2·a] the gradient of
// Σ_i coef·logπ_i + Σ_ij dact_ij·act_ij (dact may be nil).
func policyBackward(dhead, head, eps, dact []float32, coef float32, n, a int, lsmin, lsmax float32) {
	needWidth(a, "policyBackward")
	need(dhead, n*2*a, "policy_backward dhead")
	need(head, n*2*a, "policy_backward head")
	need(eps, n*a, "policy_backward eps")
	if dact != nil {
		need(dact, n*a, "policy_backward dact")
	}
	C.mbpo_cpu_policy_backward(fp(dhead), fp(head), fp(eps), fp(dact), C.float(coef), C.int64_t(n), C.int64_t(a),
		C.float(lsmin), C.float(lsmax))
}

// mathFn names the kernels' element-wise functions for their accuracy tests.
type mathFn int

const (
	mathExp mathFn = iota
	mathLog
	mathSoftplus
	mathSigmoid
	mathTanh
	mathSech2
	mathSqrt
)

// applyMath sets y[i] = fn(x[i]) with the kernels' own approximations.
func applyMath(y, x []float32, fn mathFn) {
	need(y, len(x), "math y")
	C.mbpo_cpu_math(fp(y), fp(x), C.int64_t(len(x)), C.int(fn))
}
