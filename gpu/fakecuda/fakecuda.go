// Package fakecuda builds a stand-in for the NVIDIA driver library, for tests
// of package gpu (and of what uses it) on machines without a GPU.
//
// The stand-in (testdata/fakecuda.c) exports the driver entry points package
// gpu resolves, keeps "device memory" in host memory and runs a few kernels on
// the host; its header comment lists the kernels and the -D switches that
// script failures.
package fakecuda

import (
	_ "embed"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

//go:embed testdata/fakecuda.c
var source string

// Build compiles the stand-in with the C compiler cgo uses, passing each of
// defines as -D, into a directory of t's, and returns the library's path.
// Each call makes a separate library, with its own state once loaded. Where
// there is no C compiler (a GPU machine running a carried test binary) it
// skips the test.
func Build(t testing.TB, defines ...string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "fakecuda.c")
	if err := os.WriteFile(src, []byte(source), 0o644); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(dir, "libfakecuda.so")
	args := []string{"-shared", "-fPIC", "-O1", "-fvisibility=hidden", "-o", lib, src, "-lpthread"}
	for _, d := range defines {
		args = append(args, "-D"+d)
	}
	cc := compiler()
	if _, err := exec.LookPath(cc[0]); err != nil {
		t.Skipf("no C compiler (%s) to build the fake driver with: %v", cc[0], err)
	}
	out, err := exec.Command(cc[0], append(cc[1:], args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("building the fake driver with %s: %v\n%s", strings.Join(cc, " "), err, out)
	}
	return lib
}

// compiler is $CC, or what "go env CC" says, or cc.
func compiler() []string {
	if cc := strings.Fields(os.Getenv("CC")); len(cc) > 0 {
		return cc
	}
	if out, err := exec.Command("go", "env", "CC").Output(); err == nil {
		if cc := strings.Fields(string(out)); len(cc) > 0 {
			return cc
		}
	}
	return []string{"cc"}
}
