// safetensors.go: the safetensors file (an 8-byte little-endian header
// length, a JSON header naming each tensor's dtype, shape and byte range,
// padded with spaces to 8 bytes, then the tensors' bytes back to back).

package export

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/mbpogo/mbpo/trainer"
)

// tensor is one named tensor of a safetensors file.
type tensor struct {
	name  string
	dtype string // "F32" or "I64"
	shape []int
	data  []byte
}

func f32(name string, v []float32, shape ...int) tensor {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return tensor{name, "F32", shape, b}
}

func i64(name string, v []int) tensor {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(int64(x)))
	}
	return tensor{name, "I64", []int{len(v)}, b}
}

// mlpTensors names an MLP's layers prefix.l.weight [out, in] and
// prefix.l.bias [out].
func mlpTensors(prefix string, ls []linear) []tensor {
	var ts []tensor
	for l, ly := range ls {
		ts = append(ts, f32(fmt.Sprintf("%s.%d.weight", prefix, l), ly.w, ly.out, ly.in),
			f32(fmt.Sprintf("%s.%d.bias", prefix, l), ly.b, ly.out))
	}
	return ts
}

// Descriptions of the networks, for the files' metadata.
const (
	policyDoc = "MLP obs -> ReLU hidden layers -> [mean, log_std] (2*act_dim); weights [out, in], y = x W^T + b; " +
		"deterministic unit action tanh(mean); env action = low + (u+1)/2*(high-low) (action.low, action.high)"
	modelDoc = "per member: z = (x - norm_mean)/norm_std for x = [obs, unit action]; MLP with swish hidden layers -> " +
		"[mean, rho] (2*(obs_dim+1)), mean of [delta obs, reward]; logvar = max_logvar - softplus(max_logvar - rho), " +
		"then min_logvar + softplus(logvar - min_logvar); elites: the members rollouts draw from"
)

// tensors lists every tensor of n, in file order.
func tensors(n trainer.Networks) ([]tensor, error) {
	b := n.AgentState.Buffers
	ts := mlpTensors("policy", layers(n.Agent.Policy(), b["policy"]))
	for _, q := range []string{"q1", "q2", "q1_target", "q2_target"} {
		ts = append(ts, mlpTensors(q, layers(n.Agent.Critic(), b[q]))...)
	}
	ts = append(ts, f32("log_alpha", b["log_alpha"], 1),
		f32("action.low", n.Env.ActLow, n.Env.ActDim), f32("action.high", n.Env.ActHigh, n.Env.ActDim))
	if n.Ensemble == nil {
		return ts, nil
	}
	es := *n.Ensemble
	mb := n.EnsembleState.Buffers
	std := make([]float32, es.In)
	for i, s := range mb["norm_std"] {
		if !(s >= 1e-12) {
			s = 1 // as the engines treat it
		}
		std[i] = s
	}
	ts = append(ts, f32("model.norm_mean", mb["norm_mean"], es.In), f32("model.norm_std", std, es.In))
	for e := range es.Members {
		ts = append(ts, mlpTensors(fmt.Sprintf("model.%d", e), layers(es.Net(), member(es, mb["params"], e)))...)
	}
	p := mb["params"]
	ts = append(ts, f32("model.max_logvar", p[es.MaxLogVar():es.MaxLogVar()+es.Out], es.Out),
		f32("model.min_logvar", p[es.MinLogVar():es.MinLogVar()+es.Out], es.Out))
	for _, e := range n.Elites {
		if e < 0 || e >= es.Members {
			return nil, fmt.Errorf("export: elite %d outside the ensemble of %d", e, es.Members)
		}
	}
	return append(ts, i64("model.elites", n.Elites)), nil
}

// Safetensors returns n's networks as a safetensors file (names and shapes
// in the package doc).
func Safetensors(n trainer.Networks) ([]byte, error) {
	ts, err := tensors(n)
	if err != nil {
		return nil, err
	}
	config, err := json.Marshal(n.Config)
	if err != nil {
		return nil, err
	}
	header := map[string]any{"__metadata__": map[string]string{
		"format":    "mbpo-networks/1",
		"env":       n.Env.ID,
		"obs_dim":   strconv.Itoa(n.Env.ObsDim),
		"act_dim":   strconv.Itoa(n.Env.ActDim),
		"env_steps": strconv.Itoa(n.EnvSteps),
		"config":    string(config),
		"policy":    policyDoc,
		"model":     modelDoc,
	}}
	off := 0
	for _, t := range ts {
		if _, dup := header[t.name]; dup {
			return nil, fmt.Errorf("export: tensor %s twice", t.name)
		}
		header[t.name] = map[string]any{"dtype": t.dtype, "shape": t.shape, "data_offsets": [2]int{off, off + len(t.data)}}
		off += len(t.data)
	}
	h, err := json.Marshal(header)
	if err != nil {
		return nil, err
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	out := make([]byte, 8, 8+len(h)+off)
	binary.LittleEndian.PutUint64(out, uint64(len(h)))
	out = append(out, h...)
	for _, t := range ts {
		out = append(out, t.data...)
	}
	return out, nil
}
