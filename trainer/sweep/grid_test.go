// grid_test.go: grid expansion, cell numbering, ablations, presets and the
// sweep's files.

package sweep

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/trainer"
)

func TestCellNumbering(t *testing.T) {
	g := Grid{Envs: []string{"Hopper-v4", "Walker2d-v4"}, Ablations: []string{"none", "no-model", "k1"}, Seeds: Seeds{0, 1, 7}}
	if g.Len() != 18 {
		t.Fatalf("Len = %d, want 2·3·3 = 18", g.Len())
	}
	tests := []struct {
		i    int
		want Cell
	}{
		{0, Cell{0, "Hopper-v4", "none", 0}},
		{1, Cell{1, "Hopper-v4", "none", 1}},
		{2, Cell{2, "Hopper-v4", "none", 7}},
		{3, Cell{3, "Hopper-v4", "no-model", 0}},
		{8, Cell{8, "Hopper-v4", "k1", 7}},
		{9, Cell{9, "Walker2d-v4", "none", 0}},
		{17, Cell{17, "Walker2d-v4", "k1", 7}},
	}
	for _, tt := range tests {
		got, err := g.Cell(tt.i)
		if err != nil || got != tt.want {
			t.Errorf("Cell(%d) = %+v, %v; want %+v", tt.i, got, err, tt.want)
		}
	}
	for _, bad := range []int{-1, 18} {
		if _, err := g.Cell(bad); err == nil || !strings.Contains(err.Error(), "0 to 17") {
			t.Errorf("Cell(%d): error %v, want one naming the range 0 to 17", bad, err)
		}
	}
	seen := map[string]bool{}
	for i, c := range g.Cells() {
		if c.Index != i {
			t.Errorf("Cells()[%d].Index = %d", i, c.Index)
		}
		if seen[c.Dir()] {
			t.Errorf("cell %v repeats directory %s", c, c.Dir())
		}
		seen[c.Dir()] = true
	}
	if len(seen) != 18 {
		t.Errorf("%d distinct cells, want 18", len(seen))
	}
	c, _ := g.Cell(17)
	if c.Dir() != filepath.Join("Walker2d-v4", "k1", "seed_7") {
		t.Errorf("Dir = %s", c.Dir())
	}
}

func TestParseSeeds(t *testing.T) {
	tests := []struct {
		in      string
		want    Seeds
		wantErr bool
	}{
		{"0-4", Seeds{0, 1, 2, 3, 4}, false},
		{"7", Seeds{7}, false},
		{"0,2, 10-12", Seeds{0, 2, 10, 11, 12}, false},
		{"4-2", nil, true},
		{"a", nil, true},
		{"", nil, true},
		{"1-", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseSeeds(tt.in)
		if (err != nil) != tt.wantErr || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			back, _ := ParseSeeds(got.String())
			if !reflect.DeepEqual(back, got) {
				t.Errorf("%v.String() = %q does not parse back", got, got.String())
			}
		}
	}
	if s := (Seeds{0, 1, 2, 5, 7, 8}).String(); s != "0-2,5,7-8" {
		t.Errorf("String = %q, want 0-2,5,7-8", s)
	}
}

