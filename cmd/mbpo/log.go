package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// logFlags are the logging flags every long-running command takes.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "console", "log output: console (readable, coloured on a terminal) or json (one object per line)")
	fs.StringVar(&l.level, "log-level", "info", "least severe level logged: debug, info, warn or error")
}

// logger builds the zerolog logger the flags ask for, writing to w.
func (l *logFlags) logger(w io.Writer) (zerolog.Logger, error) {
	level := zerolog.InfoLevel
	if l.level != "" {
		var err error
		if level, err = zerolog.ParseLevel(l.level); err != nil || level < zerolog.DebugLevel || level > zerolog.ErrorLevel {
			return zerolog.Nop(), usagef("--log-level %q: want debug, info, warn or error", l.level)
		}
	}
	switch l.format {
	case "json":
		return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
	case "console":
		cw := zerolog.ConsoleWriter{Out: w, NoColor: !isTerminal(w), TimeFormat: time.TimeOnly, FieldsOrder: epochFields}
		return zerolog.New(cw).Level(level).With().Timestamp().Logger(), nil
	}
	return zerolog.Nop(), usagef("--log-format %q: want console or json", l.format)
}

// progressOutput returns where a command's live progress (the train bar,
// the sweep table) goes, or nil for nowhere, and a function to call when done.
// On a console log it goes to stderr when that is a terminal. A JSON log
// must hold JSON lines only: the progress then goes to the controlling
// terminal when stderr is not it (logs redirected to a file), and nowhere
// when stderr is the terminal.
func (a *app) progressOutput(l logFlags) (io.Writer, func()) {
	if l.format != "json" {
		if a.terminal(a.stderr) {
			return a.stderr, func() {}
		}
		return nil, func() {}
	}
	if a.terminal(a.stderr) {
		return nil, func() {}
	}
	tty, err := a.openTTY()
	if err != nil {
		return nil, func() {}
	}
	return tty, func() { tty.Close() }
}

// openTTY opens the controlling terminal for writing.
func openTTY() (io.WriteCloser, error) {
	f, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if !isatty.IsTerminal(f.Fd()) {
		f.Close()
		return nil, fmt.Errorf("/dev/tty is not a terminal")
	}
	return f, nil
}

// epochFields orders the fields of an epoch's line (logEpoch) on the
// console; other fields follow, by name.
var epochFields = []string{"epoch", "env_steps", "timesteps", "eval_return", "eval_return_std", "train_return",
	"model_return", "real_return", "q_loss", "alpha", "entropy", "model_mse", "model_epochs", "k", "model_buffer",
	"steps_per_s", "env_s", "model_s", "rollout_s", "sac_s", "eval_s"}

// isTerminal reports whether w is an interactive terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// human formats a rate like 12.3k or 4.56M.
func human(x float64) string {
	switch {
	case x >= 1e9:
		return fmt.Sprintf("%.2fG", x/1e9)
	case x >= 1e6:
		return fmt.Sprintf("%.2fM", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1fk", x/1e3)
	}
	return fmt.Sprintf("%.1f", x)
}
