// pack.go: Pack, a small copy of a run directory that resumes where the run
// stands, to commit or to move to another machine.

package trainer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/rundir/checkpoint"
)

// Packed says what Pack wrote.
type Packed struct {
	Dir      string // the packed run directory
	EnvSteps int    // where its checkpoint stands
	Bytes    int64  // the packed checkpoint's size
	From     int64  // the run's checkpoint's size
}

// Pack copies the run in runDir to dest (made if missing) as a run directory
// that resumes where runDir's checkpoint stands, small enough to commit or
// move: its config.json, its metrics files and its checkpoint less the model
// buffer (the largest part: up to rollout batch × k × 4 rows). Resume refills
// the model buffer with one round of rollouts from the checkpoint's
// ensemble, so a run resumed from a pack goes on from the same networks,
// optimiser states, real buffer and env state but does not repeat the
// uninterrupted run exactly (as after a checkpoint over
// --checkpoint-model-buffer-mib).
//
// runDir may be training while Pack reads it: checkpoints are replaced by a
// rename, so Pack reads a whole one, and it copies the metrics after it, so
// that they hold every row up to it (Resume drops the later ones). Pack holds
// dest's lock while it writes, and refuses a dest that holds another run, or
// this run at more env steps than runDir's checkpoint.
func Pack(runDir, dest string) (Packed, error) {
	src := filepath.Join(runDir, rundir.CheckpointFile)
	from, err := os.Stat(src)
	if err != nil {
		return Packed{}, fmt.Errorf("pack %s: no checkpoint to pack (%w)", runDir, err)
	}
	if same, err := sameDir(runDir, dest); err != nil || same {
		if err == nil {
			err = errors.New("the destination is the run directory itself")
		}
		return Packed{}, fmt.Errorf("pack %s into %s: %w", runDir, dest, err)
	}
	h, secs, err := readCheckpoint(src)
	if err != nil {
		return Packed{}, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Packed{}, fmt.Errorf("pack: %w", err)
	}
	lock, err := rundir.Acquire(dest)
	if err != nil {
		return Packed{}, fmt.Errorf("pack: %w", err)
	}
	defer lock.Unlock()
	if err := checkPackDest(dest, h); err != nil {
		return Packed{}, err
	}
	delete(secs.replay, "model_buffer")
	h.ModelBufferSaved = false
	out := filepath.Join(dest, rundir.CheckpointFile)
	if err := writeCheckpoint(out, h, secs); err != nil {
		return Packed{}, fmt.Errorf("pack: %w", err)
	}
	for _, name := range []string{rundir.ConfigFile, rundir.MetricsJSONLFile, rundir.MetricsCSVFile} {
		b, err := os.ReadFile(filepath.Join(runDir, name))
		if errors.Is(err, os.ErrNotExist) && name != rundir.ConfigFile {
			continue // a run stopped before its first epoch's row
		}
		if err != nil {
			return Packed{}, fmt.Errorf("pack: %w", err)
		}
		if err := rundir.WriteFile(filepath.Join(dest, name), b); err != nil {
			return Packed{}, fmt.Errorf("pack: %w", err)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		return Packed{}, fmt.Errorf("pack: %w", err)
	}
	return Packed{Dir: dest, EnvSteps: h.EnvSteps, Bytes: st.Size(), From: from.Size()}, nil
}

// checkPackDest refuses a dest that holds another run than h's, or h's run
// further on.
func checkPackDest(dest string, h checkpointHeader) error {
	if !rundir.HoldsRun(dest) {
		return nil
	}
	cfg, err := ReadConfig(dest)
	if err != nil {
		return fmt.Errorf("pack: %s holds files of a run that cannot be read (%w): pack into another directory", dest, err)
	}
	if !sameRun(cfg, h.Config) {
		return fmt.Errorf("pack: %s holds another run (%s seed %d, %s): pack into another directory", dest, cfg.Env, cfg.Seed, cfg.Ablation)
	}
	var d checkpointHeader
	err = checkpoint.ReadHeader(filepath.Join(dest, rundir.CheckpointFile), &d)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("pack: %s: %w", dest, err)
	}
	if d.EnvSteps > h.EnvSteps {
		return fmt.Errorf("pack: %s holds this run at %d env steps, further than the checkpoint being packed (%d): nothing was written", dest, d.EnvSteps, h.EnvSteps)
	}
	return nil
}

// sameDir reports whether a and b name the same existing directory (a b
// that does not exist yet is not a).
func sameDir(a, b string) (bool, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	sb, err := os.Stat(b)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return os.SameFile(sa, sb), nil
}
