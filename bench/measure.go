// measure.go: how the benchmarks take their times: wall and process CPU
// time of a piece of work, medians, rates, and the load average that says
// whether other work shares the machine.

package bench

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// timing is the wall time and the CPU time of the whole process (all
// threads, user and system) that some work took.
type timing struct{ wall, cpu time.Duration }

// keepBest keeps the smaller of each time, or u's when first is set.
func (t *timing) keepBest(u timing, first bool) {
	if first || u.wall < t.wall {
		t.wall = u.wall
	}
	if first || u.cpu < t.cpu {
		t.cpu = u.cpu
	}
}

// measure times work.
func measure(work func() error) (timing, error) {
	cpu0, start := processCPU(), time.Now()
	err := work()
	return timing{wall: time.Since(start), cpu: processCPU() - cpu0}, err
}

// processCPU is the CPU time the process has used so far, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAverage is the one-minute load average of the machine, where the
// system tells it (/proc/loadavg on Linux): above 0.5 before a benchmark,
// other work is running and the timings will be low and noisy.
func LoadAverage() (float64, bool) {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 0, false
	}
	load, err := strconv.ParseFloat(fields[0], 64)
	return load, err == nil
}

// median of positive durations, in seconds.
func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// rate is n per sec seconds, or 0 when no time passed.
func rate(n, sec float64) float64 {
	if sec <= 0 {
		return 0
	}
	return n / sec
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
