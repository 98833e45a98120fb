// tasks.go defines each environment: its model, observation layout, reward
// weights, termination rule and reset noise (Gymnasium v4 semantics).

package env

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/env/mujoco"
)

// task is the definition of one environment.
type task struct {
	id        string
	model     string // file in assets/
	obsDim    int
	frameSkip int

	// postConstraint asks for mj_rnePostConstraint after each step: only
	// observations that hold cfrc_ext need it.
	postConstraint bool

	weights  rewardWeights
	noise    resetNoise
	terminal TerminalFunc

	// bind ties the observation, forward progress and health checks to the
	// arrays of one simulation state.
	bind func(m *mujoco.Model, d *mujoco.Data) (physics, error)
}

// rewardWeights are the constant terms of a reward:
//
//	reward = forward·(x velocity) + healthy − control·‖action‖² − penalty
type rewardWeights struct {
	forward, control, healthy float64
}

// resetNoise is the noise added to qpos0 and to zero velocities at reset:
// qpos += U(−qpos, qpos); qvel += U(−qvel, qvel), or qvel·N(0, 1) when
// qvelNormal is set.
type resetNoise struct {
	qpos, qvel float64
	qvelNormal bool
}

// physics is a task bound to one simulation state.
type physics struct {
	observe   func(obs []float32) // writes the observation of the current state
	progress  func() float64      // the x coordinate whose rate is the forward velocity; nil: no forward term
	unhealthy func() bool         // the termination rule on the simulator state; nil: never terminates
	penalty   func() float64      // extra cost; nil: none
}

func tasks() []task {
	return []task{
		{
			id: "Ant-v4", model: "ant.xml", obsDim: 27, frameSkip: 5,
			weights:  rewardWeights{forward: 1, control: 0.5, healthy: 1},
			noise:    resetNoise{qpos: 0.1, qvel: 0.1, qvelNormal: true},
			terminal: antTerminal,
			bind:     bindAnt,
		},
		{
			id: "HalfCheetah-v4", model: "half_cheetah.xml", obsDim: 17, frameSkip: 5,
			weights:  rewardWeights{forward: 1, control: 0.1},
			noise:    resetNoise{qpos: 0.1, qvel: 0.1, qvelNormal: true},
			terminal: neverTerminal,
			bind:     bindHalfCheetah,
		},
		{
			id: "Hopper-v4", model: "hopper.xml", obsDim: 11, frameSkip: 4,
			weights:  rewardWeights{forward: 1, control: 1e-3, healthy: 1},
			noise:    resetNoise{qpos: 5e-3, qvel: 5e-3},
			terminal: hopperTerminal,
			bind:     bindHopper,
		},
		{
			id: "Humanoid-v4", model: "humanoid.xml", obsDim: 376, frameSkip: 5, postConstraint: true,
			weights:  rewardWeights{forward: 1.25, control: 0.1, healthy: 5},
			noise:    resetNoise{qpos: 1e-2, qvel: 1e-2},
			terminal: humanoidTerminal,
			bind:     bindHumanoid(true),
		},
		{
			id: "HumanoidTruncatedObs-v4", model: "humanoid.xml", obsDim: 45, frameSkip: 5,
			weights:  rewardWeights{forward: 1.25, control: 0.1, healthy: 5},
			noise:    resetNoise{qpos: 1e-2, qvel: 1e-2},
			terminal: humanoidTerminal,
			bind:     bindHumanoid(false),
		},
		{
			id: "InvertedDoublePendulum-v4", model: "inverted_double_pendulum.xml", obsDim: 11, frameSkip: 5,
			weights:  rewardWeights{healthy: 10},
			noise:    resetNoise{qpos: 0.1, qvel: 0.1, qvelNormal: true},
			terminal: invertedDoublePendulumTerminal,
			bind:     bindInvertedDoublePendulum,
		},
		{
			id: "InvertedPendulum-v4", model: "inverted_pendulum.xml", obsDim: 4, frameSkip: 2,
			weights:  rewardWeights{healthy: 1},
			noise:    resetNoise{qpos: 0.01, qvel: 0.01},
			terminal: invertedPendulumTerminal,
			bind:     bindInvertedPendulum,
		},
		{
			id: "Swimmer-v4", model: "swimmer.xml", obsDim: 8, frameSkip: 4,
			weights:  rewardWeights{forward: 1, control: 1e-4},
			noise:    resetNoise{qpos: 0.1, qvel: 0.1},
			terminal: neverTerminal,
			bind:     bindSwimmer,
		},
		{
			id: "Walker2d-v4", model: "walker2d.xml", obsDim: 17, frameSkip: 4,
			weights:  rewardWeights{forward: 1, control: 1e-3, healthy: 1},
			noise:    resetNoise{qpos: 5e-3, qvel: 5e-3},
			terminal: walkerTerminal,
			bind:     bindWalker,
		},
	}
}

