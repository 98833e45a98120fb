// spec_test.go checks the environment table: ids, sizes, action ranges, the
// unknown-id error and the embedded models.

package env

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
)

func TestLookupSpecs(t *testing.T) {
	for _, c := range []struct {
		id, model           string
		obs, act, frameSkip int
		dt                  float64
		actHigh             float32
	}{
		{"Ant-v4", "ant.xml", 27, 8, 5, 0.05, 1},
		{"HalfCheetah-v4", "half_cheetah.xml", 17, 6, 5, 0.05, 1},
		{"Hopper-v4", "hopper.xml", 11, 3, 4, 0.008, 1},
		{"Humanoid-v4", "humanoid.xml", 376, 17, 5, 0.015, 0.4},
		{"HumanoidTruncatedObs-v4", "humanoid.xml", 45, 17, 5, 0.015, 0.4},
		{"InvertedDoublePendulum-v4", "inverted_double_pendulum.xml", 11, 1, 5, 0.05, 1},
		{"InvertedPendulum-v4", "inverted_pendulum.xml", 4, 1, 2, 0.04, 3},
		{"Swimmer-v4", "swimmer.xml", 8, 2, 4, 0.04, 1},
		{"Walker2d-v4", "walker2d.xml", 17, 6, 4, 0.008, 1},
	} {
		t.Run(c.id, func(t *testing.T) {
			s, err := Lookup(c.id)
			if err != nil {
				t.Fatal(err)
			}
			if s.ID != c.id || s.Model != c.model || s.ObsDim != c.obs || s.ActDim != c.act || s.FrameSkip != c.frameSkip || s.MaxEpisodeSteps != 1000 {
				t.Errorf("spec %+v, want model %s obs %d act %d frame skip %d, 1000 steps", s, c.model, c.obs, c.act, c.frameSkip)
			}
			if d := s.Dt - c.dt; d > 1e-12 || d < -1e-12 {
				t.Errorf("Dt = %v, want %v", s.Dt, c.dt)
			}
			if len(s.ActLow) != c.act || len(s.ActHigh) != c.act {
				t.Fatalf("action bounds have %d and %d values, want %d", len(s.ActLow), len(s.ActHigh), c.act)
			}
			for i := range s.ActLow {
				if s.ActLow[i] != -c.actHigh || s.ActHigh[i] != c.actHigh {
					t.Errorf("action %d range [%v, %v], want ±%v", i, s.ActLow[i], s.ActHigh[i], c.actHigh)
				}
			}
			if s.Terminal == nil {
				t.Error("Terminal is nil")
			}
		})
	}
	if ids := IDs(); len(ids) != 9 || !slices.IsSorted(ids) {
		t.Errorf("IDs() = %v, want the 9 ids sorted", ids)
	}
}

func TestEveryModelIsCtrlLimited(t *testing.T) {
	// MuJoCo clamps actions to the range only where ctrllimited is set;
	// the environments rely on it.
	for _, id := range IDs() {
		e := makeEnv(t, id, 0)
		for i, lim := range e.model.CtrlLimited() {
			if !lim {
				t.Errorf("%s: actuator %d is not ctrl-limited", id, i)
			}
		}
	}
}

func TestUnknownIDListsValidIDs(t *testing.T) {
	_, errLookup := Lookup("Hopper-v9")
	_, errMake := Make("Hopper-v9")
	_, errPool := NewPool("Hopper-v9", 2, PoolConfig{})
	for _, err := range []error{errLookup, errMake, errPool} {
		if err == nil {
			t.Fatal("unknown id accepted")
		}
		msg := err.Error()
		if !strings.Contains(msg, `"Hopper-v9"`) {
			t.Errorf("error %q does not name the bad id", msg)
		}
		for _, id := range IDs() {
			if !strings.Contains(msg, id) {
				t.Errorf("error %q does not list %s", msg, id)
			}
		}
	}
}

func TestActionFromUnit(t *testing.T) {
	s := Spec{ID: "test", ActDim: 3, ActLow: []float32{-0.4, -2, -3}, ActHigh: []float32{0.4, 3, 3}}
	for _, c := range []struct {
		unit, want []float32
	}{
		{[]float32{-1, -1, -1}, []float32{-0.4, -2, -3}},
		{[]float32{1, 1, 1}, []float32{0.4, 3, 3}},
		{[]float32{0, 0, 0}, []float32{0, 0.5, 0}},
		{[]float32{0.5, -0.5, 0.25}, []float32{0.2, -0.75, 0.75}},
	} {
		got := make([]float32, 3)
		s.ActionFromUnit(got, c.unit)
		if !slices.Equal(got, c.want) {
			t.Errorf("ActionFromUnit(%v) = %v, want %v", c.unit, got, c.want)
		}
	}
}

// The models are the benchmark: these are the SHA-256 sums of Gymnasium's
// files (commit 3f0476a8cc224dcce2167cc4b6971ae0f04d5cfc).
func TestAssetsUnchanged(t *testing.T) {
	want := map[string]string{
		"ant.xml":                      "cd5f83ef0ea35b0969e65d360c5bacd5b74ccaef6b27e4433b5168c605e3e2be",
		"half_cheetah.xml":             "11797a5d69e8ac955e89ca6fdd3a0087f1c990094fda401ac51420de1b6c5494",
		"hopper.xml":                   "3ce93a055ffdcd83c0c701d2400768e40d2cbb9532f3c4ae33377c27f8b39f9e",
		"humanoid.xml":                 "85816f372c826d2094b4a598918233bd9c5843b2439119eece2733bdc2e0d073",
		"inverted_double_pendulum.xml": "2b4eadf03bd79a8772abd4c1a626b5755747f841801a694ea9528cc49211ba46",
		"inverted_pendulum.xml":        "80910a9af85cd47072be82d6f92c5e6a115d0eecc3eb464e58542b285c89fb7f",
		"swimmer.xml":                  "25b0d46bf5522920fea6a579353aee39d391ad9e2a0574b53f83704c11b21b12",
		"walker2d.xml":                 "ac13373c7ac9003a5311c4704b314ed11149b3dd7600bbc02770487300f9ad2d",
	}
	for name, sum := range want {
		b, err := assets.ReadFile("assets/" + name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256(b)
		if got := hex.EncodeToString(h[:]); got != sum {
			t.Errorf("%s has SHA-256 %s, want Gymnasium's %s", name, got, sum)
		}
	}
	lic, err := assets.ReadFile("assets/LICENSE")
	if err != nil || !strings.Contains(string(lic), "MIT License") || !strings.Contains(string(lic), "Farama Foundation") {
		t.Errorf("the embedded LICENSE is not Gymnasium's MIT notice (err %v)", err)
	}
}
