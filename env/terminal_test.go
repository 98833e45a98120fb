// terminal_test.go checks the pure termination functions: against the
// simulator's own termination on random-policy steps, and at the edges of
// each rule.

package env

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

// TestTerminalAgreesWithSimulator plays 10,000 random-policy steps in every
// environment and compares Spec.Terminal on the float32 observations with
// the simulator's termination. (Measured beyond the test: the
// InvertedDoublePendulum rule disagreed 4 times in 300,000 random steps,
// where the tip ended a step within 0.01 of height 1; see its doc comment.)
func TestTerminalAgreesWithSimulator(t *testing.T) {
	const steps = 10000
	for _, id := range IDs() {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			e := makeEnv(t, id, 16)
			s := e.Spec()
			obs, next, act := buffers(s)
			key := rng.Key{Seed: 7, Purpose: rng.Test}
			e.Reset(obs)
			terminations := 0
			for i := range steps {
				randomAction(s, key, i, act)
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				if got := s.Terminal(obs, act, next); got != st.Terminated {
					t.Fatalf("step %d: Terminal = %v, simulator terminated = %v (next obs %v)", i, got, st.Terminated, next)
				}
				if st.Terminated {
					terminations++
				}
				if st.Terminated || st.Truncated {
					e.Reset(obs)
				} else {
					copy(obs, next)
				}
			}
			never := id == "HalfCheetah-v4" || id == "Swimmer-v4"
			if never != (terminations == 0) {
				t.Errorf("%d terminations in %d steps", terminations, steps)
			}
			t.Logf("%d steps, %d terminations, all agree", steps, terminations)
		})
	}
}

func TestTerminalEdges(t *testing.T) {
	// Boundaries such as 0.8 have no exact float32; the cases probe just
	// either side of them, and exactly at those that do (1, 2, −1).
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	// obs builds an observation of n values with the given leading entries.
	obs := func(n int, lead ...float32) []float32 {
		o := make([]float32, n)
		copy(o, lead)
		return o
	}
	// idp is an InvertedDoublePendulum observation for hinge angles a1, a2.
	idp := func(a1, a2 float64) []float32 {
		return []float32{0, float32(math.Sin(a1)), float32(math.Sin(a2)), float32(math.Cos(a1)), float32(math.Cos(a2)), 0, 0, 0, 0, 0, 0}
	}
	// angle2 gives the second hinge angle that puts the tip at height y
	// with the first hinge upright: 0.6 + 0.6 cos a2 = y.
	angle2 := func(y float64) float64 { return math.Acos(y/0.6 - 1) }
	for _, c := range []struct {
		id   string
		next []float32
		want bool
	}{
		{"Hopper-v4", obs(11, 1.25), false},
		{"Hopper-v4", obs(11, 0.6999), true}, // z must exceed 0.7
		{"Hopper-v4", obs(11, 0.7001), false},
		{"Hopper-v4", obs(11, 1.25, 0.2), true}, // angle in the open interval (−0.2, 0.2)
		{"Hopper-v4", obs(11, 1.25, -0.19), false},
		{"Hopper-v4", obs(11, 1.25, 0, 0, 100), true}, // joint angle at 100
		{"Hopper-v4", obs(11, 1.25, 0, 0, 0, 0, 0, 0, nan), true},
		{"Hopper-v4", obs(11, inf), true},
		{"Walker2d-v4", obs(17, 0.7999), true},
		{"Walker2d-v4", obs(17, 0.8001), false},
		{"Walker2d-v4", obs(17, 2), true}, // open interval: 2 itself is out
		{"Walker2d-v4", obs(17, 1.9, 0.99), false},
		{"Walker2d-v4", obs(17, 1.25, -1), true},
		{"Walker2d-v4", obs(17, 1.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, nan), true},
		{"Ant-v4", obs(27, 0.2001), false},
		{"Ant-v4", obs(27, 1), false}, // closed interval: 1 itself is in
		{"Ant-v4", obs(27, 0.199), true},
		{"Ant-v4", obs(27, 1.001), true},
		{"Ant-v4", obs(27, 0.5, 0, 0, 0, 0, nan), true},
		{"Humanoid-v4", obs(376, 1), true}, // open interval (1, 2)
		{"Humanoid-v4", obs(376, 2), true},
		{"Humanoid-v4", obs(376, 1.4), false},
		{"HumanoidTruncatedObs-v4", obs(45, 1.01), false},
		{"HumanoidTruncatedObs-v4", obs(45, 0.99), true},
		{"InvertedPendulum-v4", obs(4, 0, 0.1999), false},
		{"InvertedPendulum-v4", obs(4, 0, -0.21), true},
		{"InvertedPendulum-v4", obs(4, 0, 0, inf), true},
		{"InvertedDoublePendulum-v4", idp(0, 0), false},
		{"InvertedDoublePendulum-v4", idp(0, angle2(1.001)), false},
		{"InvertedDoublePendulum-v4", idp(0, angle2(0.999)), true},
		{"InvertedDoublePendulum-v4", idp(1.2, 0), true},
		{"InvertedDoublePendulum-v4", idp(-0.5, 0.5), false}, // y = 0.6 cos 0.5 + 0.6 = 1.127
		{"HalfCheetah-v4", obs(17, -5, 3), false},
		{"HalfCheetah-v4", obs(17, nan), false},
		{"Swimmer-v4", obs(8, inf), false},
	} {
		s, err := Lookup(c.id)
		if err != nil {
			t.Fatal(err)
		}
		act := make([]float32, s.ActDim)
		if got := s.Terminal(make([]float32, s.ObsDim), act, c.next); got != c.want {
			t.Errorf("%s: Terminal(next = %v…) = %v, want %v", c.id, c.next[:min(5, len(c.next))], got, c.want)
		}
	}
}

func TestDoublePendulumTipHeightMatchesTheModel(t *testing.T) {
	// After Reset (mj_forward on the final state) site_xpos is exact: the
	// height computed from the observation must match it.
	e := makeEnv(t, "InvertedDoublePendulum-v4", 17)
	obs := make([]float32, 11)
	for range 50 {
		e.Reset(obs)
		qpos, qvel := e.Joints()
		qpos[1] *= 10 // spread the angles over ±1 rad
		qpos[2] *= 10
		if err := e.SetJoints(qpos, qvel, obs); err != nil {
			t.Fatal(err)
		}
		if y, want := doublePendulumTipHeight(obs), e.data.SiteXpos()[2]; math.Abs(y-want) > 1e-6 {
			t.Fatalf("tip height from the observation %v, site_xpos %v (angles %v, %v)", y, want, qpos[1], qpos[2])
		}
	}
}
