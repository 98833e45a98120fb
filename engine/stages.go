// stages.go: MBPO's heavy stages behind one interface. Every engine makes
// its Stages: the CPU engine runs the host reference of package stages (the
// plain, readable implementation: stages/replay.go, fit.go, rollout.go,
// sac.go) on its networks; the GPU engine runs the same stages on its device
// with the same random-number streams, so a run takes the same steps on
// either up to floating-point rounding. The training loop (trainer/mbpo.go)
// calls only this interface.

package engine

// Stages are the real and model buffers of a run and the three stages that
// work on them: fitting the ensemble to the real buffer, branching rollouts
// from it into the model buffer, and SAC updates on minibatches of both.
type Stages interface {
	// Real is the real buffer; Model the model buffer (nil without a model).
	Real() Transitions
	Model() Transitions
	// Fit retrains the ensemble on every transition of the real buffer
	// (holdout split, normaliser, bootstrap, shuffled minibatch epochs,
	// holdout early stopping, every member back to its best epoch, elites);
	// call numbers the retrains of a run and keys their random numbers.
	Fit(call uint64) (FitResult, error)
	// Rollout starts StagesConfig.RolloutBatch rollouts from states of the
	// real buffer, runs each up to k steps under the agent's stochastic
	// policy with a random elite per sample and step, and appends every
	// transition to the model buffer; call numbers the rounds of a run.
	Rollout(elites []int, k int, call uint64) (RolloutResult, error)
	// Update performs SAC updates first, ..., first+n-1, update u on a
	// minibatch of RealRows real rows and the rest model rows drawn from
	// the SACBatch stream of u (all real while the model buffer is empty),
	// with the SACNoise stream of u; it adds their statistics to sums in
	// update order.
	Update(first int64, n int, sums *UpdateSums) error
	// Close frees the buffers and scratch memory (not the networks).
	Close() error
}

// StagesConfig sizes a run's stages.
type StagesConfig struct {
	Env            string // environment id: its termination rule
	ObsDim, ActDim int
	Seed           uint64 // the run's seed, which keys every random number
	RealCapacity   int    // the real buffer's capacity
	ModelCapacity  int    // the model buffer's first capacity; 0: no model (SAC, the no-model ablation)
	Fit            FitSettings
	RolloutBatch   int     // rollouts started per round
	MaxK           int     // the longest rollout a round may ask for
	Batch          int     // SAC minibatch rows
	RealRatio      float64 // share of a minibatch drawn from the real buffer
}

// RealRows is how many of a SAC minibatch's rows come from the real buffer:
// int(batch·ratio), truncated as MBPO does (the rest come from the model).
func RealRows(batch int, ratio float64) int { return int(float64(batch) * ratio) }

// Transitions is a ring buffer of transitions in an engine's memory with
// stages.Replay's layout and semantics: rows are appended at the ring's
// next row, beyond capacity the newest overwrite the oldest, and row i of a
// device ring is row i of a Replay given the same appends.
type Transitions interface {
	// Append adds n transitions from host memory, row-major: obs and next
	// [n][obs], act [n][act], rew and done [n] (Replay.Add).
	Append(obs, act, rew, next, done []float32) error
	// Len is the number of transitions held; on a device it waits for the
	// work that appends (rollouts) to finish.
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

// FitSettings are the settings of Stages.Fit.
type FitSettings struct {
	Batch        int     // minibatch rows per member (256)
	HoldoutRatio float64 // share of the data held out (0.2)
	MaxHoldout   int     // cap on the holdout size (5000)
	EarlyStop    int     // stop once more than this many epochs in a row bring no > Improvement gain (5)
	Improvement  float64 // relative holdout gain that counts (0.01)
	MaxEpochs    int     // 0: no cap
	Elites       int     // members kept for rollouts (5)
	Seed         uint64  // keys the holdout split, the bootstrap and the shuffles
	// NoRestore leaves every member at its last epoch's weights instead of
	// putting it back to its best epoch's (the no-restore ablation; the
	// authors' code restores).
	NoRestore bool
}

// FitResult reports one retrain.
type FitResult struct {
	Epochs     int       // training epochs run
	TrainLoss  float32   // training loss of the last minibatch
	HoldoutMSE []float32 // per member, with its best epoch's weights
	HoldoutNLL []float32 // per member, with its best epoch's weights
	BestEpochs []int     // per member, the epoch (0-based) whose weights it was restored to
	Elites     []int     // chosen elites, best holdout MSE first
	Rows       int64     // member-rows trained on (for throughput)
	Train      int       // training rows
	Holdout    int       // holdout rows
}

// RolloutResult reports one round of rollouts.
type RolloutResult struct {
	Started   int     // rollouts started
	Steps     int64   // transitions made and appended
	Finished  int     // rollouts ended by the termination function
	RewardSum float64 // sum of the predicted rewards of all transitions
	PolicySec float64 // host stages: time in policy forward passes
	ModelSec  float64 // host stages: time in ensemble forward passes and sampling
}

// MeanLen is the mean number of steps a rollout ran before it terminated or
// reached k.
func (r RolloutResult) MeanLen() float64 {
	if r.Started == 0 {
		return 0
	}
	return float64(r.Steps) / float64(r.Started)
}

// MeanRew is the mean predicted reward over all transitions.
func (r RolloutResult) MeanRew() float64 {
	if r.Steps == 0 {
		return 0
	}
	return r.RewardSum / float64(r.Steps)
}

// UpdateSums are the UpdateStats of several SAC updates summed in float64.
type UpdateSums struct {
	Q1Loss, Q2Loss, PolicyLoss, AlphaLoss, Alpha, Entropy, QMean float64
	Updates                                                      int
}

// Add adds one update's statistics.
func (s *UpdateSums) Add(u UpdateStats) {
	s.Q1Loss += float64(u.Q1Loss)
	s.Q2Loss += float64(u.Q2Loss)
	s.PolicyLoss += float64(u.PolicyLoss)
	s.AlphaLoss += float64(u.AlphaLoss)
	s.Alpha += float64(u.Alpha)
	s.Entropy += float64(u.Entropy)
	s.QMean += float64(u.QMean)
	s.Updates++
}
