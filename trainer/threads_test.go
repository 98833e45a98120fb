package trainer

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine/cpu"
)

// The same seed gives bitwise the same run on any number of engine threads:
// every reduction is cut into blocks of a fixed size and summed in block
// order, whatever the number of workers that computed them.
func TestRunIndependentOfThreadCount(t *testing.T) {
	var want []Metrics
	for _, threads := range []int{1, 2, 3} {
		c := tinyConfig(t)
		c.Threads = threads
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
		eng.Close()
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
				t.Fatalf("epoch %d differs between 1 and %d threads:\n1: %s\n%d: %s", i+1, threads, a, threads, b)
			}
		}
	}
}
