// status_test.go: the status table's rows, rates and ETAs.

package sweep

import (
	"strings"
	"testing"
	"time"
)

func TestBoardRendersProgressAndETA(t *testing.T) {
	g := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none", "k1"}, Seeds: Seeds{0}}
	cells := g.Cells()
	b := NewBoard(cells, func(Cell) int { return 1000 })
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	b.now = func() time.Time { return now }

	b.start(0, 0, 1000, nan())
	b.start(1, 200, 1000, 17.5) // resumed at 200
	now = t0.Add(50 * time.Second)
	b.progress(0, 500) // 10 steps/s: 500 left → 50s
	b.progress(1, 400) // 4 steps/s: 600 left → 2m30s
	b.eval(0, 123.45)

	var sb strings.Builder
	b.Render(&sb)
	lines := strings.Split(strings.TrimSpace(sb.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("want header, two cells and a summary:\n%s", sb.String())
	}
	for i, want := range [][]string{
		{"CELL", "ENV", "ABLATION", "SEED", "ENV STEPS", "RETURN", "ETA", "STATE"},
		{"0", "Hopper-v4", "none", "0", "500/1000", "123.5", "50s", "running"},
		{"1", "Hopper-v4", "k1", "0", "400/1000", "17.5", "2m30s", "running"},
	} {
		if got := strings.Join(strings.Fields(lines[i]), " "); got != strings.Join(want, " ") {
			t.Errorf("line %d: %q, want %q", i, got, strings.Join(want, " "))
		}
	}
	// Together: 1100 steps left at 14 steps/s → 78.57s.
	if !strings.Contains(lines[3], "14.0 env steps/s; ETA 1m19s") || !strings.Contains(lines[3], "2 running") {
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
