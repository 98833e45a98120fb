package export

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/trainer"
)

// tol is the agreement asked of numpy (float64) and the engine (float32).
const tol = 1e-5

// tinyRun trains a seconds-long run of env (MBPO, or SAC with algo "sac")
// with small networks and returns its directory.
func tinyRun(t *testing.T, envID, algo string) string {
	t.Helper()
	c, err := trainer.PaperConfig(envID)
	if err != nil {
		t.Fatal(err)
	}
	c.Algo = algo
	c.Steps, c.EpochLength, c.InitSteps = 600, 300, 300
	c.G, c.Hidden, c.ModelHidden = 2, 32, 24
	c.ModelTrainFreq, c.RolloutBatch, c.ModelMaxEpochs = 150, 400, 3
	c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 2, 50, 1
	c.Threads = 1
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	tr, err := trainer.New(c, eng, dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Run(context.Background(), trainer.Hooks{}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// debianPython returns Debian's python3 when it imports the modules, and
// fails the test otherwise: make test installs them (scripts/deps.sh), so a
// missing one is an error, never a skip.
func debianPython(t *testing.T, modules ...string) string {
	t.Helper()
	const py = "/usr/bin/python3"
	out, err := exec.Command(py, "-c", "import "+strings.Join(modules, ", ")).CombinedOutput()
	if err != nil {
		t.Fatalf("%s cannot import %s (%v: %s): Debian's python3-numpy and python3-onnx are needed; "+
			"scripts/deps.sh installs them (apt-get install python3-numpy python3-onnx)", py, strings.Join(modules, ", "), err, out)
	}
	return py
}

// memberCase is what the engine predicts with one ensemble member.
type memberCase struct {
	Member int         `json:"member"`
	Mean   [][]float32 `json:"mean"`
	LogVar [][]float32 `json:"logvar"`
}

// checkCase is the JSON the Python checks read: fixed inputs and what mbpo's
// engine computes for them.
type checkCase struct {
	Env        string       `json:"env"`
	Tol        float64      `json:"tol"`
	Opset      int          `json:"opset"`
	Obs        [][]float32  `json:"obs"`
	UnitAction [][]float32  `json:"unit_action"`
	Action     [][]float32  `json:"action"`
	ModelX     [][]float32  `json:"model_x"`
	Elites     []int        `json:"elites"`
	Members    []memberCase `json:"members"`
}

func rows(v []float32, width int) [][]float32 {
	var out [][]float32
	for i := 0; i < len(v); i += width {
		out = append(out, v[i:i+width])
	}
	return out
}

// engineCase computes the engine's outputs for 16 fixed observations (and
// model inputs: those observations with random unit actions).
func engineCase(t *testing.T, n trainer.Networks) checkCase {
	t.Helper()
	eng := cpu.New(cpu.Options{Threads: 1})
	t.Cleanup(func() { eng.Close() })
	const N = 16
	od, ad := n.Env.ObsDim, n.Env.ActDim
	key := rng.Key{Seed: 42, Purpose: rng.Test}
	obs := make([]float32, N*od)
	for i := range obs {
		obs[i] = key.Normal(uint64(i))
	}
	agent, err := n.NewAgent(eng)
	if err != nil {
		t.Fatal(err)
	}
	unit, act := make([]float32, N*ad), make([]float32, N*ad)
	if err := agent.Act(obs, N, true, rng.Key{}, unit); err != nil {
		t.Fatal(err)
	}
	for i := range N {
		n.Env.ActionFromUnit(act[i*ad:(i+1)*ad], unit[i*ad:(i+1)*ad])
	}
	c := checkCase{Env: n.Env.ID, Tol: tol, Opset: ONNXOpset, Obs: rows(obs, od), UnitAction: rows(unit, ad), Action: rows(act, ad),
		Elites: append([]int{}, n.Elites...), Members: []memberCase{}}
	if n.Ensemble == nil {
		return c
	}
	ens, err := n.NewEnsemble(eng)
	if err != nil {
		t.Fatal(err)
	}
	es := *n.Ensemble
	x := make([]float32, N*es.In)
	for i := range N {
		copy(x[i*es.In:], obs[i*od:(i+1)*od])
		for j := range ad {
			x[i*es.In+od+j] = 2*key.Uniform(uint64(1000+i*ad+j)) - 1
		}
	}
	c.ModelX = rows(x, es.In)
	// An elite and the last member: a mix-up of members shows in either.
	for _, m := range []int{n.Elites[0], es.Members - 1} {
		members := make([]int32, N)
		for i := range members {
			members[i] = int32(m)
		}
		mean, logvar := make([]float32, N*es.Out), make([]float32, N*es.Out)
		if err := ens.Predict(x, members, N, mean, logvar); err != nil {
			t.Fatal(err)
		}
		c.Members = append(c.Members, memberCase{m, rows(mean, es.Out), rows(logvar, es.Out)})
	}
	return c
}

// runCheck runs a Python check of path on c and fails with its output.
func runCheck(t *testing.T, py, script, path string, c checkCase) {
	t.Helper()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	cpath := filepath.Join(t.TempDir(), "case.json")
	if err := os.WriteFile(cpath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(py, filepath.Join("testdata", script), path, cpath).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "overall ok") {
		t.Fatalf("%s %s: %v\n%s", script, path, err, out)
	}
	t.Logf("%s:\n%s", script, out)
}

// TestExportAgreesWithNumpyAndONNX exports an MBPO run on Hopper (obs 11,
// act 3, an ensemble) and a SAC run on InvertedPendulum (actions in [-3, 3],
// no model), and checks both files with Debian's numpy and onnx against the
// engine's outputs for fixed inputs.
func TestExportAgreesWithNumpyAndONNX(t *testing.T) {
	py := debianPython(t, "numpy", "onnx")
	for _, c := range []struct{ env, algo string }{{"Hopper-v4", "mbpo"}, {"InvertedPendulum-v4", "sac"}} {
		t.Run(c.env+"/"+c.algo, func(t *testing.T) {
			dir := tinyRun(t, c.env, c.algo)
			out := filepath.Join(t.TempDir(), "export")
			paths, err := Write(dir, Formats(), out)
			if err != nil {
				t.Fatal(err)
			}
			want := []string{filepath.Join(out, "networks.safetensors"), filepath.Join(out, "policy.onnx")}
			if !slices.Equal(paths, want) {
				t.Fatalf("wrote %v, want %v", paths, want)
			}
			n, err := trainer.ReadNetworks(dir)
			if err != nil {
				t.Fatal(err)
			}
			if (n.Ensemble != nil) != (c.algo == "mbpo") {
				t.Fatalf("ensemble %v for algo %s", n.Ensemble, c.algo)
			}
			cs := engineCase(t, n)
			runCheck(t, py, "check_safetensors.py", paths[0], cs)
			runCheck(t, py, "check_onnx.py", paths[1], cs)
		})
	}
}

// TestSafetensorsLayout reads the header in Go: every tensor documented is
// there with its shape, and the data are back to back after an 8-byte
// aligned header.
func TestSafetensorsLayout(t *testing.T) {
	dir := tinyRun(t, "Hopper-v4", "mbpo")
	n, err := trainer.ReadNetworks(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Safetensors(n)
	if err != nil {
		t.Fatal(err)
	}
	hlen := binary.LittleEndian.Uint64(b)
	if (8+hlen)%8 != 0 {
		t.Errorf("header of %d bytes: data not aligned to 8", hlen)
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+hlen], &header); err != nil {
		t.Fatal(err)
	}
	type info struct {
		Dtype   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	h := 32
	want := map[string][]int{
		"policy.0.weight": {h, 11}, "policy.0.bias": {h}, "policy.1.weight": {h, h}, "policy.2.weight": {6, h}, "policy.2.bias": {6},
		"q1.0.weight": {h, 14}, "q2.2.weight": {1, h}, "q1_target.1.bias": {h}, "q2_target.0.weight": {h, 14},
		"log_alpha": {1}, "action.low": {3}, "action.high": {3},
		"model.norm_mean": {14}, "model.norm_std": {14}, "model.0.0.weight": {24, 14}, "model.6.3.bias": {24},
		"model.6.4.weight": {24, 24}, "model.3.4.bias": {24}, "model.max_logvar": {12}, "model.min_logvar": {12},
		"model.elites": {5},
	}
	total := 0
	for name, raw := range header {
		if name == "__metadata__" {
			continue
		}
		var in info
		if err := json.Unmarshal(raw, &in); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		size := 4
		if in.Dtype == "I64" {
			size = 8
		}
		n := size
		for _, d := range in.Shape {
			n *= d
		}
		if in.Offsets[1]-in.Offsets[0] != n {
			t.Errorf("%s %v %s spans %v", name, in.Shape, in.Dtype, in.Offsets)
		}
		total += n
		if w, ok := want[name]; ok {
			if !slices.Equal(in.Shape, w) {
				t.Errorf("%s has shape %v, want %v", name, in.Shape, w)
			}
			delete(want, name)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing tensors: %v", want)
	}
	if total != len(b)-8-int(hlen) {
		t.Errorf("tensors hold %d bytes of %d", total, len(b)-8-int(hlen))
	}
	var meta map[string]string
	json.Unmarshal(header["__metadata__"], &meta)
	var cfg trainer.Config
	if err := json.Unmarshal([]byte(meta["config"]), &cfg); err != nil || cfg.Env != "Hopper-v4" || meta["obs_dim"] != "11" {
		t.Errorf("metadata %v: config %v", meta, err)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	if _, err := Write(t.TempDir(), []string{"pt"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "safetensors or onnx") {
		t.Errorf("format pt: %v", err)
	}
	if _, err := Write(t.TempDir(), []string{"onnx"}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "no checkpoint") {
		t.Errorf("a directory without a checkpoint: %v", err)
	}
}
