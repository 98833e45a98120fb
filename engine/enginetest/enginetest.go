// Package enginetest holds conformance checks that every engine.Engine
// passes, run by each engine's own tests on the same inputs.
package enginetest

import (
	"math"
	"slices"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// SaveRestore checks Ensemble.SaveMembers and RestoreMembers on eng: after
// a save, training steps and a restore, the restored members' weights and
// biases are bitwise those saved, while the other members, the shared
// log-variance bounds, the Adam moments and the step count keep their
// trained values; a later save replaces the earlier one; a member never
// saved or outside the ensemble is an error.
func SaveRestore(t *testing.T, eng engine.Engine) {
	t.Helper()
	spec := engine.PaperEnsemble(3, 2, 8)
	spec.Members = 4
	ens, err := eng.NewEnsemble(spec, 7)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := ens.(interface{ Close() error }); ok {
		defer c.Close()
	}
	const batch = 16
	key := rng.Key{Seed: 3, Purpose: rng.Init, Step: 99}
	x := make([]float32, spec.Members*batch*spec.In)
	y := make([]float32, spec.Members*batch*spec.Out)
	for i := range x {
		x[i] = key.Normal(uint64(i))
	}
	for i := range y {
		y[i] = key.Normal(uint64(len(x) + i))
	}
	train := func(steps int) {
		t.Helper()
		for i := 0; i < steps; i++ {
			if _, err := ens.TrainStep(x, y, batch); err != nil {
				t.Fatal(err)
			}
		}
	}
	params := func() []float32 { return ens.State().Buffers["params"] }
	member := func(p []float32, e int) []float32 {
		var v []float32
		for _, sp := range spec.MemberSpans(e) {
			v = append(v, p[sp[0]:sp[0]+sp[1]]...)
		}
		return v
	}

	if err := ens.RestoreMembers([]int{1}); err == nil {
		t.Error("RestoreMembers of a member never saved: no error")
	}
	for _, bad := range [][]int{{-1}, {spec.Members}} {
		if err := ens.SaveMembers(bad); err == nil {
			t.Errorf("SaveMembers(%v): no error", bad)
		}
	}
	train(2)
	if err := ens.SaveMembers([]int{1, 3}); err != nil {
		t.Fatal(err)
	}
	first := params()
	train(2)
	if err := ens.SaveMembers([]int{3}); err != nil { // replaces member 3's snapshot
		t.Fatal(err)
	}
	second := params()
	train(3)
	trained := ens.State()
	if err := ens.RestoreMembers([]int{1, 3}); err != nil {
		t.Fatal(err)
	}
	got := ens.State()
	p := got.Buffers["params"]
	for e, want := range map[int][]float32{0: member(trained.Buffers["params"], 0), 1: member(first, 1),
		2: member(trained.Buffers["params"], 2), 3: member(second, 3)} {
		if !Bitwise(member(p, e), want) {
			t.Errorf("member %d after restore: not the weights it should have", e)
		}
	}
	if slices.Equal(member(p, 1), member(trained.Buffers["params"], 1)) {
		t.Error("training did not change member 1, so the restore proves nothing")
	}
	tail := spec.MaxLogVar()
	if !Bitwise(p[tail:], trained.Buffers["params"][tail:]) {
		t.Error("the log-variance bounds changed on restore")
	}
	for _, name := range []string{"adam_m", "adam_v", "norm_mean", "norm_std"} {
		if !Bitwise(got.Buffers[name], trained.Buffers[name]) {
			t.Errorf("%s changed on restore", name)
		}
	}
	if got.Step != trained.Step {
		t.Errorf("step %d after restore, want %d", got.Step, trained.Step)
	}
}

// Bitwise reports whether a and b hold the same float32 bit patterns.
func Bitwise(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
