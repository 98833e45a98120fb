// analysis.go: the figures and tables of the paper's analyses (mbpo
// analyze; analyze.go computes them): compounding model error against
// rollout horizon, and the policy's return under the model against its real
// return.

package report

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// PlotCompoundingError draws the mean open-loop error against horizon with
// the interquartile band into base.png and base.svg.
func PlotCompoundingError(ce CompoundingError, base string) ([]string, error) {
	l := Line{Label: "mean (band: 25th–75th percentile)", Y: ce.Mean, Lo: ce.P25, Hi: ce.P75}
	med := Line{Label: "median", Y: ce.Median, Dashed: true}
	for _, h := range ce.Horizon {
		l.X = append(l.X, float64(h))
		med.X = append(med.X, float64(h))
	}
	f := Figure{
		Title:         fmt.Sprintf("%s: model error vs rollout horizon (checkpoint at %s env steps)", ce.Env, steps(ce.EnvSteps)),
		XLabel:        "rollout horizon h (open loop, real actions)",
		YLabel:        "squared error per observation dim",
		Lines:         []Line{l, med},
		LegendTopLeft: true,
	}
	return f.Save(base)
}

// WriteCompoundingTable writes the errors per horizon as a text table.
func WriteCompoundingTable(w io.Writer, ce CompoundingError) {
	fmt.Fprintf(w, "%s, checkpoint at env step %d: %s, on %d held-out episodes (steps %v).\n",
		ce.Env, ce.EnvSteps, ce.Prediction, len(ce.Episodes), ce.Episodes)
	fmt.Fprintf(w, "Error: squared difference to the real observation, averaged over its dimensions.\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "h\tmean\tmedian\tp25\tp75\trollouts\t")
	for i, h := range ce.Horizon {
		fmt.Fprintf(tw, "%d\t%.4g\t%.4g\t%.4g\t%.4g\t%d\t\n", h, ce.Mean[i], ce.Median[i], ce.P25[i], ce.P75[i], ce.N[i])
	}
	tw.Flush()
}

// PlotExploitation draws the model and real returns against env steps into
// base.png and base.svg.
func PlotExploitation(ex Exploitation, base string) ([]string, error) {
	var x []float64
	for _, s := range ex.EnvSteps {
		x = append(x, float64(s))
	}
	f := Figure{
		Title:         fmt.Sprintf("%s: policy return under the model vs real (first %d steps)", ex.Env, ex.Horizon),
		XLabel:        "env steps",
		YLabel:        fmt.Sprintf("return over %d steps", ex.Horizon),
		Lines:         []Line{{Label: "under the model", X: x, Y: ex.ModelReturn}, {Label: "real", X: x, Y: ex.RealReturn, Dashed: true}},
		LegendTopLeft: true,
	}
	return f.Save(base)
}

// WriteExploitationTable writes the returns per epoch and the summary.
func WriteExploitationTable(w io.Writer, ex Exploitation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "env steps\tmodel return\treal return\tmodel/real\t")
	for i, s := range ex.EnvSteps {
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.3f\t\n", s, ex.ModelReturn[i], ex.RealReturn[i], ex.ModelReturn[i]/ex.RealReturn[i])
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmean ratio (mean model return / mean real return) over %d evaluations: %.3f\n", len(ex.EnvSteps), ex.RatioOfMeans)
	fmt.Fprintf(w, "mean gap (model − real): %.1f; the model return is below the real one in %d of %d evaluations\n",
		ex.MeanGap, ex.Under, len(ex.EnvSteps))
}
