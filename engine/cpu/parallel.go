// parallel.go: the engine's own parallelism. OpenBLAS runs single-threaded;
// a network spreads independent pieces of one call (ensemble members, row
// chunks, the two critics, row blocks of a batch) over a team of goroutines,
// each calling single-threaded sgemm. On the 2-core development machine this
// beat one caller with 2-thread OpenBLAS at MBPO's sizes (SAC update 4.7–5.7 →
// 3.3–3.6 ms, Predict 320–338k → 440–582k rows/s; README.md), and it degrades
// gracefully when another process takes a core, where OpenBLAS's threads wait
// for each other.

package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// job is one call's worth of parallel work: run does item i on worker w
// (0 ≤ w < the team's size), so a worker can use its own scratch.
type job interface {
	run(w, i int)
}

// team runs jobs on up to size goroutines: the caller is worker 0 and
// size-1 helper goroutines, started on first use, are workers 1 and up. A team
// serves one call at a time (the networks are not safe for concurrent use).
// Handing work to a waiting helper allocates nothing, unlike a go statement.
type team struct {
	size  int
	tasks []chan job // tasks[w] feeds helper w; tasks[0] is unused
	wg    sync.WaitGroup
	next  atomic.Int64
	items int
}

// newTeam returns a team of size workers whose helpers exit once owner is
// garbage. The owner is expected to be the job it runs (as the networks
// are), so it stays alive while a call is in flight.
func newTeam[T any](owner *T, size int) *team {
	t := &team{size: max(size, 1)}
	runtime.AddCleanup(owner, func(t *team) { t.stop() }, t)
	return t
}

// do runs j.run for items 0 ... items-1 and returns when all are done. Items
// go to workers in order as they free up.
func (t *team) do(items int, j job) {
	k := min(t.size, items)
	if k <= 1 {
		for i := 0; i < items; i++ {
			j.run(0, i)
		}
		return
	}
	if t.tasks == nil {
		t.tasks = make([]chan job, t.size)
		for w := 1; w < t.size; w++ {
			t.tasks[w] = make(chan job)
			go t.help(w)
		}
	}
	t.items = items
	t.next.Store(0)
	t.wg.Add(k - 1)
	for w := 1; w < k; w++ {
		t.tasks[w] <- j
	}
	t.work(0, j)
	t.wg.Wait()
	runtime.KeepAlive(j) // the job is the team's owner: alive until its helpers are done
}

// help is helper w's loop.
func (t *team) help(w int) {
	for j := range t.tasks[w] {
		t.work(w, j)
		t.wg.Done()
	}
}

func (t *team) work(w int, j job) {
	for {
		i := int(t.next.Add(1)) - 1
		if i >= t.items {
			return
		}
		j.run(w, i)
	}
}

// stop ends the helpers.
func (t *team) stop() {
	for _, c := range t.tasks[min(1, len(t.tasks)):] {
		close(c)
	}
}

// split returns the bounds of part p of n rows cut into parts near-equal parts.
func split(n, parts, p int) (lo, hi int) {
	return n * p / parts, n * (p + 1) / parts
}
