package trainer

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestCheckHealth(t *testing.T) {
	cases := []struct {
		name                                 string
		qMean, loss, prev, rMax, gamma, marg float64
		ratio, growth                        float64
		problems                             []string
	}{
		{"healthy", 50, 1, 0.9, 1, 0.99, 2, 0.25, 1 / 0.9, nil},
		{"Q beyond the bound", -450, 1, 1, 1, 0.99, 2, 2.25, 1, []string{"sac/q_mean is -450, beyond 200"}},
		{"critic loss up 1000-fold", 10, 5000, 5, 1, 0.99, 2, 0.05, 1000, []string{"the critic loss grew 1e+03-fold"}},
		{"both", 1e6, 1e6, 1, 10, 0.99, 2, 500, 1e6, []string{"sac/q_mean", "critic loss grew"}},
		{"no previous epoch", 10, 1, 0, 1, 0.99, 2, 0.05, math.NaN(), nil},
		{"no rewards yet", 10, 1, 1, 0, 0.99, 2, math.NaN(), 1, nil},
	}
	for _, c := range cases {
		h := checkHealth(c.qMean, c.loss, c.prev, c.rMax, c.gamma, c.marg)
		if !near64(h.QRatio, c.ratio) || !near64(h.CriticGrowth, c.growth) {
			t.Errorf("%s: ratio %v growth %v, want %v and %v", c.name, h.QRatio, h.CriticGrowth, c.ratio, c.growth)
		}
		if len(h.Problems) != len(c.problems) {
			t.Errorf("%s: problems %q, want %d", c.name, h.Problems, len(c.problems))
			continue
		}
		for i, want := range c.problems {
			if !strings.Contains(h.Problems[i], want) {
				t.Errorf("%s: problem %q, want it to mention %q", c.name, h.Problems[i], want)
			}
		}
	}
}

func near64(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b))
}

// A run records the watch every epoch, and --stop-on-divergence ends it at
// the first diverging epoch (here a margin so small that any Q estimate is
// beyond it), keeping the checkpoint of the epoch before.
func TestStopOnDivergence(t *testing.T) {
	c := tinyConfig(t)
	dir := t.TempDir()
	rows := run(t, c, dir)
	last := rows[len(rows)-1]
	if last.HealthDiverging != 0 || !(last.HealthQRatio > 0 && last.HealthQRatio < 1) || !(last.HealthQBound > 0) {
		t.Fatalf("a healthy run: diverging %d, Q ratio %v, bound %v", last.HealthDiverging, last.HealthQRatio, last.HealthQBound)
	}

	c.QBoundMargin, c.StopOnDivergence = 1e-9, true
	dir = t.TempDir()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	err = tr.Run(context.Background(), Hooks{})
	if err == nil || !strings.Contains(err.Error(), "diverged at env step 600") {
		t.Fatalf("Run: %v, want it to stop at the first epoch with SAC updates (env step 600)", err)
	}
	rows = readMetrics(t, dir)
	if len(rows) != 2 || rows[1].HealthDiverging != 1 {
		t.Fatalf("%d rows, the last diverging=%d; want the diverging epoch's row written", len(rows), rows[len(rows)-1].HealthDiverging)
	}
	if steps, err := CheckpointEnvSteps(dir); err != nil || steps != 300 {
		t.Errorf("checkpoint at env step %d (%v), want the last good one at 300", steps, err)
	}
}
