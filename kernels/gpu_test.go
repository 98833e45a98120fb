// gpu_test.go: the kernels on a real GPU against the same references as the
// host builds (the checks are in compare_test.go). Skipped where there is no
// GPU (failed instead when MBPO_REQUIRE_GPU=1, as in the device bundle).

package kernels

import (
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
)

func TestGPUEnsembleForward(t *testing.T) {
	m := gpuMachineFor(t)
	regs, _ := KernelAttribute(m, KEnsembleForward, gpu.Registers)
	local, _ := KernelAttribute(m, KEnsembleForward, gpu.LocalBytes)
	t.Logf("%s; forward kernel: %d registers, %d bytes of local memory per thread", m.Name(), regs, local)
	// The acceptance case: MBPO's ensemble on 400,000 rows, every row checked.
	cases := append(forwardSpecs(), struct {
		name  string
		spec  engine.EnsembleSpec
		n     int
		scale float32
	}{"HalfCheetah 7x4x200, 400000 rows", engine.PaperEnsemble(17, 6, 200), 400000, 1})
	checkForward(t, m, cases)
}

func TestGPURNG(t *testing.T) { checkRNGFill(t, gpuMachineFor(t)) }

func TestGPUSwishAndGaussianHead(t *testing.T) {
	// The device's exp and log are the approximate hardware instructions
	// (portable.h): within 1e-5 of float64.
	checkSwishAndGaussianHead(t, gpuMachineFor(t), 3000, 9, 1e-5)
}

func TestGPUBenchKernels(t *testing.T) { checkBenchKernels(t, gpuMachineFor(t)) }
