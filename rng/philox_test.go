package rng

import (
	"math"
	"testing"
)

// Known-answer vectors of Philox4x32-10 from the Random123 distribution (kat_vectors).
func TestPhiloxKnownAnswers(t *testing.T) {
	tests := []struct {
		ctr  [4]uint32
		key  [2]uint32
		want [4]uint32
	}{
		{[4]uint32{0, 0, 0, 0}, [2]uint32{0, 0}, [4]uint32{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
		{[4]uint32{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, [2]uint32{0xffffffff, 0xffffffff}, [4]uint32{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
		{[4]uint32{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, [2]uint32{0xa4093822, 0x299f31d0}, [4]uint32{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
	}
	for _, tt := range tests {
		if got := Philox4x32(tt.ctr, tt.key); got != tt.want {
			t.Errorf("Philox4x32(%08x, %08x) = %08x, want %08x", tt.ctr, tt.key, got, tt.want)
		}
	}
}

func TestStreamsAreIndependentOfOrderAndDistinct(t *testing.T) {
	a := Key{Seed: 7, Purpose: Test, Step: 3}
	b := Key{Seed: 7, Purpose: Test, Step: 4}
	c := Key{Seed: 7, Purpose: Init, Step: 3}
	fill := make([]float32, 9)
	a.FillUniform(fill)
	for i := range fill {
		if got := a.Uniform(uint64(i)); got != fill[i] {
			t.Fatalf("FillUniform[%d]=%v but Uniform(%d)=%v", i, fill[i], i, got)
		}
		if a.Uniform(uint64(i)) == b.Uniform(uint64(i)) || a.Uniform(uint64(i)) == c.Uniform(uint64(i)) {
			t.Fatalf("streams with different step or purpose gave the same number at %d", i)
		}
	}
	norm := make([]float32, 11)
	a.FillNormal(norm)
	for i := range norm {
		if got := a.Normal(uint64(i)); got != norm[i] {
			t.Fatalf("FillNormal[%d]=%v but Normal(%d)=%v", i, norm[i], i, got)
		}
	}
	ints := make([]int32, 10)
	a.FillIntn(ints, 5)
	for i := range ints {
		if got := a.Intn(uint64(i), 5); int32(got) != ints[i] {
			t.Fatalf("FillIntn[%d]=%v but Intn=%v", i, ints[i], got)
		}
	}
}

func TestDistributions(t *testing.T) {
	const n = 200000
	k := Key{Seed: 12345, Purpose: Test}
	u := make([]float32, n)
	z := make([]float32, n)
	k.FillUniform(u)
	Key{Seed: 12345, Purpose: Test, Step: 1}.FillNormal(z)
	var su, su2, sz, sz2, sz4 float64
	for i := 0; i < n; i++ {
		if u[i] <= 0 || u[i] >= 1 {
			t.Fatalf("uniform %d out of (0,1): %v", i, u[i])
		}
		su += float64(u[i])
		su2 += float64(u[i]) * float64(u[i])
		x := float64(z[i])
		sz += x
		sz2 += x * x
		sz4 += x * x * x * x
	}
	mu, vu := su/n, su2/n-(su/n)*(su/n)
	mz, vz, kz := sz/n, sz2/n-(sz/n)*(sz/n), sz4/n
	// Standard errors at n=2e5: mean(U) 6.5e-4, mean(Z) 2.2e-3, var(Z) 3.2e-3; allow ~5 sigma.
	if math.Abs(mu-0.5) > 3e-3 || math.Abs(vu-1.0/12) > 2e-3 {
		t.Errorf("uniform mean %.4f var %.4f, want 0.5, 0.0833", mu, vu)
	}
	if math.Abs(mz) > 0.012 || math.Abs(vz-1) > 0.016 || math.Abs(kz-3) > 0.1 {
		t.Errorf("normal mean %.4f var %.4f 4th moment %.3f, want 0, 1, 3", mz, vz, kz)
	}
	counts := make([]int, 7)
	for i := 0; i < 70000; i++ {
		counts[k.Intn(uint64(i), 7)]++
	}
	for v, c := range counts {
		if c < 9500 || c > 10500 {
			t.Errorf("Intn(7) gave %d %d times in 70000, want about 10000", v, c)
		}
	}
}

func TestStreamResumes(t *testing.T) {
	s := NewStream(Key{Seed: 1, Purpose: Test})
	for i := 0; i < 5; i++ {
		s.Uniform()
	}
	saved := *s
	want := []float32{s.Normal(), s.Uniform(), float32(s.Intn(100))}
	r := saved
	got := []float32{r.Normal(), r.Uniform(), float32(r.Intn(100))}
	for i := range want {
		if want[i] != got[i] {
			t.Fatalf("resumed stream differs at %d: %v vs %v", i, got[i], want[i])
		}
	}
}

// The packed key layouts are part of the generator's definition: the GPU
// kernels and checkpoints of earlier runs rely on them.
func TestPackedKeyLayouts(t *testing.T) {
	if k := RolloutKey(3, RolloutNoise, 5, 7); k != (Key{Seed: 3, Purpose: RolloutNoise, Step: 5<<16 | 7}) {
		t.Errorf("RolloutKey = %+v", k)
	}
	e, n := ModelReturnKeys(3, 5, 7)
	if e != (Key{Seed: 3, Purpose: ModelReturn, Step: (5<<16 | 7) << 1}) || n.Step != e.Step|1 || n.Purpose != ModelReturn {
		t.Errorf("ModelReturnKeys = %+v, %+v", e, n)
	}
	if k := ShuffleKey(3, 5, 7); k != (Key{Seed: 3, Purpose: ModelShuffle, Step: 5<<20 | 7}) {
		t.Errorf("ShuffleKey = %+v", k)
	}
}
