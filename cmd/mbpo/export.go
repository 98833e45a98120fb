// export.go: "mbpo export", a run's networks as safetensors and ONNX files
// (trainer/export).

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/mbpogo/mbpo/trainer/export"
)

const exportAbout = `Writes the networks of a run's checkpoint in formats other tools load, into
--out (default RUN_DIR/export):

  safetensors  networks.safetensors: the policy, both critics and their
               targets, log alpha, the action range, and for MBPO every
               ensemble member, the input normaliser, the log-variance bounds
               and the elites; the run's config in the metadata. Weights are
               [out, in] as torch.nn.Linear keeps them.
  onnx         policy.onnx: the deterministic policy, opset 13 (IR version 7),
               "obs" [N, obs_dim] in, "action" [N, act_dim] in the env's
               range out (tanh and scaling included).

The tensor names and shapes are in the README ("Weights other tools load").`

func runExport(a *app, args []string) error {
	fs := a.newFlags("export", "[flags] RUN_DIR", exportAbout)
	format := fs.String("format", "safetensors", "what to write: "+strings.Join(export.Formats(), ", ")+", or several separated by commas")
	out := fs.String("out", "", "output directory (default RUN_DIR/export)")
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("want exactly one RUN_DIR, got %d arguments", fs.NArg())
	}
	var formats []string
	for _, f := range strings.Split(*format, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(export.Formats(), f) {
			return usagef("--format %q: want %s, or several separated by commas", f, strings.Join(export.Formats(), " or "))
		}
		if !slices.Contains(formats, f) {
			formats = append(formats, f)
		}
	}
	if a.checkOnly {
		return nil
	}
	dir := *out
	if dir == "" {
		dir = filepath.Join(fs.Arg(0), "export")
	}
	paths, err := export.Write(fs.Arg(0), formats, dir)
	for _, p := range paths {
		if st, serr := os.Stat(p); serr == nil {
			fmt.Fprintf(a.stdout, "%s (%d bytes)\n", p, st.Size())
		}
	}
	return err
}
