// axis_test.go: the report on the paper's axis (timesteps: env steps after
// the random ones), from rows with and without the timesteps metric and
// from metrics.csv; the published reference point; the seconds-per-epoch
// figure; report.md naming files relative to its root.

package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/trainer"
)

// axisRun writes a Hopper-v4 run directory with initSteps random steps and
// one row per 1000 env steps (eval return 10·env steps/1000, wall 10 s per
// epoch) up to envSteps, as format: "jsonl" (the current rows, with
// timesteps), "jsonl-old" (rows written before timesteps existed: the key
// absent) or "csv-old" (only a metrics.csv, without the timesteps column,
// as docs/results/hopper-25k holds).
func axisRun(t *testing.T, root, rel string, seed uint64, initSteps, envSteps int, format string) {
	t.Helper()
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg, _ := trainer.PaperConfig("Hopper-v4")
	cfg.Seed, cfg.InitSteps, cfg.Steps = seed, initSteps, envSteps
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(filepath.Join(dir, "config.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	var jsonl []string
	csvLines := []string{strings.Join(slices.DeleteFunc(trainer.Columns(7), func(c string) bool { return c == "timesteps" }), ",")}
	for s := 1000; s <= envSteps; s += 1000 {
		m := trainer.Metrics{Epoch: s / 1000, EnvSteps: s, Timesteps: s - initSteps, WallSec: float64(s / 100),
			EvalReturnMean: float64(s/100) + float64(seed), SACUpdatesPerSec: 100}
		line, _ := m.MarshalJSON()
		if format == "jsonl-old" {
			var obj map[string]any
			json.Unmarshal(line, &obj)
			delete(obj, "timesteps")
			line, _ = json.Marshal(obj)
		}
		jsonl = append(jsonl, string(line))
		// The CSV of an older build: its columns, each cell as the writer
		// formats it, no timesteps.
		row := fmt.Sprintf("%d,%d,%g,%g", m.Epoch, m.EnvSteps, m.WallSec, m.EvalReturnMean)
		for range len(strings.Split(csvLines[0], ",")) - 4 {
			row += ","
		}
		csvLines = append(csvLines, row)
	}
	name, text := "metrics.jsonl", strings.Join(jsonl, "\n")+"\n"
	if format == "csv-old" {
		name, text = "metrics.csv", strings.Join(csvLines, "\n")+"\n"
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReportOnThePapersAxis(t *testing.T) {
	tests := []struct {
		name      string
		format    string
		initSteps int
		wantX     []int // the curve's timesteps
		wantY0    float64
		axis      string
	}{
		// 8 epochs of 1000 env steps, the first 5 random: timestep 0 is env
		// step 5000 (return 50), the last 3000 (env step 8000).
		{"rows with timesteps", "jsonl", 5000, []int{0, 1000, 2000, 3000}, 50, "after the 5,000 random ones"},
		{"rows written before timesteps", "jsonl-old", 5000, []int{0, 1000, 2000, 3000}, 50, "after the 5,000 random ones"},
		{"an older build's metrics.csv only", "csv-old", 5000, []int{0, 1000, 2000, 3000}, 50, "after the 5,000 random ones"},
		{"no random steps", "jsonl", 0, []int{1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000}, 10, "env steps (no random ones first)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			axisRun(t, root, "Hopper-v4/none/seed_0", 0, tt.initSteps, 8000, tt.format)
			axisRun(t, root, "Hopper-v4/none/seed_1", 1, tt.initSteps, 8000, tt.format)
			r, err := Build(root, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Warnings) != 0 || len(r.Groups) != 1 {
				t.Fatalf("groups %d, warnings %v", len(r.Groups), r.Warnings)
			}
			c := r.Groups[0].Curve
			if !slices.Equal(c.Timesteps, tt.wantX) {
				t.Fatalf("curve at timesteps %v, want %v", c.Timesteps, tt.wantX)
			}
			// Seeds 0 and 1 return 10·k and 10·k + 1 at env step 1000·k.
			if c.Mean[0] != tt.wantY0+0.5 || c.Mean[len(c.Mean)-1] != 80.5 {
				t.Errorf("means %v: want %v first and 80.5 last", c.Mean, tt.wantY0+0.5)
			}
			last := tt.wantX[len(tt.wantX)-1]
			if c.Common != last || c.Longest != last {
				t.Errorf("common %d, longest %d; want %d", c.Common, c.Longest, last)
			}
			if s, ok := c.StepsToReach(70); !ok || s != 7000-tt.initSteps {
				t.Errorf("timesteps to 70: %d, %v; want %d", s, ok, 7000-tt.initSteps)
			}

			out := filepath.Join(root, "report")
			if _, err := r.Write(out); err != nil {
				t.Fatal(err)
			}
			md := read(t, filepath.Join(out, "report.md"))
			for _, want := range []string{
				"timesteps: env steps",
				tt.axis,
				"| at timesteps | timesteps to paper's return |",
				fmt.Sprintf("| Hopper-v4 | MBPO | 2 | 80.5 ± 0.7 | %s | not reached (3,000.0 by %s) | ≈3,000+ by 100k |", steps(last), steps(last)),
				fmt.Sprintf("| Hopper-v4 | MBPO | 0 | 8000 | %d | 80.0 | 80.0 (%s) |", last, steps(last)),
			} {
				if !strings.Contains(md, want) {
					t.Errorf("report.md lacks %q:\n%s", want, md)
				}
			}
			for _, fig := range []string{"curves_Hopper-v4.svg", "time_Hopper-v4.svg"} {
				if svg := read(t, filepath.Join(out, fig)); !strings.Contains(svg, "timesteps: env steps") || !strings.Contains(svg, tt.axis) {
					t.Errorf("%s: the x axis does not say it is the paper's timesteps %s", fig, tt.axis)
				}
			}
		})
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRandomPhaseRowsLeftOut(t *testing.T) {
	root := t.TempDir()
	// Still in its random phase: every row before timestep 0.
	axisRun(t, root, "Hopper-v4/none/seed_0", 0, 5000, 4000, "jsonl")
	axisRun(t, root, "Hopper-v4/none/seed_1", 1, 5000, 6000, "jsonl")
	// Rows whose own timesteps disagree with the config.
	axisRun(t, root, "Hopper-v4/none/seed_2", 2, 5000, 6000, "jsonl")
	cfgPath := filepath.Join(root, "Hopper-v4/none/seed_2/config.json")
	var cfg trainer.Config
	json.Unmarshal([]byte(read(t, cfgPath)), &cfg)
	cfg.InitSteps = 4000
	b, _ := json.Marshal(cfg)
	os.WriteFile(cfgPath, b, 0o644)

	r, err := Build(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, w := range r.Warnings {
		got[r.rel(w.File)] += w.Msg
	}
	for file, want := range map[string]string{
		"Hopper-v4/none/seed_0/metrics.jsonl": "all rows lie in the 5000 random steps",
		"Hopper-v4/none/seed_2/metrics.jsonl": "give timesteps other than env_steps - init_steps (4000)",
	} {
		if !strings.Contains(got[file], want) {
			t.Errorf("warnings for %s: %q, want %q", file, got[file], want)
		}
	}
	// Seed 1 reaches timestep 1000; seed 2 (4000 random steps by its
	// config, which the axis follows) reaches 2000, its row at env step
	// 4000 being its timestep 0. Seed 2's other init steps make it another
	// configuration: left out of seed 1's group.
	if len(r.Groups) != 1 || len(r.Groups[0].Runs) != 1 {
		t.Fatalf("groups %+v", r.Groups)
	}
	if c := r.Groups[0].Curve; !slices.Equal(c.Timesteps, []int{0, 1000}) {
		t.Errorf("seed 1's curve at %v, want [0 1000]", c.Timesteps)
	}
	var seed2 Run
	runs, _, _ := Load(root, nil)
	for _, run := range runs {
		if run.Seed == 2 {
			seed2 = run
		}
	}
	if x, _ := SecondsPerEpoch(seed2); !slices.Equal(x, []float64{1000, 2000}) {
		t.Errorf("seed 2's learning epochs end at timesteps %v, want [1000 2000]", x)
	}
}

func TestSecondsPerEpoch(t *testing.T) {
	row := func(env int, wall float64) trainer.Metrics {
		return trainer.Metrics{EnvSteps: env, WallSec: wall}
	}
	tests := []struct {
		name     string
		init     int
		epoch    int
		rows     []trainer.Metrics
		wantX    []float64
		wantSecs []float64
	}{
		{"random epochs left out, the last one's wall time the start", 2000, 1000,
			[]trainer.Metrics{row(1000, 1), row(2000, 2), row(3000, 12), row(4000, 32)},
			[]float64{1000, 2000}, []float64{10, 20}},
		{"a missing row: the gap spread over its epochs", 0, 1000,
			[]trainer.Metrics{row(1000, 5), row(2000, 15), row(4000, 55)},
			[]float64{1000, 2000, 4000}, []float64{5, 10, 20}},
		{"epochs of 250 env steps", 500, 250,
			[]trainer.Metrics{row(250, 1), row(500, 2), row(750, 4), row(1000, 7)},
			[]float64{250, 500}, []float64{2, 3}},
		{"a random phase that ends inside an epoch: that epoch is a learning one", 1500, 1000,
			[]trainer.Metrics{row(1000, 1), row(2000, 6), row(3000, 16)},
			[]float64{500, 1500}, []float64{5, 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Run{Rows: tt.rows}
			r.Config.InitSteps, r.Config.EpochLength = tt.init, tt.epoch
			x, s := SecondsPerEpoch(r)
			if !slices.Equal(x, tt.wantX) || !slices.Equal(s, tt.wantSecs) {
				t.Errorf("got %v at %v, want %v at %v", s, x, tt.wantSecs, tt.wantX)
			}
		})
	}
}

func TestFiguresOfAReport(t *testing.T) {
	root := t.TempDir()
	// Runs far short of the published 100k timesteps: the published point
	// is drawn all the same.
	axisRun(t, root, "Hopper-v4/none/seed_0", 0, 5000, 8000, "jsonl")
	axisRun(t, root, "Hopper-v4/none/seed_1", 1, 5000, 8000, "jsonl")
	axisRun(t, root, "InvertedPendulum-v4/none/seed_0", 0, 5000, 8000, "jsonl")
	ip := filepath.Join(root, "InvertedPendulum-v4/none/seed_0/config.json")
	os.WriteFile(ip, []byte(strings.Replace(read(t, ip), `"Hopper-v4"`, `"InvertedPendulum-v4"`, 1)), 0o644)
	r, err := Build(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "report")
	files, err := r.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, env := range []string{"Hopper-v4", "InvertedPendulum-v4"} {
		for _, fig := range []string{"curves_", "time_", "health_"} {
			want = append(want, fig+env+".png", fig+env+".svg")
		}
	}
	want = append(want, "report.md")
	var got []string
	for _, f := range files {
		got = append(got, filepath.Base(f))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("wrote %v, want %v", got, want)
	}

	hopper := read(t, filepath.Join(out, "curves_Hopper-v4.svg"))
	if !strings.Contains(hopper, ">"+PublishedLabel(Published{Text: "≈3,000+ by 100k"})+"<") {
		t.Errorf("Hopper's curves lack the published MBPO point's label")
	}
	// The x axis reaches the published point's 100k timesteps: a tick at
	// 100k (the runs alone end at 3000).
	if !strings.Contains(hopper, ">100k<") {
		t.Errorf("Hopper's x axis does not reach the published point at 100k")
	}
	if pend := read(t, filepath.Join(out, "curves_InvertedPendulum-v4.svg")); strings.Contains(pend, "published MBPO") {
		t.Errorf("InvertedPendulum has no published MBPO result, but its figure shows one")
	}

	tm := read(t, filepath.Join(out, "time_Hopper-v4.svg"))
	for _, s := range []string{">MBPO, seed 0<", ">MBPO, seed 1<", "seconds per epoch of 1,000 env steps"} {
		if !strings.Contains(tm, s) {
			t.Errorf("time_Hopper-v4.svg lacks %q", s)
		}
	}
	md := read(t, filepath.Join(out, "report.md"))
	for _, s := range []string{"![Hopper-v4: seconds per epoch](time_Hopper-v4.png)", "[time_Hopper-v4.svg](time_Hopper-v4.svg)",
		"![Hopper-v4](curves_Hopper-v4.png)", "The cross is the published MBPO result (≈3,000+ by 100k)"} {
		if !strings.Contains(md, s) {
			t.Errorf("report.md lacks %q", s)
		}
	}
}

func TestReportNamesFilesRelativeToItsRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "hopper25k")
	axisRun(t, root, "Hopper-v4/none/seed_0", 0, 5000, 8000, "jsonl")
	axisRun(t, root, "Hopper-v4/none/seed_9", 1, 5000, 8000, "jsonl") // in the wrong place: a warning
	tests := []struct {
		name string
		root string // as given to Build
		dir  string // working directory
	}{
		{"absolute root", root, ""},
		{"relative root", "hopper25k", parent},
		{"relative root with dots", "./hopper25k/", parent},
		{"root given as .", ".", root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.dir != "" {
				t.Chdir(tt.dir)
			}
			r, err := Build(tt.root, Options{Expected: []string{"Hopper-v4/sac/seed_0"}})
			if err != nil {
				t.Fatal(err)
			}
			var md strings.Builder
			r.Markdown(&md, nil)
			for _, want := range []string{"under `hopper25k/`", "| `Hopper-v4/none/seed_0` |",
				"- `Hopper-v4/none/seed_9/config.json`: is a run of", "- `Hopper-v4/sac/seed_0`: no run directory"} {
				if !strings.Contains(md.String(), want) {
					t.Errorf("report.md lacks %q:\n%s", want, md.String())
				}
			}
			if strings.Contains(md.String(), parent) {
				t.Errorf("report.md names the machine's path %s:\n%s", parent, md.String())
			}
		})
	}
}

func TestRunThatJustEndedItsRandomPhase(t *testing.T) {
	root := t.TempDir()
	axisRun(t, root, "Hopper-v4/none/seed_0", 0, 5000, 5000, "jsonl")
	r, err := Build(root, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The row at timestep 0 is kept: the curve's first point, with no
	// learning epoch yet to time.
	if len(r.Groups) != 1 || !slices.Equal(r.Groups[0].Curve.Timesteps, []int{0}) || r.Groups[0].Curve.Mean[0] != 50 {
		t.Fatalf("groups %+v, warnings %v", r.Groups, r.Warnings)
	}
	if x, _ := SecondsPerEpoch(r.Groups[0].Runs[0]); len(x) != 0 {
		t.Errorf("learning epochs at %v, want none", x)
	}
	if _, err := r.Write(filepath.Join(root, "report")); err != nil {
		t.Fatal(err)
	}
}

// TestBestReturn: Run.Best takes the highest evaluation after the random
// phase, with its timesteps, and none where the run has no such row.
func TestBestReturn(t *testing.T) {
	row := func(envSteps int, ret float64) trainer.Metrics {
		return trainer.Metrics{EnvSteps: envSteps, EvalReturnMean: ret}
	}
	for _, tt := range []struct {
		name   string
		rows   []trainer.Metrics
		want   float64
		wantAt int
		ok     bool
	}{
		{"a swing down after the best", []trainer.Metrics{row(5000, 10), row(6000, 900), row(7000, 3400), row(8000, 1000)}, 3400, 2000, true},
		{"the random phase's row is not a learning epoch", []trainer.Metrics{row(4000, 5000), row(5000, 4000), row(6000, 300)}, 300, 1000, true},
		{"a non-finite return is skipped", []trainer.Metrics{row(6000, math.NaN()), row(7000, 20)}, 20, 2000, true},
		{"only the random phase", []trainer.Metrics{row(1000, 50), row(5000, 60)}, 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := Run{Config: trainer.Config{InitSteps: 5000}, Rows: tt.rows}
			got, at, ok := r.Best()
			if got != tt.want || at != tt.wantAt || ok != tt.ok {
				t.Errorf("Best() = %v at %d, %v; want %v at %d, %v", got, at, ok, tt.want, tt.wantAt, tt.ok)
			}
		})
	}
}

// TestMedianSACRate: the report's SAC rate is the median of the rows' rates,
// so the odd row an older build wrote after a resume inside an epoch (all
// the epoch's updates over part of its time) does not move it.
func TestMedianSACRate(t *testing.T) {
	for _, tt := range []struct {
		name  string
		rates []float64
		want  float64
	}{
		{"one resumed row of an older build", []float64{120, 130, 35353, 125}, 127.5},
		{"odd count", []float64{130, 120, 125}, 125},
		{"rows without updates are left out", []float64{0, math.NaN(), 300}, 300},
		{"no updates at all", []float64{0, 0}, math.NaN()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var r Run
			for _, v := range tt.rates {
				r.Rows = append(r.Rows, trainer.Metrics{SACUpdatesPerSec: v})
			}
			if got := medianSACRate(r); got != tt.want && !(math.IsNaN(got) && math.IsNaN(tt.want)) {
				t.Errorf("median of %v = %v, want %v", tt.rates, got, tt.want)
			}
		})
	}
}

// TestCompactTicks: tick labels without gonum's trailing zeros, thousands
// as k.
func TestCompactTicks(t *testing.T) {
	for _, tt := range []struct {
		min, max float64
		want     []string
	}{
		{0, 5000, []string{"0", "2.5k", "5k"}},
		{0, 125000, []string{"0", "40k", "80k", "120k"}},
		{0.62, 0.83, []string{"0.64", "0.72", "0.8"}},
		{-130, 50, []string{"-120", "-40", "40"}},
		{0, 1e9, []string{"0", "5e+08", "1e+09"}},
	} {
		var got []string
		for _, tk := range (compactTicks{}).Ticks(tt.min, tt.max) {
			if tk.Label != "" {
				got = append(got, tk.Label)
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("ticks of [%v, %v]: %q, want %q", tt.min, tt.max, got, tt.want)
		}
	}
}
