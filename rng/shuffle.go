// shuffle.go: Fisher–Yates permutations drawn from a Stream, as an ensemble
// retrain uses them (its holdout split and each epoch's order), so that the
// trainer and the GPU engine draw the same ones.

package rng

// Perm returns a uniformly random permutation of 0..n-1: 0, 1, ..., n-1
// shuffled by Shuffle.
func (s *Stream) Perm(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i)
	}
	s.Shuffle(p)
	return p
}

// Shuffle permutes v in place by Fisher–Yates: for i from len(v)-1 down to
// 1 it swaps v[i] with v[Intn(i+1)].
func (s *Stream) Shuffle(v []int32) {
	for i := len(v) - 1; i > 0; i-- {
		j := s.Intn(i + 1)
		v[i], v[j] = v[j], v[i]
	}
}
