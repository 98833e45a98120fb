// rundir_test.go: what mbpo promises about a run directory and its command
// lines, end to end: a run is never overwritten, --resume takes only
// --steps, a signal stops a run that then resumes to the same metrics (exit
// status 3), JSON logs hold JSON only, bad flags write nothing, and every
// command line of the README parses.

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/mbpogo/mbpo/trainer"
)

// TestMain lets a test run this binary as mbpo (MBPO_TEST_MAIN=1), so that
// it can send it signals.
func TestMain(m *testing.M) {
	if os.Getenv("MBPO_TEST_MAIN") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// files reads every file of dir.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		out[e.Name()] = string(b)
	}
	return out
}

func equalFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// learningRows reads a run's metrics without the columns that measure time.
func learningRows(t *testing.T, dir string) []string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := trainer.ReadMetrics(f, "metrics.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range rows {
		m.WallSec, m.TimeEnv, m.TimeModel, m.TimeRollout, m.TimeSAC, m.TimeEval = 0, 0, 0, 0, 0, 0
		m.EnvStepsPerSec, m.SACUpdatesPerSec, m.ModelStepsPerSec, m.ModelTrainRowsPerS = 0, 0, 0, 0
		b, _ := json.Marshal(m)
		out = append(out, string(b))
	}
	return out
}

func TestTrainNeverOverwritesARun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, stderr := runMbpo(append([]string{"train", "--run-dir", dir}, tinyTrain()...)...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	before := files(t, dir)
	code, _, stderr := runMbpo(append([]string{"train", "--run-dir", dir, "--seed", "5"}, tinyTrain()...)...)
	if code != 1 || !strings.Contains(stderr, dir+" already holds a run") || !strings.Contains(stderr, "mbpo train --resume "+dir) ||
		!strings.Contains(stderr, "--overwrite") {
		t.Errorf("train into a run directory: exit %d, %q; want exit 1 naming the directory, --resume and --overwrite", code, stderr)
	}
	if !equalFiles(before, files(t, dir)) {
		t.Errorf("the refused train changed the run directory")
	}
	code, _, stderr = runMbpo(append([]string{"train", "--run-dir", dir, "--seed", "5", "--overwrite"}, tinyTrain()...)...)
	if code != 0 {
		t.Fatalf("train --overwrite: exit %d\n%s", code, stderr)
	}
	cfg, err := trainer.ReadConfig(dir)
	if err != nil || cfg.Seed != 5 || len(learningRows(t, dir)) != 2 {
		t.Errorf("after --overwrite: seed %d, %d rows, %v; want the new run's 2 rows only", cfg.Seed, len(learningRows(t, dir)), err)
	}

	// --resume takes no setting but --steps, and writes nothing otherwise.
	before = files(t, dir)
	other := filepath.Join(t.TempDir(), "other")
	code, _, stderr = runMbpo("train", "--resume", dir, "--G", "3", "--hidden", "8", "--env", "Hopper-v4", "--run-dir", other)
	if code != 2 || !strings.Contains(stderr, "--G, --env, --hidden, --run-dir: --resume continues a run with its own settings (only --steps, --threads, --checkpoint-every, --checkpoint-model-buffer-mib, and --precision with --change-precision may change)") {
		t.Errorf("resume with other flags: exit %d, %q", code, stderr)
	}
	if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) || !equalFiles(before, files(t, dir)) {
		t.Errorf("the refused resume wrote something")
	}
	// Flags after the run directory, as the README writes eval.
	if code, stdout, stderr := runMbpo("eval", dir, "--episodes", "2", "--log-level", "warn"); code != 0 || !strings.Contains(stdout, "2 episodes") {
		t.Errorf("eval DIR --episodes 2: exit %d\n%s%s", code, stdout, stderr)
	}
}

