// fixtures.go: networks of MBPO's shape for the tests and benchmarks of the
// engines and kernels, which sit below the trainer and its configuration.

package engine

// PaperEnsemble returns MBPO's dynamics ensemble for an env of obs and act
// dimensions with hidden-wide layers: 7 members, four swish layers, weight
// decay 2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4 by layer, Adam at 1e-3,
// log-variance bounds starting at 0.5 and -10.
//
// It is a fixture for tests and benchmarks. A run's ensemble comes from its
// configuration, trainer.Config.EnsembleSpec, which holds these values as
// settings; the trainer's TestPaperSpecsAreTheConfigs keeps the two equal.
func PaperEnsemble(obs, act, hidden int) EnsembleSpec {
	return EnsembleSpec{
		Members:       7,
		In:            obs + act,
		Out:           obs + 1,
		Hidden:        []int{hidden, hidden, hidden, hidden},
		WeightDecay:   []float32{2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4},
		LR:            1e-3,
		MaxLogVarInit: 0.5,
		MinLogVarInit: -10,
	}
}

// PaperAgent returns SAC as MBPO configures it for an env of obs and act
// dimensions: two 256-wide ReLU layers, discount 0.99, tau 5e-3, Adam at
// 3e-4, initial temperature 1, log σ clipped to [-20, 2].
//
// It is a fixture for tests and benchmarks. A run's agent comes from its
// configuration, trainer.Config.AgentSpec, which holds these values as
// settings; the trainer's TestPaperSpecsAreTheConfigs keeps the two equal.
func PaperAgent(obs, act int, targetEntropy float32) AgentSpec {
	return AgentSpec{
		Obs: obs, Act: act, Hidden: []int{256, 256},
		Gamma: 0.99, Tau: 5e-3, LR: 3e-4, TargetEntropy: targetEntropy,
		InitAlpha: 1, LogStdMin: -20, LogStdMax: 2,
	}
}
