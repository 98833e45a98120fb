// rundir.go: the run directory as a Trainer uses it. Package rundir has
// the directory's files and rules (never overwritten, one writer at a time
// under its lock, temporary files of a dead process removed) and
// rundir/checkpoint the checkpoint's container; here are the run's config
// read back from either file and RemoveRun, which deletes the TensorBoard
// event files with the run.

package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/tensorboard"
)

// logLock says what taking the lock of dir found: a filesystem without
// flock (a warning, not an error) and the temporary files of an earlier
// process that it removed.
func logLock(lock *rundir.Lock, dir string, log zerolog.Logger) {
	if lock.Unsupported {
		log.Warn().Str("run_dir", dir).Msg(lock.Reason + ": running without the lock; make sure no other process writes this run")
	}
	if len(lock.Removed) > 0 {
		log.Info().Str("run_dir", dir).Strs("files", lock.Removed).Msg("removed temporary files of an earlier process that stopped while writing")
	}
}

// RemoveRun deletes the run in dir (its config, metrics, checkpoint, event
// files and temporary files), holding dir's lock while it does, so that New
// can start a new run there: what mbpo train --overwrite does. Other files
// are kept.
func RemoveRun(dir string) error {
	return rundir.Remove(dir, tensorboard.Remove) // with the run's TensorBoard event files
}

// ReadConfig returns the config of the run in dir: its checkpoint's, or,
// for a run stopped before its first checkpoint, its config.json's.
func ReadConfig(dir string) (Config, error) {
	if _, err := os.Stat(filepath.Join(dir, rundir.CheckpointFile)); err == nil {
		return ReadCheckpointConfig(dir)
	}
	return readConfigJSON(dir)
}

// readConfigJSON reads dir/config.json; its absence is an error saying that
// dir is not a run directory.
func readConfigJSON(dir string) (Config, error) {
	path := filepath.Join(dir, rundir.ConfigFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{}, fmt.Errorf("no checkpoint and no %s in %s: is this a run directory of mbpo train?", rundir.ConfigFile, dir)
	} else if err != nil {
		return Config{}, err
	}
	var c Config
	if err := json.Unmarshal(b, &c); err != nil {
		return Config{}, fmt.Errorf("%s is corrupt: %v", path, err)
	}
	return c, nil
}
