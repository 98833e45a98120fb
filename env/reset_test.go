// reset_test.go checks that the binding's fast reset (Data.Reset) leaves every
// benchmark model in a state MuJoCo's own mj_resetData (Data.ResetAll) cannot
// be told apart from, over long random runs with many resets.

package env

import (
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/mbpogo/mbpo/env/mujoco"
	"github.com/mbpogo/mbpo/rng"
)

func TestFastResetMatchesMujocoReset(t *testing.T) {
	for _, id := range IDs() {
		t.Run(id, func(t *testing.T) {
			tk, err := findTask(id)
			if err != nil {
				t.Fatal(err)
			}
			m, err := loadModel(tk.model)
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			full, err := mujoco.NewData(m) // reset by mj_resetData
			if err != nil {
				t.Fatal(err)
			}
			defer full.Close()
			fast, err := mujoco.NewData(m) // reset by Data.Reset
			if err != nil {
				t.Fatal(err)
			}
			defer fast.Close()

			noise := rng.Stream{Key: rng.Key{Seed: 7, Purpose: rng.EnvReset}}
			ctrl := rng.Stream{Key: rng.Key{Seed: 7, Purpose: rng.Exploration}}
			resets, episode := 0, 0
			for step := range 3000 {
				// Episodes of 1 to 80 steps, from states with large noise
				// (contacts from the first step) and small.
				if step == 0 || episode == 0 {
					if resets%10 == 9 { // end some episodes in a bad state, counted in the warnings
						full.Qvel()[0], fast.Qvel()[0] = math.NaN(), math.NaN()
						if !full.Step(1, false) || !fast.Step(1, false) {
							t.Fatal("a NaN velocity was not reported as a bad state")
						}
					}
					full.ResetAll()
					fast.Reset()
					// Derived quantities differ until mj_forward (mj_resetData
					// zeroes them, the fast reset leaves them); the inputs of
					// mj_forward may not.
					if err := sameData(full, fast, "qpos", "qvel", "ctrl", "qacc_warmstart", "cfrc_ext"); err != nil {
						t.Fatalf("step %d, right after the reset: %v", step, err)
					}
					scale := []float64{0.005, 0.1, 0.5}[resets%3]
					for i := range full.Qpos() {
						q := full.Qpos()[i] + scale*(2*float64(noise.Uniform())-1)
						full.Qpos()[i], fast.Qpos()[i] = q, q
					}
					for i := range full.Qvel() {
						v := scale * float64(noise.Normal())
						full.Qvel()[i], fast.Qvel()[i] = v, v
					}
					full.Forward()
					fast.Forward()
					if err := sameData(full, fast); err != nil {
						t.Fatalf("step %d, after the reset's mj_forward: %v", step, err)
					}
					resets++
					episode = 1 + int(80*noise.Uniform())
				}
				for i := range full.Ctrl() {
					u := 2*float64(ctrl.Uniform()) - 1
					full.Ctrl()[i], fast.Ctrl()[i] = u, u
				}
				badFull, badFast := full.Step(tk.frameSkip, true), fast.Step(tk.frameSkip, true)
				if badFull != badFast {
					t.Fatalf("step %d: bad state %v with mj_resetData, %v with the fast reset", step, badFull, badFast)
				}
				if err := sameData(full, fast); err != nil {
					t.Fatalf("step %d (%d resets so far): %v", step, resets, err)
				}
				episode--
			}
			if resets < 50 {
				t.Errorf("%d resets in 3000 steps: the test meant dozens", resets)
			}
		})
	}
}

// sameData reports the first difference between the states and the derived
// quantities observations read of two simulations of one model, or between
// the named arrays only.
func sameData(a, b *mujoco.Data, only ...string) error {
	if a.Time() != b.Time() {
		return fmt.Errorf("time %v != %v", a.Time(), b.Time())
	}
	if a.BadStates() != b.BadStates() {
		return fmt.Errorf("bad-state counts %d != %d", a.BadStates(), b.BadStates())
	}
	for _, f := range []struct {
		name string
		get  func(*mujoco.Data) []float64
	}{
		{"qpos", (*mujoco.Data).Qpos},
		{"qvel", (*mujoco.Data).Qvel},
		{"ctrl", (*mujoco.Data).Ctrl},
		{"qacc_warmstart", (*mujoco.Data).QaccWarmstart},
		{"xpos", (*mujoco.Data).Xpos},
		{"xipos", (*mujoco.Data).Xipos},
		{"site_xpos", (*mujoco.Data).SiteXpos},
		{"cinert", (*mujoco.Data).Cinert},
		{"cvel", (*mujoco.Data).Cvel},
		{"cfrc_ext", (*mujoco.Data).CfrcExt},
		{"qfrc_actuator", (*mujoco.Data).QfrcActuator},
		{"qfrc_constraint", (*mujoco.Data).QfrcConstraint},
	} {
		if len(only) > 0 && !slices.Contains(only, f.name) {
			continue
		}
		x, y := f.get(a), f.get(b)
		for i := range x {
			if math.Float64bits(x[i]) != math.Float64bits(y[i]) {
				return fmt.Errorf("%s[%d] = %v after mj_resetData, %v after the fast reset", f.name, i, x[i], y[i])
			}
		}
	}
	return nil
}
