// pool_test.go checks the env pool: that it steps exactly like independent
// environments, whatever the number of workers, with automatic resets, and
// that it rejects bad actions before stepping anything.

package env

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

func newPool(t testing.TB, id string, n int, cfg PoolConfig) *Pool {
	t.Helper()
	p, err := NewPool(id, n, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Error(err)
		}
	})
	return p
}

// poolActions writes random actions for every environment of p at step i.
func poolActions(p *Pool, key rng.Key, i int, actions []float32) {
	s := p.Spec()
	for k := range p.N() {
		randomAction(s, key, i*p.N()+k, actions[k*s.ActDim:(k+1)*s.ActDim])
	}
}

func TestPoolMatchesIndependentEnvs(t *testing.T) {
	const n, steps, seed = 5, 300, 3
	p := newPool(t, "Hopper-v4", n, PoolConfig{Workers: 2, Seed: seed})
	s := p.Spec()
	envs := make([]*Env, n)
	obs := make([][]float32, n)
	for i := range envs {
		envs[i] = makeEnv(t, "Hopper-v4", 0)
		envs[i].Seed(rng.Key{Seed: seed, Purpose: rng.EnvReset, Step: uint64(i)})
		obs[i] = make([]float32, s.ObsDim)
		envs[i].Reset(obs[i])
	}
	p.Reset()
	returns := make([]float64, n)
	lengths := make([]int, n)
	actions := make([]float32, n*s.ActDim)
	key := rng.Key{Seed: 4, Purpose: rng.Test}
	od, ad := s.ObsDim, s.ActDim
	ended := 0
	for step := range steps {
		if !slices.Equal(p.Obs(), slices.Concat(obs...)) {
			t.Fatalf("step %d: pool observations differ from the independent envs'", step)
		}
		poolActions(p, key, step, actions)
		if err := p.Step(actions); err != nil {
			t.Fatal(err)
		}
		for i, e := range envs {
			next := make([]float32, od)
			st, err := e.Step(actions[i*ad:(i+1)*ad], next)
			if err != nil {
				t.Fatal(err)
			}
			returns[i] += st.Reward
			lengths[i]++
			if !slices.Equal(p.NextObs()[i*od:(i+1)*od], next) {
				t.Fatalf("step %d env %d: NextObs differs from the env's next observation", step, i)
			}
			if p.Rewards()[i] != float32(st.Reward) || p.Terminated()[i] != st.Terminated || p.Truncated()[i] != st.Truncated {
				t.Fatalf("step %d env %d: pool (%v, %v, %v), env %+v", step, i, p.Rewards()[i], p.Terminated()[i], p.Truncated()[i], st)
			}
			if st.Terminated || st.Truncated {
				ended++
				if p.EpisodeReturns()[i] != returns[i] || p.EpisodeLengths()[i] != lengths[i] {
					t.Fatalf("step %d env %d: episode return %v length %d, want %v, %d",
						step, i, p.EpisodeReturns()[i], p.EpisodeLengths()[i], returns[i], lengths[i])
				}
				returns[i], lengths[i] = 0, 0
				e.Reset(obs[i]) // the pool keeps the final observation in NextObs, the new one in Obs
			} else {
				copy(obs[i], next)
			}
		}
	}
	if ended < 10 {
		t.Errorf("only %d episodes ended in %d steps: auto-reset barely exercised", ended, steps)
	}
}

// poolTrace runs a pool and returns everything it reported, step by step.
func poolTrace(t *testing.T, id string, n, workers, steps int) []float64 {
	p := newPool(t, id, n, PoolConfig{Workers: workers, Seed: 5})
	if p.Workers() != min(workers, n) {
		t.Fatalf("Workers() = %d, want %d", p.Workers(), min(workers, n))
	}
	actions := make([]float32, n*p.Spec().ActDim)
	key := rng.Key{Seed: 6, Purpose: rng.Test}
	var trace []float64
	p.Reset()
	for step := range steps {
		poolActions(p, key, step, actions)
		if err := p.Step(actions); err != nil {
			t.Fatal(err)
		}
		for _, v := range slices.Concat(p.Obs(), p.NextObs(), p.Rewards()) {
			trace = append(trace, float64(v))
		}
		for i := range n {
			trace = append(trace, b2f(p.Terminated()[i]), b2f(p.Truncated()[i]))
			if p.Terminated()[i] || p.Truncated()[i] {
				trace = append(trace, p.EpisodeReturns()[i], float64(p.EpisodeLengths()[i]))
			}
		}
	}
	return trace
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func TestPoolSameResultsForAnyWorkerCount(t *testing.T) {
	want := poolTrace(t, "Walker2d-v4", 7, 1, 150)
	for _, w := range []int{2, 3, 7, 16} {
		if got := poolTrace(t, "Walker2d-v4", 7, w, 150); !slices.Equal(got, want) {
			t.Errorf("%d workers gave different results from 1 worker", w)
		}
	}
}

func TestPoolRejectsBadActionsBeforeSteppingAny(t *testing.T) {
	p := newPool(t, "Hopper-v4", 4, PoolConfig{Workers: 2})
	ad := p.Spec().ActDim
	if err := p.Step(make([]float32, 4*ad)); err == nil || !strings.Contains(err.Error(), "Reset") {
		t.Errorf("Step before Reset: error %v, want one asking for Reset", err)
	}
	p.Reset()
	obs0 := slices.Clone(p.Obs())
	for _, c := range []struct {
		name    string
		actions []float32
		want    string
	}{
		{"short", make([]float32, 4*ad-1), "11 action values, want 4 × 3 = 12"},
		{"nan in env 3", append(make([]float32, 3*ad+1), float32(math.NaN()), 0), "env 3 of the pool"},
		{"inf in env 0", append([]float32{float32(math.Inf(-1))}, make([]float32, 4*ad-1)...), "env 0 of the pool"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := p.Step(c.actions)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one saying %q", err, c.want)
			}
			for i, e := range p.envs {
				if e.EpisodeSteps() != 0 || e.data.Time() != 0 {
					t.Fatalf("env %d moved after a rejected Step", i)
				}
			}
			if !slices.Equal(p.Obs(), obs0) {
				t.Fatal("observations changed after a rejected Step")
			}
		})
	}
}

