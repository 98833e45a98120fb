// pack.go: "mbpo pack", small resumable copies of runs (trainer.Pack).

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

const packAbout = `Copies every run under SRC (a run directory, or a sweep's --out) to the same
place under DEST, as a run directory that resumes where the run's checkpoint
stands, small enough to commit or to move to another machine: config.json, the
metrics files, and the checkpoint less the model buffer (its largest part:
hundreds of MB once rollouts are long); not TensorBoard's event files. mbpo train --resume DEST/..., or the
sweep's command with --out DEST, goes on from it: the networks, optimiser
states, real buffer and env state are the run's, and the model buffer is
refilled with one round of rollouts, so the resumed run no longer repeats an
uninterrupted one exactly.

A run may be training while it is packed. A DEST run that is another run, or
this run further on, is left as it is (an error). A run without a checkpoint
yet (one writes its first at its first epoch's end) is named and skipped.`

func runPack(a *app, args []string) error {
	flags := a.newFlags("pack", "SRC DEST", packAbout)
	if err := parseArgs(flags, args); err != nil {
		return err
	}
	if flags.NArg() != 2 {
		return usagef("want SRC and DEST, got %d arguments", flags.NArg())
	}
	if a.checkOnly {
		return nil
	}
	src, dest := flags.Arg(0), flags.Arg(1)
	if s, d, err := resolvedPaths(src, dest); err != nil {
		return err
	} else if s == d {
		return usagef("SRC and DEST are the same directory (%s): DEST is where the packed copies go", dest)
	}
	runs, bare, err := checkpointedRuns(src, dest)
	if err != nil {
		return err
	}
	for _, rel := range bare {
		fmt.Fprintf(a.stdout, "%s: no checkpoint yet, skipped\n", filepath.Join(src, rel))
	}
	if len(runs) == 0 {
		return fmt.Errorf("no run with a checkpoint (%s) under %s", rundir.CheckpointFile, src)
	}
	var failed int
	for _, rel := range runs {
		p, err := trainer.Pack(filepath.Join(src, rel), filepath.Join(dest, rel))
		if err != nil {
			fmt.Fprintf(a.stderr, "mbpo pack: %v\n", err)
			failed++
			continue
		}
		fmt.Fprintf(a.stdout, "%s: %d env steps, checkpoint %.1f MB (the run's: %.1f MB)\n", p.Dir, p.EnvSteps, float64(p.Bytes)/1e6, float64(p.From)/1e6)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs not packed (above)", failed, len(runs))
	}
	return nil
}

// resolvedPaths returns src and dest with symbolic links resolved (dest's
// deepest existing parent resolved, the rest appended), so they compare.
func resolvedPaths(src, dest string) (string, string, error) {
	s, err := filepath.EvalSymlinks(src)
	if err != nil {
		return "", "", err
	}
	s, _ = filepath.Abs(s)
	d, err := filepath.Abs(dest)
	if err != nil {
		return "", "", err
	}
	rest := ""
	for {
		if r, err := filepath.EvalSymlinks(d); err == nil {
			return s, filepath.Join(r, rest), nil
		}
		parent := filepath.Dir(d)
		if parent == d {
			return s, filepath.Join(d, rest), nil
		}
		rest = filepath.Join(filepath.Base(d), rest)
		d = parent
	}
}

// checkpointedRuns lists, relative to src, the directories under src (src
// itself included, as ".") that hold a checkpoint, and those that hold a run
// without one (bare), leaving out dest's tree. A src that is a symbolic link
// is followed.
func checkpointedRuns(src, dest string) (runs, bare []string, err error) {
	root, err := filepath.EvalSymlinks(src)
	if err != nil {
		return nil, nil, err
	}
	destInfo, _ := os.Stat(dest)
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if destInfo != nil {
			if info, err := d.Info(); err == nil && os.SameFile(info, destInfo) {
				return filepath.SkipDir
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(path, rundir.CheckpointFile)); err == nil {
			runs = append(runs, rel)
		} else if rundir.HoldsRun(path) {
			bare = append(bare, rel)
		}
		return nil
	})
	return runs, bare, err
}
