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
	sameOnThreadCounts(t, tinyConfig(t), 1, 2, 3)
}

// sameOnThreadCounts runs c on the CPU engine with each thread count and
// fails unless every run writes the first's metrics, time columns aside; it
// returns the first run's rows.
func sameOnThreadCounts(t *testing.T, c Config, threads ...int) []Metrics {
	t.Helper()
	var want []Metrics
	for _, n := range threads {
		c.Threads = n
		eng := cpu.New(cpu.Options{Threads: n})
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
			t.Fatalf("%s, %d threads: %d rows, %d threads: %d", c.Precision, n, len(rows), threads[0], len(want))
		}
		for i := range rows {
			a, _ := json.Marshal(learningFields(want[i]))
			b, _ := json.Marshal(learningFields(rows[i]))
			if string(a) != string(b) {
				t.Fatalf("%s, epoch %d differs between %d and %d threads:\n%d: %s\n%d: %s", c.Precision, i+1, threads[0], n, threads[0], a, n, b)
			}
		}
	}
	return want
}
