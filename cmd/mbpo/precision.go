// precision.go: --precision (fp32 or bf16) where the commands need more than
// the flag itself: whether the engine can run it here, and what --resume
// allows.

package main

import (
	"flag"
	"fmt"

	"github.com/mbpogo/mbpo/engine"
)

// checkPrecision reports, before any work, an engine that cannot run
// precision p on this machine: bf16 needs the CPU engine, oneDNN and a
// processor with bf16 instructions, and the error says which is missing.
func checkPrecision(eng engine.Engine, p string) error {
	if engine.Precision(p).OrFP32() == engine.FP32 {
		return nil
	}
	if c, ok := eng.(interface{ CheckPrecision(engine.Precision) error }); ok {
		if err := c.CheckPrecision(engine.Precision(p)); err != nil {
			return fmt.Errorf("--precision %s: %w", p, err)
		}
		return nil
	}
	return fmt.Errorf("--precision %s: the %s engine multiplies in fp32 only; %s runs on the CPU engine (--device cpu)", p, eng.Name(), p)
}

// resumePrecision checks --precision and --change-precision of a train
// command: with --resume, a precision other than the run's (saved) needs
// --change-precision, since the run then no longer repeats an uninterrupted
// one; it returns the precision to change to ("" for none). Without
// --resume, --change-precision is an error.
func resumePrecision(fs *flag.FlagSet, resume bool, precision, saved string, change bool) (string, error) {
	switch {
	case !resume && change:
		return "", usagef("--change-precision goes with --resume DIR: a new run takes --precision alone")
	case !resume || !flagSet(fs, "precision") || precision == saved:
		return "", nil
	case precision != "fp32" && precision != "bf16":
		return "", usagef("--precision %q: want fp32 or bf16", precision)
	case !change:
		return "", usagef("--precision %s: the run computes in %s, and resuming in another precision changes its results: add --change-precision to do so", precision, saved)
	}
	return precision, nil
}