// A signal stops a run inside an epoch with a checkpoint and exit status 3;
// --resume then writes the same metrics as a run never stopped.
func TestSignalStopsAndResumeRepeatsTheRun(t *testing.T) {
	args := append(tinyTrain(), "--steps", "900", "--checkpoint-every", "1", "--log-format", "json", "--log-level", "debug")
	whole := filepath.Join(t.TempDir(), "whole")
	if code, _, stderr := runMbpo(append([]string{"train", "--run-dir", whole}, args...)...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	want := learningRows(t, whole)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "run")
			cmd := exec.Command(os.Args[0], append([]string{"train", "--run-dir", dir}, args...)...)
			cmd.Env = append(os.Environ(), "MBPO_TEST_MAIN=1")
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			sc := bufio.NewScanner(stderr)
			signalled := false
			for sc.Scan() {
				log.WriteString(sc.Text() + "\n")
				// The second epoch's first retrain, at 450 steps: mid-epoch.
				if !signalled && strings.Contains(sc.Text(), `"env_steps":450`) && strings.Contains(sc.Text(), "model retrained") {
					cmd.Process.Signal(sig)
					signalled = true
				}
			}
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(log.String(), "continue with: mbpo train --resume "+dir) {
				t.Fatalf("stopped by %v: %v; want exit status 3 and how to resume\n%s", sig, err, log.String())
			}
			steps, err := trainer.CheckpointEnvSteps(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v stopped the run at env step %d", sig, steps)
			if steps%300 == 0 {
				t.Errorf("the stop at env step %d is not inside an epoch", steps)
			}
			if code, _, stderr := runMbpo("train", "--resume", dir, "--log-level", "warn"); code != 0 {
				t.Fatalf("resume: exit %d\n%s", code, stderr)
			}
			got := learningRows(t, dir)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("resumed run's metrics differ from the uninterrupted run's:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// jsonKeys returns the keys of one JSON object in order, or an error.
func jsonKeys(line string) ([]string, map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, errors.New("not an object")
	}
	var keys []string
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		keys = append(keys, k.(string))
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
	}
	var m map[string]any
	err := json.Unmarshal([]byte(line), &m)
	return keys, m, err
}

// fakeTTY is a controlling terminal for tests.
type fakeTTY struct{ bytes.Buffer }

func (*fakeTTY) Close() error { return nil }

// --log-format json writes JSON objects only, one key per field and
// numbers as numbers; the progress bar goes to the terminal, never into
// the JSON stream.
func TestJSONLogsHoldJSONOnly(t *testing.T) {
	for _, stderrIsTerminal := range []bool{true, false} {
		var stdout, stderr bytes.Buffer
		tty := &fakeTTY{}
		a := newApp(&stdout, &stderr)
		a.terminal = func(w io.Writer) bool { return stderrIsTerminal && w == io.Writer(&stderr) }
		a.openTTY = func() (io.WriteCloser, error) { return tty, nil }
		dir := filepath.Join(t.TempDir(), "run")
		if code := a.run(append([]string{"train", "--run-dir", dir, "--log-format", "json"}, tinyTrain()...)); code != 0 {
			t.Fatalf("train: exit %d\n%s", code, stderr.String())
		}
		epochs := 0
		for _, line := range strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n") {
			keys, m, err := jsonKeys(line)
			if err != nil {
				t.Fatalf("stderr is a terminal %v: a line that is not a JSON object: %q (%v)", stderrIsTerminal, line, err)
			}
			seen := map[string]bool{}
			for _, k := range keys {
				if seen[k] {
					t.Errorf("key %q twice in %s", k, line)
				}
				seen[k] = true
			}
			if m["message"] != "epoch" {
				continue
			}
			epochs++
			for k, v := range m {
				if _, ok := v.(float64); !ok && k != "level" && k != "message" && k != "time" {
					t.Errorf("%s is %T (%v), want a JSON number: %s", k, v, v, line)
				}
			}
			if _, ok := m["q_loss"]; !ok && epochs == 2 {
				t.Errorf("the second epoch's line lacks q_loss: %s", line)
			}
		}
		if epochs != 2 {
			t.Errorf("%d epoch lines, want 2", epochs)
		}
		if bar := tty.String(); stderrIsTerminal == strings.Contains(bar, "ETA") {
			t.Errorf("stderr a terminal %v: the terminal got %q; want the bar there only when the JSON goes elsewhere", stderrIsTerminal, bar)
		}
	}
}

