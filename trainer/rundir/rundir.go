// Package rundir is a run's directory and its files, apart from the
// training loop: what makes a directory a run (config.json, metrics.jsonl,
// metrics.csv, checkpoint.mbpo) and the rules that keep it safe from the two
// ways it can be damaged from outside one process: two processes writing it
// at once, and a crash in the middle of a write.
//
// Create starts a run in a directory that holds none (a *RunExistsError
// otherwise: a run is never overwritten; Remove is the explicit way to start
// over), Open continues one; both take an exclusive flock(2) on DIR/mbpo.lock
// (Acquire) for the life of the process that writes the directory (train,
// resume, a sweep cell), so that a second process gets an error naming the
// holder's pid, host and command line, and both remove the temporary files
// of a process that died while writing. WriteFile, WriteJSON and CreateTemp
// write through a temporary file in the same directory that is renamed into
// place, with the mode of every other file (0644 less the umask).
//
// The metrics files hold one row per epoch of any type a MetricsFormat
// describes: OpenMetrics appends to them, ReadMetrics reads them back,
// TrimMetrics checks them against a checkpoint before a resume (a damaged or
// missing file is a *MetricsError naming the file and line) and drops the
// rows written after it, RepairMetrics rebuilds them from what either file
// still holds. The checkpoint's container format is package
// rundir/checkpoint. This package knows nothing of what a run saves:
// package trainer passes its rows, headers and sections in.
//
// Run: go test ./trainer/rundir/...
package rundir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockFile is the name of the lock file inside a locked directory. It stays
// after the lock is released (removing it would let two processes lock two
// different files of the same name); its contents name the last holder.
const LockFile = "mbpo.lock"

// Holder is what a lock file says about the process that holds it.
type Holder struct {
	PID     int       `json:"pid"`
	Host    string    `json:"host"`
	Command string    `json:"command"`
	Since   time.Time `json:"since"`
}

func (h Holder) String() string {
	s := "pid " + strconv.Itoa(h.PID)
	if h.PID == 0 {
		s = "pid unknown"
	}
	if h.Host != "" {
		s += " on " + h.Host
	}
	if !h.Since.IsZero() {
		s += ", since " + h.Since.Local().Format("2006-01-02 15:04:05")
	}
	if h.Command != "" {
		s += ": " + h.Command
	}
	return s
}

// LockedError is the error of Lock on a directory another process holds.
type LockedError struct {
	Dir    string
	Holder Holder
}

func (e *LockedError) Error() string {
	stop := ""
	if e.Holder.PID > 0 {
		stop = fmt.Sprintf(" (kill -INT %d makes an mbpo run save a checkpoint and stop)", e.Holder.PID)
	}
	return fmt.Sprintf("%s is in use by another mbpo process (%s): wait for it to end or stop it%s",
		e.Dir, e.Holder, stop)
}

// Lock is an exclusive lock on a directory, held until Unlock.
type Lock struct {
	f *os.File
	// Unsupported is set when the directory's filesystem has no flock (some
	// cluster filesystems): the lock then excludes nothing, and Reason says why.
	Unsupported bool
	Reason      string
	// Removed names the temporary files of an earlier process that Create,
	// Open or Remove removed on taking the lock.
	Removed []string
}

// Acquire takes the exclusive lock of dir (which must exist) without
// waiting. A directory locked by another process, or by another Lock of
// this one, is a *LockedError.
func Acquire(dir string) (*Lock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			h := readHolder(f)
			f.Close()
			return nil, &LockedError{Dir: dir, Holder: h}
		}
		if errors.Is(err, syscall.ENOLCK) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.EINVAL) {
			f.Close()
			return &Lock{Unsupported: true, Reason: fmt.Sprintf("%s: the filesystem does not support flock (%v)", path, err)}, nil
		}
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	host, _ := os.Hostname()
	h := Holder{PID: os.Getpid(), Host: host, Command: strings.Join(os.Args, " "), Since: time.Now()}
	b, _ := json.Marshal(h)
	if err := f.Truncate(0); err == nil {
		f.WriteAt(append(b, '\n'), 0)
	}
	return &Lock{f: f}, nil
}

// readHolder reads the holder a lock file names; a holder that has not yet
// written it reads as pid 0.
func readHolder(f *os.File) Holder {
	var h Holder
	b := make([]byte, 4096)
	n, _ := f.ReadAt(b, 0)
	json.Unmarshal(b[:n], &h)
	return h
}

// Unlock releases the lock. It is safe on a nil Lock and more than once.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}

// CreateTemp creates a new temporary file in dir, named by pattern as
// os.CreateTemp names it, with mode 0644 less the umask (os.CreateTemp
// gives 0600): renamed into place, it reads like the directory's other files.
func CreateTemp(dir, pattern string) (*os.File, error) {
	prefix, suffix, _ := strings.Cut(pattern, "*")
	for try := 0; ; try++ {
		name := filepath.Join(dir, prefix+strconv.FormatUint(uint64(time.Now().UnixNano())+uint64(try)*7919, 36)+suffix)
		f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, os.ErrExist) && try < 100 {
			continue
		}
		return f, err
	}
}

// WriteFile writes b to path through a temporary file in its directory and
// a rename, so that path holds either its old or its new contents, whole.
func WriteFile(path string, b []byte) error {
	tmp, err := CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// RemoveTemps removes the temporary files that WriteFile and CreateTemp
// leave in dir when the process dies before its rename: names starting with
// a dot and ending in .tmp. Call it only while holding dir's lock. It
// returns the names removed.
func RemoveTemps(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		n := e.Name()
		if e.Type().IsRegular() && strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp") {
			if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return removed, err
			}
			removed = append(removed, n)
		}
	}
	return removed, nil
}
