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
hundreds of MB once rollouts are long). mbpo train --resume DEST/..., or the
sweep's command with --out DEST, goes on from it: the networks, optimiser
states, real buffer and env state are the run's, and the model buffer is
refilled with one round of rollouts, so the resumed run no longer repeats an
uninterrupted one exactly.

A run may be training while it is packed. A DEST run that is another run, or
this run further on, is left as it is (an error).`

func runPack(a *app, args []string) error {
	fs := a.newFlags("pack", "SRC DEST", packAbout)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("want SRC and DEST, got %d arguments", fs.NArg())
	}
	if a.checkOnly {
		return nil
	}
	src, dest := fs.Arg(0), fs.Arg(1)
	runs, err := checkpointedRuns(src, dest)
	if err != nil {
		return err
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
		return fmt.Errorf("%d of %d runs not packed", failed, len(runs))
	}
	return nil
}

// checkpointedRuns lists, relative to src, the directories under src (src
// itself included, as ".") that hold a checkpoint, leaving out dest's tree.
func checkpointedRuns(src, dest string) ([]string, error) {
	destInfo, _ := os.Stat(dest)
	var runs []string
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
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
		if _, err := os.Stat(filepath.Join(path, rundir.CheckpointFile)); err == nil {
			rel, err := filepath.Rel(src, path)
			if err != nil {
				return err
			}
			runs = append(runs, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pack: %w", err)
	}
	return runs, nil
}
