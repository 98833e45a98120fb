package stages

import (
	"bytes"
	"testing"

	"github.com/mbpogo/mbpo/engine"
)

// addRows adds transitions numbered from..to-1; transition i has every obs
// entry i, action -i, reward i, next obs i+0.5 and done = i%3 == 0.
func addRows(r *Replay, from, to int) {
	for i := from; i < to; i++ {
		o := make([]float32, r.obsDim)
		n := make([]float32, r.obsDim)
		a := make([]float32, r.actDim)
		for j := range o {
			o[j], n[j] = float32(i), float32(i)+0.5
		}
		for j := range a {
			a[j] = -float32(i)
		}
		r.AddOne(o, a, float32(i), n, i%3 == 0)
	}
}

// rewards lists the held rewards oldest first (they number the transitions).
func rewards(r *Replay) []int {
	var out []int
	r.ordered(func(i int) { out = append(out, int(r.rew[i])) })
	return out
}

func checkRows(t *testing.T, r *Replay) {
	t.Helper()
	r.ordered(func(i int) {
		o, a, rw, n, d := r.Row(i)
		want := rw
		wantDone := float32(0)
		if int(rw)%3 == 0 {
			wantDone = 1
		}
		if o[0] != want || o[len(o)-1] != want || n[0] != want+0.5 || a[0] != -want || d != wantDone {
			t.Fatalf("row %d is inconsistent: obs %v act %v rew %v next %v done %v", i, o, a, rw, n, d)
		}
	})
}

func TestReplayRingKeepsNewest(t *testing.T) {
	r := NewReplay(3, 2, 5)
	addRows(r, 0, 4)
	if r.Len() != 4 || !equalInts(rewards(r), []int{0, 1, 2, 3}) {
		t.Fatalf("after 4 adds: len %d rows %v", r.Len(), rewards(r))
	}
	addRows(r, 4, 12)
	if r.Len() != 5 || r.Added() != 12 || !equalInts(rewards(r), []int{7, 8, 9, 10, 11}) {
		t.Fatalf("after 12 adds into capacity 5: len %d added %d rows %v", r.Len(), r.Added(), rewards(r))
	}
	checkRows(t, r)

	// A batch larger than the capacity keeps only its newest rows.
	big := NewReplay(3, 2, 20)
	addRows(big, 100, 120)
	b := NewReplay(3, 2, 4)
	b.Add(big.obs, big.act, big.rew, big.nextObs, big.done)
	if !equalInts(rewards(b), []int{116, 117, 118, 119}) {
		t.Fatalf("oversized Add kept %v", rewards(b))
	}
	checkRows(t, b)
}

func TestReplayResize(t *testing.T) {
	tests := []struct {
		name           string
		cap, added, to int
		want           []int
	}{
		{"grow keeps all", 5, 7, 8, []int{2, 3, 4, 5, 6}},
		{"shrink keeps newest", 5, 7, 3, []int{4, 5, 6}},
		{"shrink partial buffer", 10, 4, 2, []int{2, 3}},
	}
	for _, tt := range tests {
		r := NewReplay(2, 1, tt.cap)
		addRows(r, 0, tt.added)
		r.Resize(tt.to)
		if r.Cap() != tt.to || !equalInts(rewards(r), tt.want) {
			t.Errorf("%s: cap %d rows %v, want cap %d rows %v", tt.name, r.Cap(), rewards(r), tt.to, tt.want)
		}
		checkRows(t, r)
		addRows(r, 50, 51) // still a working ring
		if got := rewards(r); got[len(got)-1] != 50 {
			t.Errorf("%s: add after resize lost the new row: %v", tt.name, got)
		}
	}
}

func TestReplayGatherAndSerialize(t *testing.T) {
	r := NewReplay(3, 2, 6)
	addRows(r, 0, 9) // rows hold 3..8
	b := engine.Batch{N: 3, Obs: make([]float32, 9), Act: make([]float32, 6), Rew: make([]float32, 3), NextObs: make([]float32, 9), Done: make([]float32, 3)}
	r.Gather([]int32{0, 5}, &b, 1)
	if b.Rew[1] != r.rew[0] || b.Rew[2] != r.rew[5] || b.Obs[3] != r.rew[0] || b.NextObs[8] != r.rew[5]+0.5 || b.Act[4] != -r.rew[5] {
		t.Fatalf("Gather wrote %+v", b)
	}
	if b.Rew[0] != 0 {
		t.Fatalf("Gather touched rows before its offset")
	}

	var buf bytes.Buffer
	if _, err := r.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReplay(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if back.Cap() != r.Cap() || back.Added() != r.Added() || !equalInts(rewards(back), rewards(r)) {
		t.Fatalf("round trip: cap %d added %d rows %v, want %d %d %v", back.Cap(), back.Added(), rewards(back), r.Cap(), r.Added(), rewards(r))
	}
	// The ring's physical layout survives, so index i draws the same row.
	if back.next != r.next || r.next == 0 {
		t.Fatalf("round trip moved the ring's next row from %d to %d", r.next, back.next)
	}
	for i := 0; i < r.Len(); i++ {
		if _, _, a, _, _ := r.Row(i); func() bool { _, _, b, _, _ := back.Row(i); return a != b }() {
			t.Fatalf("physical row %d differs after the round trip", i)
		}
	}
	checkRows(t, back)
	if _, err := ReadReplay(bytes.NewReader(buf.Bytes()[:buf.Len()-5])); err == nil {
		t.Fatal("a truncated buffer read without error")
	}
	bad := append([]byte(nil), buf.Bytes()...)
	bad[0] ^= 0xff
	if _, err := ReadReplay(bytes.NewReader(bad)); err == nil {
		t.Fatal("a buffer with a bad magic read without error")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
