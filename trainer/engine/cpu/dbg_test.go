package cpu

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/rng"
)

func TestDbgProfile(t *testing.T) {
	spec := engine.PaperAgent(11, 3, -1)
	ag, _ := testEngine(t).NewAgent(spec, 1)
	batch := randomBatch(rand.New(rand.NewPCG(1, 2)), spec, 256)
	ag.Update(batch, rng.Key{})
	GemmTime, GemmCalls = 0, 0
	const N = 300
	t0 := time.Now()
	for i := 0; i < N; i++ {
		ag.Update(batch, rng.Key{Step: uint64(i)})
	}
	tot := time.Since(t0)
	t.Logf("update %v, gemm %v (%d calls/update)", tot/N, GemmTime/N, GemmCalls/N)
	a := ag.(*agent)
	t0 = time.Now()
	for i := 0; i < N; i++ {
		fillNormal(rng.Key{Step: uint64(i)}, a.upd.eps, 0)
	}
	t.Logf("noise %v", time.Since(t0)/N)
	t0 = time.Now()
	for i := 0; i < N; i++ {
		cfg := adamStep(3e-4, int64(i+1))
		adam(a.q1, a.gQ1, a.q1M, a.q1V, cfg)
		adam(a.q2, a.gQ2, a.q2M, a.q2V, cfg)
		adam(a.pol, a.gPol, a.polM, a.polV, cfg)
		polyak(a.q1t, a.q1, 0.005)
		polyak(a.q2t, a.q2, 0.005)
	}
	t.Logf("adam+polyak %v", time.Since(t0)/N)

	es := engine.PaperEnsemble(11, 3, 200)
	ens, _ := testEngine(t).NewEnsemble(es, 1)
	r := rand.New(rand.NewPCG(3, 4))
	x := randSlice(r, 7*256*es.In, 1)
	y := randSlice(r, 7*256*es.Out, 1)
	ens.TrainStep(x, y, 256)
	GemmTime, GemmCalls = 0, 0
	t0 = time.Now()
	for i := 0; i < 50; i++ {
		ens.TrainStep(x, y, 256)
	}
	t.Logf("trainstep %v, gemm %v (%d calls)", time.Since(t0)/50, GemmTime/50, GemmCalls/50)
	e := ens.(*ensemble)
	t0 = time.Now()
	for i := 0; i < 50; i++ {
		adam(e.params, e.grads, e.adamM, e.adamV, adamStep(1e-3, int64(i+1)))
	}
	t.Logf("ens adam %v (%d params)", time.Since(t0)/50, len(e.params))
}
