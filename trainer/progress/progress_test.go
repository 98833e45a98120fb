package progress

import (
	"testing"
	"time"
)

// A run of 1,000 random steps at 1,000 steps/s, then 2,000 learning steps
// at 10 steps/s. Half-way through learning its mean rate says 50 s are left
// when 100 s are; the meter says 100 s from the rate of the learning phase
// alone.
func TestETAFollowsTheCurrentPhase(t *testing.T) {
	m := NewMeter(1000, 3000)
	t0 := time.Unix(1e9, 0)
	now := t0
	steps := 0
	for ; steps <= 1000; steps += 10 {
		now = t0.Add(time.Duration(steps) * time.Millisecond)
		m.Observe(now, steps)
		if steps == 500 {
			if _, ok := m.ETA(); ok || m.Format() != "after the random steps" {
				t.Errorf("ETA during the random phase: %q, want it unknown until learning starts", m.Format())
			}
		}
	}
	start := now
	for steps = 1000; steps <= 2000; steps++ {
		now = start.Add(time.Duration(steps-1000) * 100 * time.Millisecond)
		m.Observe(now, steps)
	}
	left, ok := m.ETA()
	if !ok || left < 99*time.Second || left > 101*time.Second {
		t.Errorf("ETA %v (%v) with 1,000 steps left at 10 steps/s, want 100 s", left, ok)
	}
	if m.Format() != "1m40s" {
		t.Errorf("Format() = %q, want 1m40s", m.Format())
	}
	mean := float64(steps) / now.Sub(t0).Seconds()
	if naive := time.Duration(float64(3000-steps) / mean * float64(time.Second)); naive > 60*time.Second {
		t.Fatalf("the test's premise: the mean-rate ETA is %v, not far below 100 s", naive)
	}

	// The rate looks back DefaultWindow only: when learning slows to 5
	// steps/s, the ETA follows.
	for i := 0; i < 1000 && steps < 2990; i++ {
		now = now.Add(200 * time.Millisecond)
		steps++
		m.Observe(now, steps)
	}
	if r := m.Rate(); r < 4.9 || r > 5.1 {
		t.Errorf("rate %v after the run slowed to 5 steps/s, want 5", r)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		42 * time.Second: "42s", 185 * time.Second: "3m05s", 3720 * time.Second: "1h02m", 100 * time.Hour: "100h00m",
	} {
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