// segment is one run of an observation: the values of src, clipped to
// ±clip when clip > 0.
type segment struct {
	src  []float64
	clip float64
}

// concat returns an observer writing the segments one after the other, and
// the observation length they make.
func concat(segs ...segment) (func(obs []float32), int) {
	n := 0
	for _, s := range segs {
		n += len(s.src)
	}
	return func(obs []float32) {
		k := 0
		for _, s := range segs {
			if s.clip > 0 {
				for _, v := range s.src {
					obs[k] = float32(min(max(v, -s.clip), s.clip))
					k++
				}
				continue
			}
			for _, v := range s.src {
				obs[k] = float32(v)
				k++
			}
		}
	}, n
}

// between reports lo < x < hi; false for NaN.
func between(x, lo, hi float64) bool { return lo < x && x < hi }

// allBetween reports whether every x is strictly inside (lo, hi).
func allBetween(xs []float64, lo, hi float64) bool {
	for _, x := range xs {
		if !between(x, lo, hi) {
			return false
		}
	}
	return true
}

// checkObsDim makes sure a binding produces the observation length the task
// declares.
func checkObsDim(m *mujoco.Model, got, want int) error {
	if got != want {
		return fmt.Errorf("env: model %s gives %d observation values, want %d", m.Name(), got, want)
	}
	return nil
}

// Hopper-v4: obs = qpos[1:], clip(qvel, ±10). Healthy while z = qpos[1] > 0.7,
// the torso angle qpos[2] is in (−0.2, 0.2) and qpos[2:] and the unclipped
// qvel are all in (−100, 100).
func bindHopper(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	qpos, qvel := d.Qpos(), d.Qvel()
	observe, n := concat(segment{src: qpos[1:]}, segment{src: qvel, clip: 10})
	return physics{
		observe:  observe,
		progress: func() float64 { return qpos[0] },
		unhealthy: func() bool {
			healthy := between(qpos[1], 0.7, math.Inf(1)) && between(qpos[2], -0.2, 0.2) &&
				allBetween(qpos[2:], -100, 100) && allBetween(qvel, -100, 100)
			return !healthy
		},
	}, checkObsDim(m, n, 11)
}

// Walker2d-v4: obs = qpos[1:], clip(qvel, ±10). Healthy while z = qpos[1] is
// in (0.8, 2) and the angle qpos[2] in (−1, 1).
func bindWalker(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	qpos, qvel := d.Qpos(), d.Qvel()
	observe, n := concat(segment{src: qpos[1:]}, segment{src: qvel, clip: 10})
	return physics{
		observe:   observe,
		progress:  func() float64 { return qpos[0] },
		unhealthy: func() bool { return !(between(qpos[1], 0.8, 2) && between(qpos[2], -1, 1)) },
	}, checkObsDim(m, n, 17)
}

// HalfCheetah-v4: obs = qpos[1:], qvel; never terminates.
func bindHalfCheetah(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	qpos, qvel := d.Qpos(), d.Qvel()
	observe, n := concat(segment{src: qpos[1:]}, segment{src: qvel})
	return physics{
		observe:  observe,
		progress: func() float64 { return qpos[0] },
	}, checkObsDim(m, n, 17)
}

// Swimmer-v4: obs = qpos[2:], qvel; forward progress is qpos[0]; never
// terminates.
func bindSwimmer(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	qpos, qvel := d.Qpos(), d.Qvel()
	observe, n := concat(segment{src: qpos[2:]}, segment{src: qvel})
	return physics{
		observe:  observe,
		progress: func() float64 { return qpos[0] },
	}, checkObsDim(m, n, 8)
}

