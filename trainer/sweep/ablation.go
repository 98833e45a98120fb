// ablation.go: the ablation names of a grid (none, no-model, sac, kN) and
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
//	none      MBPO as published
//	no-model  SAC at MBPO's G, on real data only
//	sac       model-free SAC (G = 1)
//	kN        MBPO with a fixed rollout length N (k1, k200, k500, ...)
type Ablation struct {
	Name          string
	Algo          string // trainer.Config.Algo
	Variant       string // trainer.Config.Ablation
	RolloutLength int    // trainer.Config.RolloutLength (0: the schedule)
}

// ParseAblation returns the ablation called name.
func ParseAblation(name string) (Ablation, error) {
	switch name {
	case "none":
		return Ablation{Name: name, Algo: "mbpo", Variant: "none"}, nil
	case "no-model":
		return Ablation{Name: name, Algo: "mbpo", Variant: "no-model"}, nil
	case "sac":
		return Ablation{Name: name, Algo: "sac", Variant: "none"}, nil
	}
	if k, ok := strings.CutPrefix(name, "k"); ok {
		if n, err := strconv.Atoi(k); err == nil && n >= 1 && strconv.Itoa(n) == k {
			return Ablation{Name: name, Algo: "mbpo", Variant: "none", RolloutLength: n}, nil
		}
	}
	return Ablation{}, fmt.Errorf("ablation %q: want none (MBPO), no-model, sac, or kN for a fixed rollout length N (k1, k200, k500)", name)
}

// Apply sets the fields of cfg that make this variant.
func (a Ablation) Apply(cfg *trainer.Config) {
	cfg.Algo, cfg.Ablation, cfg.RolloutLength = a.Algo, a.Variant, a.RolloutLength
}

// Label is the ablation's name in reports and figures.
func (a Ablation) Label() string {
	switch {
	case a.Algo == "sac":
		return "SAC"
	case a.Variant == "no-model":
		return "no model (SAC at MBPO's G)"
	case a.RolloutLength > 0:
		return fmt.Sprintf("MBPO, k = %d", a.RolloutLength)
	}
	return "MBPO"
}

// rank orders ablations in reports: MBPO, its fixed-k variants by k, no
// model, SAC.
func (a Ablation) rank() int {
	switch {
	case a.Algo == "sac":
		return 1 << 30
	case a.Variant == "no-model":
		return 1<<30 - 1
	}
	return a.RolloutLength
}

// Less orders two ablation names as reports list them (unknown names last,
// alphabetically).
func Less(a, b string) bool {
	x, errA := ParseAblation(a)
	y, errB := ParseAblation(b)
	switch {
	case errA != nil && errB != nil:
		return a < b
	case errA != nil || errB != nil:
		return errB != nil
	}
	return x.rank() < y.rank()
}

// AblationOf names the variant a training configuration runs, so runs made
// outside a sweep (mbpo train) group with the sweep's cells.
func AblationOf(cfg trainer.Config) string {
	switch {
	case cfg.Algo == "sac":
		return "sac"
	case cfg.Ablation == "no-model":
		return "no-model"
	case cfg.RolloutLength > 0:
		return fmt.Sprintf("k%d", cfg.RolloutLength)
	}
	return "none"
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
