// Package sweep runs grids of training runs: every combination of
// environment, ablation and seed is one cell, trained into its own run
// directory OUT/ENV/ABLATION/seed_N, several at once, resumable, with a live
// status table. It also writes Slurm job-array scripts and Kubernetes
// Indexed Job manifests that run one cell per array index, so a grid can be
// spread over a cluster into one shared results directory.
//
// Cells are numbered 0..n-1 in a fixed order: environments in the order of
// the grid, then ablations, then seeds, so
//
//	index = (env·len(Ablations) + ablation)·len(Seeds) + seed
//
// The numbering depends only on the grid, which OUT/sweep.json records; a
// re-run with another grid into the same directory is refused.
package sweep

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/trainer"
)

// Grid is the set of cells of a sweep and the trainer settings they share.
// It is what a sweep.yaml holds and what sweep.json records.
type Grid struct {
	Envs      []string `json:"envs" yaml:"envs"`           // environment ids, e.g. Hopper-v4
	Ablations []string `json:"ablations" yaml:"ablations"` // see Ablations
	Seeds     Seeds    `json:"seeds" yaml:"seeds"`
	// Steps overrides every cell's total env steps (0: each environment's
	// published length).
	Steps int `json:"steps,omitempty" yaml:"steps,omitempty"`
	// Set holds train flags as NAME=VALUE, applied to every cell in order,
	// e.g. "model-hidden=64" (any flag of mbpo train but those the grid
	// decides: env, seed, algo, ablation, rollout-length, steps).
	Set Settings `json:"set,omitempty" yaml:"set,omitempty"`
}

// Cell is one run of a sweep.
type Cell struct {
	Index    int    `json:"index"`
	Env      string `json:"env"`
	Ablation string `json:"ablation"`
	Seed     uint64 `json:"seed"`
}

// Dir is the cell's run directory relative to the sweep's output directory:
// ENV/ABLATION/seed_N.
func (c Cell) Dir() string {
	return filepath.Join(c.Env, c.Ablation, fmt.Sprintf("seed_%d", c.Seed))
}

// String names the cell as "#3 Hopper-v4/k1/seed_0".
func (c Cell) String() string {
	return fmt.Sprintf("#%d %s/%s/seed_%d", c.Index, c.Env, c.Ablation, c.Seed)
}

// Len is the number of cells.
func (g Grid) Len() int { return len(g.Envs) * len(g.Ablations) * len(g.Seeds) }

// Cell returns cell i of the grid (see the package doc for the order).
func (g Grid) Cell(i int) (Cell, error) {
	n := g.Len()
	if i < 0 || i >= n {
		return Cell{}, fmt.Errorf("cell %d does not exist: the grid has cells 0 to %d", i, n-1)
	}
	ns, na := len(g.Seeds), len(g.Ablations)
	return Cell{
		Index:    i,
		Env:      g.Envs[i/(ns*na)],
		Ablation: g.Ablations[(i/ns)%na],
		Seed:     g.Seeds[i%ns],
	}, nil
}

// Cells returns every cell, in index order.
func (g Grid) Cells() []Cell {
	cells := make([]Cell, g.Len())
	for i := range cells {
		cells[i], _ = g.Cell(i)
	}
	return cells
}

// reserved reports whether the grid itself sets the train flag name.
func reserved(name string) bool {
	switch name {
	case "env", "seed", "algo", "ablation", "rollout-length", "steps":
		return true
	}
	return false
}

// Validate checks the grid and every cell's training configuration, so a
// sweep fails before it starts rather than in its hundredth cell.
func (g Grid) Validate() error {
	var errs []error
	if len(g.Envs) == 0 {
		errs = append(errs, errors.New("no environments: give --envs (e.g. Hopper-v4,Walker2d-v4) or a --preset"))
	}
	if len(g.Ablations) == 0 {
		errs = append(errs, errors.New("no ablations: give --ablations (e.g. none,no-model,k1) or a --preset"))
	}
	if len(g.Seeds) == 0 {
		errs = append(errs, errors.New("no seeds: give --seeds (e.g. 0-4)"))
	}
	for _, id := range g.Envs {
		if _, err := env.Lookup(id); err != nil {
			errs = append(errs, err)
		}
	}
	for _, a := range g.Ablations {
		if _, err := ParseAblation(a); err != nil {
			errs = append(errs, err)
		}
	}
	errs = append(errs, duplicates("environment", g.Envs), duplicates("ablation", g.Ablations), duplicates("seed", g.Seeds))
	if g.Steps < 0 {
		errs = append(errs, fmt.Errorf("--steps %d: want > 0, or 0 for each environment's published length", g.Steps))
	}
	if err := g.Set.check(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	// Every (env, ablation) pair once: seeds do not change what is valid.
	for _, id := range g.Envs {
		for _, a := range g.Ablations {
			if _, err := g.Config(Cell{Env: id, Ablation: a, Seed: g.Seeds[0]}); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", id, a, err))
			}
		}
	}
	return errors.Join(errs...)
}

