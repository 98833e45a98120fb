// physics.go measures the raw MuJoCo speed of an environment's model, the
// ceiling an env pool is compared against.

package env

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/rng"
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

// PhysicsRecording is a random-policy run of one environment, kept so that
// MuJoCo alone can replay it to measure the raw physics speed.
type PhysicsRecording struct {
	env   *Env
	rec   *mujoco.Recording
	data  *mujoco.Data
	extra []*mujoco.Data // further simulations for MeasureParallel
}

// RecordPhysics plays steps environment steps of a uniformly random policy
// (actions from rng.Key{seed, rng.Exploration, 0}, reset noise from
// rng.Key{seed, rng.EnvReset, 0}) through environment id, recording the
// actions and the states it was reset to. Close it when done.
func RecordPhysics(id string, steps int, seed uint64) (*PhysicsRecording, error) {
	if steps < 1 {
		return nil, fmt.Errorf("env: record %d steps: want at least 1", steps)
	}
	e, err := Make(id)
	if err != nil {
		return nil, err
	}
	s := e.Spec()
	rec := &mujoco.Recording{FrameSkip: s.FrameSkip, Reset: make([]bool, steps), Ctrl: make([]float64, 0, steps*s.ActDim)}
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
			e.Close()
			return nil, err
		}
		ended = st.Terminated || st.Truncated
	}
	d, err := mujoco.NewData(e.model)
	if err != nil {
		e.Close()
		return nil, err
	}
	return &PhysicsRecording{env: e, rec: rec, data: d}, nil
}

// Steps is the number of environment steps recorded.
func (r *PhysicsRecording) Steps() int { return r.rec.Steps() }

// Measure replays the recording in one call into C, on the calling
// goroutine: mj_step FrameSkip times per recorded action, the same resets,
// no observations, rewards or checks. The replay visits exactly the states
// of the recorded run, those an env pool running a random policy visits, so
// the speeds compare.
func (r *PhysicsRecording) Measure() (PhysicsSpeed, error) {
	start := time.Now()
	if err := r.data.Replay(r.rec); err != nil {
		return PhysicsSpeed{}, err
	}
	elapsed := time.Since(start)
	if err := r.check(r.data); err != nil {
		return PhysicsSpeed{}, err
	}
	return PhysicsSpeed{MjSteps: r.Steps() * r.rec.FrameSkip, Elapsed: elapsed, FrameSkip: r.rec.FrameSkip}, nil
}

// MeasureParallel replays the recording on threads OS threads at once, each
// with its own simulation, and reports their combined speed: from the common
// start to the end of the last replay. It is the most a machine's cores
// give to independent simulations together (shared caches, memory bandwidth
// and clock limits included), the ceiling of an env pool with that many
// workers.
func (r *PhysicsRecording) MeasureParallel(threads int) (PhysicsSpeed, error) {
	if threads < 1 {
		return PhysicsSpeed{}, fmt.Errorf("env: measure physics on %d threads: want at least 1", threads)
	}
	for len(r.extra) < threads-1 {
		d, err := mujoco.NewData(r.env.model)
		if err != nil {
			return PhysicsSpeed{}, err
		}
		r.extra = append(r.extra, d)
	}
	datas := append([]*mujoco.Data{r.data}, r.extra[:threads-1]...)
	errs := make([]error, threads)
	var ready, done sync.WaitGroup
	ready.Add(threads)
	done.Add(threads)
	start := make(chan struct{})
	for k, d := range datas {
		go func() {
			defer done.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			ready.Done()
			<-start
			errs[k] = d.Replay(r.rec)
		}()
	}
	ready.Wait()
	t0 := time.Now()
	close(start)
	done.Wait()
	elapsed := time.Since(t0)
	for k, d := range datas {
		if err := errors.Join(errs[k], r.check(d)); err != nil {
			return PhysicsSpeed{}, err
		}
	}
	return PhysicsSpeed{MjSteps: threads * r.Steps() * r.rec.FrameSkip, Elapsed: elapsed, FrameSkip: r.rec.FrameSkip}, nil
}

// check reports whether a replay into d simulated exactly what the Env did.
func (r *PhysicsRecording) check(d *mujoco.Data) error {
	for i, q := range r.env.data.Qpos() {
		if d.Qpos()[i] != q {
			return fmt.Errorf("env: %s: the physics replay diverged from the recorded run at qpos[%d]", r.env.spec.ID, i)
		}
	}
	return nil
}

// Close frees the recording's simulations.
func (r *PhysicsRecording) Close() error {
	errs := []error{r.data.Close(), r.env.Close()}
	for _, d := range r.extra {
		errs = append(errs, d.Close())
	}
	return errors.Join(errs...)
}
