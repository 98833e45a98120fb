// render_test.go checks each environment's renderer: the frame of its reset
// state shows the robot (not blank), frames of two states differ, and
// rendering leaves the simulation as it was. Frames are 40 × 32 pixels.

package env

import (
	"bytes"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

func TestRenderEveryEnv(t *testing.T) {
	for _, id := range IDs() {
		t.Run(id, func(t *testing.T) {
			e := makeEnv(t, id, 1)
			twin := makeEnv(t, id, 1) // the same run, never rendered
			s := e.Spec()
			r, err := e.NewRenderer(40, 32)
			if err != nil {
				t.Fatalf("%v (scripts/deps.sh installs libosmesa6)", err)
			}
			defer r.Close()
			obs, next, act := buffers(s)
			tobs, tnext, _ := buffers(s)
			e.Reset(obs)
			twin.Reset(tobs)
			a := r.NewImage()
			if err := r.Render(a); err != nil {
				t.Fatal(err)
			}
			colours := map[[3]byte]bool{}
			for i := 0; i < len(a.Pix); i += 4 {
				colours[[3]byte{a.Pix[i], a.Pix[i+1], a.Pix[i+2]}] = true
			}
			if len(colours) < 8 {
				t.Errorf("the reset frame has %d colours: blank", len(colours))
			}
			key := rng.Key{Seed: 3, Purpose: rng.Test}
			b := r.NewImage()
			for step := range 10 {
				randomAction(s, key, step, act)
				st, err := e.Step(act, next)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Render(b); err != nil {
					t.Fatal(err)
				}
				tst, _ := twin.Step(act, tnext)
				if st != tst || !equal32(next, tnext) {
					t.Fatalf("step %d: rendering changed the simulation: %+v %v vs %+v %v", step, st, next, tst, tnext)
				}
				if st.Terminated {
					break
				}
			}
			if bytes.Equal(a.Pix, b.Pix) {
				t.Error("the frames before and after 10 random steps are the same")
			}
		})
	}
}

func equal32(a, b []float32) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return len(a) == len(b)
}

// BenchmarkRenderHopper480 draws one 480 × 480 frame of Hopper per
// iteration (go test ./env -run '^$' -bench Render).
func BenchmarkRenderHopper480(b *testing.B) {
	e := makeEnv(b, "Hopper-v4", 1)
	r, err := e.NewRenderer(480, 480)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	obs, _, _ := buffers(e.Spec())
	e.Reset(obs)
	img := r.NewImage()
	b.ResetTimer()
	for range b.N {
		if err := r.Render(img); err != nil {
			b.Fatal(err)
		}
	}
}
