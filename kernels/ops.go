// ops.go: the typed launchers of every kernel, the one way to launch them:
// each packs its kernel's arguments in the order (and, for structs, the C
// layout) of its signature and picks its grid, and queues the launch on a
// Machine (a GPU, or the host build of the same source). The arguments'
// meanings are documented in the headers (gemm.h, train.h, policy.h,
// rollout.h, mlp.h, terminal.h, rng.h, bench.h).

package kernels

/*
#include "bench.h"
#include "gemm.h"
#include "mlp.h"
#include "policy.h"
#include "rng.h"
#include "rollout.h"
#include "terminal.h"
#include "train.h"
*/
import "C"

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/rng"
)

// cstruct builds a C struct's bytes field by field, each aligned to its
// size, the whole padded to its largest alignment (the x86-64 and NVPTX
// layout of structs of 4- and 8-byte scalars).
type cstruct struct {
	b     []byte
	align int
}

func (c *cstruct) field(size int) []byte {
	for len(c.b)%size != 0 {
		c.b = append(c.b, 0)
	}
	c.align = max(c.align, size)
	c.b = append(c.b, make([]byte, size)...)
	return c.b[len(c.b)-size:]
}

func (c *cstruct) ptr(p Ptr) *cstruct    { return c.u64(uint64(p)) }
func (c *cstruct) i64(v int) *cstruct    { return c.u64(uint64(int64(v))) }
func (c *cstruct) u64(v uint64) *cstruct { binary.LittleEndian.PutUint64(c.field(8), v); return c }
func (c *cstruct) i32(v int) *cstruct {
	binary.LittleEndian.PutUint32(c.field(4), uint32(int32(v)))
	return c
}
func (c *cstruct) f32(v float32) *cstruct {
	binary.LittleEndian.PutUint32(c.field(4), math.Float32bits(v))
	return c
}

func (c *cstruct) bytes() []byte {
	for c.align > 0 && len(c.b)%c.align != 0 {
		c.b = append(c.b, 0)
	}
	return c.b
}

