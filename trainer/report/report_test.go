// report_test.go: a report over a sweep directory with partial, corrupt and
// mismatched runs: each problem is a warning naming its file, the means use
// only the good data, and the figures and Markdown are written.

package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/trainer"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

// writeRun writes a run directory: config.json of Hopper-v4 and seed,
// without random steps (timesteps = env steps) unless edit says otherwise,
// and metrics.jsonl with returns ret at env steps 1000, 2000, ..., then
// extra appended verbatim.
func writeRun(t *testing.T, root, rel string, seed uint64, edit func(*trainer.Config), ret []float64, extra string) string {
	t.Helper()
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := trainer.PaperConfig("Hopper-v4")
	cfg.Seed, cfg.Steps, cfg.InitSteps = seed, 5000, 0
	if edit != nil {
		edit(&cfg)
	}
	b, _ := json.Marshal(cfg)
	os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644)
	var lines []string
	for i, v := range ret {
		m := trainer.Metrics{Epoch: i + 1, EnvSteps: 1000 * (i + 1), EvalReturnMean: v, WallSec: 10 * float64(i+1), SACUpdatesPerSec: 500}
		b, _ := m.MarshalJSON()
		lines = append(lines, string(b))
	}
	os.WriteFile(filepath.Join(dir, "metrics.jsonl"), []byte(strings.Join(lines, "\n")+"\n"+extra), 0o644)
	return dir
}

