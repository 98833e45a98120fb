// env.go is one environment: a MuJoCo simulation stepped with Gymnasium v4
// semantics.

package env

import (
	"errors"
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// Step is the outcome of one environment step.
type Step struct {
	Reward     float64
	Terminated bool // the episode ended in a terminal state (do not bootstrap)
	Truncated  bool // the episode reached MaxEpisodeSteps (bootstrap); may come with Terminated
	Info       Info
}

// Info breaks the reward into its terms, so that
// Reward = Forward + Healthy − Control − Penalty.
type Info struct {
	Forward   float64 // forward weight × XVelocity
	Control   float64 // control cost: weight × ‖action‖² (a cost, subtracted)
	Healthy   float64 // healthy or alive bonus
	Penalty   float64 // other costs (InvertedDoublePendulum's distance and velocity penalties)
	XVelocity float64 // forward velocity in m/s, from the positions before and after the step

	// NonFinite reports that the simulator state became NaN, infinite, or so
	// large that MuJoCo reset it. The step is then terminated; its reward and
	// observation mean nothing and the transition should not be learned from.
	NonFinite bool
}

// Env is one environment. It is not safe for concurrent use; use a Pool to
// step many at once.
type Env struct {
	spec      Spec
	task      task
	model     *mujoco.Model
	ownsModel bool
	data      *mujoco.Data
	phys      physics
	qpos0     []float64

	noise   rng.Stream
	steps   int  // steps in the current episode
	running bool // Reset was called and the episode has not ended
}

// Make builds environment id, seeded with the zero key of rng.EnvReset
// (call Seed to choose another) and waiting for Reset.
func Make(id string) (*Env, error) {
	t, err := findTask(id)
	if err != nil {
		return nil, err
	}
	m, err := loadModel(t.model)
	if err != nil {
		return nil, err
	}
	e, err := newEnv(t, m)
	if err != nil {
		m.Close()
		return nil, err
	}
	e.ownsModel = true
	return e, nil
}

// newEnv builds an environment of task t on the compiled model m, which the
// caller keeps ownership of.
func newEnv(t task, m *mujoco.Model) (*Env, error) {
	d, err := mujoco.NewData(m)
	if err != nil {
		return nil, err
	}
	phys, err := t.bind(m, d)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("env: %s: %w", t.id, err)
	}
	return &Env{
		spec:  t.spec(m),
		task:  t,
		model: m,
		data:  d,
		phys:  phys,
		qpos0: m.Qpos0(),
		noise: rng.Stream{Key: rng.Key{Purpose: rng.EnvReset}},
	}, nil
}

// Spec describes the environment.
func (e *Env) Spec() Spec { return e.spec }

// Seed chooses the stream of reset noise: the following resets draw numbers
// 0, 1, 2, ... of key (qpos noise first, then qvel noise, for each reset).
func (e *Env) Seed(key rng.Key) { e.noise = rng.Stream{Key: key} }

// Reset starts an episode from the model's reference state plus reset noise,
// and writes the initial observation into obs (ObsDim values).
func (e *Env) Reset(obs []float32) {
	if len(obs) != e.spec.ObsDim {
		panic(fmt.Sprintf("env: %s: Reset with an observation buffer of %d values, want %d", e.spec.ID, len(obs), e.spec.ObsDim))
	}
	d := e.data
	d.Reset()
	qpos, qvel := d.Qpos(), d.Qvel()
	n := e.task.noise
	for i := range qpos {
		qpos[i] = e.qpos0[i] + n.qpos*(2*float64(e.noise.Uniform())-1)
	}
	for i := range qvel {
		if n.qvelNormal {
			qvel[i] = n.qvel * float64(e.noise.Normal())
		} else {
			qvel[i] = n.qvel * (2*float64(e.noise.Uniform()) - 1)
		}
	}
	d.Forward()
	e.phys.observe(obs)
	e.steps = 0
	e.running = true
}

// ErrEpisodeOver is returned by Step when the episode has ended (or never
// started): call Reset first.
var ErrEpisodeOver = errors.New("episode is over: call Reset before Step")

