package stages

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// stepEnsemble is a fake dynamics model: Δs = (member+1) in every dim,
// reward = 10·(member+1), with a tiny variance.
type stepEnsemble struct {
	engine.Ensemble
	spec engine.EnsembleSpec
	used map[int32]int
}

func (e *stepEnsemble) Spec() engine.EnsembleSpec { return e.spec }

func (e *stepEnsemble) Predict(x []float32, members []int32, n int, mean, logvar []float32) error {
	od := e.spec.Out - 1
	for i := 0; i < n; i++ {
		m := members[i]
		e.used[m]++
		for j := 0; j < e.spec.Out; j++ {
			mean[i*e.spec.Out+j] = float32(m + 1)
			logvar[i*e.spec.Out+j] = -40 // std 2e-9: the sample is the mean
		}
		mean[i*e.spec.Out+od] = 10 * float32(m+1)
	}
	return nil
}

// zeroAgent acts 0 everywhere.
type zeroAgent struct{ engine.Agent }

func (zeroAgent) Act(obs []float32, n int, det bool, key rng.Key, act []float32) error {
	for i := range act[:n] {
		act[i] = 0
	}
	return nil
}

func TestRolloutsStopTerminatedSamples(t *testing.T) {
	const od, ad = 2, 1
	spec := engine.EnsembleSpec{Members: 3, In: od + ad, Out: od + 1}
	ens := &stepEnsemble{spec: spec, used: map[int32]int{}}
	elites := []int{1} // Δs = 2 per step
	// Real start states: obs[0] in {0, 1, ..., 9}. Terminal when next obs[0] >= 10.
	real := NewReplay(od, ad, 10)
	for i := 0; i < 10; i++ {
		real.AddOne([]float32{float32(i), 0}, []float32{0}, 0, []float32{0, 0}, false)
	}
	terminal := func(obs, act, next []float32) bool { return next[0] >= 10 }
	out := NewReplay(od, ad, 100000)
	r := NewRollouts(ens, zeroAgent{}, terminal, od, ad, 1)
	const batch, k = 2000, 8
	st, err := r.Run(real, out, elites, batch, k, 0)
	if err != nil {
		t.Fatal(err)
	}
	// A rollout from s0 runs until s0 + 2·steps >= 10: ceil((10-s0)/2) steps, at most k.
	wantSteps := int64(0)
	starts := rng.Key{Seed: 1, Purpose: rng.RolloutStart}
	for i := 0; i < batch; i++ {
		s0 := float64(real.Obs(starts.Intn(uint64(i), real.Len()))[0])
		wantSteps += int64(math.Min(k, math.Ceil((10-s0)/2)))
	}
	if st.Steps != wantSteps || int64(out.Len()) != wantSteps {
		t.Fatalf("stored %d transitions (stats %d), want %d", out.Len(), st.Steps, wantSteps)
	}
	if st.Finished != batch { // every start state reaches 10 within 5 steps < k
		t.Fatalf("%d rollouts ended by termination, want all %d", st.Finished, batch)
	}
	if len(ens.used) != 1 || ens.used[1] == 0 {
		t.Fatalf("rollouts used members %v, want only the elite 1", ens.used)
	}
	dones := 0
	out.ordered(func(i int) {
		o, _, rw, n, d := out.Row(i)
		if n[0] != o[0]+2 || rw != 20 {
			t.Fatalf("transition %d: obs %v next %v reward %v, want next = obs + 2 and reward 20", i, o, n, rw)
		}
		if (d == 1) != (n[0] >= 10) {
			t.Fatalf("transition %d: done %v but next obs %v", i, d, n)
		}
		if o[0] >= 10 {
			t.Fatalf("transition %d starts from a terminated state %v", i, o)
		}
		dones += int(d)
	})
	if dones != batch {
		t.Fatalf("%d terminal transitions stored, want %d", dones, batch)
	}
}

func TestRolloutsPickRandomElites(t *testing.T) {
	const od, ad = 1, 1
	spec := engine.EnsembleSpec{Members: 7, In: od + ad, Out: od + 1}
	ens := &stepEnsemble{spec: spec, used: map[int32]int{}}
	elites := []int{6, 2, 4, 0, 3}
	real := NewReplay(od, ad, 1)
	real.AddOne([]float32{0}, []float32{0}, 0, []float32{0}, false)
	out := NewReplay(od, ad, 50000)
	r := NewRollouts(ens, zeroAgent{}, func(_, _, _ []float32) bool { return false }, od, ad, 5)
	if _, err := r.Run(real, out, elites, 10000, 3, 0); err != nil {
		t.Fatal(err)
	}
	for _, m := range []int32{1, 5} {
		if ens.used[m] != 0 {
			t.Errorf("non-elite member %d used %d times", m, ens.used[m])
		}
	}
	for _, m := range elites {
		if c := ens.used[int32(m)]; c < 5400 || c > 6600 { // 30000 draws / 5 elites = 6000 each
			t.Errorf("elite %d used %d times of 30000, want about 6000", m, c)
		}
	}
}
