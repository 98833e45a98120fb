// onnx.go: the deterministic policy as an ONNX model, written as protobuf
// with protowire. Field numbers are those of onnx.proto (ONNX 1.12):
//
//	ModelProto:        ir_version 1, producer_name 2, producer_version 3, doc_string 6,
//	                   graph 7, opset_import 8, metadata_props 14
//	OperatorSetIdProto: domain 1, version 2
//	GraphProto:        node 1, name 2, initializer 5, doc_string 10, input 11, output 12
//	NodeProto:         input 1, output 2, name 3, op_type 4, attribute 5
//	AttributeProto:    name 1, i 3, type 20 (INT = 2)
//	TensorProto:       dims 1, data_type 2 (FLOAT = 1), name 8, raw_data 9 (little-endian)
//	ValueInfoProto:    name 1, type 2
//	TypeProto:         tensor_type 1 { elem_type 1, shape 2 { dim 1 { dim_value 1, dim_param 2 } } }
//	StringStringEntryProto: key 1, value 2

package export

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/mbpogo/mbpo/trainer"
)

// The ONNX versions the policy is written for.
const (
	ONNXOpset     = 13
	ONNXIRVersion = 7
)

// pb builds one protobuf message.
type pb []byte

func (m pb) varint(field protowire.Number, v uint64) pb {
	m = protowire.AppendTag(m, field, protowire.VarintType)
	return protowire.AppendVarint(m, v)
}

func (m pb) bytes(field protowire.Number, b []byte) pb {
	m = protowire.AppendTag(m, field, protowire.BytesType)
	return protowire.AppendBytes(m, b)
}

func (m pb) str(field protowire.Number, s string) pb { return m.bytes(field, []byte(s)) }

func (m pb) msg(field protowire.Number, sub pb) pb { return m.bytes(field, sub) }

// floatTensor is an initializer: a float32 tensor of the given dims.
func floatTensor(name string, v []float32, dims ...int) pb {
	var t pb
	for _, d := range dims {
		t = t.varint(1, uint64(d))
	}
	t = t.varint(2, 1) // FLOAT
	t = t.str(8, name)
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return t.bytes(9, raw)
}

// attr is an integer attribute of a node.
type attr struct {
	name string
	v    int64
}

// node is one operator.
func node(op, name string, in []string, out string, attrs ...attr) pb {
	var n pb
	for _, s := range in {
		n = n.str(1, s)
	}
	n = n.str(2, out).str(3, name).str(4, op)
	for _, a := range attrs {
		n = n.msg(5, pb{}.str(1, a.name).varint(3, uint64(a.v)).varint(20, 2))
	}
	return n
}

// valueInfo declares a float32 tensor [N, width] with a symbolic batch.
func valueInfo(name string, width int) pb {
	shape := pb{}.msg(1, pb{}.str(2, "N")).msg(1, pb{}.varint(1, uint64(width)))
	tt := pb{}.varint(1, 1).msg(2, shape)
	return pb{}.str(1, name).msg(2, pb{}.msg(1, tt))
}

// ONNX returns the deterministic policy of n as an ONNX model: "obs"
// [N, obs_dim] in, "action" [N, act_dim] in the env's control range out.
func ONNX(n trainer.Networks) ([]byte, error) {
	ls := layers(n.Agent.Policy(), n.AgentState.Buffers["policy"])
	act := n.Env.ActDim
	// The last layer's μ half: rows 0 … act-1 of its [2·act][in] weights.
	last := &ls[len(ls)-1]
	if last.out != 2*act {
		return nil, fmt.Errorf("export: the policy's last layer has %d outputs, want %d", last.out, 2*act)
	}
	last.w, last.b, last.out = last.w[:act*last.in], last.b[:act], act

	var g pb
	x := "obs"
	transB := attr{"transB", 1} // y = x·Wᵀ + b with W [out][in]
	for l, ly := range ls {
		w, b := fmt.Sprintf("policy.%d.weight", l), fmt.Sprintf("policy.%d.bias", l)
		g = g.msg(5, floatTensor(w, ly.w, ly.out, ly.in)).msg(5, floatTensor(b, ly.b, ly.out))
		y := fmt.Sprintf("h%d", l)
		if l == len(ls)-1 {
			y = "mean"
		}
		g = g.msg(1, node("Gemm", fmt.Sprintf("gemm%d", l), []string{x, w, b}, y, transB))
		x = y
		if l < len(ls)-1 {
			x = fmt.Sprintf("relu%d", l)
			g = g.msg(1, node("Relu", x, []string{y}, x))
		}
	}
	half, centre := make([]float32, act), make([]float32, act)
	for i := range act {
		lo, hi := n.Env.ActLow[i], n.Env.ActHigh[i]
		half[i], centre[i] = (hi-lo)/2, (lo+hi)/2
	}
	g = g.msg(5, floatTensor("action_half_range", half, act)).msg(5, floatTensor("action_centre", centre, act))
	g = g.msg(1, node("Tanh", "tanh", []string{"mean"}, "unit_action"))
	g = g.msg(1, node("Mul", "scale", []string{"unit_action", "action_half_range"}, "scaled"))
	g = g.msg(1, node("Add", "shift", []string{"scaled", "action_centre"}, "action"))
	g = g.str(2, "mbpo_policy").
		str(10, fmt.Sprintf("deterministic policy of an MBPO run on %s at %d env steps: action = centre + half_range * tanh(mean(obs))", n.Env.ID, n.EnvSteps)).
		msg(11, valueInfo("obs", n.Env.ObsDim)).
		msg(12, valueInfo("action", act))

	m := pb{}.varint(1, ONNXIRVersion).str(2, "mbpo").str(3, "1").
		str(6, "MBPO (github.com/mbpogo/mbpo): the deterministic SAC policy, tanh and the env's action scaling included").
		msg(7, g).
		msg(8, pb{}.str(1, "").varint(2, ONNXOpset))
	for _, kv := range [][2]string{{"env", n.Env.ID}, {"env_steps", fmt.Sprint(n.EnvSteps)}, {"obs_dim", fmt.Sprint(n.Env.ObsDim)}, {"act_dim", fmt.Sprint(act)}} {
		m = m.msg(14, pb{}.str(1, kv[0]).str(2, kv[1]))
	}
	return m, nil
}
