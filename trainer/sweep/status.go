// status.go: the live status table of a sweep (cell, env, ablation, seed,
// device, env steps, last eval return, ETA), redrawn in place on a terminal and
// printed as plain periodic blocks otherwise.

package sweep

import (
	"context"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mbpogo/mbpo/trainer/progress"
)

// State is where a cell stands in a sweep.
type State string

// The states of a cell.
const (
	Pending     State = "pending"
	Running     State = "running"
	Done        State = "done"
	Skipped     State = "done before" // finished by an earlier run of the sweep
	Failed      State = "FAILED"
	Interrupted State = "interrupted"
	Paused      State = "paused"      // stopped at the sweep's Until, checkpoint saved: a later sweep goes on
	NotStarted  State = "not started" // the sweep was interrupted first
)

// Board follows the progress of a sweep's cells. Its methods are safe for
// concurrent use; a nil *Board ignores updates.
type Board struct {
	mu    sync.Mutex
	rows  []boardRow
	index map[int]int // cell index → row
	now   func() time.Time
	drawn int // lines of the table on the terminal
}

type boardRow struct {
	cell         Cell
	device       string // where it runs (cpu, cuda:N); "" until it starts
	state        State
	steps, total int
	ret          float64
	meter        *progress.Meter // while running: the recent rate of the cell's current phase
}

// NewBoard returns a board for cells, all pending, with totals taken from
// steps(cell).
func NewBoard(cells []Cell, steps func(Cell) int) *Board {
	b := &Board{index: map[int]int{}, now: time.Now}
	for i, c := range cells {
		b.rows = append(b.rows, boardRow{cell: c, state: Pending, total: steps(c), ret: nan()})
		b.index[c.Index] = i
	}
	return b
}

func (b *Board) row(cell int) *boardRow {
	i, ok := b.index[cell]
	if !ok {
		return nil
	}
	return &b.rows[i]
}

// start marks a cell running from envSteps of total, the first initSteps
// random, with the last known eval return.
func (b *Board) start(cell, envSteps, initSteps, total int, ret float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.row(cell); r != nil {
		r.state, r.steps, r.total, r.ret = Running, envSteps, total, ret
		r.meter = progress.NewMeter(initSteps, total)
		r.meter.Observe(b.now(), envSteps)
	}
}

// setDevice records where a cell runs.
func (b *Board) setDevice(cell int, device string) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if r := b.row(cell); r != nil {
		r.device = device
	}
	b.mu.Unlock()
}

func (b *Board) progress(cell, envSteps int) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if r := b.row(cell); r != nil {
		r.steps = envSteps
		if r.meter != nil {
			r.meter.Observe(b.now(), envSteps)
		}
	}
	b.mu.Unlock()
}

func (b *Board) eval(cell int, ret float64) {
	if b == nil {
		return
	}
	b.mu.Lock()
	if r := b.row(cell); r != nil {
		r.ret = ret
	}
	b.mu.Unlock()
}

func (b *Board) finish(cell int, res Result) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if r := b.row(cell); r != nil {
		r.state = res.State
		if res.EnvSteps > 0 {
			r.steps = res.EnvSteps
			r.total = max(r.total, r.steps) // a cell that an earlier sweep took past --until
		}
	}
}

// rate is a running cell's recent env steps per second in its learning
// phase (0 if not yet known: its random steps say nothing of what follows).
func (r boardRow) rate() float64 {
	if r.state != Running || r.meter == nil || !r.meter.Learning() {
		return 0
	}
	return r.meter.Rate()
}

// Render writes the table: one line per cell, then a summary line with the
// sweep's ETA (remaining steps of unfinished cells over the running cells'
// combined recent rate of learning).
func (b *Board) Render(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.render(w)
}

