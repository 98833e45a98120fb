// Package engine defines the numerical work of MBPO as an interface, so the
// trainer runs unchanged on the CPU engine (package cpu) or a GPU engine.
//
// The trainer (package trainer) owns the algorithm: the loop, schedules and
// metrics. An engine owns the arithmetic of the two kinds of networks MBPO
// trains, and the stages that work on its buffers:
//
//   - Ensemble: the bootstrap ensemble of probabilistic dynamics models;
//   - Agent: the SAC actor, twin critics, their targets and the temperature;
//   - Stages (stages.go): the real and model buffers, the fit, rollouts and
//     SAC updates over them; the host reference is package stages.
//
// All data crosses the interface as flat, row-major float32 slices in host
// memory. All parameters live in flat float32 buffers whose layouts are fixed in
// layout.go, so a checkpoint written by one engine loads in any other. All
// randomness inside an engine call comes from rng keys passed in by the caller,
// so two engines given the same keys draw the same numbers.
package engine

import "github.com/mbpogo/mbpo/rng"

// Engine creates the networks of one training run.
type Engine interface {
	// Name is a short name for logs and metrics ("cpu", "cuda").
	Name() string
	// NewEnsemble creates an ensemble with weights initialised from the
	// rng.Init stream of seed.
	NewEnsemble(spec EnsembleSpec, seed uint64) (Ensemble, error)
	// NewAgent creates a SAC agent with weights initialised from the rng.Init
	// stream of seed; target networks start equal to the critics.
	NewAgent(spec AgentSpec, seed uint64) (Agent, error)
	// NewStages makes a run's buffers and stages (stages.go) on the
	// engine's memory, around an ensemble (nil without a model) and an
	// agent it made.
	NewStages(cfg StagesConfig, ens Ensemble, agent Agent) (Stages, error)
	// Close frees what the engine holds.
	Close() error
}

// Ensemble is a bootstrap ensemble of probabilistic MLPs that predict a
// diagonal Gaussian over the target y = [Δs, r] from the input x = [s, a].
//
// Every member maps its normalised input z = (x - mean) / std through
// len(Hidden) swish layers to a linear head of 2*Out units: the first Out are
// the predicted mean μ, the last Out a raw log-variance ρ that is soft-bounded
// by the learned vectors MaxLogVar and MinLogVar (shared by all members):
//
//	logvar = MaxLogVar - softplus(MaxLogVar - ρ)
//	logvar = MinLogVar + softplus(logvar - MinLogVar)
type Ensemble interface {
	Spec() EnsembleSpec

	// SetNormalizer sets the input normalisation (length In each). A std
	// entry below 1e-12 is treated as 1.
	SetNormalizer(mean, std []float32)

	// TrainStep takes one Adam step for every member on its own minibatch and
	// returns the training loss (the sum over members of each member's mean
	// Gaussian NLL, plus weight decay and the log-variance bound penalty).
	// x is [Members][batch][In] and y is [Members][batch][Out]: member e
	// trains on rows e*batch ... e*batch+batch-1.
	//
	// Loss of member e on its batch, averaged over rows and Out:
	//	mean((μ - y)² · exp(-logvar) + logvar)
	// Added once to the total: Σ_layers WeightDecay[l] · ½‖W_l‖² (all members)
	// + 0.01 · (ΣMaxLogVar - ΣMinLogVar).
	TrainStep(x, y []float32, batch int) (loss float32, err error)

	// Evaluate runs every member on the same n rows and writes each member's
	// mean squared error of μ (over rows and Out) into mse[e] and mean
	// Gaussian NLL ((μ-y)²·exp(-logvar) + logvar, averaged) into nll[e].
	Evaluate(x, y []float32, n int, mse, nll []float32) error

	// ForwardAll runs every member on the same n rows x [n][In] and writes
	// mean and logvar, each [Members][n][Out].
	ForwardAll(x []float32, n int, mean, logvar []float32) error

	// Predict runs member members[i] on row i of x [n][In] and writes that
	// member's mean and logvar into row i of mean and logvar [n][Out].
	Predict(x []float32, members []int32, n int, mean, logvar []float32) error

	// SaveMembers copies the weights and biases of the listed members (not
	// the shared log-variance bounds, not the Adam moments) into the
	// ensemble's snapshot, replacing those members' earlier snapshots;
	// RestoreMembers copies the listed members' snapshots back into their
	// weights and biases. A retrain saves each member at every epoch that
	// improves its holdout MSE and restores them all at the end, as MBPO's
	// bnn.py does (_save_state, _set_state). Restoring a member that was
	// never saved is an error.
	SaveMembers(members []int) error
	RestoreMembers(members []int) error

	// State returns a copy of the complete state (parameters, Adam moments,
	// normaliser) for checkpoints; SetState restores it.
	State() State
	SetState(State) error
}

// Agent is the SAC learner: a tanh-Gaussian policy, twin Q critics with
// target copies, and an automatically tuned temperature α = exp(logα).
type Agent interface {
	Spec() AgentSpec

	// Act writes actions [n][Act] in [-1, 1] for observations obs [n][Obs].
	// Deterministic actions are tanh(μ(s)); stochastic ones are
	// tanh(μ + σ·ε) with ε number row*Act+j of the stream key.
	Act(obs []float32, n int, deterministic bool, key rng.Key, act []float32) error

	// Update performs one SAC update on the batch: both critics, then the
	// actor, then the temperature, then the soft target update. The action
	// noise for s' (target) is numbers [0, N·Act) of key and for s (actor)
	// numbers [N·Act, 2·N·Act).
	Update(b Batch, key rng.Key) (UpdateStats, error)

	// State returns a copy of the complete state (all networks, targets, logα,
	// Adam moments) for checkpoints; SetState restores it.
	State() State
	SetState(State) error
}

// Batch is one SAC minibatch. Done is 1 where the transition terminated (no
// bootstrap) and 0 otherwise; a time-limit truncation is not done.
type Batch struct {
	N       int
	Obs     []float32 // [N][Obs]
	Act     []float32 // [N][Act]
	Rew     []float32 // [N]
	NextObs []float32 // [N][Obs]
	Done    []float32 // [N]
}

// UpdateStats reports one SAC update.
type UpdateStats struct {
	Q1Loss, Q2Loss float32 // ½·mean((Q_i(s,a) - y)²)
	PolicyLoss     float32 // mean(α·logπ(ã|s) - min_i Q_i(s,ã))
	AlphaLoss      float32 // -mean(logα · (logπ(ã|s) + TargetEntropy))
	Alpha          float32 // α used in this update (before its own step)
	Entropy        float32 // -mean(logπ(ã|s))
	QMean          float32 // mean of Q1(s,a) over the batch
}

// State is an engine-independent snapshot: named flat buffers (layouts in
// layout.go) and the optimiser's step count.
type State struct {
	Buffers map[string][]float32
	Step    int64
}
