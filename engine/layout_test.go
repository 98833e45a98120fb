package engine

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

func TestMLPOffsetsTileTheBuffer(t *testing.T) {
	m := MLP{Sizes: []int{14, 200, 200, 24}}
	off := 0
	for l := 0; l < m.Layers(); l++ {
		if m.Weight(l) != off {
			t.Fatalf("W_%d at %d, want %d", l, m.Weight(l), off)
		}
		off += m.Sizes[l] * m.Sizes[l+1]
		if m.Bias(l) != off {
			t.Fatalf("b_%d at %d, want %d", l, m.Bias(l), off)
		}
		off += m.Sizes[l+1]
	}
	if m.NumParams() != off || off != 14*200+200+200*200+200+200*24+24 {
		t.Fatalf("NumParams %d, tiles %d", m.NumParams(), off)
	}
	if m.FLOPs() != 2*(14*200+200*200+200*24) {
		t.Fatalf("FLOPs %d", m.FLOPs())
	}
}

func TestEnsembleLayoutAndInit(t *testing.T) {
	s := PaperEnsemble(11, 3, 200)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	net := s.Net()
	if net.Sizes[0] != 14 || net.Sizes[len(net.Sizes)-1] != 24 || len(net.Sizes) != 6 {
		t.Fatalf("member net %v, want [14 200 200 200 200 24]", net.Sizes)
	}
	// All members of a layer sit together: W_l [E][in][out], then b_l [E][out].
	for l := 0; l < net.Layers(); l++ {
		in, out := net.Sizes[l], net.Sizes[l+1]
		if s.Bias(l) != s.Weight(l)+s.Members*in*out {
			t.Fatalf("b_%d does not follow W_%d's %d members", l, l, s.Members)
		}
		if l+1 < net.Layers() && s.Weight(l+1) != s.Bias(l)+s.Members*out {
			t.Fatalf("W_%d does not follow b_%d", l+1, l)
		}
	}
	if s.NumParams() != s.Members*net.NumParams()+2*s.Out || s.MinLogVar() != s.MaxLogVar()+s.Out {
		t.Fatalf("NumParams %d, want members·net + 2·Out", s.NumParams())
	}
	p := make([]float32, s.NumParams())
	s.Init(p, rng.Key{Seed: 1, Purpose: rng.Init, Step: InitStepEnsemble})
	for l := 0; l < net.Layers(); l++ {
		in, out := net.Sizes[l], net.Sizes[l+1]
		std := 1 / (2 * math.Sqrt(float64(in)))
		var sum2 float64
		w := p[s.Weight(l) : s.Weight(l)+s.Members*in*out]
		for _, v := range w {
			if math.Abs(float64(v)) > 2*std*(1+1e-6) {
				t.Fatalf("layer %d weight %v beyond two standard deviations %v", l, v, 2*std)
			}
			sum2 += float64(v) * float64(v)
		}
		// A normal truncated at ±2σ has variance 0.774σ².
		if got := math.Sqrt(sum2 / float64(len(w))); math.Abs(got/std-math.Sqrt(0.774)) > 0.05 {
			t.Errorf("layer %d weight std %v, want %v", l, got, std*math.Sqrt(0.774))
		}
		for _, v := range p[s.Bias(l) : s.Bias(l)+s.Members*out] {
			if v != 0 {
				t.Fatalf("layer %d bias %v, want 0", l, v)
			}
		}
	}
	for j := 0; j < s.Out; j++ {
		if p[s.MaxLogVar()+j] != 0.5 || p[s.MinLogVar()+j] != -10 {
			t.Fatalf("log-variance bounds %v, %v; want 0.5 and -10", p[s.MaxLogVar()+j], p[s.MinLogVar()+j])
		}
	}
	// The bounds start at the spec's values.
	s.MaxLogVarInit, s.MinLogVarInit = 0.25, -7
	s.Init(p, rng.Key{Seed: 1, Purpose: rng.Init, Step: InitStepEnsemble})
	for j := 0; j < s.Out; j++ {
		if p[s.MaxLogVar()+j] != 0.25 || p[s.MinLogVar()+j] != -7 {
			t.Fatalf("log-variance bounds %v, %v; want the spec's 0.25 and -7", p[s.MaxLogVar()+j], p[s.MinLogVar()+j])
		}
	}
}

func TestAgentInit(t *testing.T) {
	s := PaperAgent(11, 3, -1)
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	b := s.Init(rng.Key{Seed: 2, Purpose: rng.Init, Step: InitStepAgent})
	want := map[string]int{"policy": s.Policy().NumParams(), "q1": s.Critic().NumParams(), "q2": s.Critic().NumParams(),
		"q1_target": s.Critic().NumParams(), "q2_target": s.Critic().NumParams(), "log_alpha": 1}
	for _, n := range AgentTrained() {
		want[n+"_adam_m"], want[n+"_adam_v"] = want[n], want[n]
	}
	if len(b) != len(want) {
		t.Fatalf("%d buffers, want %d", len(b), len(want))
	}
	for name, n := range want {
		if len(b[name]) != n {
			t.Errorf("%s has %d values, want %d", name, len(b[name]), n)
		}
	}
	for i := range b["q1"] {
		if b["q1"][i] != b["q1_target"][i] || b["q2"][i] != b["q2_target"][i] {
			t.Fatal("targets do not start equal to the critics")
		}
	}
	same := 0
	for i := range b["q1"] {
		if b["q1"][i] == b["q2"][i] && b["q1"][i] != 0 {
			same++
		}
	}
	if same > 0 {
		t.Fatalf("q1 and q2 share %d initial weights: they must draw different numbers", same)
	}
	lim := float32(math.Sqrt(6.0 / (11 + 256)))
	for _, v := range b["policy"][:11*256] {
		if v < -lim || v > lim {
			t.Fatalf("policy weight %v beyond the Glorot limit %v", v, lim)
		}
	}
	if b["log_alpha"][0] != 0 {
		t.Fatalf("log alpha %v, want log(1) = 0", b["log_alpha"][0])
	}
	s.InitAlpha = 0.2
	if got, want := s.Init(rng.Key{Seed: 2, Purpose: rng.Init, Step: InitStepAgent})["log_alpha"][0], float32(math.Log(0.2)); got != want {
		t.Fatalf("log alpha %v with InitAlpha 0.2, want %v", got, want)
	}
}

func TestSpecsValidate(t *testing.T) {
	bad := []EnsembleSpec{
		{Members: 0, In: 1, Out: 1, Hidden: []int{1}, WeightDecay: []float32{0, 0}, LR: 1},
		{Members: 1, In: 1, Out: 1, Hidden: []int{1}, WeightDecay: []float32{0}, LR: 1},
		{Members: 1, In: 1, Out: 1, Hidden: []int{1}, WeightDecay: []float32{0, 0}, LR: 0},
	}
	for i, s := range bad {
		if s.Validate() == nil {
			t.Errorf("ensemble spec %d accepted", i)
		}
	}
	a := PaperAgent(3, 1, -1)
	a.Tau = 0
	if a.Validate() == nil {
		t.Error("tau 0 accepted")
	}
}
