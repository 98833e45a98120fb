// Package export writes a run's networks in formats other tools load:
// safetensors (every network, for numpy, PyTorch, JAX) and ONNX (the
// deterministic policy, for ONNX runtimes). It reads the checkpoint through
// trainer.ReadNetworks.
//
// # safetensors
//
// One file, little-endian float32 tensors (elites int64), with the run's
// config and a description of the networks in the metadata. Every weight is
// stored [out, in], as torch.nn.Linear keeps it (y = x·Wᵀ + b), every bias
// [out]. With L = len(hidden)+1 layers, l = 0 … L-1:
//
//	policy.l.weight, policy.l.bias   the tanh-Gaussian policy, input obs [obs_dim],
//	                                 ReLU after every layer but the last, output
//	                                 [2·act_dim]: the mean μ, then log σ (clipped
//	                                 to [-20, 2] when sampling). The deterministic
//	                                 action is tanh(μ), in [-1, 1].
//	q1.l.*, q2.l.*                   the critics, input [obs ‖ unit action] (the
//	q1_target.l.*, q2_target.l.*     action in [-1, 1]), ReLU, output [1]; and
//	                                 their target copies
//	log_alpha                        [1] the entropy temperature's logarithm
//	action.low, action.high          [act_dim] the env's control range: the env's
//	                                 action is low + (u+1)/2·(high-low) for a unit
//	                                 action u
//
// and for a run with a dynamics model (not SAC, not the no-model ablation),
// members e = 0 … E-1:
//
//	model.norm_mean, model.norm_std  [obs_dim+act_dim] the input normaliser,
//	                                 z = (x - mean)/std for x = [obs ‖ unit action]
//	                                 (std entries below 1e-12 are stored as 1, as
//	                                 the engines use them)
//	model.e.l.weight, model.e.l.bias member e: swish (x·sigmoid(x)) after every
//	                                 layer but the last, output [2·(obs_dim+1)]:
//	                                 the mean of [Δobs, reward], then a raw
//	                                 log-variance ρ
//	model.max_logvar, model.min_logvar
//	                                 [obs_dim+1] the learned soft bounds:
//	                                 logvar = max - softplus(max - ρ), then
//	                                 logvar = min + softplus(logvar - min)
//	model.elites                     [n_elites] int64, the elite members, best
//	                                 first; MBPO's rollouts draw one per sample
//
// Metadata keys: "format" ("mbpo-networks/1"), "env", "obs_dim", "act_dim",
// "env_steps", "config" (the run's config.json), "policy" and "model" (the
// descriptions above, in one line each).
//
// # ONNX
//
// The deterministic policy as a graph of opset 13 (IR version 7): input
// "obs", float32 [N, obs_dim]; output "action", float32 [N, act_dim], in
// the env's range: Gemm and Relu per hidden layer, a last Gemm that keeps
// the μ half of the output, Tanh, then Mul by the half-width and Add of the
// centre of the control range.
package export

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// Formats lists the formats Write takes.
func Formats() []string { return []string{"safetensors", "onnx"} }

// FileName returns the name of format's file in the output directory.
func FileName(format string) string {
	if format == "onnx" {
		return "policy.onnx"
	}
	return "networks.safetensors"
}

// Write reads the checkpoint of runDir and writes each format into outDir
// (created if missing), returning the paths written.
func Write(runDir string, formats []string, outDir string) ([]string, error) {
	for _, f := range formats {
		if !slices.Contains(Formats(), f) {
			return nil, fmt.Errorf("export: unknown format %q; want %s", f, strings.Join(Formats(), " or "))
		}
	}
	n, err := trainer.ReadNetworks(runDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o777); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range formats {
		var b []byte
		switch f {
		case "safetensors":
			b, err = Safetensors(n)
		case "onnx":
			b, err = ONNX(n)
		}
		if err != nil {
			return paths, err
		}
		path := filepath.Join(outDir, FileName(f))
		if err := rundir.WriteFile(path, b); err != nil {
			return paths, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// linear is one layer of an MLP, transposed to [out][in].
type linear struct {
	in, out int
	w       []float32 // [out][in]
	b       []float32 // [out]
}

// layers cuts an MLP's flat parameters (layout in engine) into its
// layers, weights transposed to [out][in].
func layers(net engine.MLP, p []float32) []linear {
	var ls []linear
	for l := range net.Layers() {
		in, out := net.Sizes[l], net.Sizes[l+1]
		w := p[net.Weight(l) : net.Weight(l)+in*out] // [in][out]
		t := make([]float32, in*out)
		for i := range in {
			for o := range out {
				t[o*in+i] = w[i*out+o]
			}
		}
		ls = append(ls, linear{in: in, out: out, w: t, b: slices.Clone(p[net.Bias(l) : net.Bias(l)+out])})
	}
	return ls
}

// member returns member e's flat parameters in the MLP layout of
// spec.Net() (the ensemble stores all members of a layer together).
func member(spec engine.EnsembleSpec, params []float32, e int) []float32 {
	net := spec.Net()
	p := make([]float32, net.NumParams())
	for l := range net.Layers() {
		in, out := net.Sizes[l], net.Sizes[l+1]
		copy(p[net.Weight(l):], params[spec.Weight(l)+e*in*out:spec.Weight(l)+(e+1)*in*out])
		copy(p[net.Bias(l):], params[spec.Bias(l)+e*out:spec.Bias(l)+(e+1)*out])
	}
	return p
}
