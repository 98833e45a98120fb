// earlystop.go: how an ensemble retrain ends, shared by stages.Fit
// and the GPU engine's fit stage so that both stop at the same epoch and
// keep the same elites: holdout early stopping with each member's best
// epoch (whose weights the retrain restores), the check of the final
// holdout MSEs and the ranking of the members.

package engine

import (
	"fmt"
	"math"
	"sort"
)

// EarlyStop is MBPO's holdout early stopping, as the authors' bnn.py
// (_save_best) does it: after each epoch, a member whose holdout MSE beats
// its best so far by more than the relative improvement (or that has no best
// yet) records it as its best epoch, and the caller snapshots that member's
// weights; training stops once more than patience epochs in a row passed in
// which no member improved (patience 5: the sixth such epoch stops).
type EarlyStop struct {
	improvement float64
	patience    int
	best        []float64 // per member; +Inf before its first epoch
	bestEpoch   []int     // per member; -1 before its first epoch
	since       int       // epochs since a member last improved
	epoch       int       // epochs recorded
	improved    []int     // members that improved in the last epoch
}

// NewEarlyStop returns the early stopping of an ensemble of members members
// (FitSettings.Improvement and FitSettings.EarlyStop).
func NewEarlyStop(members int, improvement float64, patience int) *EarlyStop {
	s := &EarlyStop{improvement: improvement, patience: patience,
		best: make([]float64, members), bestEpoch: make([]int, members)}
	for e := range s.best {
		s.best[e] = math.Inf(1)
		s.bestEpoch[e] = -1
	}
	return s
}

// Stop records one epoch's holdout MSE per member and reports whether
// training stops here. Improved then lists the members whose weights of
// this epoch are their new best.
func (s *EarlyStop) Stop(mse []float32) bool {
	s.improved = s.improved[:0]
	for e := range mse {
		cur := float64(mse[e])
		if math.IsInf(s.best[e], 1) || (s.best[e]-cur)/s.best[e] > s.improvement {
			s.best[e] = cur
			s.bestEpoch[e] = s.epoch
			s.improved = append(s.improved, e)
		}
	}
	s.epoch++
	if len(s.improved) > 0 {
		s.since = 0
		return false
	}
	s.since++
	return s.since > s.patience
}

// Improved lists the members that improved in the epoch Stop last recorded.
func (s *EarlyStop) Improved() []int { return s.improved }

// BestEpochs returns each member's best epoch (0-based; -1 if it never had
// one), the epoch whose weights a retrain restores.
func (s *EarlyStop) BestEpochs() []int { return append([]int(nil), s.bestEpoch...) }

// LastEpochs returns, for every member, the last epoch recorded: the
// weights a retrain that does not restore deploys.
func (s *EarlyStop) LastEpochs() []int {
	last := make([]int, len(s.best))
	for e := range last {
		last[e] = s.epoch - 1
	}
	return last
}

// Finish ends a retrain: it restores every member to its best epoch
// (Restore), or with noRestore leaves them as they are, and returns the
// epoch whose weights each member now has.
func (s *EarlyStop) Finish(ens Ensemble, noRestore bool) ([]int, error) {
	if noRestore {
		return s.LastEpochs(), nil
	}
	return s.Restore(ens)
}

// Keep snapshots the members that improved in the epoch Stop last recorded
// (ens.SaveMembers(Improved())), unless the retrain does not restore.
func (s *EarlyStop) Keep(ens Ensemble, noRestore bool) error {
	if noRestore {
		return nil
	}
	return ens.SaveMembers(s.improved)
}

// Restore puts every member that had a best epoch back to its weights of
// that epoch, saved with ens.SaveMembers(Improved()) after each Stop, and
// returns BestEpochs.
func (s *EarlyStop) Restore(ens Ensemble) ([]int, error) {
	var members []int
	for e, ep := range s.bestEpoch {
		if ep >= 0 {
			members = append(members, e)
		}
	}
	return s.BestEpochs(), ens.RestoreMembers(members)
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
