// layout.go: the flat parameter layouts every engine stores its networks
// in, and the specs (EnsembleSpec, AgentSpec) that size them.

package engine

import (
	"fmt"
	"math"

	"github.com/mbpogo/mbpo/rng"
)

// Parameter layouts. Every engine stores its parameters in exactly these flat
// float32 layouts, so State buffers are interchangeable between engines and
// kernels can index them directly.
//
// MLP (one network, L = len(Sizes)-1 layers), layer by layer:
//
//	W_l [Sizes[l]][Sizes[l+1]]   row-major: y = x·W_l + b_l
//	b_l [Sizes[l+1]]
//
// Ensemble ("params" buffer), with E members and Sizes = [In, Hidden..., 2·Out],
// layer by layer, all members of a layer together:
//
//	W_l [E][Sizes[l]][Sizes[l+1]]
//	b_l [E][Sizes[l+1]]
//
// then MaxLogVar [Out] and MinLogVar [Out]. The other ensemble buffers are
// "adam_m" and "adam_v" (like "params"), "norm_mean" and "norm_std" ([In]).
//
// Agent: "policy" (MLP [Obs, Hidden..., 2·Act]: mean then log σ), "q1", "q2",
// "q1_target", "q2_target" (MLP [Obs+Act, Hidden..., 1]), "log_alpha" ([1]);
// Adam moments of each trained buffer under NAME+"_adam_m" and NAME+"_adam_v".

// MLP describes one fully connected network by its layer widths.
type MLP struct {
	Sizes []int // input width, hidden widths..., output width
}

// Layers is the number of weight layers.
func (m MLP) Layers() int { return len(m.Sizes) - 1 }

// NumParams is the length of the network's flat parameter buffer.
func (m MLP) NumParams() int {
	n := 0
	for l := 0; l < m.Layers(); l++ {
		n += m.Sizes[l]*m.Sizes[l+1] + m.Sizes[l+1]
	}
	return n
}

// Weight returns the offset of W_l, a [Sizes[l]][Sizes[l+1]] matrix.
func (m MLP) Weight(l int) int {
	off := 0
	for i := 0; i < l; i++ {
		off += m.Sizes[i]*m.Sizes[i+1] + m.Sizes[i+1]
	}
	return off
}

// Bias returns the offset of b_l, a [Sizes[l+1]] vector.
func (m MLP) Bias(l int) int { return m.Weight(l) + m.Sizes[l]*m.Sizes[l+1] }

// FLOPs is the number of floating-point operations of one forward pass of
// one row (2 per multiply-add).
func (m MLP) FLOPs() int {
	f := 0
	for l := 0; l < m.Layers(); l++ {
		f += 2 * m.Sizes[l] * m.Sizes[l+1]
	}
	return f
}

// InitGlorot fills p (len NumParams) with Glorot-uniform weights, limit
// sqrt(6/(in+out)), and zero biases, drawing number off+i of s's key for
// parameter i. This is the SAC networks' initialisation.
func (m MLP) InitGlorot(p []float32, key rng.Key, off uint64) {
	for l := 0; l < m.Layers(); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		lim := float32(math.Sqrt(6 / float64(in+out)))
		w := m.Weight(l)
		for i := 0; i < in*out; i++ {
			p[w+i] = lim * (2*key.Uniform(off+uint64(w+i)) - 1)
		}
		b := m.Bias(l)
		for i := 0; i < out; i++ {
			p[b+i] = 0
		}
	}
}

// EnsembleSpec is the shape and training settings of a dynamics ensemble.
// A run's comes from its configuration (trainer.Config.EnsembleSpec), which
// holds MBPO's values.
type EnsembleSpec struct {
	Members       int       // ensemble size
	In            int       // input width: obs + act
	Out           int       // target width: obs + 1 (Δs then reward)
	Hidden        []int     // hidden widths (swish)
	WeightDecay   []float32 // L2 coefficient per weight layer, len(Hidden)+1
	LR            float32   // Adam learning rate
	MaxLogVarInit float32   // starting value of every entry of the learned upper log-variance bound (MaxLogVar)
	MinLogVarInit float32   // starting value of every entry of the learned lower bound (MinLogVar)
	Precision     Precision // arithmetic of the matrix products ("": FP32)
}

