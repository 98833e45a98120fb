package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Create refuses a directory holding any of a run's files, touching
// nothing, and makes one that does not exist yet.
func TestCreateRefusesARun(t *testing.T) {
	for _, f := range runFiles {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
		_, err := Create(dir)
		var re *RunExistsError
		if !errors.As(err, &re) || !slices.Equal(re.Files, []string{f}) || !strings.Contains(err.Error(), "--resume "+dir) {
			t.Errorf("Create on a directory holding %s: %v; want a RunExistsError naming it and --resume", f, err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("the refused Create left %d files, want only %s", len(entries), f)
		}
	}
	dir := filepath.Join(t.TempDir(), "a", "b")
	l, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "is this a run directory") {
		t.Errorf("Open of a directory without a run: %v", err)
	}
	os.WriteFile(filepath.Join(dir, ConfigFile), []byte("{}"), 0o644)
	if _, err := Open(dir); !errors.As(err, &le) {
		t.Errorf("Open while Create holds the lock: %v, want a LockedError", err)
	}
	l.Unlock()
	if _, err := Open(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "run directory:") {
		t.Errorf("Open of a directory that does not exist: %v", err)
	}
}

// Taking a run's lock removes the temporary files a dead process left, and
// says which; Remove deletes the run's files and what also removes, and
// keeps the rest.
func TestOpenAndRemove(t *testing.T) {
	dir := t.TempDir()
	for _, f := range append(slices.Clone(runFiles), ".checkpoint-abc.tmp", "metrics.csv.tmp", "notes.txt", "events.1") {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{".checkpoint-abc.tmp", "metrics.csv.tmp"}; !slices.Equal(l.Removed, want) {
		t.Errorf("Open removed %v, want %v", l.Removed, want)
	}
	if err := Remove(dir); !errors.As(err, new(*LockedError)) {
		t.Errorf("Remove while Open holds the lock: %v, want a LockedError", err)
	}
	l.Unlock()
	events := func(dir string) error { return os.Remove(filepath.Join(dir, "events.1")) }
	if err := Remove(dir, events); err != nil {
		t.Fatal(err)
	}
	var left []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if want := []string{LockFile, "notes.txt"}; !slices.Equal(left, want) || HoldsRun(dir) {
		t.Errorf("after Remove the directory holds %v, want %v", left, want)
	}
	if err := Remove(filepath.Join(dir, "none")); err != nil {
		t.Errorf("Remove of a directory that does not exist: %v", err)
	}
}

func TestWriteJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), ConfigFile)
	if err := WriteJSON(path, map[string]int{"seed": 3}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "{\n  \"seed\": 3\n}\n" {
		t.Errorf("WriteJSON wrote %q", b)
	}
}
