// terminal.go holds the pure termination functions of the environments
// (MBPO's "static" termination functions), used on model-predicted
// transitions where no simulator state exists.

package env

import "math"

// Every function below, except neverTerminal, also reports a termination when
// next holds a NaN or Inf, as the simulator ends such an episode.

// neverTerminal is the rule of HalfCheetah and Swimmer: episodes end only by
// truncation.
func neverTerminal(obs, act, next []float32) bool { return false }

// hopperTerminal: next = qpos[1:6], clip(qvel, ±10). Terminal unless
// z = next[0] > 0.7, the angle next[1] is in (−0.2, 0.2) and next[1:] is in
// (−100, 100).
//
// Blind spot: the simulator also ends the episode when an unclipped velocity
// reaches ±100, which the observation (velocities clipped to ±10) cannot
// show; such a state is reported as not terminal here.
func hopperTerminal(obs, act, next []float32) bool {
	z, angle := float64(next[0]), float64(next[1])
	if !(z > 0.7 && !math.IsInf(z, 1) && angle > -0.2 && angle < 0.2) {
		return true
	}
	for _, v := range next[1:] {
		if !(v > -100 && v < 100) {
			return true
		}
	}
	return false
}

// walkerTerminal: next = qpos[1:9], clip(qvel, ±10). Terminal unless
// z = next[0] is in (0.8, 2) and the angle next[1] in (−1, 1).
func walkerTerminal(obs, act, next []float32) bool {
	z, angle := float64(next[0]), float64(next[1])
	return !(between(z, 0.8, 2) && between(angle, -1, 1)) || !finite(next)
}

// antTerminal: next = qpos[2:], qvel. Terminal unless z = next[0] is in the
// closed interval [0.2, 1] and the state is finite.
func antTerminal(obs, act, next []float32) bool {
	z := float64(next[0])
	return !(0.2 <= z && z <= 1) || !finite(next)
}

// humanoidTerminal: next starts with qpos[2:] (Humanoid-v4 and
// HumanoidTruncatedObs). Terminal unless z = next[0] is in (1, 2).
func humanoidTerminal(obs, act, next []float32) bool {
	return !between(float64(next[0]), 1, 2) || !finite(next)
}

// invertedPendulumTerminal: next = qpos, qvel. Terminal when the pole angle
// |next[1]| > 0.2.
func invertedPendulumTerminal(obs, act, next []float32) bool {
	return !(math.Abs(float64(next[1])) <= 0.2) || !finite(next)
}

// Link geometry of inverted_double_pendulum.xml: the rail is at height 0, the
// first hinge sits on the cart, the second hinge 0.6 up the first pole, and
// the tip site 0.6 up the second pole; both hinges turn about y.
const doublePendulumLink = 0.6

// invertedDoublePendulumTerminal: next = cart x, sin θ1, sin θ2, cos θ1,
// cos θ2, clip(qvel, ±10), clip(qfrc_constraint, ±10). Terminal when the tip
// height y = 0.6 cos θ1 + 0.6 cos(θ1 + θ2) ≤ 1.
//
// The simulator reads y from site_xpos, which MuJoCo computes inside the last
// RK4 step on an intermediate state, while next holds the final state: the
// two heights differ by O(timestep²), so the rule can disagree with the
// simulator when y ends a step within that distance of 1.
func invertedDoublePendulumTerminal(obs, act, next []float32) bool {
	return doublePendulumTipHeight(next) <= 1 || !finite(next)
}

// doublePendulumTipHeight is the tip site's height for an observation.
func doublePendulumTipHeight(o []float32) float64 {
	s1, s2, c1, c2 := float64(o[1]), float64(o[2]), float64(o[3]), float64(o[4])
	return doublePendulumLink*c1 + doublePendulumLink*(c1*c2-s1*s2)
}

// finite reports whether every value of v is neither NaN nor ±Inf.
func finite(v []float32) bool {
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}