// Step applies action (ActDim values) for FrameSkip simulator steps and writes
// the next observation into obs (ObsDim values). An action of the wrong
// length or holding NaN or Inf is an error, and the simulation is left
// untouched. Actions outside [ActLow, ActHigh] are clamped by MuJoCo; the
// control cost uses the action as given.
func (e *Env) Step(action, obs []float32) (Step, error) {
	if err := e.checkAction(action); err != nil {
		return Step{}, err
	}
	if len(obs) != e.spec.ObsDim {
		return Step{}, fmt.Errorf("env: %s: observation buffer has %d values, want %d", e.spec.ID, len(obs), e.spec.ObsDim)
	}
	if !e.running {
		return Step{}, fmt.Errorf("env: %s: %w", e.spec.ID, ErrEpisodeOver)
	}
	p, w := &e.phys, e.task.weights
	before := 0.0
	if p.progress != nil {
		before = p.progress()
	}
	ctrl := e.data.Ctrl()
	for i, a := range action {
		ctrl[i] = float64(a)
	}
	bad := e.data.Step(e.spec.FrameSkip, e.task.postConstraint)
	p.observe(obs)

	var info Info
	if p.progress != nil {
		info.XVelocity = (p.progress() - before) / e.spec.Dt
		info.Forward = w.forward * info.XVelocity
	}
	if w.control != 0 {
		sum := 0.0
		for _, a := range action {
			sum += float64(a) * float64(a)
		}
		info.Control = w.control * sum
	}
	info.Healthy = w.healthy
	if p.penalty != nil {
		info.Penalty = p.penalty()
	}
	info.NonFinite = bad || !finite64(e.data.Qpos()) || !finite64(e.data.Qvel()) || !finite(obs)

	e.steps++
	st := Step{
		Reward:     info.Forward + info.Healthy - info.Control - info.Penalty,
		Terminated: info.NonFinite || (p.unhealthy != nil && p.unhealthy()),
		Truncated:  e.steps >= e.spec.MaxEpisodeSteps,
		Info:       info,
	}
	if st.Terminated || st.Truncated {
		e.running = false
	}
	return st, nil
}

// checkAction rejects an action of the wrong length or holding NaN or Inf.
func (e *Env) checkAction(action []float32) error {
	if len(action) != e.spec.ActDim {
		return fmt.Errorf("env: %s: action has %d values, want %d", e.spec.ID, len(action), e.spec.ActDim)
	}
	for i, a := range action {
		if math.IsNaN(float64(a)) || math.IsInf(float64(a), 0) {
			return fmt.Errorf("env: %s: action[%d] is %v; actions must be finite", e.spec.ID, i, a)
		}
	}
	return nil
}

// EpisodeSteps is the number of steps taken in the current episode.
func (e *Env) EpisodeSteps() int { return e.steps }

// State copies the simulator's position and velocity coordinates into qpos
// (nq values) and qvel (nv values), and returns them.
func (e *Env) State(qpos, qvel []float64) ([]float64, []float64) {
	return append(qpos[:0], e.data.Qpos()...), append(qvel[:0], e.data.Qvel()...)
}

// SetState sets the simulator's position and velocity coordinates (as
// Gymnasium's set_state: the derived quantities are recomputed, the episode's
// step count is kept) and writes the resulting observation into obs. It
// starts an episode if none is running.
func (e *Env) SetState(qpos, qvel []float64, obs []float32) error {
	m := e.model
	if len(qpos) != m.NQ() || len(qvel) != m.NV() || len(obs) != e.spec.ObsDim {
		return fmt.Errorf("env: %s: SetState with %d qpos, %d qvel, %d obs values; want %d, %d, %d",
			e.spec.ID, len(qpos), len(qvel), len(obs), m.NQ(), m.NV(), e.spec.ObsDim)
	}
	copy(e.data.Qpos(), qpos)
	copy(e.data.Qvel(), qvel)
	e.data.Forward()
	e.phys.observe(obs)
	e.running = true
	return nil
}

// Close frees the simulation. The Env must not be used afterwards.
func (e *Env) Close() error {
	if e.data == nil {
		return nil
	}
	err := e.data.Close()
	e.data = nil
	if e.ownsModel {
		err = errors.Join(err, e.model.Close())
	}
	return err
}

// finite64 reports whether every value of v is neither NaN nor ±Inf.
func finite64(v []float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
