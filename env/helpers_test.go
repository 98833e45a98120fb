// helpers_test.go holds what the env tests share: building environments and
// drawing random actions.

package env

import (
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

// makeEnv builds environment id seeded with seed, closed when the test ends.
func makeEnv(t testing.TB, id string, seed uint64) *Env {
	t.Helper()
	e, err := Make(id)
	if err != nil {
		t.Fatal(err)
	}
	e.Seed(rng.Key{Seed: seed, Purpose: rng.Test})
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// randomAction writes into act the uniformly random action number step of
// key's stream, over the spec's action range.
func randomAction(s Spec, key rng.Key, step int, act []float32) {
	unit := make([]float32, s.ActDim)
	for j := range unit {
		unit[j] = 2*key.Uniform(uint64(step*s.ActDim+j)) - 1
	}
	s.ActionFromUnit(act, unit)
}

// buffers returns an observation, a next-observation and an action buffer
// for spec s.
func buffers(s Spec) (obs, next, act []float32) {
	return make([]float32, s.ObsDim), make([]float32, s.ObsDim), make([]float32, s.ActDim)
}
