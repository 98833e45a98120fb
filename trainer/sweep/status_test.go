// status_test.go: the status table's rows, rates and ETAs.

package sweep

import (
	"strings"
	"testing"
	"time"
)

// The ETA of a cell, and of the sweep, comes from the recent rate of the
// cells' learning: their random steps go much faster and say nothing of
// what follows.
func TestBoardRendersProgressAndETA(t *testing.T) {
	g := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none", "k1"}, Seeds: Seeds{0}}
	cells := g.Cells()
	b := NewBoard(cells, func(Cell) int { return 1000 })
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	b.now = func() time.Time { return now }

	b.start(0, 0, 300, 1000, nan())
	b.setDevice(0, "cuda:1")
	b.start(1, 200, 100, 1000, 17.5) // resumed at 200, after its random steps
	// Cell 0: 300 random steps in 1 s, then 5 learning steps/s for 40 s:
	// 500 left → 1m40s (its mean rate, 500 steps in 41 s, would say 41 s).
	// Cell 1: 4 steps/s: 636 left → 2m39s.
	for i := 1; i <= 10; i++ {
		now = t0.Add(time.Duration(i) * 100 * time.Millisecond)
		b.progress(0, 30*i)
	}
	for s := 1; s <= 40; s++ {
		now = t0.Add(time.Second + time.Duration(s)*time.Second)
		b.progress(0, 300+5*s)
		b.progress(1, 200+4*(s+1))
	}
	b.eval(0, 123.45)

	var sb strings.Builder
	b.Render(&sb)
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, two cells and a summary:\n%s", sb.String())
	}
	for i, want := range [][]string{
		{"CELL", "ENV", "ABLATION", "SEED", "DEVICE", "ENV STEPS", "RETURN", "ETA", "STATE"},
		{"0", "Hopper-v4", "none", "0", "cuda:1", "500/1000", "123.5", "1m40s", "running"},
		{"1", "Hopper-v4", "k1", "0", "-", "364/1000", "17.5", "2m39s", "running"},
	} {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != strings.Join(want, " ") {
			t.Errorf("line %d: %q, want %q", i, got, strings.Join(want, " "))
		}
	}
	// Together: 1136 steps left at 9 steps/s → 2m06s.
	if !strings.Contains(lines[3], "9.0 env steps/s; ETA 2m06s") || !strings.Contains(lines[3], "2 running") {
		t.Errorf("summary %q", lines[3])
	}

	b.finish(0, Result{State: Done, EnvSteps: 1000})
	b.finish(1, Result{State: Failed, EnvSteps: 400})
	sb.Reset()
	b.Render(&sb)
	if !strings.Contains(sb.String(), "1 done, 1 failed") || !strings.Contains(sb.String(), "1000/1000") || !strings.Contains(sb.String(), "FAILED") {
		t.Errorf("after the end:\n%s", sb.String())
	}
}

func TestBoardWriterKeepsLogsAboveTheTable(t *testing.T) {
	g := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}}
	b := NewBoard(g.Cells(), func(Cell) int { return 10 })
	var term strings.Builder
	b.draw(&term, true) // 3 lines: header, cell, summary
	w := b.Writer(&term, true)
	term.Reset()
	w.Write([]byte("a log line\n"))
	got := term.String()
	if !strings.HasPrefix(got, "\033[3A\r\033[Ja log line\n") || !strings.Contains(got, "0/10") {
		t.Errorf("log write on a terminal: %q", got)
	}
	if plain := b.Writer(&term, false); plain != &term {
		t.Errorf("without a terminal the log writer should be the stream itself")
	}
}
