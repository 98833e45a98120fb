// Command mbpo trains and benchmarks Model-Based Policy Optimization (MBPO,
// Janner et al. 2019) on MuJoCo, on the CPU or on an NVIDIA GPU.
//
// Usage:
//
//	mbpo COMMAND [flags] [args]
//
// Run "mbpo help" for the commands and "mbpo COMMAND -h" for each one's flags.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// command is one subcommand of mbpo.
type command struct {
	name  string
	args  string // the usage line after "mbpo NAME"
	short string // one line for "mbpo help"
	run   func(a *app, args []string) error
}

// commands lists every subcommand, in the order "mbpo help" shows them.
func commands() []command {
	return []command{
		{"train", "[flags]", "train MBPO (or SAC) on one environment; --resume continues a run", runTrain},
		{"eval", "[flags] RUN_DIR", "evaluate the policy of a run's checkpoint", runEval},
		{"envs", "", "list the benchmark environments", runEnvs},
		{"sweep", "[flags]", "train a grid of envs × ablations × seeds, resumable; or emit it as a Slurm or Kubernetes job", runSweep},
		{"report", "[flags] DIR", "learning curves and tables of a sweep's (or any) runs, beside the paper's results", runReport},
		{"analyze", "WHAT [flags] RUN_DIR", "a run's analyses: compounding-error, exploitation, buffers", runAnalyze},
		{"export", "[flags] RUN_DIR", "write a run's networks as safetensors (all of them) or ONNX (the policy)", runExport},
		{"pack", "SRC DEST", "copy runs as small resumable run directories (checkpoint less the model buffer) to commit or move", runPack},
		{"bench", "WHAT [flags]", "measure throughput (" + strings.Join(benchNames(), ", ") + ")", runBench},
	}
}

// app carries what every command shares: output streams and the exit path.
type app struct {
	stdout, stderr io.Writer
	// checkOnly makes every command stop, successfully, once its command
	// line is checked, before it writes anything or starts its work (the
	// test of the README's command lines).
	checkOnly bool
	// terminal reports whether w is an interactive terminal, and openTTY
	// opens the controlling terminal (tests replace both).
	terminal func(w io.Writer) bool
	openTTY  func() (io.WriteCloser, error)
}

func newApp(stdout, stderr io.Writer) *app {
	return &app{stdout: stdout, stderr: stderr, terminal: isTerminal, openTTY: openTTY}
}

// The exit statuses of mbpo.
const (
	exitOK          = 0
	exitFailed      = 1 // the work failed
	exitUsage       = 2 // the command line was wrong; nothing was written
	exitInterrupted = 3 // stopped (Ctrl-C, SIGTERM) before its end, checkpoint saved: run it again to resume
)

// usageError marks a misuse of the command line: mbpo exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// interruptedError marks work stopped by a signal before its end, with a
// checkpoint saved: mbpo exits with status 3.
type interruptedError struct{ msg string }

func (e interruptedError) Error() string { return e.msg }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one mbpo command line and returns the process exit status:
// 0 when the work is done, 1 when it failed, 2 when the command line was
// wrong (nothing was written), 3 when a signal stopped it before its end
// (a checkpoint was saved: the same command, or train --resume, goes on).
func run(args []string, stdout, stderr io.Writer) int {
	return newApp(stdout, stderr).run(args)
}

func (a *app) run(args []string) int {
	stdout, stderr := a.stdout, a.stderr
	if len(args) == 0 {
		a.printHelp(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return a.run([]string{rest[0], "-h"})
		}
		a.printHelp(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(a, rest)
			var ue usageError
			var ie interruptedError
			switch {
			case err == nil:
				return exitOK
			case errors.Is(err, flag.ErrHelp), errors.Is(err, errChecked):
				return exitOK
			case errors.As(err, &ue):
				fmt.Fprintf(stderr, "mbpo %s: %v\nRun 'mbpo %s -h' for usage.\n", name, err, name)
				return exitUsage
			case errors.As(err, &ie):
				fmt.Fprintf(stderr, "mbpo %s: %v\n", name, err)
				return exitInterrupted
			default:
				fmt.Fprintf(stderr, "mbpo %s: %v\n", name, err)
				return exitFailed
			}
		}
	}
	fmt.Fprintf(stderr, "mbpo: unknown command %q\nRun 'mbpo help' for usage.\n", name)
	return 2
}

func (a *app) printHelp(w io.Writer) {
	fmt.Fprint(w, "mbpo trains and benchmarks Model-Based Policy Optimization on MuJoCo.\n\nUsage:\n\n\tmbpo COMMAND [flags] [args]\n\nCommands:\n\n")
	cs := commands()
	width := 0
	for _, c := range cs {
		width = max(width, len(c.name))
	}
	for _, c := range cs {
		fmt.Fprintf(w, "\t%-*s  %s\n", width, c.name, c.short)
	}
	fmt.Fprint(w, "\nRun 'mbpo COMMAND -h' for the flags of a command. Flags may come before or after\n"+
		"a command's arguments (a lone -- ends the flags).\n\n"+
		"Exit status: 0 the work is done; 1 it failed; 2 the command line was wrong (nothing\n"+
		"was written); 3 a signal (Ctrl-C, SIGTERM) stopped it before its end, after saving a\n"+
		"checkpoint: the same command (or mbpo train --resume) goes on from there.\n")
}

// checkOnlyMark ends the name of a flag set made in check-only mode.
const checkOnlyMark = " (check only)"

// errChecked stops a command in check-only mode once its command line is
// parsed: mbpo exits with status 0.
var errChecked = errors.New("command line checked")

// newFlags returns a flag set for command name that reports errors (and -h)
// to the caller instead of exiting, and prints usage to a.stderr.
func (a *app) newFlags(name, args, about string) *flag.FlagSet {
	if a.checkOnly {
		name += checkOnlyMark
	}
	fs := flag.NewFlagSet("mbpo "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: mbpo %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs, turning a flag error into a usageError.
// Flags may come after positional arguments too ("mbpo eval DIR
// --episodes 20"); after a lone "--" every argument is positional.
// fs.Args() then holds the positional arguments in order. In check-only
// mode it then stops the command (errChecked); commands that check more
// after parsing call parseArgs and stop themselves.
func parse(fs *flag.FlagSet, args []string) error {
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if strings.HasSuffix(fs.Name(), checkOnlyMark) {
		return errChecked
	}
	return nil
}

// parseArgs is parse without the check-only stop.
func parseArgs(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return err
			}
			return usageError{err.Error()}
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			pos = append(pos, rest...) // Parse stopped at "--"
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	// Leave the positional arguments in fs.Args(): Parse stops at "--".
	return fs.Parse(append([]string{"--"}, pos...))
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
