// Package progress estimates the time a training run has left from the
// recent rate of its current phase. A run's random steps go hundreds of
// times faster than its learning steps, and learning slows down as the
// buffers grow, so neither the mean rate since the start nor the random
// phase's rate says how long the rest takes.
//
// Run: go test ./trainer/progress
package progress

import (
	"fmt"
	"time"
)

// DefaultWindow is how far back a Meter looks for its rate: long enough to
// span several model retrains of a paper-sized run.
const DefaultWindow = 2 * time.Minute

// Meter follows the env steps of one run. The zero value is not usable:
// make one with NewMeter.
type Meter struct {
	initSteps, total int
	window           time.Duration
	samples          []sample // of the current phase, oldest first, spanning at most window
}

type sample struct {
	t     time.Time
	steps int
}

// NewMeter returns a meter of a run of total env steps whose first
// initSteps are random.
func NewMeter(initSteps, total int) *Meter {
	return &Meter{initSteps: initSteps, total: total, window: DefaultWindow}
}

// SetTotal changes the run's total env steps.
func (m *Meter) SetTotal(total int) { m.total = total }

// Observe records that the run had taken steps env steps at now.
func (m *Meter) Observe(now time.Time, steps int) {
	if n := len(m.samples); n > 0 {
		last := m.samples[n-1]
		if steps < last.steps || m.learning(steps) != m.learning(last.steps) {
			m.samples = m.samples[:0] // a new phase (or a new session) starts its own rate
		} else if now.Sub(last.t) < 250*time.Millisecond {
			return
		}
	}
	m.samples = append(m.samples, sample{now, steps})
	// Keep the newest sample older than the window, so the rate spans it.
	drop := 0
	for drop+1 < len(m.samples) && now.Sub(m.samples[drop+1].t) >= m.window {
		drop++
	}
	m.samples = m.samples[drop:]
}

func (m *Meter) learning(steps int) bool { return steps >= m.initSteps }

// Rate returns the env steps per second of the current phase over the
// window, or 0 while it spans less than a second.
func (m *Meter) Rate() float64 {
	n := len(m.samples)
	if n < 2 {
		return 0
	}
	first, last := m.samples[0], m.samples[n-1]
	el := last.t.Sub(first.t).Seconds()
	if el < 1 || last.steps <= first.steps {
		return 0
	}
	return float64(last.steps-first.steps) / el
}

// Learning reports whether the run is past its random steps.
func (m *Meter) Learning() bool {
	n := len(m.samples)
	return n > 0 && m.learning(m.samples[n-1].steps)
}

// Remaining returns the env steps left.
func (m *Meter) Remaining() int {
	if len(m.samples) == 0 {
		return m.total
	}
	return max(m.total-m.samples[len(m.samples)-1].steps, 0)
}

// ETA returns the time left at the current phase's recent rate. It is not
// known (ok false) until that rate is, nor during the random phase when
// learning steps follow it: their rate is not known yet.
func (m *Meter) ETA() (left time.Duration, ok bool) {
	r := m.Rate()
	if r <= 0 {
		return 0, false
	}
	if !m.Learning() && m.total > m.initSteps {
		return 0, false
	}
	return time.Duration(float64(m.Remaining()) / r * float64(time.Second)), true
}

// Format writes an ETA for people: "1h02m", "3m05s", "42s"; "?" when not
// known, "after the random steps" while they run.
func (m *Meter) Format() string {
	if left, ok := m.ETA(); ok {
		return FormatDuration(left)
	}
	if len(m.samples) > 0 && !m.Learning() {
		return "after the random steps"
	}
	return "?"
}

// FormatDuration rounds d to the second, with at most two units: "1h02m",
// "3m05s", "42s".
func FormatDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d >= time.Hour:
		d = d.Round(time.Minute)
		return fmt.Sprintf("%dh%02dm", d/time.Hour, (d%time.Hour)/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", d/time.Minute, (d%time.Minute)/time.Second)
	}
	return fmt.Sprintf("%ds", d/time.Second)
}
