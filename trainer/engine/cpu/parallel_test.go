// parallel_test.go: the worker team, and results that do not depend on how
// many workers a call is split over.

package cpu

import (
	"math"
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/rng"
)

// countJob counts how often each item runs and the workers seen.
type countJob struct {
	runs    []atomic.Int32
	workers []atomic.Int32
}

func (j *countJob) run(w, i int) {
	j.runs[i].Add(1)
	j.workers[w].Add(1)
}

func TestTeamRunsEveryItemOnce(t *testing.T) {
	for _, c := range []struct{ size, items int }{{1, 5}, {2, 1}, {2, 2}, {3, 100}, {4, 3}} {
		j := &countJob{runs: make([]atomic.Int32, c.items), workers: make([]atomic.Int32, c.size)}
		tm := newTeam(j, c.size)
		for rep := 0; rep < 3; rep++ {
			tm.do(c.items, j)
		}
		for i := range j.runs {
			if got := j.runs[i].Load(); got != 3 {
				t.Fatalf("size %d, %d items: item %d ran %d times in 3 calls", c.size, c.items, i, got)
			}
		}
		total := int32(0)
		for w := range j.workers {
			total += j.workers[w].Load()
		}
		if total != int32(3*c.items) {
			t.Fatalf("size %d: workers ran %d items, want %d", c.size, total, 3*c.items)
		}
	}
}

func TestTeamHelpersExitWithOwner(t *testing.T) {
	before := runtime.NumGoroutine()
	func() {
		j := &countJob{runs: make([]atomic.Int32, 8), workers: make([]atomic.Int32, 4)}
		newTeam(j, 4).do(8, j) // starts 3 helpers
	}()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		runtime.GC()
		if runtime.NumGoroutine() <= before {
			return
		}
	}
	t.Errorf("%d goroutines after the team's owner was dropped, %d before", runtime.NumGoroutine(), before)
}

// TestResultsIndependentOfThreads runs the same calls with 1, 2 and 3
// workers. The ensemble sums everything in a fixed order, so its results are
// bit for bit the same. The agent's policy gradient is summed over row
// blocks, one per worker, so its results agree to float32 rounding.
func TestResultsIndependentOfThreads(t *testing.T) {
	one, two, three := New(Options{Threads: 1}), New(Options{Threads: 2}), New(Options{Threads: 3})
	spec := smallSpec()
	r := rand.New(rand.NewPCG(51, 52))
	const batch = 16
	x := randSlice(r, spec.Members*batch*spec.In, 1)
	y := randSlice(r, spec.Members*batch*spec.Out, 1)
	n := inferChunk + 100
	xs := randSlice(r, n*spec.In, 1)
	ys := randSlice(r, n*spec.Out, 1)
	members := make([]int32, n)
	for i := range members {
		members[i] = int32(r.IntN(spec.Members))
	}
	ensembleRun := func(e *Engine) (engine.State, []float32) {
		ens, err := e.NewEnsemble(spec, 5)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 3; i++ {
			ens.TrainStep(x, y, batch)
		}
		out := make([]float32, 2*n*spec.Out+2*spec.Members)
		ens.Predict(xs, members, n, out[:n*spec.Out], out[n*spec.Out:2*n*spec.Out])
		ens.Evaluate(xs, ys, n, out[2*n*spec.Out:2*n*spec.Out+spec.Members], out[2*n*spec.Out+spec.Members:])
		return ens.State(), out
	}
	s1, o1 := ensembleRun(one)
	s3, o3 := ensembleRun(three)
	for name := range s1.Buffers {
		if !same(s1.Buffers[name], s3.Buffers[name]) {
			t.Errorf("ensemble buffer %s differs between 1 and 3 workers", name)
		}
	}
	if !same(o1, o3) {
		t.Error("ensemble Predict or Evaluate differs between 1 and 3 workers")
	}
	s2, o2 := ensembleRun(two)
	for name := range s1.Buffers {
		if !same(s1.Buffers[name], s2.Buffers[name]) {
			t.Errorf("ensemble buffer %s differs between 1 and 2 workers", name)
		}
	}
	if !same(o1, o2) {
		t.Error("ensemble Predict or Evaluate differs between 1 and 2 workers")
	}

	aspec := smallAgentSpec()
	b := randomBatch(r, aspec, 37)
	agentRun := func(e *Engine) (engine.UpdateStats, engine.State) {
		ag, err := e.NewAgent(aspec, 5)
		if err != nil {
			t.Fatal(err)
		}
		var st engine.UpdateStats
		for i := 0; i < 3; i++ {
			st, _ = ag.Update(b, rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(i)})
		}
		return st, ag.State()
	}
	st1, a1 := agentRun(one)
	st3, a3 := agentRun(three)
	if !near(st1.PolicyLoss, float64(st3.PolicyLoss), 1e-5) || !near(st1.Q1Loss, float64(st3.Q1Loss), 1e-5) ||
		!near(st1.Entropy, float64(st3.Entropy), 1e-5) {
		t.Errorf("update stats with 1 worker %+v, with 3 %+v", st1, st3)
	}
	for name := range a1.Buffers {
		for i, v := range a1.Buffers[name] {
			if w := a3.Buffers[name][i]; math.Abs(float64(v-w)) > 1e-5*math.Max(1, math.Abs(float64(v))) {
				t.Fatalf("agent %s[%d] = %g with 1 worker, %g with 3", name, i, v, w)
			}
		}
	}
}
