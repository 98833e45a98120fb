package stages

import (
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

// recordingAgent is an engine.Agent that keeps the last batch it was given.
type recordingAgent struct {
	engine.Agent
	last engine.Batch
}

func (a *recordingAgent) Update(b engine.Batch, _ rng.Key) (engine.UpdateStats, error) {
	a.last = b
	return engine.UpdateStats{}, nil
}

func TestSACBatchRealRatio(t *testing.T) {
	const od, ad = 2, 1
	real := NewReplay(od, ad, 1000)
	for i := 0; i < 300; i++ { // real transitions have reward 1, model ones 2
		real.AddOne([]float32{1, 1}, []float32{0}, 1, []float32{1, 1}, false)
	}
	tests := []struct {
		name          string
		modelRows     int
		ratio         float64
		size          int
		wantReal      int
		wantModel     int
		noModelBuffer bool
	}{
		{"paper mix", 500, 0.05, 256, 12, 244, false},
		{"half", 500, 0.5, 100, 50, 50, false},
		{"empty model buffer: all real", 0, 0.05, 256, 256, 0, false},
		{"no model buffer: all real", 0, 0.05, 64, 64, 0, true},
	}
	for _, tt := range tests {
		model := NewReplay(od, ad, 1000)
		for i := 0; i < tt.modelRows; i++ {
			model.AddOne([]float32{2, 2}, []float32{0}, 2, []float32{2, 2}, true)
		}
		agent := &recordingAgent{}
		mb := model
		if tt.noModelBuffer {
			mb = nil
		}
		s := newSACBatcher(agent, real, mb, tt.size, tt.ratio, 3)
		if _, err := s.update(7); err != nil {
			t.Fatal(err)
		}
		nr, nm := 0, 0
		for i, r := range agent.last.Rew {
			switch r {
			case 1:
				nr++
				if agent.last.Done[i] != 0 {
					t.Errorf("%s: a real row carries the model rows' done flag", tt.name)
				}
			case 2:
				nm++
			default:
				t.Fatalf("%s: row %d has reward %v from neither buffer", tt.name, i, r)
			}
		}
		if nr != tt.wantReal || nm != tt.wantModel {
			t.Errorf("%s: %d real + %d model rows, want %d + %d", tt.name, nr, nm, tt.wantReal, tt.wantModel)
		}
	}
}

func TestSACBatchDrawsAreKeyedByUpdate(t *testing.T) {
	real := NewReplay(1, 1, 5000)
	for i := 0; i < 5000; i++ {
		real.AddOne([]float32{float32(i)}, []float32{0}, float32(i), []float32{0}, false)
	}
	draw := func(u int64) []float32 {
		a := &recordingAgent{}
		s := newSACBatcher(a, real, nil, 32, 1, 9)
		s.update(u)
		return append([]float32(nil), a.last.Rew...)
	}
	a, b, c := draw(4), draw(4), draw(5)
	same, diff := true, false
	for i := range a {
		same = same && a[i] == b[i]
		diff = diff || a[i] != c[i]
	}
	if !same || !diff {
		t.Fatalf("update 4 twice gave equal batches: %v; updates 4 and 5 differ: %v", same, diff)
	}
}
