// earlystop.go: how an ensemble retrain ends, shared by trainer.Model.Train
// and the GPU engine's Resident.Fit so that both stop at the same epoch and
// keep the same elites: holdout early stopping, the check of the final
// holdout MSEs and the ranking of the members.

package engine

import (
	"fmt"
	"math"
	"sort"
)

// EarlyStop is MBPO's holdout early stopping: after each epoch, a member
// whose holdout MSE beats its best so far by more than the relative
// improvement (or that has no best yet) records it; training stops after
// patience epochs in a row in which no member did.
type EarlyStop struct {
	improvement float64
	patience    int
	best        []float64 // per member; +Inf before its first epoch
	since       int       // epochs since a member last improved
}

// NewEarlyStop returns the early stopping of an ensemble of members members
// (FitSettings.Improvement and FitSettings.EarlyStop).
func NewEarlyStop(members int, improvement float64, patience int) *EarlyStop {
	best := make([]float64, members)
	for e := range best {
		best[e] = math.Inf(1)
	}
	return &EarlyStop{improvement: improvement, patience: patience, best: best}
}

// Stop records one epoch's holdout MSE per member and reports whether
// training stops here.
func (s *EarlyStop) Stop(mse []float32) bool {
	improved := false
	for e := range mse {
		cur := float64(mse[e])
		if math.IsInf(s.best[e], 1) || (s.best[e]-cur)/s.best[e] > s.improvement {
			s.best[e] = cur
			improved = true
		}
	}
	if improved {
		s.since = 0
		return false
	}
	s.since++
	return s.since >= s.patience
}

// CheckHoldout reports the first member whose holdout MSE after retrain
// call is not finite.
func CheckHoldout(mse []float32, call uint64) error {
	for e, v := range mse {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("model holdout MSE of member %d is %v after retrain %d", e, v, call)
		}
	}
	return nil
}

// Elites returns the ids of the k members with the lowest holdout MSE (all
// of them if k is larger), best first, ties in member order.
func Elites(mse []float32, k int) []int {
	ids := make([]int, len(mse))
	for i := range ids {
		ids[i] = i
	}
	sort.SliceStable(ids, func(a, b int) bool { return mse[ids[a]] < mse[ids[b]] })
	return ids[:min(k, len(ids))]
}
