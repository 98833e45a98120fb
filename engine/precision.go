// precision.go: the arithmetic of a network's matrix products.

package engine

import "fmt"

// Precision is the arithmetic of a network's matrix products (EnsembleSpec
// and AgentSpec carry one). Everything else (parameters, Adam moments,
// losses, normalisation, every element-wise step) is float32 whatever it is.
type Precision string

const (
	// FP32 multiplies float32 operands with float32 accumulation: the
	// faithful path, and what an empty Precision means.
	FP32 Precision = "fp32"
	// BF16 rounds both operands of every product (forward, input and
	// weight gradients) to bfloat16 and accumulates in float32, as
	// mixed-precision training does: the CPU engine runs it on AMX or
	// AVX512-BF16 through oneDNN.
	BF16 Precision = "bf16"
)

// Check reports a precision that is neither FP32, BF16 nor empty.
func (p Precision) Check() error {
	switch p {
	case "", FP32, BF16:
		return nil
	}
	return fmt.Errorf("precision %q: want fp32 or bf16", string(p))
}

// OrFP32 is p, with the empty precision spelled FP32.
func (p Precision) OrFP32() Precision {
	if p == "" {
		return FP32
	}
	return p
}
