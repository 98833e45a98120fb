// env_test.go checks one Env against the simulator state it wraps:
// observation layouts, rewards, termination, reset noise, truncation,
// determinism and the handling of bad input.

package env

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/rng"
)

// cat concatenates float64 runs, clipping each value of a run to ±lim when
// lim > 0.
func cat(runs ...[]float64) []float64 {
	var out []float64
	for _, r := range runs {
		out = append(out, r...)
	}
	return out
}

func clipped(v []float64, lim float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Max(-lim, math.Min(lim, x))
	}
	return out
}

// layouts gives, for each environment, its observation written out from the
// simulator arrays (Gymnasium v4 _get_obs).
var layouts = map[string]func(d *mujoco.Data) []float64{
	"Hopper-v4":      func(d *mujoco.Data) []float64 { return cat(d.Qpos()[1:], clipped(d.Qvel(), 10)) },
	"Walker2d-v4":    func(d *mujoco.Data) []float64 { return cat(d.Qpos()[1:], clipped(d.Qvel(), 10)) },
	"HalfCheetah-v4": func(d *mujoco.Data) []float64 { return cat(d.Qpos()[1:], d.Qvel()) },
	"Swimmer-v4":     func(d *mujoco.Data) []float64 { return cat(d.Qpos()[2:], d.Qvel()) },
	"Ant-v4":         func(d *mujoco.Data) []float64 { return cat(d.Qpos()[2:], d.Qvel()) },
	"Humanoid-v4": func(d *mujoco.Data) []float64 {
		return cat(d.Qpos()[2:], d.Qvel(), d.Cinert(), d.Cvel(), d.QfrcActuator(), d.CfrcExt())
	},
	"HumanoidTruncatedObs-v4": func(d *mujoco.Data) []float64 { return cat(d.Qpos()[2:], d.Qvel()) },
	"InvertedPendulum-v4":     func(d *mujoco.Data) []float64 { return cat(d.Qpos(), d.Qvel()) },
	"InvertedDoublePendulum-v4": func(d *mujoco.Data) []float64 {
		q := d.Qpos()
		return cat(q[:1], []float64{math.Sin(q[1]), math.Sin(q[2]), math.Cos(q[1]), math.Cos(q[2])},
			clipped(d.Qvel(), 10), clipped(d.QfrcConstraint(), 10))
	},
}

// checkLayout compares obs with the layout of e's current simulator state.
func checkLayout(t *testing.T, e *Env, obs []float32, when string) {
	t.Helper()
	want := layouts[e.spec.ID](e.data)
	if len(want) != len(obs) {
		t.Fatalf("%s: observation has %d values, the layout %d", when, len(obs), len(want))
	}
	for k, w := range want {
		// sin and cos may differ from Go's math.Sincos in the last bit of
		// the float64; everything else must be exact.
		if obs[k] != float32(w) && math.Abs(float64(obs[k])-w) > 1e-7 {
			t.Fatalf("%s: obs[%d] = %v, want %v", when, k, obs[k], float32(w))
		}
	}
}

func TestObservationLayout(t *testing.T) {
	for _, id := range IDs() {
		t.Run(id, func(t *testing.T) {
			e := makeEnv(t, id, 1)
			s := e.Spec()
			obs, next, act := buffers(s)
			key := rng.Key{Seed: 2, Purpose: rng.Test}
			e.Reset(obs)
			checkLayout(t, e, obs, "after Reset")
			for i := range 40 {
				randomAction(s, key, i, act)
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				checkLayout(t, e, next, "after Step")
				if st.Terminated || st.Truncated {
					e.Reset(obs)
				}
			}
			// Large velocities show where the observation clips them.
			qpos, qvel := e.Joints()
			for i := range qvel {
				qvel[i] = 50 * float64(1-2*(i%2))
			}
			if err := e.SetJoints(qpos, qvel, obs); err != nil {
				t.Fatal(err)
			}
			checkLayout(t, e, obs, "after SetJoints with |qvel| = 50")
		})
	}
}

