// rundir.go: what a run directory guarantees. A run directory is never
// overwritten (New refuses one that holds a run; RemoveRun is the explicit
// way to start over), one process at a time writes it (the flock of package
// rundir, held from New or Resume to Close), and the temporary files of a
// process that died are removed when the next one takes the lock.

package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/tensorboard"
)

// ConfigFile and the metrics files are, with CheckpointFile, the files of a
// run directory.
const (
	ConfigFile       = "config.json"
	MetricsJSONLFile = "metrics.jsonl"
	MetricsCSVFile   = "metrics.csv"
)

// runFiles are the files whose presence makes a directory a run directory.
var runFiles = []string{ConfigFile, MetricsJSONLFile, MetricsCSVFile, CheckpointFile}

// RunExistsError is New's error on a directory that already holds a run.
type RunExistsError struct {
	Dir   string
	Files []string // the run's files found there
}

func (e *RunExistsError) Error() string {
	return fmt.Sprintf("%s already holds a run (%s); nothing in it was touched: continue it with "+
		"mbpo train --resume %s, or start over in a new directory (--run-dir) or, deleting that run, with --overwrite",
		e.Dir, strings.Join(e.Files, ", "), e.Dir)
}

// runFilesIn lists the run files present in dir.
func runFilesIn(dir string) []string {
	var found []string
	for _, f := range runFiles {
		if _, err := os.Lstat(filepath.Join(dir, f)); err == nil {
			found = append(found, f)
		}
	}
	return found
}

// HoldsRun reports whether dir holds a run (any of its files).
func HoldsRun(dir string) bool { return len(runFilesIn(dir)) > 0 }

// lockRun takes dir's lock and removes what a process that died while
// writing it left behind: temporary files of checkpoints, configs and
// metrics. A filesystem without flock is a warning, not an error.
func lockRun(dir string, log zerolog.Logger) (*rundir.Lock, error) {
	lock, err := rundir.Acquire(dir)
	if err != nil {
		return nil, err
	}
	if lock.Unsupported {
		log.Warn().Str("run_dir", dir).Msg(lock.Reason + ": running without the lock; make sure no other process writes this run")
	}
	removed, err := rundir.RemoveTemps(dir)
	// Temporary names of earlier builds.
	for _, f := range runFiles {
		if os.Remove(filepath.Join(dir, f+".tmp")) == nil {
			removed = append(removed, f+".tmp")
		}
	}
	if len(removed) > 0 {
		log.Info().Str("run_dir", dir).Strs("files", removed).Msg("removed temporary files of an earlier process that stopped while writing")
	}
	if err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("run directory %s: %w", dir, err)
	}
	return lock, nil
}

// RemoveRun deletes the run in dir (its config, metrics, checkpoint, event
// files and temporary files), holding dir's lock while it does, so that New can start
// a new run there: what mbpo train --overwrite does. Other files are kept.
func RemoveRun(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	lock, err := lockRun(dir, zerolog.Nop())
	if err != nil {
		return err
	}
	defer lock.Unlock()
	for _, f := range runFiles {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return tensorboard.Remove(dir) // the run's TensorBoard event files
}

// ReadConfig returns the config of the run in dir: its checkpoint's, or,
// for a run stopped before its first checkpoint, its config.json's.
func ReadConfig(dir string) (Config, error) {
	if _, err := os.Stat(filepath.Join(dir, CheckpointFile)); err == nil {
		return ReadCheckpointConfig(dir)
	}
	return readConfigJSON(dir)
}

// readConfigJSON reads dir/config.json; its absence is an error saying that
// dir is not a run directory.
func readConfigJSON(dir string) (Config, error) {
	path := filepath.Join(dir, ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("no checkpoint and no %s in %s: is this a run directory of mbpo train?", ConfigFile, dir)
	} else if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s is corrupt: %v", path, err)
	}
	return c, nil
}
