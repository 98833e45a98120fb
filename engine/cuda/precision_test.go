package cuda

import (
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/kernels"
)

// The GPU engine multiplies in fp32 only: a bf16 network is an error that
// points to the CPU engine.
func TestRefusesBF16(t *testing.T) {
	e := New(kernels.OnHost())
	es := engine.PaperEnsemble(11, 3, 8)
	es.Precision = engine.BF16
	if _, err := e.NewEnsemble(es, 1); err == nil || !strings.Contains(err.Error(), "--device cpu") {
		t.Errorf("bf16 ensemble: error %v, want one pointing to --device cpu", err)
	}
	as := engine.PaperAgent(11, 3, -3)
	as.Precision = engine.BF16
	if _, err := e.NewAgent(as, 1); err == nil || !strings.Contains(err.Error(), "--device cpu") {
		t.Errorf("bf16 agent: error %v, want one pointing to --device cpu", err)
	}
}
