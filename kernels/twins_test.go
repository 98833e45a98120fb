// twins_test.go: every kernel with its CPU twin (the Go code of engine/cpu,
// trainer, env or rng that computes the same thing) and the tests that
// compare them, in one table: llm.c's rule of a plain CPU version beside
// every GPU kernel and a test comparing them, kept checkable.
//
// TestEveryKernelHasATwin fails when a kernel is added without an entry,
// when a twin or a test the table names no longer exists, or when a
// kernel's comment in its .cu file does not name its twin and tests as the
// table does. Adding a kernel: write its twin (or find it), a test comparing
// them (host and GPU, through a check function on a Machine), then a row
// here and the same "twin:" and "tests:" lines above the kernel.

package kernels

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// kernelTwin is a kernel's row of the table.
type kernelTwin struct {
	k Kernel
	// twin is "DIR Name, Name...": Go functions or methods (Type.Method) of
	// the package in DIR (relative to the repository) that compute what the
	// kernel computes; or "none (why)".
	twin string
	// tests are "DIR TestName": tests that run the kernel and compare its
	// output with the twin's (or, where noted in the kernel's comment, with
	// a float64 version of the same formula).
	tests []string
}

// kernelTwins is the table: every Kernel once.
var kernelTwins = []kernelTwin{
	// ensemble.cu
	{KEnsembleForward, "engine/cpu ensemble.ForwardAll", []string{
		"kernels TestHostEnsembleForwardMatchesCPUEngine", "kernels TestGPUEnsembleForward",
		"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference"}},
	{KEnsemblePredict, "engine/cpu ensemble.Predict", []string{
		"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference",
		"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KSwish, "engine/cpu biasAct", []string{"kernels TestHostSwishAndGaussianHead", "kernels TestGPUSwishAndGaussianHead"}},
	{KGaussianHead, "engine/cpu gaussHead", []string{"kernels TestHostSwishAndGaussianHead", "kernels TestGPUSwishAndGaussianHead"}},

	// train.cu
	{KGemm, "engine/cpu matmul.forward, matmul.backward", []string{
		"kernels TestHostGemmMatchesFloat64",
		"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining",
		"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KNormalize, "engine/cpu normalize", []string{"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining"}},
	{KColsum, "engine/cpu colsum", []string{
		"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining",
		"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KGaussNLLGrad, "engine/cpu gaussNLLGrad", []string{"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining"}},
	{KGaussBounds, "engine/cpu ensemble.gradients", []string{"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining"}},
	{KTick, "engine/cpu adamStep", []string{
		"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining",
		"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KAdam, "engine/cpu adam, polyak", []string{
		"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining",
		"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KLossFinish, "engine/cpu ensemble.trainMember", []string{"engine/cuda TestHostEnsembleTraining", "engine/cuda TestGPUEnsembleTraining"}},
	{KGaussEvalPart, "engine/cpu gaussEval", []string{
		"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference",
		"engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},
	{KGaussEvalFinish, "engine/cpu ensemble.Evaluate", []string{
		"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference",
		"engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},

	// sac.cu
	{KPolicyAct, "engine/cpu agent.actChunk, policyAct", []string{
		"engine/cuda TestHostAgentAct", "engine/cuda TestGPUAgentAct",
		"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KPolicySample, "engine/cpu policySample", []string{
		"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate",
		"engine/cuda TestHostSACUpdates", "engine/cuda TestGPUSACUpdates"}},
	{KConcat, "engine/cpu concatRows", []string{"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KTDTarget, "engine/cpu agent.criticGradients", []string{"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KCriticGrad, "engine/cpu agent.criticStep", []string{"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KActorGrad, "engine/cpu agent.actorGradients, agent.Update", []string{"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},
	{KPolicyBackward, "engine/cpu policyBackward", []string{"engine/cuda TestHostAgentUpdate", "engine/cuda TestGPUAgentUpdate"}},

	// rollout.cu
	{KRingStore, "stages Replay.Add", []string{
		"engine/cuda TestHostTransitions", "engine/cuda TestGPUTransitions", "engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},
	{KRingAdvance, "stages Replay.Add", []string{"engine/cuda TestHostTransitions", "engine/cuda TestGPUTransitions"}},
	{KRolloutStart, "stages Rollouts.Run", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KPickElites, "stages Rollouts.step", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KCountMembers, "engine/cpu ensemble.predictChunk", []string{"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference"}},
	{KGroupRows, "engine/cpu ensemble.predictChunk", []string{
		"engine/cuda TestHostEnsembleInference", "engine/cuda TestGPUEnsembleInference",
		"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KModelSample, "stages Rollouts.step", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KLiveCount, "stages Rollouts.step", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KLiveScan, "stages Rollouts.step", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KLiveMove, "stages Rollouts.step", []string{"engine/cuda TestHostRollouts", "engine/cuda TestGPURollouts"}},
	{KSACGather, "stages sacBatcher.fill", []string{"engine/cuda TestHostSACUpdates", "engine/cuda TestGPUSACUpdates"}},
	{KTerminalRows, "env hopperTerminal, walkerTerminal, antTerminal, humanoidTerminal, invertedPendulumTerminal, invertedDoublePendulumTerminal",
		[]string{"kernels TestHostTerminalMatchesEnv", "kernels TestGPUTerminalMatchesEnv"}},
	{KModelRows, "stages dataset", []string{"engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},
	{KGatherBatch, "stages Fit", []string{"engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},
	{KColumnStats, "stages columnStats", []string{"engine/cuda TestHostFit", "engine/cuda TestGPUFit"}},

	// rng.cu
	{KRNGFill, "rng Key.Uint32, Key.Uniform, Key.Normal", []string{"kernels TestHostRNGMatchesGo", "kernels TestGPURNG"}},

	// bench.cu
	{KEmpty, "none (a launch-path benchmark)", []string{
		"kernels TestHostBenchKernels", "kernels TestGPUBenchKernels",
		"bench TestBenchGPUOnHostMachine", "bench TestBenchGPURuntimeOnFakeDriver"}},
	{KAddOne, "none (a launch-path benchmark)", []string{
		"kernels TestHostBenchKernels", "kernels TestGPUBenchKernels",
		"bench TestBenchGPUOnHostMachine", "bench TestBenchGPURuntimeOnFakeDriver"}},
}

// repoFiles reads the files of directory dir (relative to the repository
// root) whose names match pattern, concatenated; a missing directory fails
// the test.
func repoFiles(t *testing.T, dir, pattern string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", dir, pattern))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no files %s in %s (%v)", pattern, dir, err)
	}
	var all strings.Builder
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		all.Write(b)
		all.WriteByte('\n')
	}
	return all.String()
}

// goSource is the non-test Go source of dir.
func goSource(t *testing.T, dir string) string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no Go files in %s (%v)", dir, err)
	}
	var src strings.Builder
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
		src.WriteByte('\n')
	}
	return src.String()
}

// defines reports whether Go source src defines name: a function, or a
// method Type.Method.
func defines(src, name string) bool {
	re := `(?m)^func ` + regexp.QuoteMeta(name) + `[\[(]`
	if typ, method, ok := strings.Cut(name, "."); ok {
		re = `(?m)^func \(\w+ \*?` + regexp.QuoteMeta(typ) + `\) ` + regexp.QuoteMeta(method) + `\(`
	}
	return regexp.MustCompile(re).MatchString(src)
}

// kernelComments maps each kernel entry of the .cu files to the comment
// above it, its lines joined with single spaces.
func kernelComments(t *testing.T) map[string]string {
	t.Helper()
	entry := regexp.MustCompile(`^KERNEL\b.*?\b(mbpo_\w+)\(`)
	out := map[string]string{}
	paths, err := filepath.Glob("*.cu")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(b), "\n")
		for i, line := range lines {
			m := entry.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			var words []string
			for j := i - 1; j >= 0 && strings.HasPrefix(lines[j], "//"); j-- {
				words = append(strings.Fields(strings.TrimPrefix(lines[j], "//")), words...)
			}
			out[m[1]] = strings.Join(words, " ")
		}
	}
	return out
}

func TestEveryKernelHasATwin(t *testing.T) {
	table := kernelTable()
	rows := map[Kernel]kernelTwin{}
	for _, r := range kernelTwins {
		if _, dup := rows[r.k]; dup {
			t.Errorf("%v has two rows in kernelTwins", r.k)
		}
		rows[r.k] = r
	}
	comments := kernelComments(t)
	sources, tests := map[string]string{}, map[string]string{}
	for k := Kernel(0); int(k) < kernelCount; k++ {
		r, ok := rows[k]
		if !ok {
			t.Errorf("%v has no row in kernelTwins: name its CPU twin and the tests comparing them", k)
			continue
		}
		if len(r.tests) == 0 {
			t.Errorf("%v: no test compares it with its twin", k)
		}
		comment, ok := comments[table[k].name]
		if !ok {
			t.Errorf("%v: no KERNEL %s in the .cu files", k, table[k].name)
		}
		if !strings.Contains(comment, "twin: "+r.twin) {
			t.Errorf("%v: its comment in %s.cu does not say \"twin: %s\"", k, table[k].module, r.twin)
		}
		if dir, names, ok := strings.Cut(r.twin, " "); ok && !strings.HasPrefix(r.twin, "none ") {
			if _, seen := sources[dir]; !seen {
				sources[dir] = goSource(t, dir)
			}
			for _, name := range strings.Split(names, ", ") {
				if !defines(sources[dir], name) {
					t.Errorf("%v: its twin %s is not defined in %s", k, name, dir)
				}
			}
		} else if !strings.HasPrefix(r.twin, "none (") {
			t.Errorf("%v: twin %q is neither \"DIR Name, ...\" nor \"none (why)\"", k, r.twin)
		}
		for _, test := range r.tests {
			dir, name, _ := strings.Cut(test, " ")
			if _, seen := tests[dir]; !seen {
				tests[dir] = repoFiles(t, dir, "*_test.go")
			}
			if !strings.Contains(tests[dir], "func "+name+"(") {
				t.Errorf("%v: test %s does not exist in %s", k, name, dir)
			}
			if !regexp.MustCompile(`\b` + name + `\b`).MatchString(comment) {
				t.Errorf("%v: its comment in %s.cu does not name the test %s", k, table[k].module, name)
			}
		}
	}
	// And the other way: every kernel of the sources is in the table.
	var names []string
	for _, info := range table {
		names = append(names, info.name)
	}
	for name := range comments {
		if !slices.Contains(names, name) {
			t.Errorf("KERNEL %s is in no kernel table: add it to dispatch.h, dispatch.c and kernelTable (machine.go), with a launcher in ops.go and a row in kernelTwins", name)
		}
	}
}
