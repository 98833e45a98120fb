package trainer

import (
	"context"
	"testing"

	"github.com/rs/zerolog"
)

// MBPO learns: on InvertedPendulum-v4, with small networks, the deterministic
// policy reaches an evaluation return of 900 (of 1000) within the authors'
// 15,000 learning steps. With seed 0 it gets there at about 3,000 steps
// (well under a minute on 2 cores); the run stops as soon as it does.
func TestMBPOLearnsInvertedPendulum(t *testing.T) {
	if testing.Short() {
		t.Skip("a learning run of about a minute")
	}
	learnsInvertedPendulum(t, "fp32")
}

// TestMBPOLearnsInvertedPendulumBF16 is the same run with every matrix
// product in bf16 (--precision bf16): it must learn as well.
func TestMBPOLearnsInvertedPendulumBF16(t *testing.T) {
	if testing.Short() {
		t.Skip("a learning run of about a minute")
	}
	needBF16(t)
	learnsInvertedPendulum(t, "bf16")
}

func learnsInvertedPendulum(t *testing.T, precision string) {
	c, err := PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	// The authors' InvertedPendulum configuration (15,000 learning steps
	// after 500 random ones, epochs of 250, G 10), on small networks.
	c.Hidden, c.ModelHidden = 64, 64
	c.RolloutBatch, c.ModelMaxEpochs = 5000, 20
	c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 5, 0, 0
	c.Precision = precision
	tr, err := New(c, newEngine(t), t.TempDir(), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	reached, curve := 0, []float64{}
	err = tr.Run(ctx, Hooks{Epoch: func(m Metrics) {
		curve = append(curve, m.EvalReturnMean)
		if m.EvalReturnMean >= 900 && reached == 0 {
			reached = m.EnvSteps
			stop()
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if reached == 0 {
		t.Fatalf("%s: evaluation return never reached 900 in %d env steps; per epoch: %.0f", precision, c.Steps, curve)
	}
	t.Logf("%s: evaluation return >= 900 at %d env steps; per epoch: %.0f", precision, reached, curve)
}
