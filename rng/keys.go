// keys.go: the key layouts whose step packs two counters, written once for
// every place that draws from them (the host stages, the GPU engine and the
// benchmarks).

package rng

// RolloutKey is the stream of purpose p (RolloutPolicy, RolloutElite or
// RolloutNoise) for step of rollout round call: Step = call<<16 | step, so a
// round may run up to 65,536 steps.
func RolloutKey(seed uint64, p Purpose, call uint64, step int) Key {
	return Key{Seed: seed, Purpose: p, Step: call<<16 | uint64(step)}
}

// ModelReturnKeys are the two ModelReturn streams of step of the
// model-vs-real return check of evaluation call: the first picks the elites
// (and keys the deterministic policy, which draws nothing), the second the
// model's Gaussian noise.
func ModelReturnKeys(seed, call uint64, step int) (elites, noise Key) {
	s := (call<<16 | uint64(step)) << 1
	return Key{Seed: seed, Purpose: ModelReturn, Step: s}, Key{Seed: seed, Purpose: ModelReturn, Step: s | 1}
}

// ShuffleKey is the ModelShuffle stream of epoch of retrain call: Step =
// call<<20 | epoch, so a retrain may run up to 1,048,576 epochs.
func ShuffleKey(seed, call uint64, epoch int) Key {
	return Key{Seed: seed, Purpose: ModelShuffle, Step: call<<20 | uint64(epoch)}
}
