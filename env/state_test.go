// state_test.go checks that an Env restored from State (through JSON)
// continues bit for bit like the one it was taken from.

package env

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

func TestStateRestoresExactly(t *testing.T) {
	for _, id := range []string{"Hopper-v4", "Ant-v4", "Humanoid-v4", "InvertedDoublePendulum-v4"} {
		t.Run(id, func(t *testing.T) {
			a := makeEnv(t, id, 18)
			s := a.Spec()
			obs, next, act := buffers(s)
			key := rng.Key{Seed: 19, Purpose: rng.Test}
			a.Reset(obs)
			i := 0
			// play on until an episode has ended and a new one is under way,
			// so that the noise stream has advanced, and into the new one far
			// enough for contacts (the solver's warm start then matters)
			for ended := false; !ended || a.EpisodeSteps() < 15; i++ {
				randomAction(s, key, i, act)
				st, err := a.Step(act, obs)
				if err != nil {
					t.Fatal(err)
				}
				if st.Terminated || st.Truncated {
					a.Reset(obs)
					ended = true
				}
			}
			blob, err := json.Marshal(a.State())
			if err != nil {
				t.Fatal(err)
			}
			var saved State
			if err := json.Unmarshal(blob, &saved); err != nil {
				t.Fatal(err)
			}
			b := makeEnv(t, id, 999) // another seed: the state carries the noise stream
			if err := b.SetState(saved); err != nil {
				t.Fatal(err)
			}
			nextB := make([]float32, s.ObsDim)
			obsB := slices.Clone(obs)
			for j := i; j < i+150; j++ {
				randomAction(s, key, j, act)
				sa, err1 := a.Step(act, next)
				sb, err2 := b.Step(act, nextB)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if sa != sb || !slices.Equal(next, nextB) {
					t.Fatalf("step %d after the restore: %+v and %+v differ", j-i, sa, sb)
				}
				if sa.Terminated || sa.Truncated {
					a.Reset(obs)
					b.Reset(obsB)
					if !slices.Equal(obs, obsB) {
						t.Fatalf("the reset after the restore differs")
					}
				}
			}
		})
	}
}

func TestSetStateRejectsForeignStates(t *testing.T) {
	hop, walker := makeEnv(t, "Hopper-v4", 1), makeEnv(t, "Walker2d-v4", 1)
	obs := make([]float32, 11)
	hop.Reset(obs)
	good := hop.State()
	for _, c := range []struct {
		name string
		edit func(s *State)
		want string
	}{
		{"other env", func(s *State) { s.ID = "Walker2d-v4" }, `state of "Walker2d-v4"`},
		{"short qpos", func(s *State) { s.Qpos = s.Qpos[:3] }, "3 qpos"},
		{"step count", func(s *State) { s.EpisodeSteps = 1001 }, "episode step 1001"},
	} {
		s := good
		s.Qpos = slices.Clone(good.Qpos)
		c.edit(&s)
		if err := hop.SetState(s); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.want)
		}
	}
	if err := walker.SetState(good); err == nil {
		t.Error("a Walker2d env accepted a Hopper state")
	}
}
