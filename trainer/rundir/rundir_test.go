package rundir

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A helper process for TestLockExcludesAnotherProcess: it takes the lock of
// $RUNDIR_HOLD, says so on stdout and holds it until stdin closes.
func TestHelperHoldLock(t *testing.T) {
	dir := os.Getenv("RUNDIR_HOLD")
	if dir == "" {
		t.Skip("helper process only")
	}
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.Stdout.WriteString("locked\n")
	bufio.NewReader(os.Stdin).ReadString('\n')
	l.Unlock()
}

func TestLockExcludesAnotherProcess(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldLock$")
	cmd.Env = append(os.Environ(), "RUNDIR_HOLD="+dir)
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("helper said %q", line)
	}
	_, err := Acquire(dir)
	var le *LockedError
	if !errors.As(err, &le) || le.Holder.PID != cmd.Process.Pid {
		t.Errorf("Acquire while another process holds the lock: %v; want a LockedError naming pid %d", err, cmd.Process.Pid)
	} else if msg := err.Error(); !strings.Contains(msg, "pid "+strconv.Itoa(cmd.Process.Pid)) || !strings.Contains(msg, dir) {
		t.Errorf("error %q does not name the directory and the holder's pid", msg)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	// The holder has exited: the lock is free again.
	l, err := Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after the holder exited: %v", err)
	}
	l.Unlock()
}

func TestLockExcludesASecondLockOfThisProcess(t *testing.T) {
	dir := t.TempDir()
	l, err := Acquire(dir)
	if err != nil {
		t.Fatal(err)
	}
	var le *LockedError
	if _, err := Acquire(dir); !errors.As(err, &le) || le.Holder.PID != os.Getpid() {
		t.Fatalf("second Acquire: %v, want a LockedError naming this process", err)
	}
	l.Unlock()
	l.Unlock() // twice is harmless
	l, err = Acquire(dir)
	if err != nil {
		t.Fatalf("Acquire after Unlock: %v", err)
	}
	l.Unlock()
}

func TestWriteFileAndTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := WriteFile(path, []byte("{}\n")); err != nil {
		t.Fatal(err)
	}
	tmp, err := CreateTemp(dir, ".checkpoint-*.tmp")
	if err != nil {
		t.Fatal(err)
	}
	tmp.Close()
	a, _ := os.Stat(path)
	b, _ := os.Stat(tmp.Name())
	plain := filepath.Join(dir, "plain")
	os.WriteFile(plain, nil, 0o644)
	c, _ := os.Stat(plain)
	if a.Mode() != c.Mode() || b.Mode() != c.Mode() {
		t.Errorf("modes: WriteFile %v, CreateTemp %v, os.WriteFile 0644 %v; want all equal", a.Mode(), b.Mode(), c.Mode())
	}
	removed, err := RemoveTemps(dir)
	if err != nil || len(removed) != 1 || removed[0] != filepath.Base(tmp.Name()) {
		t.Errorf("RemoveTemps removed %v, %v; want only %s", removed, err, filepath.Base(tmp.Name()))
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("left %d files, want config.json and plain", len(entries))
	}
}
