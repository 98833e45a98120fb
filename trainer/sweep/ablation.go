// ablation.go: the ablation names of a grid (none, no-model, no-restore, sac, kN) and
// the presets (paper, ablations).

package sweep

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/trainer"
)

// Ablation is one variant of the algorithm, by its name in a grid:
//
//	none        MBPO as published
//	kN          MBPO with a fixed rollout length N (k1, k200, k500, ...)
//	no-model    SAC at MBPO's G, on real data only
//	no-restore  MBPO with each ensemble member left at its last retrain
//	            epoch, not put back to its best (the authors' code restores)
//	sac         model-free SAC (G = 1)
//
// Every place that names a variant (grids, sweep directories, report
// labels, mbpo train's run directories) reads it from one table, variants.
type Ablation struct {
	Name          string // in grids and sweep directories (OUT/ENV/NAME/seed_N)
	Algo          string // trainer.Config.Algo
	Variant       string // trainer.Config.Ablation
	RolloutLength int    // trainer.Config.RolloutLength (0: the schedule)
}

// variant is a row of the ablation table. The row with fixedK stands for
// every kN: its name is the prefix before N, its label and experiment are
// formats of N.
type variant struct {
	name       string // in grids (ParseAblation)
	label      string // in reports and figures (Ablation.Label)
	experiment string // EXP of mbpo train's run directories ENV__EXP__SEED__TIME (Ablation.Experiment)
	algo       string // trainer.Config.Algo
	ablation   string // trainer.Config.Ablation
	fixedK     bool   // trainer.Config.RolloutLength = N
}

// variants is the ablation table, in the order reports list the variants
// (fixed-k variants by k).
func variants() []variant {
	return []variant{
		{name: "none", label: "MBPO", experiment: "mbpo", algo: "mbpo", ablation: "none"},
		{name: "k", label: "MBPO, k = %d", experiment: "mbpo-k%d", algo: "mbpo", ablation: "none", fixedK: true},
		{name: "no-model", label: "no model (SAC at MBPO's G)", experiment: "mbpo-no-model", algo: "mbpo", ablation: "no-model"},
		{name: "no-restore", label: "MBPO, no best-epoch restore", experiment: "mbpo-no-restore", algo: "mbpo", ablation: "no-restore"},
		{name: "sac", label: "SAC", experiment: "sac", algo: "sac", ablation: "none"},
	}
}

// ablation returns row v of the table as an Ablation (k: N of a fixed-k row).
func ablation(v variant, k int) Ablation {
	a := Ablation{Name: v.name, Algo: v.algo, Variant: v.ablation}
	if v.fixedK {
		a.Name, a.RolloutLength = v.name+strconv.Itoa(k), k
	}
	return a
}

// row returns a's row of the table and its index (the first row if none is
// a's).
func (a Ablation) row() (int, variant) {
	for i, v := range variants() {
		if v.algo == a.Algo && v.ablation == a.Variant && v.fixedK == (a.RolloutLength > 0) {
			return i, v
		}
	}
	return 0, variants()[0]
}

// ParseAblation returns the ablation called name.
func ParseAblation(name string) (Ablation, error) {
	var want []string
	for _, v := range variants() {
		if !v.fixedK {
			if name == v.name {
				return ablation(v, 0), nil
			}
			want = append(want, v.name)
			continue
		}
		if n, ok := strings.CutPrefix(name, v.name); ok {
			if k, err := strconv.Atoi(n); err == nil && k >= 1 && strconv.Itoa(k) == n {
				return ablation(v, k), nil
			}
		}
		want = append(want, fmt.Sprintf("%sN (a fixed rollout length N >= 1: %s1, %s200, ...)", v.name, v.name, v.name))
	}
	return Ablation{}, fmt.Errorf("ablation %q: want one of %s", name, strings.Join(want, ", "))
}

// AblationOf returns the variant a training configuration runs, so runs
// made outside a sweep (mbpo train) group with the sweep's cells. What a
// run does not use decides nothing: SAC has no model variant, and a run
// without a model no rollout length.
func AblationOf(cfg trainer.Config) Ablation {
	a := Ablation{Algo: cfg.Algo, Variant: cfg.Ablation}
	if a.Algo == "sac" {
		a.Variant = "none"
	}
	if cfg.Model() {
		a.RolloutLength = cfg.RolloutLength
	}
	_, v := a.row()
	return ablation(v, a.RolloutLength)
}

// Apply sets the fields of cfg that make this variant.
func (a Ablation) Apply(cfg *trainer.Config) {
	cfg.Algo, cfg.Ablation, cfg.RolloutLength = a.Algo, a.Variant, a.RolloutLength
}

// Label is the ablation's name in reports and figures.
func (a Ablation) Label() string {
	_, v := a.row()
	return a.format(v, v.label)
}

// Experiment is the EXP part of mbpo train's run directory names,
// ENV__EXP__SEED__TIME (CleanRL's exp_name).
func (a Ablation) Experiment() string {
	_, v := a.row()
	return a.format(v, v.experiment)
}

// format fills N into s, a label or experiment of row v.
func (a Ablation) format(v variant, s string) string {
	if v.fixedK {
		return fmt.Sprintf(s, a.RolloutLength)
	}
	return s
}

// Less orders two ablation names as reports list them: the table's order,
// fixed-k variants by k, unknown names last, alphabetically.
func Less(a, b string) bool {
	x, errA := ParseAblation(a)
	y, errB := ParseAblation(b)
	switch {
	case errA != nil && errB != nil:
		return a < b
	case errA != nil || errB != nil:
		return errB != nil
	}
	i, _ := x.row()
	j, _ := y.row()
	if i != j {
		return i < j
	}
	return x.RolloutLength < y.RolloutLength
}

// Preset is a named grid from the paper.
type Preset struct {
	Name  string
	About string
	Grid  Grid
}

// Presets returns the presets: paper (the five environments of the paper
// with their published configurations) and ablations (Hopper: MBPO, k = 1,
// 200 and 500, no model, SAC). Both use seeds 0-4.
func Presets() []Preset {
	seeds := Seeds{0, 1, 2, 3, 4}
	return []Preset{
		{"paper", "Hopper, Walker2d, HalfCheetah, Ant and Humanoid (45-dim obs) with the published configurations",
			Grid{Envs: []string{"Hopper-v4", "Walker2d-v4", "HalfCheetah-v4", "Ant-v4", "HumanoidTruncatedObs-v4"},
				Ablations: []string{"none"}, Seeds: seeds}},
		{"ablations", "the paper's Hopper ablations: MBPO, fixed k = 1, 200 and 500, no model, SAC",
			Grid{Envs: []string{"Hopper-v4"},
				Ablations: []string{"none", "k1", "k200", "k500", "no-model", "sac"}, Seeds: seeds}},
	}
}

// LookupPreset returns the preset called name.
func LookupPreset(name string) (Preset, error) {
	var names []string
	for _, p := range Presets() {
		if p.Name == name {
			return p, nil
		}
		names = append(names, p.Name)
	}
	return Preset{}, fmt.Errorf("preset %q: want one of %s", name, strings.Join(names, ", "))
}
