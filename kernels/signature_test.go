// signature_test.go: every launcher passes the arguments its kernel's PTX
// declares, in number and in size, so a launch on the GPU reads what the Go
// side meant (the host builds cannot check this: they take C arguments).

package kernels

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/rng"
)

var paramRE = regexp.MustCompile(`\.param\s+(?:\.align\s+\d+\s+)?\.([a-z]+)(\d+)\s+\w+(?:\[(\d+)\])?`)

// ptxParamSizes reads the parameter sizes of entry from ptx.
func ptxParamSizes(t *testing.T, ptx, entry string) []int {
	t.Helper()
	start := strings.Index(ptx, ".visible .entry "+entry+"(")
	if start < 0 {
		t.Fatalf("no entry %s in the PTX", entry)
	}
	sig := ptx[start : start+strings.Index(ptx[start:], ")")]
	var sizes []int
	for _, m := range paramRE.FindAllStringSubmatch(sig, -1) {
		bits, _ := strconv.Atoi(m[2])
		size := bits / 8
		if m[3] != "" { // .b8 name[n]: a struct by value
			n, _ := strconv.Atoi(m[3])
			size *= n
		}
		sizes = append(sizes, size)
	}
	return sizes
}

func TestLaunchersMatchKernelSignatures(t *testing.T) {
	p, err := PlanForward(engine.PaperEnsemble(17, 6, 200))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		module, entry string
		args          *gpu.Args
	}{
		{"ensemble", "mbpo_ensemble_forward", forwardArgs(p, ForwardArgs{N: 10})},
		{"ensemble", "mbpo_swish", swishArgs(1, 2, 3)},
		{"ensemble", "mbpo_gaussian_head", headArgs(1, 2, 3, 4, 5, 6, 7)},
		{"rng", "mbpo_rng_fill", rngArgs(1, rng.Key{Seed: 1}, 0, 4, RNGNormal)},
		{"bench", "mbpo_empty", &gpu.Args{}},
		{"bench", "mbpo_add_one", addOneArgs(1, 2)},
	}
	for _, tt := range tests {
		src, err := PTX(tt.module)
		if err != nil {
			t.Fatal(err)
		}
		want := ptxParamSizes(t, src, tt.entry)
		if got := tt.args.Sizes(); !slices.Equal(got, want) {
			t.Errorf("%s: the launcher passes arguments of %v bytes, the PTX declares %v", tt.entry, got, want)
		}
	}
}
