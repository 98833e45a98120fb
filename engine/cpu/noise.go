// noise.go: standard normal numbers from an rng.Key, starting at any index.

package cpu

import (
	"math"

	"github.com/mbpogo/mbpo/rng"
)

// fillNormal writes numbers first, first+1, ..., first+len(dst)-1 of key's
// stream as standard normals: exactly key.Normal(first+i) (package rng's
// Box–Muller on the lane pairs of each Philox block), one Philox block per
// four numbers instead of one per number.
func fillNormal(key rng.Key, dst []float32, first uint64) {
	i := 0
	for i < len(dst) {
		idx := first + uint64(i)
		block := key.Block(idx / 4)
		pair := uint64(4) // the lane pair r and theta belong to
		var r, theta float64
		for lane := idx % 4; lane < 4 && i < len(dst); lane, i = lane+1, i+1 {
			if p := lane / 2 * 2; p != pair {
				r = math.Sqrt(-2 * math.Log(float64(rng.UniformFromBits(block[p]))))
				theta = 2 * math.Pi * float64(rng.UniformFromBits(block[p+1]))
				pair = p
			}
			if lane%2 == 1 {
				dst[i] = float32(r * math.Sin(theta))
			} else {
				dst[i] = float32(r * math.Cos(theta))
			}
		}
	}
}