func b2i(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Epilogue is what mbpo_gemm does to each output (gemm.h).
type Epilogue int

// Epilogues.
const (
	EpiNone      Epilogue = C.MBPO_EPI_NONE       // c = v
	EpiReLU      Epilogue = C.MBPO_EPI_RELU       // c = max(v, 0)
	EpiSwish     Epilogue = C.MBPO_EPI_SWISH      // c = v·σ(v)
	EpiSwishSave Epilogue = C.MBPO_EPI_SWISH_SAVE // c = v·σ(v), Aux = σ(v)
	EpiDReLU     Epilogue = C.MBPO_EPI_DRELU      // c = v·[Aux > 0]
	EpiDSwish    Epilogue = C.MBPO_EPI_DSWISH     // c = v·(Aux + Aux2·(1 - Aux))
)

// GemmArgs is one batched product C[z] = epi(Alpha·op(A[z])·op(B[z]) +
// Beta·C[z] + Bias[z]) for z < Batch; strides and leading dimensions count
// floats, Aux and Aux2 share LDAux and SAux. Bias, Aux and Aux2 may be 0.
type GemmArgs struct {
	A, B, C, Bias, Aux, Aux2 Ptr
	SA, SB, SC, SBias, SAux  int
	M, N, K, Batch           int
	LDA, LDB, LDC, LDAux     int
	TA, TB                   bool
	Epi                      Epilogue
	Alpha, Beta              float32
}

// bytes is mbpo_gemm_args.
func (g GemmArgs) bytes() []byte {
	var c cstruct
	c.ptr(g.A).ptr(g.B).ptr(g.C).ptr(g.Bias).ptr(g.Aux).ptr(g.Aux2)
	c.i64(g.SA).i64(g.SB).i64(g.SC).i64(g.SBias).i64(g.SAux)
	c.i32(g.M).i32(g.N).i32(g.K).i32(g.LDA).i32(g.LDB).i32(g.LDC).i32(g.LDAux)
	c.i32(b2i(g.TA)).i32(b2i(g.TB)).i32(int(g.Epi)).f32(g.Alpha).f32(g.Beta)
	return c.bytes()
}

// GemmGrid is the grid of a product: C's 64×64 tiles by the batch.
func GemmGrid(g GemmArgs) gpu.Dim3 {
	return gpu.Dim3{X: ((g.M + C.MBPO_GEMM_BM - 1) / C.MBPO_GEMM_BM) * ((g.N + C.MBPO_GEMM_BN - 1) / C.MBPO_GEMM_BN), Y: max(g.Batch, 1)}
}

// GemmFLOPs is the floating-point work of a product (2 per multiply-add).
func GemmFLOPs(g GemmArgs) float64 {
	return 2 * float64(g.M) * float64(g.N) * float64(g.K) * float64(max(g.Batch, 1))
}

// Gemm queues a batched product.
func Gemm(m Machine, g GemmArgs) error {
	if g.M < 1 || g.N < 1 || g.K < 1 {
		return fmt.Errorf("kernels: gemm of %d×%d×%d", g.M, g.N, g.K)
	}
	var a gpu.Args
	return m.Launch(KGemm, GemmGrid(g), gpu.Dim3{X: C.MBPO_GEMM_THREADS}, C.MBPO_GEMM_SMEM, a.Bytes(g.bytes()))
}

const threads = 256 // block size of the element-wise and reducing kernels

// grid is a grid-stride grid for n items on m: enough blocks to fill the
// machine a few times over, no more.
func grid(m Machine, n int) gpu.Dim3 {
	return gpu.Dim3{X: max(1, min((n+threads-1)/threads, 32*m.SMs()))}
}

// Normalize queues z = (x - mean)/std over rows×d values.
func Normalize(m Machine, z, x, mean, std Ptr, rows, d int) error {
	var a gpu.Args
	a.Ptr(z).Ptr(x).Ptr(mean).Ptr(std).Uint64(uint64(rows)).Int32(int32(d))
	return m.Launch(KNormalize, grid(m, rows*d), gpu.Dim3{X: threads}, 0, &a)
}

// Colsum queues out[z][c] = Σ_r x[z][r][c] for batch slices (strides sx,
// sout in floats).
func Colsum(m Machine, out, x Ptr, rows, cols, batch, sx, sout int) error {
	var a gpu.Args
	a.Ptr(out).Ptr(x).Int32(int32(rows)).Int32(int32(cols)).Int64(int64(sx)).Int64(int64(sout))
	return m.Launch(KColsum, gpu.Dim3{X: (cols + threads - 1) / threads, Y: batch}, gpu.Dim3{X: threads}, 0, &a)
}

// GaussNLLGrad queues the NLL gradient of every member (one block each):
// dhead [E][batch][2·out], part [E][3][out].
func GaussNLLGrad(m Machine, dhead, part, head, y, maxLogVar, minLogVar Ptr, members, batch, out int, scale float32) error {
	var a gpu.Args
	a.Ptr(dhead).Ptr(part).Ptr(head).Ptr(y).Ptr(maxLogVar).Ptr(minLogVar).Int32(int32(batch)).Int32(int32(out)).Float32(scale)
	return m.Launch(KGaussNLLGrad, gpu.Dim3{X: members}, gpu.Dim3{X: min(threads, (out+31)/32*32)}, 0, &a)
}

// GaussBounds queues the bounds' gradients and the NLL loss (*loss, a
// double) of a training step.
func GaussBounds(m Machine, gmax, gmin, loss, part, maxLogVar, minLogVar Ptr, members, batch, out int) error {
	var a gpu.Args
	a.Ptr(gmax).Ptr(gmin).Ptr(loss).Ptr(part).Ptr(maxLogVar).Ptr(minLogVar).Int32(int32(members)).Int32(int32(batch)).Int32(int32(out))
	return m.Launch(KGaussBounds, gpu.Dim3{X: 1}, gpu.Dim3{X: min(threads, (out+31)/32*32)}, 0, &a)
}

// SchedBytes is the size of an Adam schedule (mbpo_adam_sched): the step
// count (int64) then the two bias corrections (float32).
const SchedBytes = C.sizeof_mbpo_adam_sched

// Tick queues the start of an optimiser step on the schedule at sched.
func Tick(m Machine, sched Ptr) error {
	var a gpu.Args
	return m.Launch(KTick, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, a.Ptr(sched))
}

// Decay is a range of parameters [Start, End) with weight decay WD.
type Decay struct {
	Start, End int
	WD         float32
}

// MaxDecays is the most weight-decay ranges one Adam launch takes.
const MaxDecays = C.MBPO_MAX_SEGMENTS

// AdamArgs is one Adam step over N parameters at P with gradient G and
// moments M, V, at the step and bias corrections Sched holds. Target (may be
// 0) follows P by Polyak averaging with Tau. Partial (may be 0) receives a
// double per block: Σ WD/2·p² over the Decay ranges.
type AdamArgs struct {
	P, G, M, V, Target, Partial, Sched Ptr
	N                                  int
	Decay                              []Decay
	LR, Tau                            float32
}

func (g AdamArgs) bytes() []byte {
	var c cstruct
	c.ptr(g.P).ptr(g.G).ptr(g.M).ptr(g.V).ptr(g.Target).ptr(g.Partial).ptr(g.Sched).i64(g.N)
	for s := 0; s < MaxDecays; s++ {
		v := 0
		if s < len(g.Decay) {
			v = g.Decay[s].Start
		}
		c.i64(v)
	}
	for s := 0; s < MaxDecays; s++ {
		v := 0
		if s < len(g.Decay) {
			v = g.Decay[s].End
		}
		c.i64(v)
	}
	for s := 0; s < MaxDecays; s++ {
		var v float32
		if s < len(g.Decay) {
			v = g.Decay[s].WD
		}
		c.f32(v)
	}
	return c.i32(len(g.Decay)).f32(g.LR).f32(g.Tau).bytes()
}

// AdamBlocks is the number of blocks (and of partial sums) of an Adam launch
// over n parameters on m.
func AdamBlocks(m Machine, n int) int { return max(1, min((n+threads-1)/threads, 4*m.SMs())) }

// Adam queues one Adam step.
func Adam(m Machine, g AdamArgs) error {
	if len(g.Decay) > MaxDecays {
		return fmt.Errorf("kernels: %d weight-decay ranges, Adam takes at most %d", len(g.Decay), MaxDecays)
	}
	var a gpu.Args
	return m.Launch(KAdam, gpu.Dim3{X: AdamBlocks(m, g.N)}, gpu.Dim3{X: threads}, 8*threads, a.Bytes(g.bytes()))
}

// LossFinish queues *out = float32(*loss + Σ partial[0..parts)).
func LossFinish(m Machine, out, loss, partial Ptr, parts int) error {
	var a gpu.Args
	a.Ptr(out).Ptr(loss).Ptr(partial).Int32(int32(parts))
	return m.Launch(KLossFinish, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, &a)
}

// EvalRowsPerBlock is the rows of one block of the evaluation kernel.
const EvalRowsPerBlock = 256

// EvalBlocks is the number of partials per member of GaussEval over n rows.
func EvalBlocks(n int) int { return (n + EvalRowsPerBlock - 1) / EvalRowsPerBlock }

// GaussEval queues each member's holdout MSE and NLL (mse, nll [E]) from the
// forward kernel's mean and logvar ([E][n][out]) and targets y [n][out];
// part holds 2·E·EvalBlocks(n) doubles.
func GaussEval(m Machine, mse, nll, part, mean, logvar, y Ptr, members, n, out int) error {
	var a gpu.Args
	a.Ptr(part).Ptr(mean).Ptr(logvar).Ptr(y).Int32(int32(n)).Int32(int32(out)).Int32(EvalRowsPerBlock)
	if err := m.Launch(KGaussEvalPart, gpu.Dim3{X: EvalBlocks(n), Y: members}, gpu.Dim3{X: threads}, 8*threads, &a); err != nil {
		return err
	}
	var f gpu.Args
	f.Ptr(mse).Ptr(nll).Ptr(part).Int32(int32(members)).Int32(int32(EvalBlocks(n))).Int32(int32(n)).Int32(int32(out))
	return m.Launch(KGaussEvalFinish, gpu.Dim3{X: 1}, gpu.Dim3{X: (members + 31) / 32 * 32}, 0, &f)
}

// Swish queues y[i] = swish(x[i]) for n values.
func Swish(m Machine, y, x Ptr, n int) error {
	var a gpu.Args
	a.Ptr(y).Ptr(x).Uint64(uint64(n))
	return m.Launch(KSwish, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// GaussianHead queues the split of head ([rows][2·out]) into mean and
// soft-bounded logvar ([rows][out] each) with the bounds maxLogVar, minLogVar
// ([out] each).
func GaussianHead(m Machine, mean, logvar, head, maxLogVar, minLogVar Ptr, rows, out int) error {
	var a gpu.Args
	a.Ptr(mean).Ptr(logvar).Ptr(head).Ptr(maxLogVar).Ptr(minLogVar).Uint64(uint64(rows)).Int32(int32(out))
	return m.Launch(KGaussianHead, grid(m, rows*out), gpu.Dim3{X: threads}, 0, &a)
}

// Forward queues plan p's forward over n rows of x (one launch, every
// member): mean and logvar [E][n][Out], or the raw head into mean. nDev, when
// not 0, points to a row count on the machine that replaces n (at most n).
// normMean 0 skips the normalisation.
func Forward(m Machine, p ForwardPlan, mean, logvar, x, params, normMean, normStd Ptr, n int, nDev Ptr) error {
	if n < 1 {
		return fmt.Errorf("kernels: forward over %d rows", n)
	}
	var a gpu.Args
	a.Ptr(mean).Ptr(logvar).Ptr(x).Ptr(params).Ptr(normMean).Ptr(normStd).Int32(int32(n)).Ptr(nDev).Bytes(p.netBytes())
	return m.Launch(KEnsembleForward, p.Grid(n), gpu.Dim3{X: p.Threads}, p.SharedBytes, &a)
}

// Predict queues member members[i]'s forward on row i of x for up to n rows,
// given the rows grouped by member (GroupRows): mean and logvar [n][Out].
func Predict(m Machine, p ForwardPlan, mean, logvar, x, params, normMean, normStd, counts, list Ptr, n int) error {
	var a gpu.Args
	a.Ptr(mean).Ptr(logvar).Ptr(x).Ptr(params).Ptr(normMean).Ptr(normStd).Ptr(counts).Ptr(list).Bytes(p.netBytes())
	return m.Launch(KEnsemblePredict, gpu.Dim3{X: (n+p.Rows-1)/p.Rows + p.Spec.Members}, gpu.Dim3{X: p.Threads}, p.SharedBytes, &a)
}

// KeyBytes is the size of an rng key on the machine (mbpo_key).
const KeyBytes = C.sizeof_mbpo_key

// EncodeKey is key as the kernels read it from memory (mbpo_key): seed,
// purpose and step as 32-bit words.
func EncodeKey(key rng.Key) []byte {
	var b []byte
	for _, w := range []uint32{uint32(key.Seed), uint32(key.Seed >> 32), uint32(key.Purpose), uint32(key.Step), uint32(key.Step >> 32)} {
		b = append(b, byte(w), byte(w>>8), byte(w>>16), byte(w>>24))
	}
	return b
}

// RNGKind is what mbpo_rng_fill writes for each number of a stream.
type RNGKind int32

// Kinds of numbers.
const (
	RNGBits    RNGKind = C.MBPO_RNG_BITS    // the raw 32-bit output
	RNGUniform RNGKind = C.MBPO_RNG_UNIFORM // a float32 in (0, 1), as rng.Key.Uniform
	RNGNormal  RNGKind = C.MBPO_RNG_NORMAL  // a standard normal float32, as rng.Key.Normal
)

// rngBlocks is the number of Philox blocks numbers first..first+n-1 span.
func rngBlocks(first uint64, n int) int {
	return int((first+uint64(n)+3)/4 - first/4)
}

// RNGFill queues writing numbers first .. first+n-1 of key's stream to dst
// (n 32-bit words), as kind says (floats as their bits).
func RNGFill(m Machine, dst Ptr, key rng.Key, first uint64, n int, kind RNGKind) error {
	var a gpu.Args
	a.Ptr(dst).Uint64(first).Uint64(uint64(n)).Bytes(EncodeKey(key)).Int32(int32(kind))
	return m.Launch(KRNGFill, grid(m, rngBlocks(first, n)), gpu.Dim3{X: threads}, 0, &a)
}

// PolicyAct queues actions of n rows from the policy's raw head [n][2A]
// (tanh(μ), or tanh(μ + σ·ε) with ε number i·A+j of the key at key);
// x, when not 0, receives [obs, act] rows. nDev as for Forward.
func PolicyAct(m Machine, act, x, head, obs, key Ptr, n int, nDev Ptr, obsDim, actDim int, logStdMin, logStdMax float32, deterministic bool) error {
	var a gpu.Args
	a.Ptr(act).Ptr(x).Ptr(head).Ptr(obs).Ptr(key).Int32(int32(n)).Ptr(nDev).Int32(int32(obsDim)).Int32(int32(actDim)).
		Float32(logStdMin).Float32(logStdMax).Int32(int32(b2i(deterministic)))
	return m.Launch(KPolicyAct, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// PolicySample queues ã ~ π for n rows of the raw head: act, eps [n][A],
// logp [n], xq [n][O+A] = [obs, ã]; noise numbers from first.
func PolicySample(m Machine, act, eps, logp, xq, head, obs, key Ptr, first uint64, n, obsDim, actDim int, logStdMin, logStdMax float32) error {
	var a gpu.Args
	a.Ptr(act).Ptr(eps).Ptr(logp).Ptr(xq).Ptr(head).Ptr(obs).Ptr(key).Uint64(first).Int32(int32(n)).Int32(int32(obsDim)).
		Int32(int32(actDim)).Float32(logStdMin).Float32(logStdMax)
	return m.Launch(KPolicySample, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// Concat queues x [n][O+A] = [obs, act].
func Concat(m Machine, x, obs, act Ptr, n, obsDim, actDim int) error {
	var a gpu.Args
	a.Ptr(x).Ptr(obs).Ptr(act).Int32(int32(n)).Int32(int32(obsDim)).Int32(int32(actDim))
	return m.Launch(KConcat, grid(m, n*(obsDim+actDim)), gpu.Dim3{X: threads}, 0, &a)
}

// TDTarget queues the TD targets y [n] from the target critics' qt [2][n].
func TDTarget(m Machine, y, qt, rew, done, logp, logAlpha Ptr, gamma float32, n int) error {
	var a gpu.Args
	a.Ptr(y).Ptr(qt).Ptr(rew).Ptr(done).Ptr(logp).Ptr(logAlpha).Float32(gamma).Int32(int32(n))
	return m.Launch(KTDTarget, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// CriticGrad queues both critics' output gradients dq [2][n] and their
// stats (stats [7] floats, engine.UpdateStats' order).
func CriticGrad(m Machine, dq, stats, q, y Ptr, n int) error {
	var a gpu.Args
	a.Ptr(dq).Ptr(stats).Ptr(q).Ptr(y).Int32(int32(n))
	return m.Launch(KCriticGrad, gpu.Dim3{X: 1}, gpu.Dim3{X: threads}, 8*threads, &a)
}

// ActorGrad queues the actor loss's gradient w.r.t. both critics' outputs,
// the actor and temperature stats, and the temperature's gradient; acc (may
// be 0) accumulates the seven stats (doubles).
func ActorGrad(m Machine, dq, stats, galpha, acc, q, logp, logAlpha Ptr, targetEntropy float32, n int) error {
	var a gpu.Args
	a.Ptr(dq).Ptr(stats).Ptr(galpha).Ptr(acc).Ptr(q).Ptr(logp).Ptr(logAlpha).Float32(targetEntropy).Int32(int32(n))
	return m.Launch(KActorGrad, gpu.Dim3{X: 1}, gpu.Dim3{X: threads}, 8*threads, &a)
}

// PolicyBackward queues the gradient of the actor loss w.r.t. the policy's
// raw head, dhead [n][2A], from dact [2][n][A].
func PolicyBackward(m Machine, dhead, head, eps, dact, logAlpha Ptr, n, actDim int, logStdMin, logStdMax float32) error {
	var a gpu.Args
	a.Ptr(dhead).Ptr(head).Ptr(eps).Ptr(dact).Ptr(logAlpha).Int32(int32(n)).Int32(int32(actDim)).Float32(logStdMin).Float32(logStdMax)
	return m.Launch(KPolicyBackward, grid(m, n*actDim), gpu.Dim3{X: threads}, 0, &a)
}

// Ring is a ring buffer of transitions in a Machine's memory, laid out as
// stages.Replay: Obs and Next [Cap][ObsDim], Act [Cap][ActDim], Rew and
// Done [Cap]; State holds three int64s: the next row, the rows held, the
// rows ever added.
type Ring struct {
	Obs, Act, Rew, Next, Done, State Ptr
	Cap, ObsDim, ActDim              int
}

// RingStateBytes is the size of a Ring's State.
const RingStateBytes = 3 * 8

func (r Ring) bytes() []byte {
	var c cstruct
	c.ptr(r.Obs).ptr(r.Act).ptr(r.Rew).ptr(r.Next).ptr(r.Done).ptr(r.State)
	return c.i32(r.Cap).i32(r.ObsDim).i32(r.ActDim).i32(0).bytes()
}

// RingAppend queues appending n transitions (or *nDev, nDev not 0) to r, as
// Replay.Add does, and advancing its state.
func RingAppend(m Machine, r Ring, obs, act, rew, next, done Ptr, n int, nDev Ptr) error {
	var a gpu.Args
	a.Bytes(r.bytes()).Ptr(obs).Ptr(act).Ptr(rew).Ptr(next).Ptr(done).Int32(int32(n)).Ptr(nDev)
	if err := m.Launch(KRingStore, grid(m, n), gpu.Dim3{X: threads}, 0, &a); err != nil {
		return err
	}
	var b gpu.Args
	b.Bytes(r.bytes()).Int32(int32(n)).Ptr(nDev)
	return m.Launch(KRingAdvance, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, &b)
}

// RolloutStart queues drawing n start states from real into obs [n][od]
// and setting *nLive = n.
func RolloutStart(m Machine, obs, nLive Ptr, real Ring, key Ptr, n int) error {
	var a gpu.Args
	a.Ptr(obs).Ptr(nLive).Bytes(real.bytes()).Ptr(key).Int32(int32(n))
	return m.Launch(KRolloutStart, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// PickElites queues a random elite per live row (members [n]) and the rows
// per member (counts [E], which it zeroes first).
func PickElites(m Machine, members, counts, elites Ptr, nElites, ensembleSize int, key Ptr, n int, nDev Ptr) error {
	if err := m.Memset32(counts, 0, ensembleSize); err != nil {
		return err
	}
	var a gpu.Args
	a.Ptr(members).Ptr(counts).Ptr(elites).Int32(int32(nElites)).Ptr(key).Int32(int32(n)).Ptr(nDev)
	return m.Launch(KPickElites, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// CountMembers queues counting the rows of each member (counts [E], zeroed
// first) for members [n].
func CountMembers(m Machine, counts, members Ptr, ensembleSize, n int) error {
	if err := m.Memset32(counts, 0, ensembleSize); err != nil {
		return err
	}
	var a gpu.Args
	a.Ptr(counts).Ptr(members).Int32(int32(n))
	return m.Launch(KCountMembers, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// GroupRows queues listing the rows member by member (list [n]); cursor [E]
// is scratch.
func GroupRows(m Machine, list, cursor, members, counts Ptr, ensembleSize, n int, nDev Ptr) error {
	if err := m.Memset32(cursor, 0, ensembleSize); err != nil {
		return err
	}
	var a gpu.Args
	a.Ptr(list).Ptr(cursor).Ptr(members).Ptr(counts).Int32(int32(n)).Ptr(nDev)
	return m.Launch(KGroupRows, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// ModelSample queues the model's sampled transitions of n rows (or *nDev):
// next [n][od], rew and done [n], with termination rule term.
func ModelSample(m Machine, next, rew, done, obs, mean, logvar, key Ptr, n int, nDev Ptr, obsDim int, term Terminal) error {
	var a gpu.Args
	a.Ptr(next).Ptr(rew).Ptr(done).Ptr(obs).Ptr(mean).Ptr(logvar).Ptr(key).Int32(int32(n)).Ptr(nDev).Int32(int32(obsDim)).Int32(int32(term))
	return m.Launch(KModelSample, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// CompactBlocks is the number of partial counts Compact needs for n rows.
func CompactBlocks(n int) int { return (n + C.MBPO_SCAN_THREADS - 1) / C.MBPO_SCAN_THREADS }

// RolloutStats is the length of the rollout statistics Compact accumulates
// (doubles): transitions, finished samples, reward sum.
const RolloutStats = C.MBPO_ROLL_STATS

// Compact queues keeping the live rows (done == 0) of the *nCur rows (at
// most n): their next observations move, in order, to the first rows of obs,
// *nNext receives their number and stats [3] (doubles) gains the step's
// transitions, finished samples and reward sum. part holds CompactBlocks(n)
// ints, rewPart as many doubles.
func Compact(m Machine, obs, nNext, stats, next, done, rew, nCur, part, rewPart Ptr, n, obsDim int) error {
	blocks := CompactBlocks(n)
	var a gpu.Args
	a.Ptr(part).Ptr(rewPart).Ptr(done).Ptr(rew).Ptr(nCur)
	if err := m.Launch(KLiveCount, gpu.Dim3{X: blocks}, gpu.Dim3{X: C.MBPO_SCAN_THREADS}, 8*C.MBPO_SCAN_THREADS, &a); err != nil {
		return err
	}
	var s gpu.Args
	s.Ptr(part).Ptr(nNext).Ptr(stats).Ptr(rewPart).Ptr(nCur).Int32(int32(blocks))
	if err := m.Launch(KLiveScan, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, &s); err != nil {
		return err
	}
	var v gpu.Args
	v.Ptr(obs).Ptr(next).Ptr(done).Ptr(part).Ptr(nCur).Int32(int32(obsDim))
	return m.Launch(KLiveMove, gpu.Dim3{X: blocks}, gpu.Dim3{X: C.MBPO_SCAN_THREADS}, 8*C.MBPO_SCAN_THREADS, &v)
}

// SACGather queues filling a SAC minibatch of size rows from the real and
// model rings (model.Obs 0: none), rows [0, nReal) real, drawing number i of
// the key at key for row i.
func SACGather(m Machine, obs, act, rew, next, done Ptr, real, model Ring, key Ptr, nReal, size int) error {
	var a gpu.Args
	a.Ptr(obs).Ptr(act).Ptr(rew).Ptr(next).Ptr(done).Bytes(real.bytes()).Bytes(model.bytes()).Ptr(key).Int32(int32(nReal)).Int32(int32(size))
	return m.Launch(KSACGather, grid(m, size), gpu.Dim3{X: threads}, 0, &a)
}

// TerminalRows queues done[i] = rule term on next [n][od].
func TerminalRows(m Machine, done, next Ptr, n, obsDim int, term Terminal) error {
	var a gpu.Args
	a.Ptr(done).Ptr(next).Int32(int32(n)).Int32(int32(obsDim)).Int32(int32(term))
	return m.Launch(KTerminalRows, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// Terminal is a termination rule of terminal.h.
type Terminal int

// The termination rules.
const (
	TermNever          Terminal = C.MBPO_TERM_NEVER
	TermHopper         Terminal = C.MBPO_TERM_HOPPER
	TermWalker         Terminal = C.MBPO_TERM_WALKER
	TermAnt            Terminal = C.MBPO_TERM_ANT
	TermHumanoid       Terminal = C.MBPO_TERM_HUMANOID
	TermPendulum       Terminal = C.MBPO_TERM_PENDULUM
	TermDoublePendulum Terminal = C.MBPO_TERM_DOUBLE_PENDULUM
)

// TerminalFor is the rule of environment id (package env's ids).
func TerminalFor(id string) (Terminal, error) {
	switch id {
	case "HalfCheetah-v4", "Swimmer-v4":
		return TermNever, nil
	case "Hopper-v4":
		return TermHopper, nil
	case "Walker2d-v4":
		return TermWalker, nil
	case "Ant-v4":
		return TermAnt, nil
	case "Humanoid-v4", "HumanoidTruncatedObs-v4":
		return TermHumanoid, nil
	case "InvertedPendulum-v4":
		return TermPendulum, nil
	case "InvertedDoublePendulum-v4":
		return TermDoublePendulum, nil
	}
	return 0, fmt.Errorf("kernels: no device termination rule for environment %q; add one to terminal.h", id)
}

// ModelRows queues building the model's dataset from ring rows idx [n]:
// x [n][od+ad] = [obs, act], y [n][od+1] = [next - obs, rew].
func ModelRows(m Machine, x, y Ptr, r Ring, idx Ptr, n int) error {
	var a gpu.Args
	a.Ptr(x).Ptr(y).Bytes(r.bytes()).Ptr(idx).Int32(int32(n))
	return m.Launch(KModelRows, grid(m, n), gpu.Dim3{X: threads}, 0, &a)
}

// GatherBatch queues the members' minibatches: dst [members][b][w], member
// e's row j from src row idx[e·stride + start + j].
func GatherBatch(m Machine, dst, src, idx Ptr, members, b, stride, start, w int) error {
	var a gpu.Args
	a.Ptr(dst).Ptr(src).Ptr(idx).Int32(int32(members)).Int32(int32(b)).Int64(int64(stride)).Int32(int32(start)).Int32(int32(w))
	return m.Launch(KGatherBatch, grid(m, members*b*w), gpu.Dim3{X: threads}, 0, &a)
}

// ColumnStats queues the mean and standard deviation of each column of x
// [rows][w] into mean and std [w].
func ColumnStats(m Machine, mean, std, x Ptr, rows, w int) error {
	var a gpu.Args
	a.Ptr(mean).Ptr(std).Ptr(x).Int32(int32(rows)).Int32(int32(w))
	return m.Launch(KColumnStats, gpu.Dim3{X: w}, gpu.Dim3{X: threads}, 8*threads, &a)
}

// Empty queues one launch of a kernel that does nothing, one block of 32
// threads: the cost of a launch.
func Empty(m Machine) error {
	return m.Launch(KEmpty, gpu.Dim3{X: 1}, gpu.Dim3{X: 32}, 0, nil)
}

// AddOne queues x[i] += 1 for n float32 values, one thread each: a small
// launch with a visible effect.
func AddOne(m Machine, x Ptr, n int) error {
	var a gpu.Args
	a.Ptr(x).Int32(int32(n))
	return m.Launch(KAddOne, gpu.Dim3{X: (n + threads - 1) / threads}, gpu.Dim3{X: threads}, 0, &a)
}
