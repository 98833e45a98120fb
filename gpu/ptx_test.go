// ptx_test.go: testdata/axpy.ptx is what clang makes of testdata/axpy.cu now.

package gpu_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestTestdataPTXIsFresh rebuilds testdata/axpy.cu with the kernels' build
// script; it skips where clang is missing or another version than the one
// recorded in testdata/clang-version.txt.
func TestTestdataPTXIsFresh(t *testing.T) {
	if _, err := exec.LookPath("clang"); err != nil {
		t.Skipf("no clang to rebuild the PTX with (%v)", err)
	}
	want, _ := os.ReadFile("testdata/clang-version.txt")
	version, err := exec.Command("clang", "--version").Output()
	if err != nil {
		t.Fatalf("clang --version: %v", err)
	}
	if got, _, _ := strings.Cut(string(version), "\n"); got != strings.TrimSpace(string(want)) {
		t.Skipf("testdata/axpy.ptx was built by %q, this machine has %q", strings.TrimSpace(string(want)), got)
	}
	out := t.TempDir()
	if msg, err := exec.Command("bash", "../kernels/build.sh", out, "testdata/axpy.cu").CombinedOutput(); err != nil {
		t.Fatalf("build.sh: %v\n%s", err, msg)
	}
	fresh, _ := os.ReadFile(filepath.Join(out, "axpy.ptx"))
	if !bytes.Equal(fresh, []byte(axpyPTX)) {
		t.Error("testdata/axpy.ptx is stale; run make kernels and commit it")
	}
}
