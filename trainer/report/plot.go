// plot.go: figures through gonum/plot, each saved as PNG and SVG: the
// learning curves and the seconds per epoch of one environment, both on the
// paper's axis, and the figures of the analyses.

package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/trainer"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Line is one line of a figure with an optional band around it.
type Line struct {
	Label  string
	X, Y   []float64
	Lo, Hi []float64 // band (nil: none)
	Dashed bool
}

// Figure is a line figure.
type Figure struct {
	Title, XLabel, YLabel string
	Lines                 []Line
	Marks                 []Mark // single points, e.g. a published result
	LegendTopLeft         bool
	FromZero              bool      // both axes start at 0 or below
	XRange                []float64 // if set, {min, max} of the x axis (panels that share it)
}

// Mark is a labelled point.
type Mark struct {
	Label string
	X, Y  float64
}

// Save writes the figure to base.png and base.svg and returns their paths.
func (f Figure) Save(base string) ([]string, error) {
	p, err := f.plot()
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, ext := range []string{".png", ".svg"} {
		path := base + ext
		if err := p.Save(7*vg.Inch, 4.5*vg.Inch, path); err != nil {
			return paths, fmt.Errorf("figure %q: %w", f.Title, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// plot builds the figure.
func (f Figure) plot() (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = f.Title, f.XLabel, f.YLabel
	p.Legend.Top, p.Legend.Left = f.LegendTopLeft, f.LegendTopLeft
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(6)
	if !f.LegendTopLeft {
		p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), vg.Points(6)
	}
	p.X.Tick.Marker, p.Y.Tick.Marker = compactTicks{}, compactTicks{}
	p.Add(plotter.NewGrid())
	for i, l := range f.Lines {
		c := plotutil.Color(i)
		if l.Lo != nil && l.Hi != nil {
			if band := bandPolygon(l.X, l.Lo, l.Hi); band != nil {
				r, g, b, _ := c.RGBA()
				poly, err := plotter.NewPolygon(band)
				if err != nil {
					return nil, fmt.Errorf("figure %q: %w", f.Title, err)
				}
				poly.Color = color.NRGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), 56}
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		pts := points(l.X, l.Y)
		if len(pts) == 0 {
			continue
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return nil, fmt.Errorf("figure %q: %w", f.Title, err)
		}
		line.Color, line.Width = c, vg.Points(1.5)
		if l.Dashed {
			line.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(line)
		if len(pts) == 1 {
			sc, _ := plotter.NewScatter(pts)
			sc.Color = c
			p.Add(sc)
		}
		p.Legend.Add(l.Label, line)
	}
	for _, m := range f.Marks {
		sc, err := plotter.NewScatter(plotter.XYs{{X: m.X, Y: m.Y}})
		if err != nil {
			return nil, fmt.Errorf("figure %q: %w", f.Title, err)
		}
		sc.GlyphStyle = draw.GlyphStyle{Color: color.Black, Radius: vg.Points(4), Shape: draw.CrossGlyph{}}
		p.Add(sc)
		p.Legend.Add(m.Label, sc)
	}
	if f.FromZero {
		p.X.Min, p.Y.Min = math.Min(p.X.Min, 0), math.Min(p.Y.Min, 0)
	}
	if len(f.XRange) == 2 {
		p.X.Min, p.X.Max = f.XRange[0], f.XRange[1]
	}
	// A mark on the edge of the data's range would be cut in half: leave
	// room around it.
	for _, m := range f.Marks {
		p.X.Max = math.Max(p.X.Max, m.X+0.04*(math.Max(p.X.Max, m.X)-p.X.Min))
		p.Y.Max = math.Max(p.Y.Max, m.Y+0.06*(math.Max(p.Y.Max, m.Y)-p.Y.Min))
	}
	return p, nil
}

// compactTicks are gonum's default ticks with shorter labels: no trailing
// zeros, and thousands as k (0, 2.5k, 5k rather than 0.00, 2500.00, 5000.00).
type compactTicks struct{}

func (compactTicks) Ticks(min, max float64) []plot.Tick {
	ts := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ts {
		if ts[i].Label != "" {
			ts[i].Label = compactLabel(ts[i].Label, ts[i].Value)
		}
	}
	return ts
}

// compactLabel shortens a tick label of gonum's fixed-point format.
func compactLabel(label string, v float64) string {
	if strings.ContainsAny(label, "eE") {
		return label
	}
	if strings.Contains(label, ".") {
		label = strings.TrimRight(strings.TrimRight(label, "0"), ".")
	}
	if label == "-0" {
		label = "0"
	}
	if !strings.Contains(label, ".") && math.Abs(v) >= 1000 {
		return strconv.FormatFloat(math.Round(v)/1000, 'f', -1, 64) + "k"
	}
	return label
}

// SavePanels writes figures as panels of one picture, cols to a row, to
// base.png and base.svg, and returns their paths.
func SavePanels(panels []Figure, cols int, base string) ([]string, error) {
	rows := (len(panels) + cols - 1) / cols
	grid := make([][]*plot.Plot, rows)
	for i := range grid {
		grid[i] = make([]*plot.Plot, cols)
	}
	for i, f := range panels {
		p, err := f.plot()
		if err != nil {
			return nil, err
		}
		grid[i/cols][i%cols] = p
	}
	w, h := 5*vg.Inch*vg.Length(cols), 3.4*vg.Inch*vg.Length(rows)
	draw1 := func(c vg.CanvasSizer) {
		dc := draw.New(c)
		tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(8), PadY: vg.Points(8),
			PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(4)}
		canvases := plot.Align(grid, tiles, dc)
		for i := range grid {
			for j, p := range grid[i] {
				if p != nil {
					p.Draw(canvases[i][j])
				}
			}
		}
	}
	img := vgimg.New(w, h)
	draw1(img)
	svg := vgsvg.New(w, h)
	draw1(svg)
	var paths []string
	for _, out := range []struct {
		ext string
		w   io.WriterTo
	}{{".png", vgimg.PngCanvas{Canvas: img}}, {".svg", svg}} {
		path := base + out.ext
		f, err := os.Create(path)
		if err != nil {
			return paths, fmt.Errorf("figure %s: %w", path, err)
		}
		_, err = out.w.WriteTo(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return paths, fmt.Errorf("figure %s: %w", path, err)
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// points pairs x and y, leaving out non-finite values.
func points(x, y []float64) plotter.XYs {
	var pts plotter.XYs
	for i := range x {
		if finite(x[i]) && finite(y[i]) {
			pts = append(pts, plotter.XY{X: x[i], Y: y[i]})
		}
	}
	return pts
}

// bandPolygon outlines the band between lo and hi: along hi, back along lo.
func bandPolygon(x, lo, hi []float64) plotter.XYs {
	var up, down plotter.XYs
	for i := range x {
		if finite(x[i]) && finite(lo[i]) && finite(hi[i]) {
			up = append(up, plotter.XY{X: x[i], Y: hi[i]})
			down = append(down, plotter.XY{X: x[i], Y: lo[i]})
		}
	}
	if len(up) < 2 {
		return nil
	}
	for i := len(down) - 1; i >= 0; i-- {
		up = append(up, down[i])
	}
	return up
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// AxisNote says what the x axis of the report's figures is, for the given
// runs: "timesteps: env steps after the 5,000 random ones, the paper's
// axis". Runs with different numbers of random steps are each shifted by
// their own, and the note lists them.
func AxisNote(runs []Run) string {
	var init []int
	for _, r := range runs {
		if !slices.Contains(init, r.Config.InitSteps) {
			init = append(init, r.Config.InitSteps)
		}
	}
	slices.Sort(init)
	switch len(init) {
	case 0:
		return "timesteps: env steps after the random ones, the paper's axis"
	case 1:
		if init[0] == 0 {
			return "timesteps: env steps (no random ones first), the paper's axis"
		}
		return fmt.Sprintf("timesteps: env steps after the %s random ones, the paper's axis", count(init[0]))
	}
	var s []string
	for _, n := range init {
		s = append(s, count(n))
	}
	return fmt.Sprintf("timesteps: env steps after each run's random ones (%s), the paper's axis", strings.Join(s, " or "))
}

// count formats an integer with thousands separators: 5,000.
func count(n int) string {
	s := number(float64(n))
	return s[:len(s)-2] // number's ".0"
}

// runsOf lists the runs of groups.
func runsOf(groups []Group) []Run {
	var runs []Run
	for _, g := range groups {
		runs = append(runs, g.Runs...)
	}
	return runs
}

// PublishedLabel is the legend of the published result's mark.
func PublishedLabel(p Published) string { return "published MBPO: " + p.Text }

// PlotCurves draws the learning curves of one environment's groups against
// timesteps, with the published MBPO result as a reference point, into
// base.png and base.svg.
func PlotCurves(env string, groups []Group, base string) ([]string, error) {
	f := Figure{Title: env, XLabel: AxisNote(runsOf(groups)), YLabel: "eval return (mean over seeds, 95% bootstrap band)", LegendTopLeft: true}
	for _, g := range groups {
		c := g.Curve
		l := Line{Label: fmt.Sprintf("%s (%d seeds)", g.Label(), c.Seeds), Lo: c.Lo, Hi: c.Hi, Y: c.Mean}
		if short := shorter(g); short > 0 {
			l.Label = fmt.Sprintf("%s (%d seeds; %d end before %s)", g.Label(), c.Seeds, short, steps(c.Longest))
		}
		for _, t := range c.Timesteps {
			l.X = append(l.X, float64(t))
		}
		f.Lines = append(f.Lines, l)
	}
	// The published result is on the paper's axis already. It is drawn even
	// where the runs stop well short of it: how far they are from it is the
	// point of the figure.
	if p, ok := PublishedFor(env); ok {
		f.Marks = append(f.Marks, Mark{Label: PublishedLabel(p), X: float64(p.Steps), Y: p.Return})
	}
	return f.Save(base)
}

// PlotTime draws the seconds per epoch of each run of one environment
// against timesteps (one line per seed, dashed for every ablation after the
// first), so the cost growth shows: each retrain fits all the real data,
// and the rollout length grows with the schedule.
func PlotTime(env string, groups []Group, base string) ([]string, error) {
	ylabel := "seconds per epoch (wall time between rows)"
	var lens []int
	for _, r := range runsOf(groups) {
		if !slices.Contains(lens, r.Config.EpochLength) {
			lens = append(lens, r.Config.EpochLength)
		}
	}
	if len(lens) == 1 {
		ylabel = fmt.Sprintf("seconds per epoch of %s env steps (wall time)", count(lens[0]))
	}
	f := Figure{Title: env + ": seconds per epoch", XLabel: AxisNote(runsOf(groups)), YLabel: ylabel, LegendTopLeft: true, FromZero: true}
	for gi, g := range groups {
		for _, r := range g.Runs {
			x, y := SecondsPerEpoch(r)
			f.Lines = append(f.Lines, Line{Label: fmt.Sprintf("%s, seed %d", g.Label(), r.Seed), X: x, Y: y, Dashed: gi > 0})
		}
	}
	return f.Save(base)
}

// PlotHealth draws what to watch while MBPO learns, for each run of one
// environment against timesteps (one line per seed, dashed for every
// ablation after the first), as six panels into base.png and base.svg: the
// elites' mean holdout MSE; the deterministic policy's return under the
// model minus its real return (exploitation: the paper finds it near and
// mostly below 0); the critics' |Q| over the largest value the rewards allow
// (health/q_ratio: divergence nears 1); the critic loss; alpha; and the
// model rollouts' termination rate over the real env's (1: the termination
// function ends model rollouts as often as the real env ends episodes).
func PlotHealth(env string, groups []Group, base string) ([]string, error) {
	x := AxisNote(runsOf(groups))
	panels := []struct {
		title string
		value func(trainer.Metrics) float64
	}{
		{"model holdout MSE (elites' mean)", elitesMSE},
		{"return under the model − real return", func(m trainer.Metrics) float64 { return m.ModelReturnMean - m.RealReturnMean }},
		{"|Q| / bound the rewards allow (health/q_ratio)", func(m trainer.Metrics) float64 { return m.HealthQRatio }},
		{"critic 1 loss (sac/q1_loss)", func(m trainer.Metrics) float64 { return m.Q1Loss }},
		{"alpha (sac/alpha)", func(m trainer.Metrics) float64 { return m.Alpha }},
		{"termination rate: model rollouts / real env", func(m trainer.Metrics) float64 {
			if m.TrainTermRate > 0 {
				return m.RolloutTermRate / m.TrainTermRate
			}
			return math.NaN()
		}},
	}
	// Every panel spans the same timesteps, from the end of the random
	// phase to the furthest row.
	last := 1.0
	for _, r := range runsOf(groups) {
		last = math.Max(last, float64(r.LastTimesteps()))
	}
	var figs []Figure
	for i, pn := range panels {
		f := Figure{Title: pn.title, XLabel: x, LegendTopLeft: true, XRange: []float64{0, last}}
		if i == 0 {
			f.Title = env + ": " + pn.title
		}
		for gi, g := range groups {
			for _, r := range g.Runs {
				l := Line{Label: fmt.Sprintf("%s, seed %d", g.Label(), r.Seed), Dashed: gi > 0}
				for _, m := range r.Rows {
					if t := r.Timesteps(m); t > 0 {
						l.X, l.Y = append(l.X, float64(t)), append(l.Y, pn.value(m))
					}
				}
				f.Lines = append(f.Lines, l)
			}
		}
		figs = append(figs, f)
	}
	return SavePanels(figs, 2, base)
}

// elitesMSE is the mean holdout MSE of the row's elites (NaN before the
// first retrain).
func elitesMSE(m trainer.Metrics) float64 {
	s, n := 0.0, 0
	for _, e := range m.ModelElites {
		if e >= 0 && e < len(m.ModelHoldoutMSE) {
			s += float64(m.ModelHoldoutMSE[e])
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}
