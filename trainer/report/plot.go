// plot.go: figures through gonum/plot, each saved as PNG and SVG: the
// learning curves of one environment, and the figures of the analyses.

package report

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
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
}

// Mark is a labelled point.
type Mark struct {
	Label string
	X, Y  float64
}

// Save writes the figure to base.png and base.svg and returns their paths.
func (f Figure) Save(base string) ([]string, error) {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = f.Title, f.XLabel, f.YLabel
	p.Legend.Top, p.Legend.Left = f.LegendTopLeft, f.LegendTopLeft
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(6), -vg.Points(6)
	if !f.LegendTopLeft {
		p.Legend.XOffs, p.Legend.YOffs = -vg.Points(6), vg.Points(6)
	}
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

// PlotCurves draws the learning curves of one environment's groups, with the
// published MBPO result as a mark, into base.png and base.svg.
func PlotCurves(env string, groups []Group, base string) ([]string, error) {
	f := Figure{Title: env, XLabel: "env steps", YLabel: "eval return (mean over seeds, 95% bootstrap band)", LegendTopLeft: true}
	for _, g := range groups {
		c := g.Curve
		l := Line{Label: fmt.Sprintf("%s (%d seeds)", g.Label(), c.Seeds), Lo: c.Lo, Hi: c.Hi, Y: c.Mean}
		if short := shorter(g); short > 0 {
			l.Label = fmt.Sprintf("%s (%d seeds; %d end before %s)", g.Label(), c.Seeds, short, steps(c.Longest))
		}
		for _, s := range c.Steps {
			l.X = append(l.X, float64(s))
		}
		f.Lines = append(f.Lines, l)
	}
	// The published result, where the runs come near its env steps (a mark
	// far beyond short runs would squash their curves).
	longest := 0
	for _, g := range groups {
		longest = max(longest, g.Curve.Longest)
	}
	if p, ok := PublishedFor(env); ok && 2*longest >= p.Steps {
		f.Marks = append(f.Marks, Mark{Label: "paper (MBPO): " + p.Text, X: float64(p.Steps), Y: p.Return})
	}
	return f.Save(base)
}
