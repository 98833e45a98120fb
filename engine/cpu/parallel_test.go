// parallel_test.go: the worker team, and results that do not depend on how
// many workers a call is split over.

package cpu

import (
	"math/rand/v2"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
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
// workers: every sum runs over blocks fixed by the data's size and in a
// fixed order (ensemble members, inference chunks, the policy's row blocks),
// and every matrix product runs on one thread, so the results are bit for
// bit the same, in both precisions.
func TestResultsIndependentOfThreads(t *testing.T) {
	for _, p := range []engine.Precision{engine.FP32, engine.BF16} {
		t.Run(string(p), func(t *testing.T) {
			if p == engine.BF16 {
				bf16Engine(t)
			}
			resultsIndependentOfThreads(t, p)
		})
	}
}

func resultsIndependentOfThreads(t *testing.T, p engine.Precision) {
	one, two, three := New(Options{Threads: 1}), New(Options{Threads: 2}), New(Options{Threads: 3})
	spec := smallSpec()
	spec.Precision = p
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

	// Batches of 300 then 256 rows: three policy blocks, then two in a
	// scratch made for three.
	aspec := smallAgentSpec()
	aspec.Precision = p
	batches := []engine.Batch{randomBatch(r, aspec, 300), randomBatch(r, aspec, 256)}
	agentRun := func(e *Engine) ([]engine.UpdateStats, engine.State) {
		ag, err := e.NewAgent(aspec, 5)
		if err != nil {
			t.Fatal(err)
		}
		var sts []engine.UpdateStats
		for i := 0; i < 4; i++ {
			st, err := ag.Update(batches[min(i, 1)], rng.Key{Seed: 1, Purpose: rng.SACNoise, Step: uint64(i)})
			if err != nil {
				t.Fatal(err)
			}
			sts = append(sts, st)
		}
		return sts, ag.State()
	}
	st1, a1 := agentRun(one)
	for workers, e := range map[int]*Engine{2: two, 3: three} {
		st, a := agentRun(e)
		for i := range st1 {
			if st[i] != st1[i] {
				t.Errorf("update %d statistics with 1 worker %+v, with %d %+v", i, st1[i], workers, st[i])
			}
		}
		for name := range a1.Buffers {
			if !same(a1.Buffers[name], a.Buffers[name]) {
				t.Errorf("agent buffer %s differs between 1 and %d workers", name, workers)
			}
		}
	}
}
