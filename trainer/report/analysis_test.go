// analysis_test.go: the analyses' figures and tables from known results.

package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAnalysisFiguresAndTables(t *testing.T) {
	dir := t.TempDir()
	ce := CompoundingError{
		Env: "Hopper-v4", EnvSteps: 20000, Elites: []int{3, 1}, Prediction: "open loop", Episodes: []int{40, 35},
		Horizon: []int{1, 2, 3}, Mean: []float64{0.01, 0.04, 0.09}, Median: []float64{0.008, 0.03, 0.08},
		P25: []float64{0.005, 0.02, 0.05}, P75: []float64{0.02, 0.05, 0.1}, N: []int{75, 73, 71},
	}
	ex := Exploitation{Env: "Hopper-v4", Horizon: 1000, EnvSteps: []int{6000, 7000},
		ModelReturn: []float64{90, 190}, RealReturn: []float64{100, 200}, RatioOfMeans: 280.0 / 300, MeanGap: -10, Under: 2}
	for name, save := range map[string]func(string) ([]string, error){
		"compounding": func(b string) ([]string, error) { return PlotCompoundingError(ce, b) },
		"exploit":     func(b string) ([]string, error) { return PlotExploitation(ex, b) },
	} {
		files, err := save(filepath.Join(dir, name))
		if err != nil || len(files) != 2 {
			t.Fatalf("%s: %v, %v", name, files, err)
		}
		svg, _ := os.ReadFile(filepath.Join(dir, name+".svg"))
		if !strings.Contains(string(svg), "<svg") {
			t.Errorf("%s.svg is not SVG", name)
		}
	}
	var sb strings.Builder
	WriteCompoundingTable(&sb, ce)
	if !strings.Contains(squash(sb.String()), "\n3 0.09 0.08 0.05 0.1 71\n") {
		t.Errorf("compounding table:\n%s", sb.String())
	}
	sb.Reset()
	WriteExploitationTable(&sb, ex)
	for _, want := range []string{"\n7000 190.0 200.0 0.950\n", "over 2 evaluations: 0.933", "below the real one in 2 of 2"} {
		if !strings.Contains(squash(sb.String()), want) {
			t.Errorf("exploitation table lacks %q:\n%s", want, sb.String())
		}
	}
}

// squash trims each line and collapses its runs of spaces.
func squash(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.Join(strings.Fields(l), " ")
	}
	return strings.Join(lines, "\n")
}