func duplicates[T comparable](what string, v []T) error {
	for i := range v {
		if slices.Index(v, v[i]) != i {
			return fmt.Errorf("%s %v appears twice in the grid", what, v[i])
		}
	}
	return nil
}

// Config returns the training configuration of cell c: the environment's
// published configuration, then Set, Steps, the ablation and the seed.
func (g Grid) Config(c Cell) (trainer.Config, error) {
	cfg, err := trainer.PaperConfig(c.Env)
	if err != nil {
		return cfg, err
	}
	if err := g.Set.apply(&cfg); err != nil {
		return cfg, err
	}
	if g.Steps > 0 {
		cfg.Steps = g.Steps
	} else { // the authors' learning steps after the random ones
		cfg.Steps = cfg.InitSteps + trainer.LearningSteps(c.Env)
	}
	ab, err := ParseAblation(c.Ablation)
	if err != nil {
		return cfg, err
	}
	ab.Apply(&cfg)
	cfg.Seed = c.Seed
	cfg.Normalize()
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if err := cfg.CheckLearns(); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// Settings are train flags given as NAME=VALUE. In YAML they may be a list of
// such strings or a mapping from flag name to value.
type Settings []string

// Has reports whether the settings set the named flag.
func (s Settings) Has(name string) bool {
	for _, kv := range s {
		if k, _, _ := strings.Cut(kv, "="); settingName(k) == name {
			return true
		}
	}
	return false
}

// computed returns the settings that decide what the cells compute: s less
// the checkpoint settings (trainer.CheckpointFlag), which a later run of
// the sweep may change; a resumed cell takes the new ones (Runner).
func (s Settings) computed() Settings {
	var c Settings
	for _, kv := range s {
		if k, _, _ := strings.Cut(kv, "="); !trainer.CheckpointFlag(settingName(k)) {
			c = append(c, kv)
		}
	}
	return c
}

// settingName is the flag name of a setting's NAME part: " --G " is G.
func settingName(k string) string {
	return strings.TrimLeft(strings.TrimSpace(k), "-")
}

// check verifies that every setting names a train flag the grid does not own
// and that its value parses.
func (s Settings) check() error {
	cfg, err := trainer.PaperConfig("Hopper-v4")
	if err != nil {
		return err
	}
	return s.apply(&cfg)
}

// apply sets each flag on cfg through trainer.Config.RegisterFlags.
func (s Settings) apply(cfg *trainer.Config) error {
	fs := flag.NewFlagSet("set", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	for _, kv := range s {
		name, val, ok := strings.Cut(kv, "=")
		name = settingName(name)
		if !ok || name == "" {
			return fmt.Errorf("--set %q: want NAME=VALUE, e.g. --set model-hidden=64", kv)
		}
		if reserved(name) {
			hint := "use --steps"
			if name != "steps" {
				hint = "the grid sets it: use --envs, --seeds or --ablations"
			}
			return fmt.Errorf("--set %s: %s", name, hint)
		}
		if fs.Lookup(name) == nil {
			return fmt.Errorf("--set %s: mbpo train has no flag --%s (see mbpo train -h)", kv, name)
		}
		if err := fs.Set(name, strings.TrimSpace(val)); err != nil {
			return fmt.Errorf("--set %s: %v", kv, err)
		}
	}
	return nil
}

// Seeds is a list of seeds. On the command line and in YAML it may be
// written as ranges, "0-4" or "0,2,10-12"; YAML also takes a list of
// integers.
type Seeds []uint64

// ParseSeeds reads "0-4", "7" or "0,2,10-12".
func ParseSeeds(s string) (Seeds, error) {
	var out Seeds
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %q is not a seed or range like 0-4", s, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(strings.TrimSpace(hi), 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("seeds %q: %q is not a range like 0-4", s, part)
			}
		}
		if b-a >= 10000 {
			return nil, fmt.Errorf("seeds %q: %q is more than 10000 seeds", s, part)
		}
		for x := a; ; x++ {
			out = append(out, x)
			if x == b {
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("seeds %q: no seeds; want e.g. 0-4", s)
	}
	return out, nil
}

// String writes the seeds compactly, consecutive runs as ranges: "0-4,7".
func (s Seeds) String() string {
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && s[j+1] == s[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.FormatUint(s[i], 10))
		} else {
			parts = append(parts, fmt.Sprintf("%d-%d", s[i], s[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ",")
}

// SplitList splits a comma-separated flag value, dropping blanks.
func SplitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