// Ant-v4 (no contact forces): obs = qpos[2:], qvel. Forward progress is the x
// of the torso's body frame (xpos, as computed inside the last mj_step).
// Healthy while z = qpos[2] is in [0.2, 1]; a non-finite state is caught
// by the Env for every task.
func bindAnt(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	torso, err := m.BodyID("torso")
	if err != nil {
		return physics{}, err
	}
	qpos, qvel, xpos := d.Qpos(), d.Qvel(), d.Xpos()
	observe, n := concat(segment{src: qpos[2:]}, segment{src: qvel})
	return physics{
		observe:   observe,
		progress:  func() float64 { return xpos[3*torso] },
		unhealthy: func() bool { z := qpos[2]; return !(0.2 <= z && z <= 1) },
	}, checkObsDim(m, n, 27)
}

// Humanoid-v4: obs = qpos[2:], qvel, cinert, cvel, qfrc_actuator, cfrc_ext
// (376 values); HumanoidTruncatedObs (MBPO's Humanoid): qpos[2:], qvel only
// (45). Forward progress is the x of the mass-weighted centre of mass of all
// bodies (xipos). Healthy while z = qpos[2] is in (1, 2).
func bindHumanoid(fullObs bool) func(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	return func(m *mujoco.Model, d *mujoco.Data) (physics, error) {
		qpos, qvel, xipos := d.Qpos(), d.Qvel(), d.Xipos()
		segs := []segment{{src: qpos[2:]}, {src: qvel}}
		want := 45
		if fullObs {
			segs = append(segs, segment{src: d.Cinert()}, segment{src: d.Cvel()},
				segment{src: d.QfrcActuator()}, segment{src: d.CfrcExt()})
			want = 376
		}
		observe, n := concat(segs...)
		mass := m.BodyMass()
		total := 0.0
		for _, w := range mass {
			total += w
		}
		return physics{
			observe: observe,
			progress: func() float64 {
				x := 0.0
				for b, w := range mass {
					x += w * xipos[3*b]
				}
				return x / total
			},
			unhealthy: func() bool { return !between(qpos[2], 1, 2) },
		}, checkObsDim(m, n, want)
	}
}

// InvertedPendulum-v4: obs = qpos, qvel; reward 1 a step; terminates when the
// pole angle |qpos[1]| > 0.2.
func bindInvertedPendulum(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	qpos, qvel := d.Qpos(), d.Qvel()
	observe, n := concat(segment{src: qpos}, segment{src: qvel})
	return physics{
		observe:   observe,
		unhealthy: func() bool { return !(math.Abs(qpos[1]) <= 0.2) },
	}, checkObsDim(m, n, 4)
}

// InvertedDoublePendulum-v4: obs = cart x, sin and cos of the two hinge
// angles, clip(qvel, ±10), clip(qfrc_constraint, ±10). Reward
// 10 − (0.01 x² + (y − 2)²) − (1e-3 v1² + 5e-3 v2²) with (x, y) the tip
// site's position (site_xpos, as computed inside the last mj_step) and v1, v2
// the hinge velocities; terminates when y ≤ 1.
func bindInvertedDoublePendulum(m *mujoco.Model, d *mujoco.Data) (physics, error) {
	tip, err := m.SiteID("tip")
	if err != nil {
		return physics{}, err
	}
	if m.NQ() != 3 || m.NV() != 3 {
		return physics{}, fmt.Errorf("env: model %s has nq %d, nv %d; want a cart and two hinges", m.Name(), m.NQ(), m.NV())
	}
	qpos, qvel, site := d.Qpos(), d.Qvel(), d.SiteXpos()
	rest, _ := concat(segment{src: qvel, clip: 10}, segment{src: d.QfrcConstraint(), clip: 10})
	return physics{
		observe: func(obs []float32) {
			obs[0] = float32(qpos[0])
			s1, c1 := math.Sincos(qpos[1])
			s2, c2 := math.Sincos(qpos[2])
			obs[1], obs[2], obs[3], obs[4] = float32(s1), float32(s2), float32(c1), float32(c2)
			rest(obs[5:])
		},
		unhealthy: func() bool { return site[3*tip+2] <= 1 },
		penalty: func() float64 {
			x, y := site[3*tip], site[3*tip+2]
			v1, v2 := qvel[1], qvel[2]
			return 0.01*x*x + (y-2)*(y-2) + 1e-3*v1*v1 + 5e-3*v2*v2
		},
	}, nil
}
