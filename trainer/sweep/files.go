// files.go: the sweep's files. sweep.yaml (File) describes a sweep as the
// flags of mbpo sweep would; sweep.json (Record) in the output directory
// records the grid and its cell numbering, so --cell N, re-runs and mbpo
// report agree on it.

package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mbpogo/mbpo/trainer/rundir"
)

// File is a sweep.yaml: the grid and how to run it. Every key is optional;
// a flag given on the command line wins over the file. Example:
//
//	preset: ablations       # or envs: [Hopper-v4, Walker2d-v4] and ablations: [none, k1]
//	seeds: 0-4              # or [0, 1, 2]
//	steps: 20000            # 0 or absent: each environment's published length
//	set:                    # any mbpo train flag, for every cell
//	  model-hidden: 64
//	device: cpu
//	parallel: 2
type File struct {
	Preset   string `yaml:"preset,omitempty"`
	Grid     `yaml:",inline"`
	Device   string `yaml:"device,omitempty"`
	Parallel int    `yaml:"parallel,omitempty"`
}

// ReadFile reads a sweep.yaml; an unknown key is an error naming it.
func ReadFile(path string) (File, error) {
	var f File
	b, err := os.ReadFile(path)
	if err != nil {
		return f, fmt.Errorf("sweep config: %w", err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return f, fmt.Errorf("%s: %v (keys: preset, envs, ablations, seeds, steps, set, device, parallel)", path, err)
	}
	return f, nil
}

// Resolve returns the file's grid with its preset's envs, ablations and
// seeds filling in what the file leaves out.
func (f File) Resolve() (Grid, error) {
	g := f.Grid
	if f.Preset == "" {
		return g, nil
	}
	p, err := LookupPreset(f.Preset)
	if err != nil {
		return g, err
	}
	if len(g.Envs) == 0 {
		g.Envs = p.Grid.Envs
	}
	if len(g.Ablations) == 0 {
		g.Ablations = p.Grid.Ablations
	}
	if len(g.Seeds) == 0 {
		g.Seeds = p.Grid.Seeds
	}
	return g, nil
}

// UnmarshalYAML reads seeds written as "0-4", 3, or a list of either.
func (s *Seeds) UnmarshalYAML(n *yaml.Node) error {
	var parts []string
	switch n.Kind {
	case yaml.ScalarNode:
		parts = []string{n.Value}
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: seeds: want a number or range like 0-4", c.Line)
			}
			parts = append(parts, c.Value)
		}
	default:
		return fmt.Errorf("line %d: seeds: want a range like 0-4 or a list of seeds", n.Line)
	}
	out, err := ParseSeeds(strings.Join(parts, ","))
	if err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	*s = out
	return nil
}

// MarshalYAML writes the seeds as ranges, "0-4,7".
func (s Seeds) MarshalYAML() (any, error) { return s.String(), nil }

// UnmarshalYAML reads settings as a list of NAME=VALUE strings or as a
// mapping from flag name to value (kept in the file's order).
func (s *Settings) UnmarshalYAML(n *yaml.Node) error {
	var out Settings
	switch n.Kind {
	case yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: set: want NAME=VALUE strings", c.Line)
			}
			out = append(out, c.Value)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if v.Kind != yaml.ScalarNode {
				return fmt.Errorf("line %d: set: %s: want a single value", v.Line, k.Value)
			}
			out = append(out, k.Value+"="+v.Value)
		}
	default:
		return fmt.Errorf("line %d: set: want a mapping of flag: value or a list of NAME=VALUE", n.Line)
	}
	*s = out
	return nil
}

// RecordFile is the name of the record in a sweep's output directory.
const RecordFile = "sweep.json"

// recordVersion is the format version of sweep.json.
const recordVersion = 1

// Record is sweep.json: the grid of a sweep and its numbered cells.
type Record struct {
	Version int    `json:"version"`
	Grid    Grid   `json:"grid"`
	Cells   []Cell `json:"cells"` // for people and tools; Grid alone defines them
}

// Dirs returns the run directory of every cell, relative to the output
// directory.
func (r Record) Dirs() []string {
	dirs := make([]string, len(r.Cells))
	for i, c := range r.Cells {
		dirs[i] = c.Dir()
	}
	return dirs
}

// ReadRecord reads dir/sweep.json.
func ReadRecord(dir string) (Record, error) {
	var r Record
	path := filepath.Join(dir, RecordFile)
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return r, fmt.Errorf("no %s in %s: is it the --out directory of mbpo sweep?", RecordFile, dir)
		}
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s is corrupt: %v", path, err)
	}
	if r.Version != recordVersion {
		return r, fmt.Errorf("%s has version %d; this mbpo reads version %d", path, r.Version, recordVersion)
	}
	if err := r.Grid.Validate(); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// Claim makes dir the output directory of grid g: it writes dir/sweep.json,
// or, when one exists, checks that it records the same grid, checkpoint
// settings aside (sweep.json keeps those of the first run; each cell's
// config.json has its own). Several
// processes may claim the same directory at once (array tasks of one
// sweep): each writes the same bytes through its own temporary file.
func Claim(dir string, g Grid) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("sweep output directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, RecordFile)); err == nil {
		old, err := ReadRecord(dir)
		if err != nil {
			return err
		}
		if d := g.diff(old.Grid); d != "" {
			return fmt.Errorf("%s records another grid (%s): re-run with the recorded grid (%s) or choose a new --out",
				filepath.Join(dir, RecordFile), d, strings.Join(old.Grid.Flags(), " "))
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("sweep record: %w", err)
	}
	b, err := json.MarshalIndent(Record{Version: recordVersion, Grid: g, Cells: g.Cells()}, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := rundir.CreateTemp(dir, ".sweep-*.json") // mode 0644 like the other files, not CreateTemp's 0600
	if err != nil {
		return fmt.Errorf("sweep record: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("sweep record: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sweep record: %w", err)
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, RecordFile))
}

// diff describes how g differs from the recorded grid old ("" if not).
func (g Grid) diff(old Grid) string {
	var d []string
	add := func(what, was, now string) {
		if was != now {
			d = append(d, fmt.Sprintf("%s %s, here %s", what, was, now))
		}
	}
	add("envs", strings.Join(old.Envs, ","), strings.Join(g.Envs, ","))
	add("ablations", strings.Join(old.Ablations, ","), strings.Join(g.Ablations, ","))
	add("seeds", old.Seeds.String(), g.Seeds.String())
	add("steps", fmt.Sprint(old.Steps), fmt.Sprint(g.Steps))
	add("set", "["+strings.Join(old.Set.computed(), " ")+"]", "["+strings.Join(g.Set.computed(), " ")+"]")
	return strings.Join(d, "; ")
}

// Flags writes the grid as mbpo sweep flags.
func (g Grid) Flags() []string {
	f := []string{"--envs", strings.Join(g.Envs, ","), "--ablations", strings.Join(g.Ablations, ","), "--seeds", g.Seeds.String()}
	if g.Steps > 0 {
		f = append(f, "--steps", fmt.Sprint(g.Steps))
	}
	for _, s := range g.Set {
		f = append(f, "--set", s)
	}
	return f
}