func TestPoolTruncatesAndResets(t *testing.T) {
	p := newPool(t, "HalfCheetah-v4", 3, PoolConfig{Workers: 2, Seed: 7})
	actions := make([]float32, 3*p.Spec().ActDim)
	sums := make([]float64, 3)
	p.Reset()
	for step := 1; step <= 1000; step++ {
		if err := p.Step(actions); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			sums[i] += float64(p.Rewards()[i])
			if p.Terminated()[i] || p.Truncated()[i] != (step == 1000) {
				t.Fatalf("step %d env %d: terminated %v truncated %v", step, i, p.Terminated()[i], p.Truncated()[i])
			}
		}
	}
	od := p.Spec().ObsDim
	for i := range 3 {
		if p.EpisodeLengths()[i] != 1000 || math.Abs(p.EpisodeReturns()[i]-sums[i]) > 1e-3*(1+math.Abs(sums[i])) {
			t.Errorf("env %d: episode length %d return %v, want 1000 and about %v", i, p.EpisodeLengths()[i], p.EpisodeReturns()[i], sums[i])
		}
		if slices.Equal(p.Obs()[i*od:(i+1)*od], p.NextObs()[i*od:(i+1)*od]) {
			t.Errorf("env %d: Obs equals NextObs after an episode ended; want the reset observation in Obs", i)
		}
		if p.envs[i].EpisodeSteps() != 0 {
			t.Errorf("env %d was not reset", i)
		}
	}
}

func TestPoolReportsNonFiniteStates(t *testing.T) {
	p := newPool(t, "Ant-v4", 3, PoolConfig{Workers: 3})
	p.Reset()
	od := p.Spec().ObsDim
	qpos, qvel := p.envs[1].Joints()
	qvel[0] = math.NaN()
	if err := p.envs[1].SetJoints(qpos, qvel, p.Obs()[od:2*od]); err != nil {
		t.Fatal(err)
	}
	if err := p.Step(make([]float32, 3*p.Spec().ActDim)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(p.NonFinite(), []bool{false, true, false}) || !p.Terminated()[1] {
		t.Fatalf("NonFinite %v, Terminated %v; want env 1 non-finite and terminated", p.NonFinite(), p.Terminated())
	}
	if !finite(p.Obs()) {
		t.Error("the reset observation after a non-finite state is not finite")
	}
}

func TestPoolSeedingAndDefaults(t *testing.T) {
	first := func(cfg PoolConfig) []float32 {
		p := newPool(t, "Hopper-v4", 2, cfg)
		p.Reset()
		return slices.Clone(p.Obs())
	}
	if !slices.Equal(first(PoolConfig{Seed: 1}), first(PoolConfig{Seed: 1, Purpose: rng.EnvReset})) {
		t.Error("the default purpose is not rng.EnvReset")
	}
	if slices.Equal(first(PoolConfig{Seed: 1}), first(PoolConfig{Seed: 1, Purpose: rng.Eval})) {
		t.Error("an evaluation pool starts like a training pool")
	}
	if slices.Equal(first(PoolConfig{Seed: 1}), first(PoolConfig{Seed: 2})) {
		t.Error("seeds 1 and 2 start alike")
	}
	if o := first(PoolConfig{Seed: 1}); slices.Equal(o[:11], o[11:]) {
		t.Error("the two environments of a pool start alike")
	}
	if p := newPool(t, "Hopper-v4", 64, PoolConfig{}); p.Workers() != min(64, runtime.NumCPU()) {
		t.Errorf("default Workers() = %d, want the number of CPUs %d", p.Workers(), runtime.NumCPU())
	}
	for _, c := range []struct {
		n       int
		workers int
		want    string
	}{
		{0, 1, "at least 1"},
		{2, -1, "-1 workers"},
	} {
		if _, err := NewPool("Hopper-v4", c.n, PoolConfig{Workers: c.workers}); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewPool(n=%d, workers=%d): error %v, want one saying %q", c.n, c.workers, err, c.want)
		}
	}
}

func TestPoolStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	p := newPool(t, "Hopper-v4", 8, PoolConfig{Workers: 2})
	actions := make([]float32, 8*p.Spec().ActDim)
	p.Reset()
	allocs := testing.AllocsPerRun(200, func() {
		if err := p.Step(actions); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("Pool.Step allocates %v times per call, want 0", allocs)
	}
}
