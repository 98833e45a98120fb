package report

import (
	"math"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/stages"
)

// replayOf builds a buffer of 2-dim states: row i goes from s[i] to next[i]
// with reward rew[i], done where done[i].
func replayOf(s, next [][2]float32, rew []float32, done []bool) *stages.Replay {
	r := stages.NewReplay(2, 1, len(s))
	for i := range s {
		r.AddOne(s[i][:], []float32{0}, rew[i], next[i][:], done[i])
	}
	return r
}

func TestCompareBuffers(t *testing.T) {
	real := replayOf(
		[][2]float32{{0, 0}, {1, 1}, {2, 2}, {3, 3}},
		[][2]float32{{1, 1}, {2, 2}, {3, 3}, {3, 0}},
		[]float32{1, 2, 3, 10}, []bool{false, false, false, true})
	model := replayOf(
		[][2]float32{{0, 0}, {1, 1}, {2, 2}, {3, 3}, {1, 1}},
		[][2]float32{{1, 1}, {2, -1}, {5, 2}, {4, 4}, {float32(math.NaN()), 1}},
		[]float32{1, 1, 1, -6, float32(math.Inf(1))}, []bool{false, true, true, false, false})
	c := CompareBuffers("Test-v0", 4000, 3, real, model)

	if c.Real.N != 4 || c.Real.DoneRate != 0.25 || c.Real.RewardMean != 4 || c.Real.RewardQ[0] != 1 || c.Real.RewardQ[3] != 2 || c.Real.RewardQ[6] != 10 {
		t.Errorf("real stats %+v: want 4 rows, done 0.25, reward mean 4, min 1, median 2, max 10", c.Real)
	}
	if c.Model.N != 5 || c.Model.DoneRate != 0.4 || c.Model.NonFinite != 1 || c.Model.RewardMean != -0.75 || c.Model.RewardQ[0] != -6 || c.Model.RewardQ[6] != 1 {
		t.Errorf("model stats %+v: want 5 rows, done 0.4, one non-finite reward, the others' mean -0.75, min -6, max 1", c.Model)
	}
	if c.Real.MaxAbsDelta[0] != 1 || c.Real.MaxAbsDelta[1] != 3 || c.Model.MaxAbsDelta[0] != 3 || c.Model.MaxAbsDelta[1] != 2 {
		t.Errorf("max |Δs| real %v model %v: want [1 3] and [3 2] (a NaN is no maximum)", c.Real.MaxAbsDelta, c.Model.MaxAbsDelta)
	}
	// The real next states span [1, 3] × [0, 3]: (2, -1), (5, 2), (4, 4)
	// and the NaN leave it; (1, 1) does not.
	if c.OutsideReal != 0.8 || c.OutsideDims[0] != 3 || c.OutsideDims[1] != 2 {
		t.Errorf("outside the real range: %v of the model rows, per dim %v; want 0.8, [3 2]", c.OutsideReal, c.OutsideDims)
	}

	// Real rewards span [1, 10]: -6 is below; +Inf is neither.
	if c.RewardBelow != 1 || c.RewardAbove != 0 {
		t.Errorf("model rewards below / above the real range: %d, %d; want 1, 0", c.RewardBelow, c.RewardAbove)
	}
	var b strings.Builder
	WriteBufferTable(&b, c)
	for _, want := range []string{"Test-v0, checkpoint at env step 4000", "k = 3", "80.00% of 5", "below the smallest real one: 1, above the largest: 0 (of 5)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
}
