// schedule.go: the rollout-length schedule and the model buffer's capacity.

package trainer

// Schedule is MBPO's rollout-length schedule [a, b, kmin, kmax]: k = kmin up
// to epoch a, then linear in the epoch up to kmax at epoch b, held after; k is
// truncated to an integer.
type Schedule [4]int

// K returns the rollout length for an epoch (MBPO counts epochs from the end
// of the initial random exploration).
func (s Schedule) K(epoch int) int {
	a, b, kmin, kmax := s[0], s[1], s[2], s[3]
	if epoch <= a || b <= a {
		if b <= a && epoch > a {
			return kmax
		}
		return kmin
	}
	frac := float64(epoch-a) / float64(b-a)
	if frac > 1 {
		frac = 1
	}
	return int(frac*float64(kmax-kmin) + float64(kmin))
}

// MaxK is the longest rollout the schedule asks for at any epoch.
func (s Schedule) MaxK() int { return max(s[2], s[3]) }

// ModelBufferCapacity is the published formula: retain_epochs × k ×
// rollout_batch_size × (epoch_length / model_train_freq), the number of
// model transitions made in retainEpochs epochs at rollout length k.
func ModelBufferCapacity(retainEpochs, k, rolloutBatch, epochLength, modelTrainFreq int) int {
	return retainEpochs * k * rolloutBatch * (epochLength / modelTrainFreq)
}
