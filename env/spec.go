// spec.go describes the environments: their ids, sizes and action bounds, and
// the embedded MuJoCo models they are built from.

// Package env provides the MuJoCo benchmark environments with Gymnasium v4
// semantics (observation layout, reward terms, termination, truncation at 1000
// steps, frame skip, reset noise), their pure termination functions for model
// rollouts, and a pool that steps many of them on several goroutines.
//
// The MJCF models are the eight files of Gymnasium's assets directory, shipped
// unchanged inside the package (assets/, MIT license). Reset noise comes from
// the project's counter-based generator (package rng), so one seed gives the
// same episodes on any machine and with any number of pool workers; it cannot
// match Gymnasium's NumPy numbers bit for bit.
//
// Two deliberate differences from Gymnasium: an action of the wrong length or
// holding NaN or Inf is an error and the simulation is left untouched; and a
// step after which the simulator state is not finite (or MuJoCo had to reset
// it, having found a bad qpos, qvel or qacc) ends the episode as terminated,
// with Info.NonFinite set.
package env

import (
	"embed"
	"fmt"
	"sort"
	"strings"

	"github.com/mbpogo/mbpo/env/mujoco"
)

//go:embed assets/*.xml assets/LICENSE
var assets embed.FS

// MaxEpisodeSteps is the step at which every environment truncates its
// episodes (Gymnasium's TimeLimit for the MuJoCo v4 environments).
const MaxEpisodeSteps = 1000

// Spec describes one environment.
type Spec struct {
	ID    string // e.g. "Hopper-v4"
	Model string // file name of the MJCF model, e.g. "hopper.xml"

	ObsDim          int     // length of an observation
	ActDim          int     // length of an action (the model's actuators)
	FrameSkip       int     // MuJoCo steps per environment step
	MaxEpisodeSteps int     // steps after which an episode is truncated
	Dt              float64 // seconds per environment step: timestep × FrameSkip

	ActLow, ActHigh []float32 // per-actuator control range of the model

	// Terminal is the environment's termination rule as a pure function of
	// observations, for model rollouts. Never nil.
	Terminal TerminalFunc
}

// TerminalFunc tells from an observation, the action taken and the next
// observation whether the episode terminated (not truncated) at that step.
// It reads only its arguments, so it may be called from many goroutines.
type TerminalFunc func(obs, act, next []float32) bool

// ActionFromUnit writes into dst the action whose components are unit's,
// mapped from [-1, 1] to [ActLow, ActHigh] (the centre of the range plus unit
// times its half-width). Both slices must have ActDim entries.
func (s Spec) ActionFromUnit(dst, unit []float32) {
	if len(dst) != s.ActDim || len(unit) != s.ActDim {
		panic(fmt.Sprintf("env: %s: ActionFromUnit with %d and %d values, want %d", s.ID, len(dst), len(unit), s.ActDim))
	}
	for i, u := range unit {
		lo, hi := s.ActLow[i], s.ActHigh[i]
		dst[i] = (lo+hi)/2 + u*(hi-lo)/2
	}
}

// IDs returns the ids of all environments, sorted.
func IDs() []string {
	ids := make([]string, 0, len(tasks()))
	for _, t := range tasks() {
		ids = append(ids, t.id)
	}
	sort.Strings(ids)
	return ids
}

// Lookup returns the Spec of environment id. It compiles the environment's
// model to read the action range and time step.
func Lookup(id string) (Spec, error) {
	t, err := findTask(id)
	if err != nil {
		return Spec{}, err
	}
	m, err := loadModel(t.model)
	if err != nil {
		return Spec{}, err
	}
	defer m.Close()
	return t.spec(m), nil
}

func findTask(id string) (task, error) {
	for _, t := range tasks() {
		if t.id == id {
			return t, nil
		}
	}
	return task{}, fmt.Errorf("env: unknown environment %q; valid ids: %s", id, strings.Join(IDs(), ", "))
}

// loadModel compiles one of the embedded models.
func loadModel(file string) (*mujoco.Model, error) {
	xml, err := assets.ReadFile("assets/" + file)
	if err != nil {
		return nil, fmt.Errorf("env: model %s is not embedded: %w", file, err)
	}
	return mujoco.LoadXML(file, xml)
}

// spec builds the Spec of t for its compiled model m.
func (t task) spec(m *mujoco.Model) Spec {
	low, high := m.CtrlRange()
	s := Spec{
		ID:              t.id,
		Model:           t.model,
		ObsDim:          t.obsDim,
		ActDim:          m.NU(),
		FrameSkip:       t.frameSkip,
		MaxEpisodeSteps: MaxEpisodeSteps,
		Dt:              m.Timestep() * float64(t.frameSkip),
		ActLow:          make([]float32, m.NU()),
		ActHigh:         make([]float32, m.NU()),
		Terminal:        t.terminal,
	}
	for i := range low {
		s.ActLow[i], s.ActHigh[i] = float32(low[i]), float32(high[i])
	}
	return s
}
