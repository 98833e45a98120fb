// networks.go: the networks a checkpoint holds, read for tools outside the
// training loop (mbpo export, mbpo eval --video) through the checkpoint
// reader of checkpoint.go.

package trainer

import (
	"fmt"
	"path/filepath"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// Networks are the networks of a run's checkpoint, in the engine-independent
// layouts of engine (layout.go).
type Networks struct {
	Config   Config
	Env      env.Spec
	EnvSteps int // env steps when the checkpoint was saved

	Agent      engine.AgentSpec
	AgentState engine.State // "policy", "q1", "q2", "q1_target", "q2_target", "log_alpha" and Adam moments

	// Ensemble is nil for a run without a dynamics model (SAC, the
	// no-model ablation); EnsembleState then holds nothing.
	Ensemble      *engine.EnsembleSpec
	EnsembleState engine.State // "params", "norm_mean", "norm_std" and Adam moments
	Elites        []int        // the elite members, best first
	Retrains      uint64       // model retrains so far (0: the model is untrained)
}

// ReadNetworks reads and verifies the checkpoint in runDir and returns its
// networks.
func ReadNetworks(runDir string) (Networks, error) {
	path := filepath.Join(runDir, rundir.CheckpointFile)
	h, secs, err := readCheckpoint(path)
	if err != nil {
		return Networks{}, err
	}
	spec, err := env.Lookup(h.Config.Env)
	if err != nil {
		return Networks{}, fmt.Errorf("%s: %w", path, err)
	}
	n := Networks{
		Config: h.Config, Env: spec, EnvSteps: h.EnvSteps,
		Agent:      h.Config.AgentSpec(spec.ObsDim, spec.ActDim),
		AgentState: engine.State{Buffers: secs.f32["agent/"], Step: h.AgentStep},
		Elites:     append([]int(nil), h.Elites...),
		Retrains:   h.Retrains,
	}
	if err := checkBuffers(path, "agent", n.AgentState, map[string]int{
		"policy": n.Agent.Policy().NumParams(), "q1": n.Agent.Critic().NumParams(), "q2": n.Agent.Critic().NumParams(),
		"q1_target": n.Agent.Critic().NumParams(), "q2_target": n.Agent.Critic().NumParams(), "log_alpha": 1,
	}); err != nil {
		return Networks{}, err
	}
	if h.Config.Model() {
		es := h.Config.EnsembleSpec(spec.ObsDim, spec.ActDim)
		n.Ensemble = &es
		n.EnsembleState = engine.State{Buffers: secs.f32["model/"], Step: h.ModelStep}
		if err := checkBuffers(path, "model", n.EnsembleState, map[string]int{
			"params": es.NumParams(), "norm_mean": es.In, "norm_std": es.In,
		}); err != nil {
			return Networks{}, err
		}
	}
	return n, nil
}

// checkBuffers reports a buffer of st missing or not of the length want
// says.
func checkBuffers(path, what string, st engine.State, want map[string]int) error {
	for name, n := range want {
		b, ok := st.Buffers[name]
		if !ok {
			return fmt.Errorf("%s: no %s buffer %q", path, what, name)
		}
		if len(b) != n {
			return fmt.Errorf("%s: %s buffer %q has %d values, want %d for the run's config", path, what, name, len(b), n)
		}
	}
	return nil
}

// NewAgent returns the checkpoint's agent on eng.
func (n Networks) NewAgent(eng engine.Engine) (engine.Agent, error) {
	agent, err := eng.NewAgent(n.Agent, n.Config.Seed)
	if err != nil {
		return nil, err
	}
	if err := agent.SetState(n.AgentState); err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return agent, nil
}

// NewEnsemble returns the checkpoint's dynamics ensemble on eng.
func (n Networks) NewEnsemble(eng engine.Engine) (engine.Ensemble, error) {
	if n.Ensemble == nil {
		return nil, fmt.Errorf("a run of algo %s, ablation %s has no dynamics model", n.Config.Algo, n.Config.Ablation)
	}
	ens, err := eng.NewEnsemble(*n.Ensemble, n.Config.Seed)
	if err != nil {
		return nil, err
	}
	if err := ens.SetState(n.EnsembleState); err != nil {
		return nil, fmt.Errorf("ensemble: %w", err)
	}
	return ens, nil
}

// Buffers are the replay buffers of a run's checkpoint.
type Buffers struct {
	Config   Config
	EnvSteps int // env steps when the checkpoint was saved
	K        int // the rollout length of the model buffer's last round
	Real     *stages.Replay
	// Model is nil for a run without a dynamics model, or when the
	// checkpoint left it out (over --checkpoint-model-buffer-mib).
	Model *stages.Replay
}

// ReadBuffers reads and verifies the checkpoint in runDir and returns its
// replay buffers.
func ReadBuffers(runDir string) (Buffers, error) {
	path := filepath.Join(runDir, rundir.CheckpointFile)
	h, secs, err := readCheckpoint(path)
	if err != nil {
		return Buffers{}, err
	}
	b := Buffers{Config: h.Config, EnvSteps: h.EnvSteps, K: h.K, Real: secs.replay["real"], Model: secs.replay["model_buffer"]}
	if b.Real == nil {
		return Buffers{}, fmt.Errorf("%s: no real buffer", path)
	}
	return b, nil
}
