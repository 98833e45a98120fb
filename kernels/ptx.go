// ptx.go: the committed PTX of the kernel sources, embedded in the binary.

package kernels

import (
	"embed"
	"fmt"
)

//go:embed ptx/*.ptx
var ptxFiles embed.FS

// Modules lists the kernel sources, each compiled to ptx/NAME.ptx from NAME.cu.
func Modules() []string { return []string{"ensemble", "train", "sac", "rollout", "rng", "bench"} }

// PTX returns the embedded PTX of module name (one of Modules).
func PTX(name string) (string, error) {
	b, err := ptxFiles.ReadFile("ptx/" + name + ".ptx")
	if err != nil {
		return "", fmt.Errorf("kernels: no PTX for module %q (want one of %v): %w", name, Modules(), err)
	}
	return string(b), nil
}
