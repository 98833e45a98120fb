// Package rng is the project's counter-based random number generator.
//
// Every random number in a training run is a pure function of
// (seed, purpose, step, index): Philox4x32-10 (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011) applied to
//
//	counter = (block, step low 32 bits, step high 32 bits, purpose)
//	key     = (seed low 32 bits, seed high 32 bits)
//
// where block = index / 4 and the lane index % 4 picks one of the four 32-bit
// outputs. Nothing is stateful beyond the indices the caller keeps, so a run can
// be checkpointed by saving a few counters, and the GPU kernels in kernels/
// (rng.cuh) draw exactly the same numbers from the same keys.
//
// Conversions, shared with the kernels:
//
//	Uniform(u) = (float32(u>>8) + 0.5) * 2^-24, in (0, 1), never 0 or 1.
//	Normal: Box–Muller on the lane pairs (0,1) and (2,3) of a block:
//	  r = sqrt(-2 ln U(lane 2p)), θ = 2π U(lane 2p+1);
//	  even index → r cos θ, odd index → r sin θ.
//	Intn(u, n) = (uint64(u) * n) >> 32, in [0, n).
package rng

import "math"

// Philox4x32-10 constants (Random123).
const (
	philoxM0 = 0xD2511F53
	philoxM1 = 0xCD9E8D57
	philoxW0 = 0x9E3779B9
	philoxW1 = 0xBB67AE85
)

// Philox4x32 applies the ten rounds of Philox4x32-10 to counter ctr under key.
func Philox4x32(ctr [4]uint32, key [2]uint32) [4]uint32 {
	c0, c1, c2, c3 := ctr[0], ctr[1], ctr[2], ctr[3]
	k0, k1 := key[0], key[1]
	for r := 0; r < 10; r++ {
		if r > 0 {
			k0 += philoxW0
			k1 += philoxW1
		}
		p0 := uint64(philoxM0) * uint64(c0)
		p1 := uint64(philoxM1) * uint64(c2)
		c0, c1, c2, c3 = uint32(p1>>32)^c1^k0, uint32(p1), uint32(p0>>32)^c3^k1, uint32(p0)
	}
	return [4]uint32{c0, c1, c2, c3}
}

// Purpose separates the independent streams of a run. The numeric values are
// part of the generator's definition (the GPU kernels use the same ones):
// never renumber them.
type Purpose uint32

// The purposes used by the trainer.
const (
	EnvReset      Purpose = 1  // reset noise (step = the env's index in its pool)
	Init          Purpose = 2  // network weight initialisation
	Bootstrap     Purpose = 3  // bootstrap resampling of the ensemble's training set
	Holdout       Purpose = 4  // holdout split of the ensemble's data
	ModelShuffle  Purpose = 5  // per-epoch shuffles of the ensemble's minibatches
	RolloutStart  Purpose = 6  // start states of branched rollouts
	RolloutElite  Purpose = 7  // elite chosen per sample and rollout step
	RolloutNoise  Purpose = 8  // Gaussian noise of the model's next-state sample
	PolicyNoise   Purpose = 9  // tanh-Gaussian action noise
	SACBatch      Purpose = 10 // indices of SAC minibatches
	SACNoise      Purpose = 11 // action noise inside a SAC update
	Exploration   Purpose = 12 // uniform random actions of the initial exploration phase
	Eval          Purpose = 13 // evaluation episodes' reset noise
	RolloutPolicy Purpose = 14 // policy action noise inside branched rollouts
	ModelReturn   Purpose = 15 // elites and noise of the model-vs-real return check
	Test          Purpose = 99 // tests only
)

// Key names one stream of numbers: the run's seed, the purpose and a step
// counter chosen by the caller (an env step, an update index, a retrain count).
type Key struct {
	Seed    uint64
	Purpose Purpose
	Step    uint64
}

// Block returns the four 32-bit outputs of block b of the stream.
func (k Key) Block(b uint64) [4]uint32 {
	return Philox4x32(
		[4]uint32{uint32(b), uint32(k.Step), uint32(k.Step >> 32), uint32(k.Purpose)},
		[2]uint32{uint32(k.Seed), uint32(k.Seed >> 32)},
	)
}

// Uint32 returns number i of the stream.
func (k Key) Uint32(i uint64) uint32 { return k.Block(i / 4)[i%4] }

// Uniform returns number i of the stream as a float32 in (0, 1).
func (k Key) Uniform(i uint64) float32 { return UniformFromBits(k.Uint32(i)) }

// Intn returns number i of the stream as an int in [0, n). n must be positive
// and below 2^32.
func (k Key) Intn(i uint64, n int) int { return int((uint64(k.Uint32(i)) * uint64(n)) >> 32) }

// Normal returns number i of the stream as a standard normal float32.
func (k Key) Normal(i uint64) float32 {
	b := k.Block(i / 4)
	p := (i % 4) / 2
	return boxMuller(b[2*p], b[2*p+1], i%2 == 1)
}

// UniformFromBits maps 32 random bits to a float32 in (0, 1).
func UniformFromBits(u uint32) float32 {
	return (float32(u>>8) + 0.5) * (1.0 / (1 << 24))
}

func boxMuller(a, b uint32, sine bool) float32 {
	r := math.Sqrt(-2 * math.Log(float64(UniformFromBits(a))))
	theta := 2 * math.Pi * float64(UniformFromBits(b))
	if sine {
		return float32(r * math.Sin(theta))
	}
	return float32(r * math.Cos(theta))
}

// FillUniform writes numbers 0..len(dst)-1 of the stream, as uniforms in (0, 1).
func (k Key) FillUniform(dst []float32) {
	for b := 0; b*4 < len(dst); b++ {
		out := k.Block(uint64(b))
		for l := 0; l < 4 && b*4+l < len(dst); l++ {
			dst[b*4+l] = UniformFromBits(out[l])
		}
	}
}

// FillNormal writes numbers 0..len(dst)-1 of the stream, as standard normals.
func (k Key) FillNormal(dst []float32) {
	for b := 0; b*4 < len(dst); b++ {
		out := k.Block(uint64(b))
		for l := 0; l < 4 && b*4+l < len(dst); l++ {
			p := l / 2
			dst[b*4+l] = boxMuller(out[2*p], out[2*p+1], l%2 == 1)
		}
	}
}

// FillIntn writes numbers 0..len(dst)-1 of the stream, as ints in [0, n).
func (k Key) FillIntn(dst []int32, n int) {
	for b := 0; b*4 < len(dst); b++ {
		out := k.Block(uint64(b))
		for l := 0; l < 4 && b*4+l < len(dst); l++ {
			dst[b*4+l] = int32((uint64(out[l]) * uint64(n)) >> 32)
		}
	}
}

// Stream is a sequential reader over one Key, for code that draws numbers one
// at a time (reset noise, weight initialisation). Its whole state is Key and
// Next, so it checkpoints as two numbers.
type Stream struct {
	Key  Key
	Next uint64 // index of the next number to draw
}

// NewStream returns a Stream at the start of key's numbers.
func NewStream(key Key) *Stream { return &Stream{Key: key} }

// Uniform draws a float32 in (0, 1).
func (s *Stream) Uniform() float32 { v := s.Key.Uniform(s.Next); s.Next++; return v }

// Normal draws a standard normal float32.
func (s *Stream) Normal() float32 { v := s.Key.Normal(s.Next); s.Next++; return v }

// Intn draws an int in [0, n).
func (s *Stream) Intn(n int) int { v := s.Key.Intn(s.Next, n); s.Next++; return v }