func (b *Board) render(w io.Writer) int {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CELL\tENV\tABLATION\tSEED\tDEVICE\tENV STEPS\tRETURN\tETA\tSTATE")
	counts := map[State]int{}
	var remaining int
	var rate float64
	for _, r := range b.rows {
		counts[r.state]++
		eta := "-"
		if v := r.rate(); v > 0 {
			eta = formatETA(float64(r.total-r.steps) / v)
			rate += v
		}
		if r.state == Running || r.state == Pending || r.state == Interrupted {
			remaining += max(r.total-r.steps, 0)
		}
		ret := "-"
		if !math.IsNaN(r.ret) {
			ret = fmt.Sprintf("%.1f", r.ret)
		}
		device := r.device
		if device == "" {
			device = "-"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d/%d\t%s\t%s\t%s\n", r.cell.Index, r.cell.Env, r.cell.Ablation, r.cell.Seed, device, r.steps, r.total, ret, eta, r.state)
	}
	tw.Flush()
	eta := "-"
	if rate > 0 {
		eta = formatETA(float64(remaining) / rate)
	}
	paused := ""
	if n := counts[Paused]; n > 0 {
		paused = fmt.Sprintf(", %d paused", n)
	}
	fmt.Fprintf(w, "%d cells: %d running, %d pending, %d done%s, %d failed; %.1f env steps/s; ETA %s\n",
		len(b.rows), counts[Running], counts[Pending], counts[Done]+counts[Skipped], paused, counts[Failed], rate, eta)
	return len(b.rows) + 2
}

func formatETA(sec float64) string {
	if math.IsInf(sec, 0) || math.IsNaN(sec) || sec > 1e8 {
		return "-"
	}
	return progress.FormatDuration(time.Duration(sec * float64(time.Second)))
}

// Follow draws the table on w until ctx ends or the returned stop is
// called (stop draws it a last time). With ansi (w is a terminal) it
// redraws in place every second; otherwise it prints the table, plainly,
// every period.
func (b *Board) Follow(ctx context.Context, w io.Writer, ansi bool, period time.Duration) (stop func()) {
	if !ansi {
		period = max(period, time.Second)
	} else {
		period = time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(period)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				b.draw(w, ansi)
			}
		}
	}()
	return func() {
		cancel()
		<-done
		b.draw(w, ansi)
	}
}

func (b *Board) draw(w io.Writer, ansi bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !ansi {
		fmt.Fprintf(w, "--- sweep status %s\n", b.now().Format(time.TimeOnly))
		b.render(w)
		return
	}
	var sb strings.Builder
	b.erase(&sb)
	lines := b.render(&sb)
	io.WriteString(w, strings.ReplaceAll(sb.String(), "\n", "\033[K\n"))
	b.drawn = lines
}

// erase moves the cursor to the top of the drawn table and clears below.
func (b *Board) erase(sb *strings.Builder) {
	if b.drawn > 0 {
		fmt.Fprintf(sb, "\033[%dA\r\033[J", b.drawn)
	}
	b.drawn = 0
}

// Writer returns a writer for log lines that, on a terminal, erases the
// table before each write and redraws it after, so logs and table do not
// overwrite each other. Without ansi it returns w.
func (b *Board) Writer(w io.Writer, ansi bool) io.Writer {
	if !ansi {
		return w
	}
	return boardWriter{b: b, w: w}
}

type boardWriter struct {
	b *Board
	w io.Writer
}

func (bw boardWriter) Write(p []byte) (int, error) {
	bw.b.mu.Lock()
	defer bw.b.mu.Unlock()
	var sb strings.Builder
	wasDrawn := bw.b.drawn > 0
	bw.b.erase(&sb)
	io.WriteString(bw.w, sb.String())
	n, err := bw.w.Write(p)
	if wasDrawn {
		sb.Reset()
		lines := bw.b.render(&sb)
		io.WriteString(bw.w, strings.ReplaceAll(sb.String(), "\n", "\033[K\n"))
		bw.b.drawn = lines
	}
	return n, err
}

func nan() float64 { return math.NaN() }
