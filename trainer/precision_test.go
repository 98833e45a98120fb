package trainer

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"

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
	var want []Metrics
	for _, threads := range []int{1, 2, 3} {
		c := tinyConfig(t)
		c.Threads, c.Precision = threads, "bf16"
		eng := cpu.New(cpu.Options{Threads: threads})
		tr, err := New(c, eng, t.TempDir(), zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		if err := tr.Run(context.Background(), Hooks{}); err != nil {
			t.Fatal(err)
		}
		rows := readMetrics(t, tr.RunDir)
		tr.Close()
		if want == nil {
			want = rows
			continue
		}
		if len(rows) != len(want) {
			t.Fatalf("%d threads: %d rows, 1 thread: %d", threads, len(rows), len(want))
		}
		for i := range rows {
			a, _ := json.Marshal(learningFields(want[i]))
			b, _ := json.Marshal(learningFields(rows[i]))
			if string(a) != string(b) {
				t.Fatalf("bf16, epoch %d differs between 1 and %d threads:\n1: %s\n%d: %s", i+1, threads, a, threads, b)
			}
		}
	}
	fp32 := run(t, tinyConfig(t), t.TempDir())
	a, _ := json.Marshal(learningFields(fp32[len(fp32)-1]))
	b, _ := json.Marshal(learningFields(want[len(want)-1]))
	if string(a) == string(b) {
		t.Error("the bf16 run's last row equals the fp32 run's: its products are not bf16")
	}
}
