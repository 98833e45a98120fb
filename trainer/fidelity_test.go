package trainer

import (
	"context"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine/enginetest"
	"github.com/mbpogo/mbpo/stages"
)

// The paper's x axis: timesteps count the env steps after the random ones,
// and a paper-configured run is InitSteps plus the authors' learning steps.
func TestPaperAxis(t *testing.T) {
	c := tinyConfig(t) // 900 steps of which 300 random, epochs of 300
	rows := run(t, c, t.TempDir())
	for i, m := range rows {
		if want := max(0, m.EnvSteps-c.InitSteps); m.Timesteps != want {
			t.Errorf("row %d: timesteps %d at env step %d, want %d", i, m.Timesteps, m.EnvSteps, want)
		}
	}
	if rows[len(rows)-1].Timesteps != 600 {
		t.Errorf("last row at timestep %d, want 600", rows[len(rows)-1].Timesteps)
	}
	for id, epochs := range map[string]int{"Hopper-v4": 125, "Walker2d-v4": 300, "HalfCheetah-v4": 400, "Ant-v4": 300, "HumanoidTruncatedObs-v4": 300} {
		p, err := PaperConfig(id)
		if err != nil {
			t.Fatal(err)
		}
		if p.Steps != 5000+epochs*1000 || p.InitSteps != 5000 || LearningSteps(id) != epochs*1000 {
			t.Errorf("%s: steps %d, random %d, learning %d; want %d learning epochs after 5,000 random steps",
				id, p.Steps, p.InitSteps, LearningSteps(id), epochs)
		}
	}
}

// The pendulums take the authors' configuration files as defaults.
func TestPendulumDefaults(t *testing.T) {
	ip, err := PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	if ip.EpochLength != 250 || ip.G != 10 || ip.TargetEntropy != -0.05 || ip.InitSteps != 500 ||
		ip.RolloutSchedule != [4]int{1, 15, 1, 1} || ip.ModelTrainFreq != 250 || ip.Steps != 500+15000 {
		t.Errorf("InvertedPendulum defaults: epoch %d G %d entropy %v random %d schedule %v train every %d steps %d",
			ip.EpochLength, ip.G, ip.TargetEntropy, ip.InitSteps, ip.RolloutSchedule, ip.ModelTrainFreq, ip.Steps)
	}
	idp, err := PaperConfig("InvertedDoublePendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	if idp.G != 20 || idp.TargetEntropy != -0.5 {
		t.Errorf("InvertedDoublePendulum defaults: G %d entropy %v, want 20 and -0.5", idp.G, idp.TargetEntropy)
	}
	for _, c := range []Config{ip, idp} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Env, err)
		}
	}
}

// --real-add episode holds an episode's transitions back until it ends; the
// real buffer then holds exactly what --real-add step holds, less the
// episode in progress. Random-phase runs make both take the same steps.
func TestRealAddModes(t *testing.T) {
	buffers := map[string]*Trainer{}
	for _, mode := range []string{"step", "episode"} {
		c := tinyConfig(t)
		c.Steps, c.InitSteps, c.RealAdd = 290, 300, mode
		tr, err := New(c, newEngine(t), t.TempDir(), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		defer tr.Close()
		if err := tr.Run(context.Background(), Hooks{}); err != nil {
			t.Fatal(err)
		}
		buffers[mode] = tr
	}
	realOf := func(tr *Trainer) *stages.Replay {
		r, err := stages.Download(tr.st.Real(), tr.spec.ObsDim, tr.spec.ActDim)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	step, ep := buffers["step"], buffers["episode"]
	stepReal, epReal := realOf(step), realOf(ep)
	if stepReal.Len() != 290 || step.pending != nil {
		t.Fatalf("--real-add step: %d real transitions after 290 steps, want all", stepReal.Len())
	}
	if ep.epLen == 0 || ep.pending.Len() != ep.epLen || epReal.Len()+ep.pending.Len() != 290 {
		t.Fatalf("--real-add episode: %d real and %d pending transitions, episode length %d, after 290 steps", epReal.Len(), ep.pending.Len(), ep.epLen)
	}
	if epReal.Len() == 0 {
		t.Fatal("--real-add episode: no episode ended in 290 random steps; the test needs one")
	}
	for i := 0; i < stepReal.Len(); i++ {
		o1, a1, r1, n1, d1 := stepReal.Row(i)
		var o2, a2, n2 []float32
		var r2, d2 float32
		if i < epReal.Len() {
			o2, a2, r2, n2, d2 = epReal.Row(i)
		} else {
			o2, a2, r2, n2, d2 = ep.pending.Row(i - epReal.Len())
		}
		if !enginetest.Bitwise(o1, o2) || !enginetest.Bitwise(a1, a2) || !enginetest.Bitwise(n1, n2) || r1 != r2 || d1 != d2 {
			t.Fatalf("row %d differs between the modes", i)
		}
	}
	// The episode mode's real buffer ends where an episode ended.
	if _, _, _, _, done := epReal.Row(epReal.Len() - 1); done != 1 {
		t.Errorf("the last real transition under --real-add episode is not an episode's end (InvertedPendulum episodes end by termination here)")
	}
}