func TestAblations(t *testing.T) {
	tests := []struct {
		name          string
		algo, variant string
		k             int
		label, exp    string
	}{
		{"none", "mbpo", "none", 0, "MBPO", "mbpo"},
		{"no-model", "mbpo", "no-model", 0, "no model (SAC at MBPO's G)", "mbpo-no-model"},
		{"no-restore", "mbpo", "no-restore", 0, "MBPO, no best-epoch restore", "mbpo-no-restore"},
		{"sac", "sac", "none", 0, "SAC", "sac"},
		{"k1", "mbpo", "none", 1, "MBPO, k = 1", "mbpo-k1"},
		{"k200", "mbpo", "none", 200, "MBPO, k = 200", "mbpo-k200"},
		{"k500", "mbpo", "none", 500, "MBPO, k = 500", "mbpo-k500"},
	}
	for _, tt := range tests {
		a, err := ParseAblation(tt.name)
		if err != nil {
			t.Fatalf("ParseAblation(%q): %v", tt.name, err)
		}
		cfg, _ := trainer.PaperConfig("Hopper-v4")
		a.Apply(&cfg)
		if cfg.Algo != tt.algo || cfg.Ablation != tt.variant || cfg.RolloutLength != tt.k {
			t.Errorf("%s: algo %s ablation %s k %d, want %s %s %d", tt.name, cfg.Algo, cfg.Ablation, cfg.RolloutLength, tt.algo, tt.variant, tt.k)
		}
		if got := AblationOf(cfg); got != a {
			t.Errorf("AblationOf(config of %s) = %+v, want %+v", tt.name, got, a)
		}
		if a.Label() != tt.label || a.Experiment() != tt.exp {
			t.Errorf("%s: label %q, experiment %q; want %q, %q", tt.name, a.Label(), a.Experiment(), tt.label, tt.exp)
		}
	}
	// What a run does not use names no variant: SAC has no model variant,
	// a run without a model no rollout length.
	for _, tt := range []struct {
		algo, variant string
		k             int
		want          string
	}{
		{"sac", "no-model", 0, "sac"}, {"sac", "none", 5, "sac"}, {"mbpo", "no-model", 5, "no-model"},
	} {
		cfg, _ := trainer.PaperConfig("Hopper-v4")
		cfg.Algo, cfg.Ablation, cfg.RolloutLength = tt.algo, tt.variant, tt.k
		if got := AblationOf(cfg).Name; got != tt.want {
			t.Errorf("AblationOf(algo %s, ablation %s, k %d) = %s, want %s", tt.algo, tt.variant, tt.k, got, tt.want)
		}
	}
	if _, err := ParseAblation("model"); err == nil || !strings.Contains(err.Error(), "none, kN (a fixed rollout length N >= 1: k1, k200, ...), no-model, no-restore, sac") {
		t.Errorf("ParseAblation(model): %v; want an error listing the ablations", err)
	}
	for _, bad := range []string{"k0", "k-1", "k01", "model", ""} {
		if _, err := ParseAblation(bad); err == nil {
			t.Errorf("ParseAblation(%q) accepted", bad)
		}
	}
	order := []string{"none", "k1", "k200", "k500", "no-model", "no-restore", "sac", "zzz"}
	for i := 0; i+1 < len(order); i++ {
		if !Less(order[i], order[i+1]) || Less(order[i+1], order[i]) {
			t.Errorf("Less does not put %s before %s", order[i], order[i+1])
		}
	}
}

func TestGridConfig(t *testing.T) {
	g := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none", "k200", "sac"}, Seeds: Seeds{3},
		Steps: 20000, Set: Settings{"model-hidden=64", "--eval-episodes=3"}}
	if err := g.Validate(); err != nil {
		t.Fatal(err)
	}
	cells := g.Cells()
	paper, _ := trainer.PaperConfig("Hopper-v4")
	mbpo, _ := g.Config(cells[0])
	if mbpo.Steps != 20000 || mbpo.ModelHidden != 64 || mbpo.EvalEpisodes != 3 || mbpo.Seed != 3 || mbpo.G != paper.G || mbpo.RolloutSchedule != paper.RolloutSchedule {
		t.Errorf("MBPO cell config: %+v", mbpo)
	}
	k200, _ := g.Config(cells[1])
	if k200.RolloutLength != 200 || k200.Schedule().K(50) != 200 {
		t.Errorf("k200 cell: rollout length %d", k200.RolloutLength)
	}
	sac, _ := g.Config(cells[2])
	if sac.Algo != "sac" || sac.G != 1 || sac.RealRatio != 1 {
		t.Errorf("sac cell: algo %s G %d real ratio %v", sac.Algo, sac.G, sac.RealRatio)
	}

	bad := []struct {
		name string
		g    Grid
		want string
	}{
		{"unknown env", Grid{Envs: []string{"Hoper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}}, "Hopper-v4"},
		{"unknown ablation", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"k"}, Seeds: Seeds{0}}, "ablation"},
		{"no seeds", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}}, "--seeds"},
		{"twice", Grid{Envs: []string{"Hopper-v4", "Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}}, "twice"},
		{"reserved", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}, Set: Settings{"seed=3"}}, "--seeds"},
		{"steps via set", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}, Set: Settings{"steps=3"}}, "use --steps"},
		{"unknown flag", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}, Set: Settings{"hiden=3"}}, "no flag --hiden"},
		{"bad value", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}, Set: Settings{"hidden=wide"}}, "hidden"},
		{"invalid config", Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none"}, Seeds: Seeds{0}, Set: Settings{"elites=9"}}, "--elites"},
	}
	for _, tt := range bad {
		if err := tt.g.Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Validate() = %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestPresets(t *testing.T) {
	paper, err := LookupPreset("paper")
	if err != nil {
		t.Fatal(err)
	}
	if len(paper.Grid.Envs) != 5 || len(paper.Grid.Seeds) != 5 {
		t.Errorf("paper preset: %+v", paper.Grid)
	}
	for _, id := range paper.Grid.Envs {
		if !trainer.FromPaper(id) {
			t.Errorf("paper preset env %s has no published configuration", id)
		}
	}
	abl, _ := LookupPreset("ablations")
	if want := []string{"none", "k1", "k200", "k500", "no-model", "sac"}; !reflect.DeepEqual(abl.Grid.Ablations, want) || abl.Grid.Envs[0] != "Hopper-v4" {
		t.Errorf("ablations preset: %+v", abl.Grid)
	}
	for _, p := range Presets() {
		if err := p.Grid.Validate(); err != nil {
			t.Errorf("preset %s: %v", p.Name, err)
		}
	}
	if _, err := LookupPreset("papers"); err == nil || !strings.Contains(err.Error(), "paper, ablations") {
		t.Errorf("unknown preset: %v", err)
	}
}

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sweep.yaml")
	os.WriteFile(path, []byte(`
preset: ablations
seeds: 0-2
steps: 3000
set:
  model-hidden: 64
  eval-episodes: 2
device: cpu
parallel: 2
`), 0o644)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := f.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	want := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none", "k1", "k200", "k500", "no-model", "sac"},
		Seeds: Seeds{0, 1, 2}, Steps: 3000, Set: Settings{"model-hidden=64", "eval-episodes=2"}}
	if !reflect.DeepEqual(g, want) || f.Device != "cpu" || f.Parallel != 2 {
		t.Errorf("read %+v (device %q parallel %d), want %+v", g, f.Device, f.Parallel, want)
	}

	// The file written by Marshal reads back as the same grid.
	b, err := File{Grid: want, Device: "cpu"}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b, 0o644)
	back, err := ReadFile(path)
	if err != nil || !reflect.DeepEqual(back.Grid, want) {
		t.Errorf("round trip: %+v, %v\n%s", back.Grid, err, b)
	}

	for _, tt := range []struct{ text, want string }{
		{"envs: [Hopper-v4]\nseed: 0-4\n", "seed"},
		{"seeds: [0, x]\n", "not a seed"},
		{"set: 3\n", "set"},
	} {
		os.WriteFile(path, []byte(tt.text), 0o644)
		if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: error %v, want one mentioning %q", tt.text, err, tt.want)
		}
	}
}

