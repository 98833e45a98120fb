package engine

import (
	"slices"
	"testing"
)

// The epoch at which a retrain stops, and each member's best epoch, for
// scripted holdout MSEs: bnn.py stops once more than 5 epochs in a row
// improved no member by more than 1% (the sixth such epoch).
func TestEarlyStopPatienceAndBestEpochs(t *testing.T) {
	flat := func(v float32, n int) [][]float32 {
		var s [][]float32
		for i := 0; i < n; i++ {
			s = append(s, []float32{v, v})
		}
		return s
	}
	cases := []struct {
		name     string
		patience int
		mse      [][]float32 // per epoch, per member
		stopAt   int         // epochs run (0: never stops within the script)
		best     []int
		improved [][]int // per epoch
	}{
		{"first epoch then flat: stops at the 6th flat epoch", 5,
			append([][]float32{{1, 1}}, flat(1, 10)...), 7, []int{0, 0}, nil},
		{"flat for exactly 5 epochs does not stop", 5,
			append([][]float32{{1, 1}}, flat(1, 5)...), 0, []int{0, 0}, nil},
		{"a gain of exactly 1% does not count", 1,
			[][]float32{{1, 1}, {0.99, 0.99}, {0.99, 0.99}}, 3, []int{0, 0}, nil},
		{"one member improving resets the count", 2,
			[][]float32{{1, 1}, {1, 1}, {1, 1}, {1, 0.5}, {1, 0.5}, {1, 0.5}, {1, 0.5}}, 7, []int{0, 3},
			[][]int{{0, 1}, nil, nil, {1}, nil, nil, nil}},
		{"a member that gets worse keeps its best epoch", 1,
			[][]float32{{4, 4}, {2, 3}, {3, 2}, {5, 5}, {6, 6}}, 5, []int{1, 2},
			[][]int{{0, 1}, {0, 1}, {1}, nil, nil}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewEarlyStop(2, 0.01, c.patience)
			stopped := 0
			for ep, m := range c.mse {
				stop := s.Stop(m)
				if c.improved != nil && !slices.Equal(s.Improved(), c.improved[ep]) {
					t.Errorf("epoch %d: improved %v, want %v", ep, s.Improved(), c.improved[ep])
				}
				if stop {
					stopped = ep + 1
					break
				}
			}
			if stopped != c.stopAt {
				t.Errorf("stopped after %d epochs, want %d", stopped, c.stopAt)
			}
			if got := s.BestEpochs(); !slices.Equal(got, c.best) {
				t.Errorf("best epochs %v, want %v", got, c.best)
			}
		})
	}
}

// restoreLog is an Ensemble that records RestoreMembers.
type restoreLog struct {
	Ensemble
	restored []int
}

func (r *restoreLog) RestoreMembers(m []int) error { r.restored = append(r.restored, m...); return nil }

func TestEarlyStopRestoresMembersWithABestEpoch(t *testing.T) {
	s := NewEarlyStop(3, 0.01, 5)
	var log restoreLog
	if _, err := s.Restore(&log); err != nil || len(log.restored) != 0 {
		t.Fatalf("before any epoch: restored %v (err %v), want none", log.restored, err)
	}
	s.Stop([]float32{1, 2, 3})
	best, err := s.Restore(&log)
	if err != nil || !slices.Equal(log.restored, []int{0, 1, 2}) || !slices.Equal(best, []int{0, 0, 0}) {
		t.Fatalf("restored %v with best epochs %v (err %v), want members 0-2 at epoch 0", log.restored, best, err)
	}
}
