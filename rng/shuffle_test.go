// shuffle_test.go: Perm and Shuffle.

package rng

import (
	"slices"
	"testing"
)

// Perm is a permutation, the one Shuffle makes of 0..n-1 from the same
// numbers, and it depends on the key.
func TestPermIsAShuffledIdentity(t *testing.T) {
	key := Key{Seed: 7, Purpose: Holdout, Step: 3}
	p := NewStream(key).Perm(100)
	sorted := slices.Clone(p)
	slices.Sort(sorted)
	for i, v := range sorted {
		if v != int32(i) {
			t.Fatalf("Perm(100) sorted has %d at %d: not a permutation", v, i)
		}
	}
	v := make([]int32, 100)
	for i := range v {
		v[i] = int32(i)
	}
	NewStream(key).Shuffle(v)
	if !slices.Equal(p, v) {
		t.Errorf("Perm(100) = %v, Shuffle of 0..99 = %v", p, v)
	}
	if q := NewStream(Key{Seed: 8, Purpose: Holdout, Step: 3}).Perm(100); slices.Equal(p, q) {
		t.Errorf("seeds 7 and 8 give the same permutation %v", p)
	}
}