func TestReportOnPartialAndCorruptInputs(t *testing.T) {
	root := t.TempDir()
	good := []float64{500, 1500, 2500, 3100, 3200}
	writeRun(t, root, "Hopper-v4/none/seed_0", 0, nil, good, "")
	// A garbage line in the middle and a line cut short at the end.
	s1 := writeRun(t, root, "Hopper-v4/none/seed_1", 1, nil, []float64{700, 1700, 2700, 3300, 3400}, `{"epoch":6,"env_steps":60`)
	raw, _ := os.ReadFile(filepath.Join(s1, "metrics.jsonl"))
	lines := strings.Split(string(raw), "\n")
	os.WriteFile(filepath.Join(s1, "metrics.jsonl"), []byte(strings.Join(append(lines[:2:2], append([]string{"#garbage"}, lines[2:]...)...), "\n")), 0o644)
	// Still running: three epochs of five.
	writeRun(t, root, "Hopper-v4/none/seed_2", 2, nil, []float64{600, 1600, 2600}, "")
	// Another configuration, absurd returns: must not reach the means.
	writeRun(t, root, "Hopper-v4/none/seed_3", 3, func(c *trainer.Config) { c.Hidden = 128 }, []float64{1e6, 1e6, 1e6, 1e6, 1e6}, "")
	// A corrupt config.json.
	s4 := writeRun(t, root, "Hopper-v4/none/seed_4", 4, nil, good, "")
	os.WriteFile(filepath.Join(s4, "config.json"), []byte("{not json"), 0o644)
	// A run in the wrong place.
	writeRun(t, root, "Hopper-v4/none/seed_9", 5, nil, good, "")
	// No metrics yet.
	k0 := writeRun(t, root, "Hopper-v4/k1/seed_0", 0, func(c *trainer.Config) { c.RolloutLength = 1 }, nil, "")
	os.Remove(filepath.Join(k0, "metrics.jsonl"))
	// Resumed from an older checkpoint: epochs 2 and 3 written twice.
	k1 := writeRun(t, root, "Hopper-v4/k1/seed_1", 1, func(c *trainer.Config) { c.RolloutLength = 1 }, []float64{100, 200, 300}, "")
	again, _ := json.Marshal(trainer.Metrics{Epoch: 2, EnvSteps: 2000, EvalReturnMean: 250, WallSec: 25})
	f, _ := os.OpenFile(filepath.Join(k1, "metrics.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	f.Write(append(again, '\n'))
	f.Close()
	// An empty metrics file.
	writeRun(t, root, "Hopper-v4/k1/seed_2", 2, func(c *trainer.Config) { c.RolloutLength = 1 }, nil, "")

	expected := []string{"Hopper-v4/none/seed_0", "Hopper-v4/sac/seed_0"}
	r, err := Build(root, Options{Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Groups) != 2 || r.Groups[0].Ablation != "none" || r.Groups[1].Ablation != "k1" {
		t.Fatalf("groups: %+v", r.Groups)
	}
	mbpo := r.Groups[0]
	if len(mbpo.Runs) != 3 {
		t.Fatalf("MBPO group has %d runs, want seeds 0, 1 and 2", len(mbpo.Runs))
	}
	c := mbpo.Curve
	// At 1000: (500 + 700 + 600) / 3 = 600; at 4000 only seeds 0 and 1: 3200.
	if c.Mean[0] != 600 || c.Mean[3] != 3200 || c.N[3] != 2 || c.Common != 3000 || c.Longest != 5000 {
		t.Errorf("curve: means %v n %v common %d longest %d", c.Mean, c.N, c.Common, c.Longest)
	}
	if m, _ := MeanStd(c.AtCommon); m != 2600 { // (2500 + 2700 + 2600) / 3
		t.Errorf("final return %v, want 2600", m)
	}
	k1Curve := r.Groups[1].Curve
	if len(k1Curve.Mean) != 3 || k1Curve.Mean[1] != 250 {
		t.Errorf("k1 curve %v, want the resumed row 250 at 2000", k1Curve.Mean)
	}

	wantWarnings := map[string]string{
		"Hopper-v4/none/seed_1/metrics.jsonl": "line 3 is not a metrics row",
		"Hopper-v4/none/seed_3/config.json":   "hidden 128 vs 256",
		"Hopper-v4/none/seed_4/config.json":   "not a run configuration",
		"Hopper-v4/none/seed_9/config.json":   "lies in Hopper-v4/none/seed_9",
		"Hopper-v4/k1/seed_0/metrics.jsonl":   "missing",
		"Hopper-v4/k1/seed_1/metrics.jsonl":   "1 rows repeat",
		"Hopper-v4/k1/seed_2/metrics.jsonl":   "no metrics rows yet",
		"Hopper-v4/sac/seed_0":                "not run this cell yet",
	}
	got := map[string]string{}
	for _, w := range r.Warnings {
		rel, _ := filepath.Rel(root, w.File)
		got[filepath.ToSlash(rel)] += w.Msg + " | "
	}
	for file, want := range wantWarnings {
		if !contains(got[file], want) {
			t.Errorf("no warning %q for %s (got %q)", want, file, got[file])
		}
	}
	if !contains(got["Hopper-v4/none/seed_1/metrics.jsonl"], "cut short") {
		t.Errorf("the cut-short last line is not named: %q", got["Hopper-v4/none/seed_1/metrics.jsonl"])
	}
	if len(got) != len(wantWarnings) {
		t.Errorf("warnings for %d files, want %d: %v", len(got), len(wantWarnings), got)
	}

	out := filepath.Join(root, "report")
	files, err := r.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"curves_Hopper-v4.png", "curves_Hopper-v4.svg", "time_Hopper-v4.png", "time_Hopper-v4.svg",
		"health_Hopper-v4.png", "health_Hopper-v4.svg", "report.md"} {
		st, err := os.Stat(filepath.Join(out, name))
		if err != nil || st.Size() < 100 {
			t.Errorf("%s: %v", name, err)
		}
	}
	if len(files) != 7 {
		t.Errorf("Write returned %v", files)
	}
	for _, name := range []string{"curves_Hopper-v4.png", "health_Hopper-v4.png"} {
		png, _ := os.ReadFile(filepath.Join(out, name))
		if !strings.HasPrefix(string(png), "\x89PNG") {
			t.Errorf("%s is not a PNG", name)
		}
	}
	if svg, _ := os.ReadFile(filepath.Join(out, "health_Hopper-v4.svg")); !contains(string(svg), "<svg") || !contains(string(svg), "alpha (sac/alpha)") {
		t.Errorf("health_Hopper-v4.svg is not an SVG of the six panels")
	}
	md, _ := os.ReadFile(filepath.Join(out, "report.md"))
	for _, want := range []string{
		"| Hopper-v4 | MBPO | 3 (1 shorter than 5k) | 2,600.0 ± 100.0 | 3k | not reached (3,000.0 by 3k) | ≈3,000+ by 100k |",
		"| Hopper-v4 | MBPO, k = 1 | 1 | 300.0 ± 0.0 | 3k | not reached (3,000.0 by 3k) | — |",
		"| Hopper-v4 | MBPO | 2 | 3000 of 5000 | 3000 | 2,600.0 | 2,600.0 (3k) | 30s | 100.0 | 500.0 | `Hopper-v4/none/seed_2` |",
		"![Hopper-v4](curves_Hopper-v4.png)",
		"![Hopper-v4: what to watch](health_Hopper-v4.png)",
		"## Warnings",
	} {
		if !contains(string(md), want) {
			t.Errorf("report.md lacks %q:\n%s", want, md)
		}
	}

	// An empty directory is no error, just no groups.
	if r, err := Build(t.TempDir(), Options{}); err != nil || len(r.Groups) != 0 {
		t.Errorf("empty root: %v, %v", r, err)
	}
	if _, err := Build(filepath.Join(root, "nowhere"), Options{}); err == nil {
		t.Errorf("a missing root is not an error")
	}
}

func TestStepsToReachThePaperReturn(t *testing.T) {
	root := t.TempDir()
	writeRun(t, root, "a", 0, nil, []float64{500, 1500, 2900, 3100, 3200}, "")
	writeRun(t, root, "b", 1, nil, []float64{700, 1700, 3200, 3300, 3400}, "")
	r, err := Build(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Mean at 3000: (2900 + 3200) / 2 = 3050 ≥ 3000.
	if s, ok := r.Groups[0].Curve.StepsToReach(3000); !ok || s != 3000 {
		t.Errorf("steps to 3000: %d, %v; want 3000", s, ok)
	}
	var md strings.Builder
	r.Markdown(&md, nil)
	if !contains(md.String(), "| Hopper-v4 | MBPO | 2 | 3,300.0 ± 141.4 | 5k | 3k | ≈3,000+ by 100k |") {
		t.Errorf("report.md:\n%s", md.String())
	}
}

func TestNumberFormats(t *testing.T) {
	tests := []struct {
		x    float64
		want string
	}{
		{3120.44, "3,120.4"}, {-1234567.8, "-1,234,567.8"}, {12, "12.0"}, {-0.01, "0.0"}, {999.96, "1,000.0"},
	}
	for _, tt := range tests {
		if got := number(tt.x); got != tt.want {
			t.Errorf("number(%v) = %q, want %q", tt.x, got, tt.want)
		}
	}
	for s, want := range map[int]string{125000: "125k", 1500: "1500", 300: "300"} {
		if got := steps(s); got != want {
			t.Errorf("steps(%d) = %q, want %q", s, got, want)
		}
	}
}

func TestReturnAtLearningEpochs(t *testing.T) {
	root := t.TempDir()
	ramp := func(n int, slope float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = slope * float64(i+1)
		}
		return v
	}
	// 1,000 random steps, so learning epoch N ends at env steps 1000·(N+1):
	// row N (0-based) of the returns.
	random := func(c *trainer.Config) { c.InitSteps, c.Steps = 1000, 60_000 }
	writeRun(t, root, "a", 0, random, ramp(51, 100), "") // epoch 25: 2,600; epoch 50: 5,100
	writeRun(t, root, "b", 1, random, ramp(26, 200), "") // epoch 25: 5,200; stops there
	r, err := Build(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	g := r.Groups[0]
	for _, tt := range []struct {
		epoch int
		want  []float64
	}{{25, []float64{2600, 5200}}, {50, []float64{5100}}, {100, nil}, {24, []float64{2500, 5000}}} {
		if got := g.ReturnsAtEpoch(tt.epoch); !slices.Equal(got, tt.want) {
			t.Errorf("ReturnsAtEpoch(%d) = %v, want %v", tt.epoch, got, tt.want)
		}
	}
	// Windows of 5 epochs: 21–25 averages a's 2,200 … 2,600 to 2,400 and
	// b's to 4,800; 46–50 only a has; epochs before the first learning epoch
	// do not count, so a window reaching back past it has no seed.
	for _, tt := range []struct {
		epoch, n int
		want     []float64
	}{{25, 5, []float64{2400, 4800}}, {50, 5, []float64{4900}}, {5, 5, []float64{400, 800}}, {4, 5, nil}, {26, 2, []float64{2650}}} {
		if got := g.MeanReturnsTo(tt.epoch, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("MeanReturnsTo(%d, %d) = %v, want %v", tt.epoch, tt.n, got, tt.want)
		}
	}
	var md strings.Builder
	r.Markdown(&md, nil)
	smoothed := "| Hopper-v4 | MBPO | 3,600.0 ± 1,697.1 | 4,900.0 ± 0.0 (1) | — | — | ≈3,000+ by 100k |\n"
	if !contains(md.String(), smoothed) {
		t.Errorf("report.md lacks the 5-epoch means\n%s\nin:\n%s", smoothed, md.String())
	}
	// Mean 3,900, std √(2·1300²) = 1,838.5; epoch 50 from one seed of two;
	// 100 and 125 shown though unreached, 200 and above left out.
	want := "| env | ablation | epoch 25 | epoch 50 | epoch 100 | epoch 125 | published (MBPO) |\n|---|---|---|---|---|---|---|\n" +
		"| Hopper-v4 | MBPO | 3,900.0 ± 1,838.5 | 5,100.0 ± 0.0 (1) | — | — | ≈3,000+ by 100k |\n"
	if !contains(md.String(), want) {
		t.Errorf("report.md lacks\n%s\nin:\n%s", want, md.String())
	}
}

func TestElitesMSE(t *testing.T) {
	tests := []struct {
		name string
		m    trainer.Metrics
		want float64
	}{
		{"before the first retrain", trainer.Metrics{}, math.NaN()},
		{"the elites only", trainer.Metrics{ModelHoldoutMSE: []float32{1, 2, 4, 100}, ModelElites: []int{2, 0, 1}}, 7.0 / 3},
		{"an elite id beyond the members is left out", trainer.Metrics{ModelHoldoutMSE: []float32{1, 3}, ModelElites: []int{1, 5}}, 3},
	}
	for _, tt := range tests {
		got := elitesMSE(tt.m)
		if !(got == tt.want || math.IsNaN(got) && math.IsNaN(tt.want)) {
			t.Errorf("%s: elitesMSE = %v, want %v", tt.name, got, tt.want)
		}
	}
}
