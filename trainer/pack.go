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
// move: its config.json, its metrics files (and metrics-repair.json, if any)
// and its checkpoint less the model buffer (the largest part: up to rollout
// batch × k rows per retrain of the last retain epochs). Resume refills
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
// this run at more env steps than runDir's checkpoint. It writes the
// checkpoint last, so a pack stopped part-way over an older one leaves the
// older checkpoint with newer metrics, which Resume trims. TensorBoard's
// event files are not copied.
func Pack(runDir, dest string) (Packed, error) {
	src := filepath.Join(runDir, rundir.CheckpointFile)
	from, err := os.Stat(src)
	if err != nil {
		return Packed{}, fmt.Errorf("%s has no checkpoint to pack (a run writes its first at the end of its first epoch, or when stopped): %w", runDir, err)
	}
	if same, err := sameDir(runDir, dest); err != nil || same {
		if err == nil {
			err = errors.New("the destination is the run directory itself")
		}
		return Packed{}, fmt.Errorf("%s into %s: %w", runDir, dest, err)
	}
	h, secs, err := readCheckpointWithout(src, "model_buffer")
	if err != nil {
		return Packed{}, err
	}
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return Packed{}, err
	}
	lock, err := rundir.Acquire(dest)
	if err != nil {
		return Packed{}, err
	}
	defer lock.Unlock()
	if _, err := rundir.RemoveTemps(dest); err != nil { // of a pack killed while writing
		return Packed{}, err
	}
	if err := checkPackDest(runDir, dest, h); err != nil {
		return Packed{}, err
	}
	h.ModelBufferSaved = false
	for _, name := range []string{rundir.ConfigFile, rundir.MetricsJSONLFile, rundir.MetricsCSVFile, rundir.RepairFile} {
		b, err := os.ReadFile(filepath.Join(runDir, name))
		if errors.Is(err, os.ErrNotExist) && name != rundir.ConfigFile {
			continue // no row yet, or never repaired
		}
		if err != nil {
			return Packed{}, err
		}
		if err := rundir.WriteFile(filepath.Join(dest, name), b); err != nil {
			return Packed{}, err
		}
	}
	out := filepath.Join(dest, rundir.CheckpointFile)
	if err := writeCheckpoint(out, h, secs); err != nil {
		return Packed{}, err
	}
	st, err := os.Stat(out)
	if err != nil {
		return Packed{}, err
	}
	return Packed{Dir: dest, EnvSteps: h.EnvSteps, Bytes: st.Size(), From: from.Size()}, nil
}

// checkPackDest refuses a dest that holds another run than h's, or h's run
// further on.
func checkPackDest(runDir, dest string, h checkpointHeader) error {
	if !rundir.HoldsRun(dest) {
		return nil
	}
	cfg, err := ReadConfig(dest)
	if err != nil {
		return fmt.Errorf("%s holds files of a run that cannot be read (%w): pack into another directory", dest, err)
	}
	a, b := cfg, h.Config
	a.Steps, b.Steps = 0, 0
	if k, x, y := a.NumericsDiff(b); k != "" {
		return fmt.Errorf("%s holds another run than %s (%s %v, not %v): pack into another directory", dest, runDir, k, x, y)
	}
	var d checkpointHeader
	err = checkpoint.ReadHeader(filepath.Join(dest, rundir.CheckpointFile), &d)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w (remove it to pack there again)", dest, err)
	}
	if d.EnvSteps > h.EnvSteps {
		return fmt.Errorf("%s holds this run at %d env steps, further than %s's checkpoint (%d): nothing was written; resume the packed run there, or remove it to pack over it", dest, d.EnvSteps, runDir, h.EnvSteps)
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
