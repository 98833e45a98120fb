// resident.go: optional interfaces of engines that keep MBPO's data on their
// own device and run whole stages there, so that the trainer's hot loops
// (branched rollouts, G SAC updates per env step) need no round trip to the
// host. The GPU engine (package cuda) implements them; the CPU engine does
// not, and the trainer uses them only where an engine offers them:
//
//	if re, ok := eng.(engine.Resident); ok { ... device buffers and stages ... }
//
// Semantics are the trainer's own (package trainer: replay.go, rollout.go,
// sac.go), with the same random-number streams, so a run takes the same
// steps on either path up to floating-point rounding.
package engine

// Transitions is a ring buffer of transitions in an engine's memory with
// trainer.Replay's layout and semantics: rows are appended at the ring's
// next row, beyond capacity the newest overwrite the oldest, and row i of
// the device ring is row i of a Replay given the same appends.
type Transitions interface {
	// Append adds n transitions from host memory, row-major: obs and next
	// [n][obs], act [n][act], rew and done [n] (Replay.Add).
	Append(obs, act, rew, next, done []float32) error
	// Len is the number of transitions held; it waits for device work that
	// appends (rollouts) to finish.
	Len() (int, error)
	// Cap is the capacity.
	Cap() int
	// Resize changes the capacity, keeping the newest transitions that fit
	// (Replay.Resize).
	Resize(capacity int) error
	// Rows copies rows [from, from+n) of the ring (physical rows, as
	// Replay.Row numbers them) into host memory, for checkpoints and tests.
	Rows(from, n int, obs, act, rew, next, done []float32) error
	// Next is the physical row the next append writes; with Len and Rows
	// it is the ring's exact layout, which checkpoints keep.
	Next() (int, error)
	// Close frees the ring's memory.
	Close() error
}

// RolloutResult reports one round of device rollouts, as trainer.RolloutStats
// counts them.
type RolloutResult struct {
	Started   int     // rollouts started
	Steps     int64   // transitions made and appended
	Finished  int     // rollouts ended by the termination function
	RewardSum float64 // sum of the predicted rewards of all transitions
}

// Rollouts runs branched model rollouts on the device: start states drawn
// from a real-buffer ring, the agent's stochastic policy, a random elite per
// sample and step, the Gaussian sample of [Δs, r], the environment's
// termination rule, and every transition appended to a model-buffer ring;
// finished samples drop out. Random numbers follow trainer.Rollouts.Run.
type Rollouts interface {
	// Run starts the rollouts (as many as the batch they were made for),
	// runs up to k steps and appends every transition to the model ring;
	// call numbers the rounds of a run and keys their random numbers.
	// elites are the ensemble members to sample from.
	Run(elites []int, k int, call uint64) (RolloutResult, error)
	// Close frees the rollouts' scratch memory.
	Close() error
}

// SACUpdates runs SAC updates on minibatches drawn on the device from a
// real ring and a model ring, as trainer's sacBatcher draws them: rows
// [0, int(batch·realRatio)) uniformly from the real ring, the rest from the
// model ring (all real while it is empty), update u drawing its rows from
// the SACBatch stream of u and its noise from the SACNoise stream of u.
type SACUpdates interface {
	// Run performs updates first, first+1, ..., first+n-1 and returns their
	// statistics summed over the n updates (divide by n for means).
	Run(first int64, n int) (UpdateSums, error)
	// Close frees the updates' scratch memory.
	Close() error
}

// UpdateSums are UpdateStats summed over several updates, in float64.
type UpdateSums struct {
	Q1Loss, Q2Loss, PolicyLoss, AlphaLoss, Alpha, Entropy, QMean float64
	Updates                                                      int
}

// RolloutConfig sizes device rollouts.
type RolloutConfig struct {
	Batch int    // rollouts started per round
	MaxK  int    // the longest rollout a round may ask for
	Env   string // environment id, for its termination rule
	Seed  uint64 // the run's seed
}

// FitSettings are the settings of Resident.Fit: trainer.ModelSettings and
// the run's seed, which keys the holdout split, the bootstrap and the
// shuffles as in trainer.Model.Train.
type FitSettings struct {
	Batch        int     // minibatch rows per member
	HoldoutRatio float64 // share of the data held out
	MaxHoldout   int     // cap on the holdout size
	EarlyStop    int     // stop once more than this many epochs bring no > Improvement gain
	Improvement  float64 // relative holdout gain that counts
	MaxEpochs    int     // 0: no cap
	Elites       int     // members kept for rollouts
	Seed         uint64
}

// FitResult reports one fit, as trainer.ModelStats does.
type FitResult struct {
	Epochs     int
	TrainLoss  float32   // loss of the last minibatch
	HoldoutMSE []float32 // per member, with its best epoch's weights
	HoldoutNLL []float32
	BestEpochs []int // per member, the epoch whose weights it was restored to
	Elites     []int // best holdout MSE first
	Rows       int64 // member-rows trained on
	Train      int   // training rows
	Holdout    int   // holdout rows
}

// Resident is an engine that can keep MBPO's buffers on its device and run
// the model, rollout and SAC stages there, on networks it made.
type Resident interface {
	// Fit trains ens on every transition of real with trainer.Model.Train's
	// procedure and random numbers (holdout split, normaliser, bootstrap,
	// shuffled minibatch epochs, holdout early stopping, elites); call
	// numbers the retrains of a run.
	Fit(ens Ensemble, real Transitions, s FitSettings, call uint64) (FitResult, error)
	// NewTransitions allocates an empty ring of capacity transitions.
	NewTransitions(obsDim, actDim, capacity int) (Transitions, error)
	// NewRollouts prepares device rollouts of ens under agent's policy from
	// real into model.
	NewRollouts(ens Ensemble, agent Agent, real, model Transitions, cfg RolloutConfig) (Rollouts, error)
	// NewSACUpdates prepares SAC updates of agent on minibatches of batch
	// rows from real and model (model may be nil: all real).
	NewSACUpdates(agent Agent, real, model Transitions, batch int, realRatio float64, seed uint64) (SACUpdates, error)
}
