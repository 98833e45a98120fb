// ptx_test.go: the committed PTX is what clang makes of the sources now.

package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// checkPTXFresh rebuilds sources with build.sh into a temporary directory and
// fails if a file differs from the committed one in committedDir. It skips
// where clang is missing, or is another version than the one that built the
// committed PTX (recorded in clang-version.txt), since another compiler
// legitimately writes other PTX.
func checkPTXFresh(t *testing.T, buildScript, committedDir string, sources []string) {
	t.Helper()
	clang := os.Getenv("CLANG")
	if clang == "" {
		clang = "clang"
	}
	if _, err := exec.LookPath(clang); err != nil {
		t.Skipf("no clang to rebuild the PTX with (%v)", err)
	}
	want, err := os.ReadFile(filepath.Join(committedDir, "clang-version.txt"))
	if err != nil {
		t.Fatalf("%v: run make kernels", err)
	}
	version, err := exec.Command(clang, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", clang, err)
	}
	got, _, _ := strings.Cut(string(version), "\n")
	if got != strings.TrimSpace(string(want)) {
		t.Skipf("the committed PTX was built by %q, this machine has %q", strings.TrimSpace(string(want)), got)
	}
	out := t.TempDir()
	cmd := exec.Command("bash", append([]string{buildScript, out}, sources...)...)
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", buildScript, err, msg)
	}
	for _, src := range sources {
		name := strings.TrimSuffix(filepath.Base(src), ".cu") + ".ptx"
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join(committedDir, name))
		if err != nil {
			t.Fatalf("%v: run make kernels", err)
		}
		if !bytes.Equal(fresh, committed) {
			t.Errorf("%s is stale: %s no longer compiles to it; run make kernels and commit the PTX", filepath.Join(committedDir, name), src)
		}
	}
}

func TestPTXIsFresh(t *testing.T) {
	var sources []string
	for _, m := range Modules() {
		sources = append(sources, m+".cu")
	}
	checkPTXFresh(t, "build.sh", "ptx", sources)
}

func TestEmbeddedPTXHasTheKernels(t *testing.T) {
	for _, info := range kernelTable() {
		src, err := PTX(info.module)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(src, ".visible .entry "+info.name+"(") {
			t.Errorf("module %s has no entry %s", info.module, info.name)
		}
	}
	if _, err := PTX("nonesuch"); err == nil {
		t.Error("PTX of an unknown module did not fail")
	}
}
