// sac.go: the SAC stage (model buffer + real buffer → SAC → policy). Each
// update draws a minibatch of which RealRatio comes from the real buffer and
// the rest from the model buffer, then hands it to the engine's SAC update.

package stages

import (
	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// sacBatcher assembles mixed minibatches and runs SAC updates on them.
type sacBatcher struct {
	agent       engine.Agent
	real, model *Replay // model may be nil: all data is real
	size        int
	realRatio   float64
	seed        uint64

	batch engine.Batch
	idx   []int32
}

func newSACBatcher(agent engine.Agent, real, model *Replay, size int, realRatio float64, seed uint64) *sacBatcher {
	od, ad := real.obsDim, real.actDim
	return &sacBatcher{
		agent: agent, real: real, model: model, size: size, realRatio: realRatio, seed: seed,
		batch: engine.Batch{
			N: size, Obs: make([]float32, size*od), Act: make([]float32, size*ad),
			Rew: make([]float32, size), NextObs: make([]float32, size*od), Done: make([]float32, size),
		},
		idx: make([]int32, size),
	}
}

// split returns how many rows of a batch are real and how many are model
// rows: int(size·realRatio) real (MBPO truncates), the rest model, or all
// real while the model buffer is empty.
func (s *sacBatcher) split() (nReal, nModel int) {
	if s.model == nil || s.model.Len() == 0 {
		return s.size, 0
	}
	nReal = engine.RealRows(s.size, s.realRatio)
	return nReal, s.size - nReal
}

// fill draws minibatch number u: rows [0, nReal) uniformly from the real
// buffer, rows [nReal, size) uniformly from the model buffer, using numbers
// 0..size-1 of the SACBatch stream of u.
func (s *sacBatcher) fill(u int64) (nReal int) {
	key := rng.Key{Seed: s.seed, Purpose: rng.SACBatch, Step: uint64(u)}
	nReal, nModel := s.split()
	for i := 0; i < nReal; i++ {
		s.idx[i] = int32(key.Intn(uint64(i), s.real.Len()))
	}
	s.real.Gather(s.idx[:nReal], &s.batch, 0)
	for i := 0; i < nModel; i++ {
		s.idx[i] = int32(key.Intn(uint64(nReal+i), s.model.Len()))
	}
	if nModel > 0 {
		s.model.Gather(s.idx[:nModel], &s.batch, nReal)
	}
	return nReal
}

// update runs SAC update number u.
func (s *sacBatcher) update(u int64) (engine.UpdateStats, error) {
	s.fill(u)
	return s.agent.Update(s.batch, rng.Key{Seed: s.seed, Purpose: rng.SACNoise, Step: uint64(u)})
}

// updates runs SAC updates first, ..., first+n-1, adding their statistics to
// sums in update order.
func (s *sacBatcher) updates(first int64, n int, sums *engine.UpdateSums) error {
	for u := first; u < first+int64(n); u++ {
		st, err := s.update(u)
		if err != nil {
			return err
		}
		sums.Add(st)
	}
	return nil
}
