// health.go: the divergence watch. The known failure of MBPO ports (critic
// losses exploding on Humanoid and Walker2d) shows in two quantities each
// epoch: Q estimates beyond what the rewards allow, and a critic loss that
// grows by orders of magnitude from one epoch to the next.

package trainer

import (
	"fmt"
	"math"
)

// Health is one epoch's divergence check.
type Health struct {
	// QBound is the largest |Q| the rewards allow, max|r|/(1-γ) over the
	// real buffer, times Config.QBoundMargin.
	QBound float64
	// QRatio is |sac/q_mean| / QBound: above 1, the critics estimate more
	// than any policy could collect.
	QRatio float64
	// CriticGrowth is this epoch's mean critic loss over the previous
	// epoch's (NaN without both).
	CriticGrowth float64
	// Problems names each quantity out of bounds, with its value and bound.
	Problems []string
}

// criticGrowthLimit is the epoch-to-epoch growth of the critic loss that
// counts as divergence: two orders of magnitude.
const criticGrowthLimit = 100

// checkHealth judges an epoch's SAC statistics: qMean and criticLoss this
// epoch, prevLoss the last epoch's critic loss (0 if none), rMax the
// largest |reward| seen, gamma the discount and margin Config.QBoundMargin.
func checkHealth(qMean, criticLoss, prevLoss, rMax, gamma, margin float64) Health {
	h := Health{QBound: math.NaN(), QRatio: math.NaN(), CriticGrowth: math.NaN()}
	if gamma < 1 && rMax > 0 {
		h.QBound = margin * rMax / (1 - gamma)
		h.QRatio = math.Abs(qMean) / h.QBound
		if h.QRatio > 1 {
			h.Problems = append(h.Problems, fmt.Sprintf("sac/q_mean is %.4g, beyond %.4g = %g × max|r| %.4g / (1 - γ %g)",
				qMean, h.QBound, margin, rMax, gamma))
		}
	}
	if prevLoss > 0 && !math.IsNaN(criticLoss) {
		h.CriticGrowth = criticLoss / prevLoss
		if h.CriticGrowth > criticGrowthLimit {
			h.Problems = append(h.Problems, fmt.Sprintf("the critic loss grew %.3g-fold in one epoch (%.4g, was %.4g; the limit is %d-fold)",
				h.CriticGrowth, criticLoss, prevLoss, criticGrowthLimit))
		}
	}
	return h
}
