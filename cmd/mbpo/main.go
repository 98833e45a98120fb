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
		{"analyze", "WHAT [flags] RUN_DIR", "the paper's analyses of a run: compounding-error, exploitation", runAnalyze},
		{"bench", "WHAT [flags]", "measure throughput (" + strings.Join(benchNames(), ", ") + ")", runBench},
	}
}

// app carries what every command shares: output streams and the exit path.
type app struct {
	stdout, stderr io.Writer
}

// usageError marks a misuse of the command line: mbpo exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run executes one mbpo command line and returns the process exit status:
// 0 on success, 1 when the work failed, 2 when the command line was wrong.
func run(args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	if len(args) == 0 {
		a.printHelp(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) > 0 {
			return run([]string{rest[0], "-h"}, stdout, stderr)
		}
		a.printHelp(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == name {
			err := c.run(a, rest)
			var ue usageError
			switch {
			case err == nil:
				return 0
			case errors.Is(err, flag.ErrHelp):
				return 0
			case errors.As(err, &ue):
				fmt.Fprintf(stderr, "mbpo %s: %v\nRun 'mbpo %s -h' for usage.\n", name, err, name)
				return 2
			default:
				fmt.Fprintf(stderr, "mbpo %s: %v\n", name, err)
				return 1
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
	fmt.Fprint(w, "\nRun 'mbpo COMMAND -h' for the flags of a command.\n")
}

// newFlags returns a flag set for command name that reports errors (and -h)
// to the caller instead of exiting, and prints usage to a.stderr.
func (a *app) newFlags(name, args, about string) *flag.FlagSet {
	fs := flag.NewFlagSet("mbpo "+name, flag.ContinueOnError)
	fs.SetOutput(a.stderr)
	fs.Usage = func() {
		fmt.Fprintf(a.stderr, "Usage: mbpo %s %s\n\n%s\n\nFlags:\n", name, args, about)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args into fs, turning a flag error into a usageError.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	return nil
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
