// Package stages is the host reference of MBPO's heavy stages, the plain
// and readable implementation that the CPU engine runs and the GPU engine's
// kernels are tested against (engine.Stages; host.go puts them together):
//
//	replay.go   the real and model buffers: rings of (s, a, r, s', done)
//	fit.go      real buffer → ensemble: holdout split, normaliser, bootstrap,
//	            minibatch epochs, early stopping, best-epoch restore, elites
//	rollout.go  ensemble → model buffer: branched k-step rollouts from real
//	            states, a random elite per sample and step, termination rules
//	sac.go      model buffer + real buffer → SAC: minibatches of RealRows
//	            real rows, the rest from the model
//
// Every random number comes from an rng key of the run's seed, so the GPU
// engine draws the same ones.
package stages
