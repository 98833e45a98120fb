// run.go: the files of a run directory and the rules that keep a run safe:
// a directory holding a run is never overwritten (Create refuses it; Remove
// is the explicit way to start over), one process at a time writes it (the
// lock, held from Create or Open until the run ends), and the temporary files
// of a process that died while writing are removed by the next one to lock
// it.

package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The files of a run directory, beside the lock file and the TensorBoard
// event files.
const (
	ConfigFile       = "config.json"     // the run's settings
	MetricsJSONLFile = "metrics.jsonl"   // one JSON row per epoch
	MetricsCSVFile   = "metrics.csv"     // the same rows as CSV
	CheckpointFile   = "checkpoint.mbpo" // package checkpoint's container
)

// runFiles are the files whose presence makes a directory a run directory.
var runFiles = []string{ConfigFile, MetricsJSONLFile, MetricsCSVFile, CheckpointFile}

// RunExistsError is Create's error on a directory that already holds a run.
type RunExistsError struct {
	Dir   string
	Files []string // the run's files found there
}

func (e *RunExistsError) Error() string {
	return fmt.Sprintf("%s already holds a run (%s); nothing in it was touched: continue it with "+
		"mbpo train --resume %s, or start over in a new directory (--run-dir) or, deleting that run, with --overwrite",
		e.Dir, strings.Join(e.Files, ", "), e.Dir)
}

// RunFiles lists the run files present in dir (config.json, the metrics
// files, checkpoint.mbpo).
func RunFiles(dir string) []string {
	var found []string
	for _, f := range runFiles {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			found = append(found, f)
		}
	}
	return found
}

// HoldsRun reports whether dir holds a run (any of its files).
func HoldsRun(dir string) bool { return len(RunFiles(dir)) > 0 }

// Create makes dir (and its parents) for a new run and locks it. A
// directory that holds a run is a *RunExistsError, checked before anything
// is written and again once the lock is held (another process may have been
// quicker).
func Create(dir string) (*Lock, error) {
	if files := RunFiles(dir); len(files) > 0 { // before the lock, which writes its file
		return nil, &RunExistsError{Dir: dir, Files: files}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	lock, err := lockRun(dir)
	if err != nil {
		return nil, err
	}
	if files := RunFiles(dir); len(files) > 0 {
		lock.Unlock()
		return nil, &RunExistsError{Dir: dir, Files: files}
	}
	return lock, nil
}

// Open locks dir, which must hold a run, to continue it.
func Open(dir string) (*Lock, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if !HoldsRun(dir) {
		return nil, fmt.Errorf("no checkpoint and no %s in %s: is this a run directory of mbpo train?", ConfigFile, dir)
	}
	return lockRun(dir)
}

// lockRun takes dir's lock and removes what a process that died while
// writing it left behind (listed in the lock's Removed): temporary files of
// checkpoints, configs and metrics.
func lockRun(dir string) (*Lock, error) {
	lock, err := Acquire(dir)
	if err != nil {
		return nil, err
	}
	removed, err := RemoveTemps(dir)
	// Temporary names of earlier builds.
	for _, f := range runFiles {
		if os.Remove(filepath.Join(dir, f+".tmp")) == nil {
			removed = append(removed, f+".tmp")
		}
	}
	lock.Removed = removed
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return lock, nil
}

// Remove deletes the run in dir (its config, metrics and checkpoint files,
// and the temporary files of a process that died writing them), holding
// dir's lock while it does, so that Create can start a new run there: what
// mbpo train --overwrite does. Each of also then removes the files of
// another writer of the run (the TensorBoard event files), still under the
// lock. Other files are kept; a directory that does not exist is no error.
func Remove(dir string, also ...func(dir string) error) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := lockRun(dir)
	if err != nil {
		return err
	}
	defer lock.Unlock()
	for _, f := range runFiles {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	for _, remove := range also {
		if err := remove(dir); err != nil {
			return err
		}
	}
	return nil
}

// WriteJSON writes v as indented JSON, with a final newline, to path
// through WriteFile.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return WriteFile(path, append(b, '\n'))
}
