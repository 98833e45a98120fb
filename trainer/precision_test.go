package trainer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
)

// needBF16 skips a test on a processor without bf16 instructions; a
// missing oneDNN (scripts/deps.sh installs it) fails it.
func needBF16(t *testing.T) {
	t.Helper()
	if err := cpu.New(cpu.Options{}).CheckPrecision(engine.BF16); err != nil {
		if strings.Contains(err.Error(), "cannot be loaded") {
			t.Fatal(err)
		}
		t.Skip(err)
	}
}

// A bf16 run is, like an fp32 one, the same on any number of engine
// threads, bitwise; and it is not the fp32 run.
func TestBF16RunIndependentOfThreadCount(t *testing.T) {
	needBF16(t)
	c := tinyConfig(t)
	c.Precision = "bf16"
	want := sameOnThreadCounts(t, c, 1, 2, 3)
	fp32 := run(t, tinyConfig(t), t.TempDir())
	a, _ := json.Marshal(learningFields(fp32[len(fp32)-1]))
	b, _ := json.Marshal(learningFields(want[len(want)-1]))
	if string(a) == string(b) {
		t.Error("the bf16 run's last row equals the fp32 run's: its products are not bf16")
	}
}