func TestSpotObservationEntries(t *testing.T) {
	// A few entries spelled out, as the issue states them.
	e := makeEnv(t, "Hopper-v4", 3)
	obs := make([]float32, 11)
	e.Reset(obs)
	q, v := e.data.Qpos(), e.data.Qvel()
	if obs[0] != float32(q[1]) || obs[1] != float32(q[2]) || obs[5] != float32(v[0]) {
		t.Errorf("Hopper obs[0], obs[1], obs[5] = %v, %v, %v; want qpos[1], qpos[2], qvel[0] = %v, %v, %v",
			obs[0], obs[1], obs[5], q[1], q[2], v[0])
	}
	h := makeEnv(t, "Humanoid-v4", 3)
	hobs := make([]float32, 376)
	h.Reset(hobs)
	for k, x := range hobs[376-84:] {
		if x != 0 {
			t.Fatalf("Humanoid cfrc_ext obs[%d] = %v after Reset, want 0 as in Gymnasium", 376-84+k, x)
		}
	}
	act := make([]float32, 17)
	for range 20 { // the humanoid starts just above the floor
		if _, err := h.Step(act, hobs); err != nil {
			t.Fatal(err)
		}
	}
	nonzero := 0
	for _, x := range hobs[376-84:] {
		if x != 0 {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Error("Humanoid cfrc_ext all zero with the feet on the floor: mj_rnePostConstraint not run")
	}
}

// progressOf gives, per environment, the x coordinate the forward reward
// differentiates, read from the simulator arrays (nil: no forward term).
func progressOf(e *Env) func() float64 {
	d, m := e.data, e.model
	switch e.spec.ID {
	case "Hopper-v4", "Walker2d-v4", "HalfCheetah-v4", "Swimmer-v4":
		return func() float64 { return d.Qpos()[0] }
	case "Ant-v4":
		torso, _ := m.BodyID("torso")
		return func() float64 { return d.Xpos()[3*torso] }
	case "Humanoid-v4", "HumanoidTruncatedObs-v4":
		mass := m.BodyMass()
		return func() float64 {
			num, den := 0.0, 0.0
			for b, w := range mass {
				num += w * d.Xipos()[3*b]
				den += w
			}
			return num / den
		}
	}
	return nil
}

func TestRewardRecomputed(t *testing.T) {
	for _, c := range []struct {
		id                        string
		forward, control, healthy float64
	}{
		{"Ant-v4", 1, 0.5, 1},
		{"HalfCheetah-v4", 1, 0.1, 0},
		{"Hopper-v4", 1, 1e-3, 1},
		{"Humanoid-v4", 1.25, 0.1, 5},
		{"HumanoidTruncatedObs-v4", 1.25, 0.1, 5},
		{"InvertedDoublePendulum-v4", 0, 0, 10},
		{"InvertedPendulum-v4", 0, 0, 1},
		{"Swimmer-v4", 1, 1e-4, 0},
		{"Walker2d-v4", 1, 1e-3, 1},
	} {
		t.Run(c.id, func(t *testing.T) {
			e := makeEnv(t, c.id, 4)
			s := e.Spec()
			obs, next, act := buffers(s)
			key := rng.Key{Seed: 5, Purpose: rng.Test}
			progress := progressOf(e)
			e.Reset(obs)
			for i := range 60 {
				randomAction(s, key, i, act)
				before := 0.0
				if progress != nil {
					before = progress()
				}
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				want := c.healthy
				if progress != nil {
					xvel := (progress() - before) / s.Dt
					want += c.forward * xvel
					if math.Abs(st.Info.XVelocity-xvel) > 1e-12*(1+math.Abs(xvel)) {
						t.Fatalf("step %d: XVelocity %v, want %v", i, st.Info.XVelocity, xvel)
					}
				}
				sq := 0.0
				for _, a := range act {
					sq += float64(a) * float64(a)
				}
				want -= c.control * sq
				if c.id == "InvertedDoublePendulum-v4" {
					tip := e.data.SiteXpos() // one site: the tip
					x, y := tip[0], tip[2]
					v1, v2 := e.data.Qvel()[1], e.data.Qvel()[2]
					want -= 0.01*x*x + (y-2)*(y-2) + 1e-3*v1*v1 + 5e-3*v2*v2
				}
				if math.Abs(st.Reward-want) > 1e-9*(1+math.Abs(want)) {
					t.Fatalf("step %d: reward %v, recomputed %v", i, st.Reward, want)
				}
				in := st.Info
				if sum := in.Forward + in.Healthy - in.Control - in.Penalty; math.Abs(sum-st.Reward) > 1e-12*(1+math.Abs(sum)) {
					t.Fatalf("step %d: reward parts %+v sum to %v, reward %v", i, in, sum, st.Reward)
				}
				if in.Healthy != c.healthy || math.Abs(in.Control-c.control*sq) > 1e-15 {
					t.Fatalf("step %d: Healthy %v, Control %v; want %v, %v", i, in.Healthy, in.Control, c.healthy, c.control*sq)
				}
				if st.Terminated || st.Truncated {
					e.Reset(obs)
				}
			}
		})
	}
}

func TestControlCostUsesTheActionAsGiven(t *testing.T) {
	// MuJoCo clamps the control to ±0.4 but the cost is Gymnasium's, on the
	// action (Humanoid's data.ctrl equals the action).
	e := makeEnv(t, "Humanoid-v4", 6)
	obs, next, act := buffers(e.Spec())
	e.Reset(obs)
	for i := range act {
		act[i] = 2
	}
	st, err := e.Step(act, next)
	if err != nil {
		t.Fatal(err)
	}
	if want := 0.1 * 4 * 17; math.Abs(st.Info.Control-want) > 1e-12 {
		t.Errorf("control cost %v, want %v", st.Info.Control, want)
	}
	for i, c := range e.data.Ctrl() {
		if c != 2 {
			t.Fatalf("ctrl[%d] = %v, want the action 2", i, c)
		}
	}
}

// stateCase sets up a state by hand and says whether the next step ends the
// episode, and what in the state after the step shows why.
type stateCase struct {
	name  string
	set   func(qpos, qvel []float64)
	want  bool
	cause func(qpos, qvel []float64) bool // true when the condition under test holds after the step
}

func TestTerminationConditions(t *testing.T) {
	rotY := func(qpos []float64, i int, angle float64) { // quaternion at qpos[i:i+4], about y
		qpos[i], qpos[i+1], qpos[i+2], qpos[i+3] = math.Cos(angle/2), 0, math.Sin(angle/2), 0
	}
	always := func(qpos, qvel []float64) bool { return true }
	tipY := func(q []float64) float64 { return 0.6*math.Cos(q[1]) + 0.6*math.Cos(q[1]+q[2]) }
	for id, cases := range map[string][]stateCase{
		"Hopper-v4": {
			{"standing", func(q, v []float64) {}, false, always},
			{"z low", func(q, v []float64) { q[1] = 0.6 }, true, func(q, v []float64) bool { return q[1] <= 0.7 }},
			{"angle high", func(q, v []float64) { q[2] = 0.3 }, true, func(q, v []float64) bool { return q[2] >= 0.2 }},
			{"angle low", func(q, v []float64) { q[2] = -0.3 }, true, func(q, v []float64) bool { return q[2] <= -0.2 }},
			{"velocity over 100", func(q, v []float64) { v[0] = 150 }, true, func(q, v []float64) bool { return v[0] >= 100 }},
			{"joint angle over 100", func(q, v []float64) { q[4] = 120 }, true, func(q, v []float64) bool { return q[4] >= 100 }},
		},
		"Walker2d-v4": {
			{"standing", func(q, v []float64) {}, false, always},
			{"z low", func(q, v []float64) { q[1] = 0.7 }, true, func(q, v []float64) bool { return q[1] <= 0.8 }},
			{"z high", func(q, v []float64) { q[1] = 2.5 }, true, func(q, v []float64) bool { return q[1] >= 2 }},
			{"angle", func(q, v []float64) { q[2] = 1.2 }, true, func(q, v []float64) bool { return q[2] >= 1 }},
		},
		"Ant-v4": {
			{"standing", func(q, v []float64) {}, false, always},
			{"z high", func(q, v []float64) { q[2] = 1.5 }, true, func(q, v []float64) bool { return q[2] > 1 }},
			// The torso (a sphere of radius 0.25) rests at z > 0.2: only a body
			// thrown through the floor ends below.
			{"z low", func(q, v []float64) { q[2] = -1; v[2] = -20 }, true, func(q, v []float64) bool { return q[2] < 0.2 }},
		},
		"Humanoid-v4": {
			{"standing", func(q, v []float64) {}, false, always},
			{"z high", func(q, v []float64) { q[2] = 2.5 }, true, func(q, v []float64) bool { return q[2] >= 2 }},
			{"lying", func(q, v []float64) { q[2] = 0.9; rotY(q, 3, math.Pi/2) }, true, func(q, v []float64) bool { return q[2] <= 1 }},
		},
		"HumanoidTruncatedObs-v4": {
			{"z high", func(q, v []float64) { q[2] = 2.5 }, true, func(q, v []float64) bool { return q[2] >= 2 }},
		},
		"InvertedPendulum-v4": {
			{"upright", func(q, v []float64) {}, false, always},
			{"pole right", func(q, v []float64) { q[1] = 0.3 }, true, func(q, v []float64) bool { return q[1] > 0.2 }},
			{"pole left", func(q, v []float64) { q[1] = -0.3 }, true, func(q, v []float64) bool { return q[1] < -0.2 }},
		},
		"InvertedDoublePendulum-v4": {
			{"upright", func(q, v []float64) {}, false, always},
			{"tip low", func(q, v []float64) { q[1] = 1.2 }, true, func(q, v []float64) bool { return tipY(q) <= 1 }},
			{"second link folded", func(q, v []float64) { q[2] = 2 }, true, func(q, v []float64) bool { return tipY(q) <= 1 }},
		},
		"HalfCheetah-v4": {
			{"upside down", func(q, v []float64) { q[2] = math.Pi }, false, always},
			{"fast", func(q, v []float64) { v[0] = 500 }, false, always},
		},
		"Swimmer-v4": {
			{"spinning", func(q, v []float64) { v[2] = 10 }, false, always},
		},
	} {
		for _, c := range cases {
			t.Run(id+"/"+c.name, func(t *testing.T) {
				e := makeEnv(t, id, 7)
				s := e.Spec()
				obs, next, act := buffers(s)
				e.Reset(obs)
				qpos, qvel := e.Joints()
				c.set(qpos, qvel)
				if err := e.SetJoints(qpos, qvel, obs); err != nil {
					t.Fatal(err)
				}
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				if st.Terminated != c.want || st.Info.NonFinite {
					t.Fatalf("terminated %v (non-finite %v), want %v", st.Terminated, st.Info.NonFinite, c.want)
				}
				if q, v := e.Joints(); !c.cause(q, v) {
					t.Errorf("the state after the step does not show the condition under test: qpos %v", q)
				}
				// The pure rule agrees, except where Hopper's blind spot
				// (|qvel| ≥ 100, clipped to 10 in the observation) decides.
				fn := s.Terminal(obs, act, next)
				if c.name == "velocity over 100" {
					if fn {
						t.Error("the blind spot changed: Terminal now sees |qvel| ≥ 100; update its doc comment")
					}
				} else if fn != c.want {
					t.Errorf("Terminal = %v, want %v", fn, c.want)
				}
			})
		}
	}
}

func TestNonFiniteStateTerminates(t *testing.T) {
	for _, id := range IDs() {
		for _, c := range []struct {
			name string
			set  func(qpos, qvel []float64)
		}{
			{"nan qvel", func(q, v []float64) { v[0] = math.NaN() }},
			{"inf qpos", func(q, v []float64) { q[len(q)-1] = math.Inf(-1) }},
			{"huge qvel", func(q, v []float64) { v[len(v)-1] = 1e12 }}, // finite, but MuJoCo resets
		} {
			t.Run(id+"/"+c.name, func(t *testing.T) {
				e := makeEnv(t, id, 8)
				obs, next, act := buffers(e.Spec())
				e.Reset(obs)
				qpos, qvel := e.Joints()
				c.set(qpos, qvel)
				if err := e.SetJoints(qpos, qvel, obs); err != nil {
					t.Fatal(err)
				}
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				if !st.Terminated || !st.Info.NonFinite {
					t.Fatalf("terminated %v, non-finite %v; want both", st.Terminated, st.Info.NonFinite)
				}
				if _, err := e.Step(act, next); !errors.Is(err, ErrEpisodeOver) {
					t.Errorf("Step after the non-finite end: error %v, want ErrEpisodeOver", err)
				}
			})
		}
	}
}

func TestResetNoiseRange(t *testing.T) {
	for _, c := range []struct {
		id         string
		qpos, qvel float64
		normal     bool
	}{
		{"Ant-v4", 0.1, 0.1, true},
		{"HalfCheetah-v4", 0.1, 0.1, true},
		{"Hopper-v4", 5e-3, 5e-3, false},
		{"Humanoid-v4", 1e-2, 1e-2, false},
		{"HumanoidTruncatedObs-v4", 1e-2, 1e-2, false},
		{"InvertedDoublePendulum-v4", 0.1, 0.1, true},
		{"InvertedPendulum-v4", 0.01, 0.01, false},
		{"Swimmer-v4", 0.1, 0.1, false},
		{"Walker2d-v4", 5e-3, 5e-3, false},
	} {
		t.Run(c.id, func(t *testing.T) {
			e := makeEnv(t, c.id, 9)
			obs := make([]float32, e.Spec().ObsDim)
			qpos0 := e.model.Qpos0()
			// mj_forward normalises a free joint's quaternion (qpos[3:7]) in
			// place, as in Gymnasium: the noise range holds for the rest.
			quat := func(i int) bool {
				return len(qpos0) > 7 && c.id != "HalfCheetah-v4" && i >= 3 && i < 7 && e.model.NQ() != e.model.NV()
			}
			var maxQpos, maxQvel, sum, sumSq float64
			n := 0
			for range 300 {
				e.Reset(obs)
				checkLayout(t, e, obs, "after Reset")
				qpos, qvel := e.Joints()
				for i, q := range qpos {
					if !quat(i) {
						maxQpos = math.Max(maxQpos, math.Abs(q-qpos0[i]))
					}
				}
				for _, v := range qvel {
					maxQvel = math.Max(maxQvel, math.Abs(v))
					sum += v
					sumSq += v * v
					n++
				}
			}
			// Uniform U(−a, a): inside the range, and filling most of it.
			if maxQpos > c.qpos || maxQpos < 0.95*c.qpos {
				t.Errorf("max |qpos − qpos0| = %v, want within and near %v", maxQpos, c.qpos)
			}
			if !c.normal {
				if maxQvel > c.qvel || maxQvel < 0.95*c.qvel {
					t.Errorf("max |qvel| = %v, want within and near %v", maxQvel, c.qvel)
				}
				return
			}
			// Normal N(0, scale²): mean near 0, standard deviation near scale,
			// and values beyond the scale (which a uniform would not give).
			mean, std := sum/float64(n), math.Sqrt(sumSq/float64(n))
			if math.Abs(mean) > 0.2*c.qvel || math.Abs(std-c.qvel) > 0.1*c.qvel || maxQvel < 2*c.qvel {
				t.Errorf("qvel noise mean %v, std %v, max %v over %d values; want N(0, %v²)", mean, std, maxQvel, n, c.qvel)
			}
		})
	}
}

func TestTruncationAt1000(t *testing.T) {
	e := makeEnv(t, "HalfCheetah-v4", 10)
	obs, next, act := buffers(e.Spec())
	e.Reset(obs)
	for i := 1; i <= 1000; i++ {
		st, err := e.Step(act, next)
		if err != nil {
			t.Fatal(err)
		}
		if st.Truncated != (i == 1000) || st.Terminated {
			t.Fatalf("step %d: truncated %v terminated %v", i, st.Truncated, st.Terminated)
		}
	}
	if _, err := e.Step(act, next); !errors.Is(err, ErrEpisodeOver) {
		t.Errorf("Step after truncation: error %v, want ErrEpisodeOver", err)
	}
	e.Reset(obs)
	if st, err := e.Step(act, next); err != nil || st.Truncated {
		t.Errorf("first step after Reset: %+v, %v", st, err)
	}
}

func TestTerminatedAndTruncatedTogether(t *testing.T) {
	e := makeEnv(t, "Hopper-v4", 11)
	obs, next, act := buffers(e.Spec())
	e.Reset(obs)
	qpos, qvel := e.Joints()
	for i := 1; i < 1000; i++ {
		if err := e.SetJoints(qpos, qvel, obs); err != nil { // stay upright
			t.Fatal(err)
		}
		if st, err := e.Step(act, next); err != nil || st.Terminated || st.Truncated {
			t.Fatalf("step %d: %+v, %v", i, st, err)
		}
	}
	fallen := slices.Clone(qpos)
	fallen[2] = 0.5
	if err := e.SetJoints(fallen, qvel, obs); err != nil {
		t.Fatal(err)
	}
	st, err := e.Step(act, next)
	if err != nil || !st.Terminated || !st.Truncated {
		t.Errorf("step 1000 from a fallen state: %+v, %v; want terminated and truncated", st, err)
	}
}

func TestSameSeedSameEpisodes(t *testing.T) {
	run := func(seed uint64) (obs []float32, rewards []float64) {
		e := makeEnv(t, "Walker2d-v4", seed)
		s := e.Spec()
		o, next, act := buffers(s)
		e.Reset(o)
		obs = append(obs, o...)
		key := rng.Key{Seed: 12, Purpose: rng.Test}
		for i := range 300 {
			randomAction(s, key, i, act)
			st, err := e.Step(act, next)
			if err != nil {
				t.Fatal(err)
			}
			obs = append(obs, next...)
			rewards = append(rewards, st.Reward)
			if st.Terminated || st.Truncated {
				e.Reset(o)
				obs = append(obs, o...)
			}
		}
		return obs, rewards
	}
	o1, r1 := run(1)
	o2, r2 := run(1)
	o3, _ := run(2)
	if !slices.Equal(o1, o2) || !slices.Equal(r1, r2) {
		t.Error("the same seed gave different episodes")
	}
	if slices.Equal(o1[:17], o3[:17]) {
		t.Error("seeds 1 and 2 gave the same initial observation")
	}
}

func TestBadActionsLeaveTheSimulationUntouched(t *testing.T) {
	e := makeEnv(t, "Hopper-v4", 13)
	obs, next, _ := buffers(e.Spec())
	if _, err := e.Step([]float32{0, 0, 0}, next); !errors.Is(err, ErrEpisodeOver) {
		t.Errorf("Step before Reset: error %v, want ErrEpisodeOver", err)
	}
	e.Reset(obs)
	qpos, qvel := e.Joints()
	time0 := e.data.Time()
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, c := range []struct {
		name   string
		action []float32
		obs    []float32
		want   string
	}{
		{"short", []float32{0, 0}, next, "action has 2 values, want 3"},
		{"long", []float32{0, 0, 0, 0}, next, "action has 4 values, want 3"},
		{"empty", nil, next, "action has 0 values, want 3"},
		{"nan", []float32{0, nan, 0}, next, "action[1] is NaN"},
		{"+inf", []float32{0, 0, inf}, next, "action[2] is +Inf"},
		{"-inf", []float32{-inf, 0, 0}, next, "action[0] is -Inf"},
		{"observation buffer", []float32{0, 0, 0}, make([]float32, 10), "observation buffer has 10 values"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.Step(c.action, c.obs)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "Hopper-v4") {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			q, v := e.Joints()
			if !slices.Equal(q, qpos) || !slices.Equal(v, qvel) || e.data.Time() != time0 || e.EpisodeSteps() != 0 {
				t.Fatal("a rejected action moved the simulation")
			}
		})
	}
	if _, err := e.Step([]float32{0.1, 0.2, 0.3}, next); err != nil {
		t.Errorf("a good action after bad ones: %v", err)
	}
}

func TestHumanoidPostConstraintKeepsDynamics(t *testing.T) {
	// Humanoid-v4 runs mj_rnePostConstraint after each step (cfrc_ext is in
	// its observation); HumanoidTruncatedObs skips it. The simulations must be
	// identical.
	full, trunc := makeEnv(t, "Humanoid-v4", 14), makeEnv(t, "HumanoidTruncatedObs-v4", 14)
	s := full.Spec()
	fo, fn, act := buffers(s)
	to, tn, _ := buffers(trunc.Spec())
	full.Reset(fo)
	trunc.Reset(to)
	key := rng.Key{Seed: 15, Purpose: rng.Test}
	for i := range 200 {
		randomAction(s, key, i, act)
		a, err1 := full.Step(act, fn)
		b, err2 := trunc.Step(act, tn)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a != b || !slices.Equal(fn[:45], tn) {
			t.Fatalf("step %d: Humanoid-v4 %+v and HumanoidTruncatedObs %+v differ", i, a, b)
		}
		if a.Terminated {
			full.Reset(fo)
			trunc.Reset(to)
		}
	}
}