func TestClaimRecordsTheGrid(t *testing.T) {
	dir := t.TempDir()
	g := Grid{Envs: []string{"Hopper-v4"}, Ablations: []string{"none", "k1"}, Seeds: Seeds{0, 1}}
	if err := Claim(dir, g); err != nil {
		t.Fatal(err)
	}
	rec, err := ReadRecord(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rec.Grid, g) || len(rec.Cells) != 4 || rec.Cells[3] != (Cell{3, "Hopper-v4", "k1", 1}) {
		t.Errorf("record %+v", rec)
	}
	// sweep.json reads like the other files (0644 less the umask), not 0600.
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	want, _ := os.Stat(plain)
	if got, err := os.Stat(filepath.Join(dir, RecordFile)); err != nil || got.Mode() != want.Mode() {
		t.Errorf("%s has mode %v, want %v like a file written with 0644", RecordFile, got.Mode(), want.Mode())
	}
	if err := Claim(dir, g); err != nil {
		t.Errorf("claiming again with the same grid: %v", err)
	}
	// Checkpoint settings may change between runs of a sweep; others not.
	g.Set = Settings{"model-hidden=64", "checkpoint-every=1"}
	dir = t.TempDir()
	if err := Claim(dir, g); err != nil {
		t.Fatal(err)
	}
	later := g
	later.Set = Settings{"model-hidden=64", "checkpoint-every=5", "checkpoint-model-buffer-mib=4096"}
	if err := Claim(dir, later); err != nil {
		t.Errorf("claiming with other checkpoint settings: %v", err)
	}
	later.Set = Settings{"model-hidden=32", "checkpoint-every=1"}
	if err := Claim(dir, later); err == nil || !strings.Contains(err.Error(), "model-hidden=32") {
		t.Errorf("claiming with another model-hidden: %v", err)
	}
	other := g
	other.Seeds = Seeds{0, 1, 2}
	err = Claim(dir, other)
	if err == nil || !strings.Contains(err.Error(), "seeds 0-1, here 0-2") || !strings.Contains(err.Error(), "--seeds 0-1") {
		t.Errorf("claiming with other seeds: %v", err)
	}
	if _, err := ReadRecord(t.TempDir()); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Errorf("no record: %v", err)
	}
}
