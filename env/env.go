// env.go is one environment: a MuJoCo simulation stepped with Gymnasium v4
// semantics.

package env

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/rng"
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
	steps   int     // steps in the current episode
	running bool    // Reset was called and the episode has not ended
	x       float64 // forward progress at the end of the last step or reset
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
	e.x = e.progress()
	e.steps = 0
	e.running = true
}

// progress is the x coordinate whose rate is the forward velocity, 0 for
// tasks without a forward term.
func (e *Env) progress() float64 {
	if e.phys.progress == nil {
		return 0
	}
	return e.phys.progress()
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
	ctrl := e.data.Ctrl()
	for i, a := range action {
		ctrl[i] = float64(a)
	}
	bad := e.data.Step(e.spec.FrameSkip, e.task.postConstraint)
	p.observe(obs)

	var info Info
	if p.progress != nil {
		// Nothing moves between steps: the position before this step is
		// the one after the last (or after Reset).
		x := p.progress()
		info.XVelocity = (x - e.x) / e.spec.Dt
		info.Forward = w.forward * info.XVelocity
		e.x = x
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

// Joints returns copies of the simulator's position and velocity
// coordinates (qpos, nq values; qvel, nv values).
func (e *Env) Joints() (qpos, qvel []float64) {
	return slices.Clone(e.data.Qpos()), slices.Clone(e.data.Qvel())
}

// SetJoints sets the simulator's position and velocity coordinates, as
// Gymnasium's set_state: the derived quantities are recomputed and the
// episode's step count is kept. It writes the resulting observation into obs
// and starts an episode if none is running.
func (e *Env) SetJoints(qpos, qvel []float64, obs []float32) error {
	m := e.model
	if len(qpos) != m.NQ() || len(qvel) != m.NV() || len(obs) != e.spec.ObsDim {
		return fmt.Errorf("env: %s: SetJoints with %d qpos, %d qvel, %d obs values; want %d, %d, %d",
			e.spec.ID, len(qpos), len(qvel), len(obs), m.NQ(), m.NV(), e.spec.ObsDim)
	}
	copy(e.data.Qpos(), qpos)
	copy(e.data.Qvel(), qvel)
	e.data.Forward()
	e.phys.observe(obs)
	e.x = e.progress()
	e.running = true
	return nil
}

// State is everything that decides how an Env continues: the simulator
// state, the episode's progress and the position in the reset-noise stream.
// It encodes to JSON, for checkpoints.
type State struct {
	ID            string     `json:"id"`
	Qpos          []float64  `json:"qpos"`
	Qvel          []float64  `json:"qvel"`
	QaccWarmstart []float64  `json:"qacc_warmstart"` // the constraint solver's starting point
	Time          float64    `json:"time"`
	X             float64    `json:"x"` // forward position the next step's velocity is measured from
	EpisodeSteps  int        `json:"episode_steps"`
	Running       bool       `json:"running"`
	Noise         rng.Stream `json:"noise"`
}

// State captures the environment's state. An Env of the same id given it
// with SetState continues bit for bit as this one would.
func (e *Env) State() State {
	d := e.data
	return State{
		ID:            e.spec.ID,
		Qpos:          slices.Clone(d.Qpos()),
		Qvel:          slices.Clone(d.Qvel()),
		QaccWarmstart: slices.Clone(d.QaccWarmstart()),
		Time:          d.Time(),
		X:             e.x,
		EpisodeSteps:  e.steps,
		Running:       e.running,
		Noise:         e.noise,
	}
}

// SetState restores a state captured by State on an Env of the same id. The
// observation of the restored state is the one the Env returned last (keep it
// with the state); the simulator's derived quantities are recomputed by the
// next Step.
func (e *Env) SetState(s State) error {
	m := e.model
	switch {
	case s.ID != e.spec.ID:
		return fmt.Errorf("env: %s: SetState with a state of %q", e.spec.ID, s.ID)
	case len(s.Qpos) != m.NQ() || len(s.Qvel) != m.NV() || len(s.QaccWarmstart) != m.NV():
		return fmt.Errorf("env: %s: SetState with %d qpos, %d qvel, %d qacc_warmstart values; want %d, %d, %d",
			e.spec.ID, len(s.Qpos), len(s.Qvel), len(s.QaccWarmstart), m.NQ(), m.NV(), m.NV())
	case s.EpisodeSteps < 0 || s.EpisodeSteps > e.spec.MaxEpisodeSteps:
		return fmt.Errorf("env: %s: SetState at episode step %d, outside [0, %d]", e.spec.ID, s.EpisodeSteps, e.spec.MaxEpisodeSteps)
	case !finite64(s.Qpos) || !finite64(s.Qvel) || !finite64(s.QaccWarmstart):
		return fmt.Errorf("env: %s: SetState with a non-finite simulator state", e.spec.ID)
	}
	d := e.data
	d.Reset()
	copy(d.Qpos(), s.Qpos)
	copy(d.Qvel(), s.Qvel)
	copy(d.QaccWarmstart(), s.QaccWarmstart)
	d.SetTime(s.Time)
	e.x, e.steps, e.running, e.noise = s.X, s.EpisodeSteps, s.Running, s.Noise
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
