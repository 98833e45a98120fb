// bench_test.go measures the env pool against raw MuJoCo speed:
//
//	go test -run '^$' -bench . -benchmem ./env/
//
// BenchmarkPoolStep reports env steps/s per worker (0 allocs/op expected);
// BenchmarkPhysics reports raw mj_step/s and env steps/s (÷ frame skip) of
// the same model and random policy.

package env

import (
	"runtime"
	"testing"

	"github.com/mbpogo/mbpo/rng"
)

var benchIDs = []string{"Hopper-v4", "Humanoid-v4"}

func BenchmarkPoolStep(b *testing.B) {
	for _, id := range benchIDs {
		for _, workers := range []int{1, runtime.NumCPU()} {
			b.Run(id+"/workers="+itoa(workers), func(b *testing.B) {
				const n = 16
				p := newPool(b, id, n, PoolConfig{Workers: workers, Seed: 1})
				s := p.Spec()
				// A table of random actions, so that the timed loop only steps.
				const rows = 64
				table := make([]float32, rows*n*s.ActDim)
				key := rng.Key{Seed: 2, Purpose: rng.Exploration}
				for k := 0; k < rows*n; k++ {
					randomAction(s, key, k, table[k*s.ActDim:(k+1)*s.ActDim])
				}
				p.Reset()
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; b.Loop(); i++ {
					r := i % rows
					if err := p.Step(table[r*n*s.ActDim : (r+1)*n*s.ActDim]); err != nil {
						b.Fatal(err)
					}
				}
				perSec := float64(b.N*n) / b.Elapsed().Seconds()
				b.ReportMetric(perSec, "envsteps/s")
				b.ReportMetric(perSec/float64(p.Workers()), "envsteps/s/worker")
			})
		}
	}
}

func BenchmarkPhysics(b *testing.B) {
	for _, id := range benchIDs {
		b.Run(id, func(b *testing.B) {
			r, err := RecordPhysics(id, 1000, 1)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			b.ResetTimer()
			for b.Loop() {
				if _, err := r.Measure(); err != nil {
					b.Fatal(err)
				}
			}
			envSteps := float64(b.N * r.Steps())
			b.ReportMetric(envSteps*float64(r.rec.FrameSkip)/b.Elapsed().Seconds(), "mj_step/s")
			b.ReportMetric(envSteps/b.Elapsed().Seconds(), "envsteps/s")
		})
	}
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
