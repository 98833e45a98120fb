// tensorboard.go: every metrics row also as TensorBoard scalars, written
// with metrics.jsonl and metrics.csv by the metrics writer (package
// tensorboard has the file format). Each Run of a run directory (the first,
// and each resume) starts a new event file beside the earlier ones, so
// `tensorboard --logdir runs` shows a resumed run as one run.
//
// The step of every value is the row's timesteps: env steps after the
// random ones, the paper's axis (as in mbpo report). Rows of the random
// phase are left out (they would all sit at step 0); the row at its end,
// timestep 0, is kept. The wall time is when the row was written.

package trainer

import (
	"fmt"
	"math"
	"reflect"
	"time"

	"github.com/mbpogo/mbpo/trainer/tensorboard"
)

// tensorBoardSink writes a run's metrics rows into its event file.
type tensorBoardSink struct {
	w         *tensorboard.Writer
	initSteps int
	members   int
	now       func() time.Time
}

// openTensorBoard starts this session's event file in dir for a run of c
// that stands at envSteps. It first trims from the earlier files what was
// written after that point (rows that a process killed before its next
// checkpoint wrote, and that the resumed run writes again), and starts the
// new file with a SessionLog START at the first step to come, which tells a
// TensorBoard that read those rows already to drop them.
func openTensorBoard(dir string, c Config, envSteps int) (*tensorBoardSink, error) {
	last := int64(envSteps - c.InitSteps) // the last timestep written for good (negative: none yet)
	if _, err := tensorboard.Trim(dir, last); err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	now := time.Now()
	w, err := tensorboard.Create(dir, now)
	if err != nil {
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	start := tensorboard.Event{WallTime: tensorboard.WallTime(now), Step: max(last+1, 0), SessionStatus: tensorboard.SessionStart}
	if err := w.Write(start); err != nil {
		w.Close()
		return nil, fmt.Errorf("tensorboard: %w", err)
	}
	return &tensorBoardSink{w: w, initSteps: c.InitSteps, members: c.EnsembleSize, now: time.Now}, nil
}

// write appends row m as one event: its scalars at step m.Timesteps.
func (s *tensorBoardSink) write(m Metrics) error {
	if m.EnvSteps < s.initSteps {
		return nil // inside the random phase
	}
	if err := s.w.WriteScalars(s.now(), int64(m.Timesteps), TensorBoardScalars(m, s.members)); err != nil {
		return fmt.Errorf("tensorboard: %w", err)
	}
	return nil
}

func (s *tensorBoardSink) close() error { return s.w.Close() }

// TensorBoardScalars are the values of row m as TensorBoard writes them:
// every number of the row under its column name in metrics.csv (per-member
// lists as NAME_0 ... NAME_{members-1}), in the row's order, as float32.
// Left out: timesteps, which is the step; model/elites, a list of member
// ids; and values that are NaN or infinite (an epoch without them, such as
// train/return_mean when no episode ended).
func TensorBoardScalars(m Metrics, members int) []tensorboard.Scalar {
	var out []tensorboard.Scalar
	add := func(tag string, x float64) {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, tensorboard.Scalar{Tag: tag, Value: float32(x)})
		}
	}
	v := reflect.ValueOf(m)
	for i, f := range metricFields() {
		if vals, ok := m.perMember(f); ok {
			for e := 0; e < min(members, len(vals)); e++ {
				add(fmt.Sprintf("%s_%d", f, e), vals[e])
			}
			continue
		}
		switch fv := v.Field(i); fv.Kind() {
		case reflect.Float64, reflect.Float32:
			add(f, fv.Float())
		case reflect.Int, reflect.Int64:
			if f != "timesteps" {
				add(f, float64(fv.Int()))
			}
		}
	}
	return out
}
