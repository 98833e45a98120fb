package cuda

import (
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/mbpogo/mbpo/engine"
)

// The log-variance penalty is a constant of MBPO's loss: engine.LogVarPenalty
// for the CPU engine, compiled into the CUDA kernels as MBPO_LOGVAR_PENALTY.
// The two must be the same number.
func TestLogVarPenaltyMatchesKernels(t *testing.T) {
	src, err := os.ReadFile("../../kernels/train.h")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^#define MBPO_LOGVAR_PENALTY\s+([0-9.eE+-]+)f?\s*$`).FindSubmatch(src)
	if m == nil {
		t.Fatal("kernels/train.h defines no MBPO_LOGVAR_PENALTY: where does the kernels' log-variance penalty come from?")
	}
	v, err := strconv.ParseFloat(string(m[1]), 32)
	if err != nil {
		t.Fatal(err)
	}
	if float32(v) != float32(engine.LogVarPenalty) {
		t.Fatalf("kernels/train.h: MBPO_LOGVAR_PENALTY %s, engine.LogVarPenalty %v: the engines would train different losses", m[1], engine.LogVarPenalty)
	}
}