// Bad flag values are exit status 2 naming the flag, before anything is
// written.
func TestBadFlagsWriteNothing(t *testing.T) {
	tmp := t.TempDir()
	out := filepath.Join(tmp, "out")
	sweep := []string{"sweep", "--envs", "InvertedPendulum-v4", "--ablations", "none", "--seeds", "0", "--out", out}
	tests := []struct {
		args []string
		want string
	}{
		{append(sweep, "--device", "bogus"), `--device "bogus"`},
		{append(sweep, "--cell", "-7"), "--cell -7"},
		{append(sweep, "--threads", "-1"), "--threads -1"},
		{append(sweep, "--status-every", "-1s"), "--status-every -1s"},
		{append(sweep, "--emit", "slurm", "--time", "bogus"), `--time "bogus"`},
		{append(sweep, "--emit", "slurm", "--cpus", "0"), "--cpus 0"},
		{append(sweep, "--emit", "k8s", "--cpus", "0"), "--cpus 0"},
		{append(sweep, "--emit", "k8s", "--image-pull-policy", "Sometimes"), "--image-pull-policy"},
		{append(sweep, "--emit", "slurm", "--threads", "2", "--cpus", "4"), "--threads 2 and --cpus 4"},
		{append(sweep, "--set", "init-steps=99999", "--steps", "1000"), "--init-steps 99999"},
		{[]string{"train", "--run-dir", out, "--threads", "-1"}, "--threads -1"},
		{[]string{"train", "--run-dir", out, "--init-steps", "99999", "--steps", "1000"}, "--init-steps 99999: want fewer than --steps 1000"},
		{[]string{"train", "--run-dir", out, "--repair-metrics"}, "--repair-metrics goes with --resume"},
		{[]string{"train", "--run-dir", out, "--env", "InvertedPendulum-v4", "--real-ratio", "1.5"}, "--real-ratio 1.5: want within [0, 1]"},
	}
	for _, tt := range tests {
		code, _, stderr := runMbpo(tt.args...)
		if code != 2 || !strings.Contains(stderr, tt.want) {
			t.Errorf("mbpo %s: exit %d, %q; want exit 2 naming %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
		if strings.Contains(tt.want, "--real-ratio") && strings.Count(stderr, "--real-ratio") != 1 {
			t.Errorf("one bad --real-ratio, %d errors:\n%s", strings.Count(stderr, "--real-ratio"), stderr)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("mbpo %s wrote %s", strings.Join(tt.args, " "), out)
		}
	}
}

// shellWords splits a command line as a shell would, for the README's
// plain lines: words, '...' and "..." quotes, a # comment.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	in, quote, inWord := false, byte(0), false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case in && c == quote:
			in = false
		case in:
			w.WriteByte(c)
		case c == '\'' || c == '"':
			in, quote, inWord = true, c, true
		case c == '#' && !inWord:
			i = len(s)
		case c == ' ' || c == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		default:
			w.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// readmeCommands returns the mbpo command lines of README.md: the lines of
// its code blocks that start with mbpo (or docker run ... mbpo), and its
// inline `mbpo ...` spans, as argument lists (without "mbpo").
func readmeCommands(t *testing.T) [][]string {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds [][]string
	add := func(words []string) {
		for i, w := range words {
			if w == "mbpo" && (i == 0 || words[0] == "docker") {
				cmds = append(cmds, words[i+1:])
				return
			}
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		trim := strings.TrimSpace(line)
		if strings.HasPrefix(line, "    ") && (strings.HasPrefix(trim, "mbpo ") || strings.HasPrefix(trim, "docker run ")) {
			add(shellWords(trim))
		}
	}
	for _, m := range regexp.MustCompile("`(mbpo [^`]*)`").FindAllStringSubmatch(string(b), -1) {
		if !strings.Contains(m[1], " | ") { // "mbpo bench gpu | rollout | ...": a list, not a command
			add(shellWords(m[1]))
		}
	}
	return cmds
}

// Every mbpo command line of the README is accepted: run in check-only
// mode, each parses and passes its command's checks (stopping before it
// writes anything or starts its work). Placeholders stand for values: S and
// i for a number, GRID for a sweep file, DIR for a directory.
func TestEveryREADMECommandLineParses(t *testing.T) {
	cmds := readmeCommands(t)
	if len(cmds) < 20 {
		t.Fatalf("found %d command lines in README.md, want the 20 and more it has", len(cmds))
	}
	dir := t.TempDir()
	t.Chdir(dir)
	os.WriteFile("sweep.yaml", []byte("preset: ablations\nseeds: 0-1\n"), 0o644)
	placeholders := map[string]string{"S": "0", "i": "0", "GRID": "sweep.yaml", "DIR": "runs/sweep", "RUN_DIR": "runs/run"}
	for _, args := range cmds {
		for i, w := range args {
			if v, ok := placeholders[w]; ok {
				args[i] = v
			}
		}
		var stdout, stderr bytes.Buffer
		a := newApp(&stdout, &stderr)
		a.checkOnly = true
		if code := a.run(args); code != 0 {
			t.Errorf("mbpo %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("checking the README's command lines wrote %d files, want none", len(entries)-1)
	}
}

// A sweep stopped by a signal exits with status 3, as train does, and the
// same command then finishes it.
func TestInterruptedSweepExitsThree(t *testing.T) {
	out := filepath.Join(t.TempDir(), "sweep")
	args := append(tinySweep(out), "--log-level", "info", "--log-format", "json", "--seeds", "0", "--parallel", "1")
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MBPO_TEST_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	sc := bufio.NewScanner(stderr)
	signalled := false
	for sc.Scan() {
		log.WriteString(sc.Text() + "\n")
		if !signalled && strings.Contains(sc.Text(), "starting cell") {
			cmd.Process.Signal(syscall.SIGINT)
			signalled = true
		}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted || !strings.Contains(log.String(), "re-run the same command to resume") {
		t.Fatalf("interrupted sweep: %v; want exit status 3\n%s", err, log.String())
	}
	if code, stdout, stderr := runMbpo(append(tinySweep(out), "--seeds", "0", "--parallel", "1")...); code != 0 || !strings.Contains(stdout, "1 done now") {
		t.Errorf("re-run: exit %d\n%s%s", code, stdout, stderr)
	}
}

// --threads and the checkpoint settings may change on resume, and the
// resumed run repeats, bitwise, a run made on one thread throughout: results
// depend on neither.
func TestResumeOnAnotherThreadCount(t *testing.T) {
	args := append(tinyTrain(), "--checkpoint-every", "1", "--log-level", "warn")
	whole := filepath.Join(t.TempDir(), "whole")
	if code, _, stderr := runMbpo(append(append([]string{"train", "--run-dir", whole}, args...), "--steps", "900", "--threads", "1")...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	dir := filepath.Join(t.TempDir(), "split")
	if code, _, stderr := runMbpo(append(append([]string{"train", "--run-dir", dir}, args...), "--threads", "1")...); code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runMbpo("train", "--resume", dir, "--steps", "900", "--threads", "2", "--log-level", "warn",
		"--checkpoint-every", "2", "--checkpoint-model-buffer-mib", "64"); code != 0 {
		t.Fatalf("resume --threads 2 --checkpoint-every 2 --checkpoint-model-buffer-mib 64: exit %d\n%s", code, stderr)
	}
	if c, err := trainer.ReadConfig(dir); err != nil || c.CheckpointEvery != 2 || c.CheckpointModelBufferMiB != 64 {
		t.Errorf("after the resume: checkpoint-every %d, cap %d MiB, %v; want 2 and 64", c.CheckpointEvery, c.CheckpointModelBufferMiB, err)
	}
	a, b := learningRows(t, whole), learningRows(t, dir)
	if len(a) != 3 || !slices.Equal(a, b) {
		t.Errorf("resumed on 2 threads:\n%s\nwhole run on 1 thread:\n%s", strings.Join(b, "\n"), strings.Join(a, "\n"))
	}
}