// LogVarPenalty weighs Σ MaxLogVar − Σ MinLogVar in the ensemble's training
// loss, keeping the learned bounds tight. It is part of MBPO's loss, fixed
// in the authors' code (bnn.py: 0.01 · Σ max_logvar − 0.01 · Σ min_logvar),
// not a setting. The CPU engine uses this constant; the CUDA kernels compile
// the same value in as MBPO_LOGVAR_PENALTY (kernels/train.h), and
// TestLogVarPenaltyMatchesKernels (engine/cuda) keeps the two equal.
const LogVarPenalty = 0.01

// Validate reports a spec that no engine can build.
func (s EnsembleSpec) Validate() error {
	switch {
	case s.Members < 1:
		return fmt.Errorf("ensemble: Members = %d, want at least 1", s.Members)
	case s.In < 1 || s.Out < 1:
		return fmt.Errorf("ensemble: In = %d, Out = %d, want both at least 1", s.In, s.Out)
	case len(s.Hidden) < 1:
		return fmt.Errorf("ensemble: no hidden layers")
	case len(s.WeightDecay) != len(s.Hidden)+1:
		return fmt.Errorf("ensemble: %d weight-decay values for %d weight layers", len(s.WeightDecay), len(s.Hidden)+1)
	case !(s.LR > 0):
		return fmt.Errorf("ensemble: learning rate %v, want > 0", s.LR)
	case s.Precision.Check() != nil:
		return fmt.Errorf("ensemble: %w", s.Precision.Check())
	}
	for _, h := range s.Hidden {
		if h < 1 {
			return fmt.Errorf("ensemble: hidden width %d, want at least 1", h)
		}
	}
	return nil
}

// Clone returns a copy of s that shares no slices with it.
func (s EnsembleSpec) Clone() EnsembleSpec {
	s.Hidden = append([]int(nil), s.Hidden...)
	s.WeightDecay = append([]float32(nil), s.WeightDecay...)
	return s
}

// Net is the MLP shape of one member: [In, Hidden..., 2·Out].
func (s EnsembleSpec) Net() MLP {
	sizes := append([]int{s.In}, s.Hidden...)
	return MLP{Sizes: append(sizes, 2*s.Out)}
}

// Weight returns the offset of W_l ([Members][Sizes[l]][Sizes[l+1]]) in "params".
func (s EnsembleSpec) Weight(l int) int { return s.Members * s.Net().Weight(l) }

// Bias returns the offset of b_l ([Members][Sizes[l+1]]) in "params".
func (s EnsembleSpec) Bias(l int) int { return s.Members * s.Net().Bias(l) }

// MemberSpans returns the [offset, length) spans of member e's weights and
// biases in "params", layer by layer (W_0, b_0, W_1, b_1, ...): what a
// retrain snapshots and restores for one member (Ensemble.SaveMembers). The
// shared log-variance bounds belong to no member.
func (s EnsembleSpec) MemberSpans(e int) [][2]int {
	net := s.Net()
	spans := make([][2]int, 0, 2*net.Layers())
	for l := 0; l < net.Layers(); l++ {
		in, out := net.Sizes[l], net.Sizes[l+1]
		spans = append(spans, [2]int{s.Weight(l) + e*in*out, in * out}, [2]int{s.Bias(l) + e*out, out})
	}
	return spans
}

// MaxLogVar returns the offset of the [Out] upper log-variance bound.
func (s EnsembleSpec) MaxLogVar() int { return s.Members * s.Net().NumParams() }

// MinLogVar returns the offset of the [Out] lower log-variance bound.
func (s EnsembleSpec) MinLogVar() int { return s.MaxLogVar() + s.Out }

// NumParams is the length of the "params" buffer.
func (s EnsembleSpec) NumParams() int { return s.MinLogVar() + s.Out }

// Init fills p (len NumParams) with MBPO's initialisation: weights from a
// normal with std 1/(2·sqrt(fan_in)) truncated at two standard deviations
// (a draw beyond is redrawn from number i + j·NumParams, j = 1, 2, ...), zero
// biases, MaxLogVar = MaxLogVarInit and MinLogVar = MinLogVarInit.
// Parameter i uses number i of key.
func (s EnsembleSpec) Init(p []float32, key rng.Key) {
	net := s.Net()
	n := uint64(s.NumParams())
	for l := 0; l < net.Layers(); l++ {
		in, out := net.Sizes[l], net.Sizes[l+1]
		std := float32(1 / (2 * math.Sqrt(float64(in))))
		w := s.Weight(l)
		for i := w; i < w+s.Members*in*out; i++ {
			z := key.Normal(uint64(i))
			for j := uint64(1); z < -2 || z > 2; j++ {
				z = key.Normal(uint64(i) + j*n)
			}
			p[i] = std * z
		}
		b := s.Bias(l)
		for i := b; i < b+s.Members*out; i++ {
			p[i] = 0
		}
	}
	for i := 0; i < s.Out; i++ {
		p[s.MaxLogVar()+i] = s.MaxLogVarInit
		p[s.MinLogVar()+i] = s.MinLogVarInit
	}
}

