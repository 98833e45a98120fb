// physics.go measures the raw MuJoCo speed of an environment's model, the
// ceiling an env pool is compared against.

package env

import (
	"fmt"
	"time"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// PhysicsSpeed is the raw simulation speed of one model on one goroutine.
type PhysicsSpeed struct {
	MjSteps   int           // mj_step calls timed
	Elapsed   time.Duration // time they took
	FrameSkip int           // mj_step calls per environment step
}

// MjStepsPerSecond is the number of mj_step calls per second.
func (s PhysicsSpeed) MjStepsPerSecond() float64 { return float64(s.MjSteps) / s.Elapsed.Seconds() }

// EnvStepsPerSecond is the raw physics speed in environment steps per second
// (mj_step calls per second ÷ frame skip).
func (s PhysicsSpeed) EnvStepsPerSecond() float64 {
	return s.MjStepsPerSecond() / float64(s.FrameSkip)
}

// MeasurePhysics measures how fast MuJoCo alone steps environment id's model.
// It first plays steps environment steps of a uniformly random policy
// (actions from rng.Key{seed, rng.Exploration, 0}) through an Env, recording
// the actions and the reset states, then times a replay of exactly the same
// simulation in one call into C: mj_step FrameSkip times per action, the same
// resets, no observations, rewards or checks. The replay sees the states an
// env pool running a random policy sees, so the two speeds compare.
func MeasurePhysics(id string, steps int, seed uint64) (PhysicsSpeed, error) {
	if steps < 1 {
		return PhysicsSpeed{}, fmt.Errorf("env: measure physics with %d steps: want at least 1", steps)
	}
	e, err := Make(id)
	if err != nil {
		return PhysicsSpeed{}, err
	}
	defer e.Close()
	s := e.Spec()
	rec := mujoco.Recording{FrameSkip: s.FrameSkip, Reset: make([]bool, steps), Ctrl: make([]float64, 0, steps*s.ActDim)}
	obs := make([]float32, s.ObsDim)
	act, unit := make([]float32, s.ActDim), make([]float32, s.ActDim)
	key := rng.Key{Seed: seed, Purpose: rng.Exploration}
	e.Seed(rng.Key{Seed: seed, Purpose: rng.EnvReset})
	ended := true
	for i := range steps {
		if ended {
			e.Reset(obs)
			rec.Reset[i] = true
			rec.Qpos = append(rec.Qpos, e.data.Qpos()...)
			rec.Qvel = append(rec.Qvel, e.data.Qvel()...)
		}
		for j := range unit {
			unit[j] = 2*key.Uniform(uint64(i*s.ActDim+j)) - 1
		}
		s.ActionFromUnit(act, unit)
		for _, a := range act {
			rec.Ctrl = append(rec.Ctrl, float64(a))
		}
		st, err := e.Step(act, obs)
		if err != nil {
			return PhysicsSpeed{}, err
		}
		ended = st.Terminated || st.Truncated
	}

	d, err := mujoco.NewData(e.model)
	if err != nil {
		return PhysicsSpeed{}, err
	}
	defer d.Close()
	start := time.Now()
	if err := d.Replay(&rec); err != nil {
		return PhysicsSpeed{}, err
	}
	elapsed := time.Since(start)
	// The replay must have simulated exactly what the Env did.
	for i, q := range e.data.Qpos() {
		if d.Qpos()[i] != q {
			return PhysicsSpeed{}, fmt.Errorf("env: %s: the physics replay diverged from the recorded episode at qpos[%d]", id, i)
		}
	}
	return PhysicsSpeed{MjSteps: steps * s.FrameSkip, Elapsed: elapsed, FrameSkip: s.FrameSkip}, nil
}
