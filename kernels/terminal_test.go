// terminal_test.go: the device termination rules against package env's on
// the same float32 inputs, for every environment: random transitions around
// each rule's thresholds, the thresholds themselves and their float32
// neighbours, and non-finite values.

package kernels

import (
	"math"
	"testing"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/gpu/gputest"
	"github.com/mbpogo/mbpo/rng"
)

// terminalInputs returns n next observations of width od that probe the
// rules: columns 0 and 1 spread over every rule's thresholds, sines and
// cosines of angles that put the double pendulum's tip near height 1, and
// edge rows.
func terminalInputs(od, n int) []float32 {
	key := rng.Key{Seed: 3, Purpose: rng.Test, Step: uint64(od)}
	next := make([]float32, n*od)
	for i := 0; i < n; i++ {
		row := next[i*od : (i+1)*od]
		for j := range row {
			row[j] = 3 * key.Normal(uint64(i*od+j))
		}
		u := func(k int) float32 { return key.Uniform(uint64(1<<30 + i*8 + k)) }
		row[0] = 3*u(0) - 0.5 // [-0.5, 2.5]: 0.2, 0.7, 0.8, 1 and 2 inside
		row[1] = 3*u(1) - 1.5 // [-1.5, 1.5]: ±0.2 and ±1 inside
		if od >= 5 && i%2 == 0 {
			t1, t2 := float64(1.2*u(2)-0.6), float64(1.2*u(3)-0.6)
			row[1], row[2] = float32(math.Sin(t1)), float32(math.Sin(t2))
			row[3], row[4] = float32(math.Cos(t1)), float32(math.Cos(t2))
		}
		if i%17 == 3 {
			row[int(u(4)*float32(od))%od] = 150 * (2*u(5) - 1) // past Hopper's ±100
		}
	}
	// Edge rows: exact thresholds and their float32 neighbours in columns 0
	// and 1, then non-finite values.
	edges := []float32{0.2, 0.7, 0.8, 1, 2, -0.2, -1, 100, -100}
	var rows [][2]float32
	for _, e := range edges {
		for _, v := range []float32{e, math.Nextafter32(e, -10), math.Nextafter32(e, 10)} {
			rows = append(rows, [2]float32{v, 0}, [2]float32{1.2, v}, [2]float32{0.5, v})
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	rows = append(rows, [2]float32{nan, 0}, [2]float32{1.2, nan}, [2]float32{inf, 0}, [2]float32{-inf, 0}, [2]float32{1.2, -inf})
	for k, r := range rows {
		i := n - 1 - k
		if i < 0 {
			break
		}
		row := next[i*od : (i+1)*od]
		for j := range row {
			row[j] = 0.01
		}
		row[0], row[1] = r[0], r[1]
		if od >= 5 {
			row[3], row[4] = 1, 1 // the tip above 1 unless column 1 says otherwise
		}
	}
	// A NaN deep in a row that is otherwise healthy for every rule.
	row := next[(n-len(rows)-1)*od:]
	row[0], row[1] = 1.2, 0.01
	row[od-1] = nan
	return next
}

func checkTerminal(t *testing.T, m Machine) {
	const n = 3000
	for _, id := range env.IDs() {
		spec, err := env.Lookup(id)
		if err != nil {
			t.Fatal(err)
		}
		term, err := TerminalFor(id)
		if err != nil {
			t.Fatal(err)
		}
		od := spec.ObsDim
		next := terminalInputs(od, n)
		dn, nx := alloc[float32](t, m, n, nil), alloc(t, m, n*od, next)
		if err := TerminalRows(m, dn, nx, n, od, term); err != nil {
			t.Fatal(err)
		}
		got := fetch[float32](t, m, dn, n)
		obs, act := make([]float32, od), make([]float32, spec.ActDim)
		terminated := 0
		for i := 0; i < n; i++ {
			want := spec.Terminal(obs, act, next[i*od:(i+1)*od])
			if (got[i] == 1) != want || (got[i] != 0 && got[i] != 1) {
				t.Fatalf("%s row %d (next %v): device rule says %v, env says %v", id, i, next[i*od:(i+1)*od], got[i], want)
			}
			if want {
				terminated++
			}
		}
		t.Logf("%s: %d rows, %d terminal, all agree", id, n, terminated)
		if term != TermNever && (terminated < n/20 || terminated > n-n/20) {
			t.Errorf("%s: %d of %d rows terminal: the inputs do not probe both sides of the rule", id, terminated, n)
		}
	}
	if _, err := TerminalFor("Pong-v5"); err == nil {
		t.Error("TerminalFor accepted an unknown environment")
	}
}

func TestHostTerminalMatchesEnv(t *testing.T) { checkTerminal(t, hostMachineFor(t)) }

func TestGPUTerminalMatchesEnv(t *testing.T) { checkTerminal(t, gpuMachineFor(t)) }

// gpuMachineFor opens the GPU as a Machine for a test (skipped without one,
// as gputest.Open says) and checks that the test freed what it allocated.
func gpuMachineFor(t *testing.T) Machine {
	t.Helper()
	d := gputest.Open(t)
	m, err := OnGPU(d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m
}