// AgentSpec is the shape and settings of a SAC agent. A run's comes from
// its configuration (trainer.Config.AgentSpec), which holds MBPO's values.
type AgentSpec struct {
	Obs, Act      int       // observation and action widths
	Hidden        []int     // hidden widths of the policy and critics, ReLU
	Gamma         float32   // discount
	Tau           float32   // soft target update rate
	LR            float32   // Adam learning rate of policy, critics and temperature
	TargetEntropy float32   // entropy target of the temperature loss
	InitAlpha     float32   // initial temperature
	LogStdMin     float32   // lower clip of the policy's log σ
	LogStdMax     float32   // upper clip of the policy's log σ
	Precision     Precision // arithmetic of the matrix products ("": FP32)
}

// Validate reports a spec that no engine can build.
func (s AgentSpec) Validate() error {
	switch {
	case s.Obs < 1 || s.Act < 1:
		return fmt.Errorf("agent: Obs = %d, Act = %d, want both at least 1", s.Obs, s.Act)
	case len(s.Hidden) < 1:
		return fmt.Errorf("agent: no hidden layers")
	case !(s.Gamma >= 0 && s.Gamma <= 1):
		return fmt.Errorf("agent: discount %v, want within [0, 1]", s.Gamma)
	case !(s.Tau > 0 && s.Tau <= 1):
		return fmt.Errorf("agent: tau %v, want within (0, 1]", s.Tau)
	case !(s.LR > 0):
		return fmt.Errorf("agent: learning rate %v, want > 0", s.LR)
	case !(s.InitAlpha > 0):
		return fmt.Errorf("agent: initial alpha %v, want > 0", s.InitAlpha)
	case !(s.LogStdMin < s.LogStdMax):
		return fmt.Errorf("agent: log-std clip [%v, %v] is empty", s.LogStdMin, s.LogStdMax)
	case s.Precision.Check() != nil:
		return fmt.Errorf("agent: %w", s.Precision.Check())
	}
	return nil
}

// Clone returns a copy of s that shares no slices with it.
func (s AgentSpec) Clone() AgentSpec {
	s.Hidden = append([]int(nil), s.Hidden...)
	return s
}

// Policy is the policy network's shape: [Obs, Hidden..., 2·Act].
func (s AgentSpec) Policy() MLP {
	return MLP{Sizes: append(append([]int{s.Obs}, s.Hidden...), 2*s.Act)}
}

// Critic is each Q network's shape: [Obs+Act, Hidden..., 1].
func (s AgentSpec) Critic() MLP {
	return MLP{Sizes: append(append([]int{s.Obs + s.Act}, s.Hidden...), 1)}
}

// Init returns the initial agent buffers: Glorot-uniform policy, q1 and q2
// (drawing from key at offsets 0, then after the policy, then after q1),
// targets equal to the critics, logα = log(InitAlpha), zero Adam moments.
func (s AgentSpec) Init(key rng.Key) map[string][]float32 {
	pol, cri := s.Policy(), s.Critic()
	b := map[string][]float32{
		"policy":    make([]float32, pol.NumParams()),
		"q1":        make([]float32, cri.NumParams()),
		"q2":        make([]float32, cri.NumParams()),
		"log_alpha": {float32(math.Log(float64(s.InitAlpha)))},
	}
	pol.InitGlorot(b["policy"], key, 0)
	cri.InitGlorot(b["q1"], key, uint64(pol.NumParams()))
	cri.InitGlorot(b["q2"], key, uint64(pol.NumParams()+cri.NumParams()))
	b["q1_target"] = append([]float32(nil), b["q1"]...)
	b["q2_target"] = append([]float32(nil), b["q2"]...)
	for _, name := range AgentTrained() {
		b[name+"_adam_m"] = make([]float32, len(b[name]))
		b[name+"_adam_v"] = make([]float32, len(b[name]))
	}
	return b
}

// AgentTrained lists the agent buffers trained by Adam.
func AgentTrained() []string { return []string{"policy", "q1", "q2", "log_alpha"} }

// Init stream steps, so ensemble and agent weights never share numbers.
const (
	InitStepEnsemble = 1
	InitStepAgent    = 2
)
