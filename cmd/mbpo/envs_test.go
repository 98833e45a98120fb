// envs_test.go checks "mbpo envs" and "mbpo bench env" end to end: output,
// exit statuses and usage errors.

package main

import (
	"bytes"
	"strings"
	"testing"
)

func runMbpo(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestEnvsListsEveryEnvironment(t *testing.T) {
	code, out, errs := runMbpo("envs")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, row := range [][]string{
		{"Hopper-v4", "11", "3", "4", "0.008", "[-1, 1]", "1000", "hopper.xml"},
		{"Humanoid-v4", "376", "17", "5", "0.015", "[-0.4, 0.4]", "1000", "humanoid.xml"},
		{"HumanoidTruncatedObs-v4", "45", "17", "5"},
		{"InvertedPendulum-v4", "4", "1", "2", "0.04", "[-3, 3]"},
	} {
		found := false
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) > 0 && f[0] == row[0] {
				found = strings.HasPrefix(strings.Join(f, " "), strings.Join(row, " "))
			}
		}
		if !found {
			t.Errorf("no line %q in\n%s", strings.Join(row, " "), out)
		}
	}
	if code, _, errs := runMbpo("envs", "extra"); code != 2 || !strings.Contains(errs, "no arguments") {
		t.Errorf("envs extra: exit %d, stderr %q; want 2 and a usage error", code, errs)
	}
}

func TestBenchEnvUsageErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--env", "Hopper-v9"}, "valid ids: Ant-v4"},
		{[]string{"--num-envs", "0"}, "--num-envs 0"},
		{[]string{"--steps", "10", "--num-envs", "64"}, "--steps 10"},
		{[]string{"--workers", "0"}, "--workers 0"},
		{[]string{"--repeat", "0"}, "--repeat 0"},
		{[]string{"--log-format", "xml"}, "--log-format"},
		{[]string{"--bogus"}, "bogus"},
	} {
		code, out, errs := runMbpo(append([]string{"bench", "env"}, c.args...)...)
		if code != 2 || !strings.Contains(errs, c.want) || out != "" {
			t.Errorf("bench env %v: exit %d, stdout %q, stderr %q; want 2 and %q", c.args, code, out, errs, c.want)
		}
	}
}

func TestBenchEnvPrintsTheTable(t *testing.T) {
	code, out, errs := runMbpo("bench", "env", "--env", "InvertedPendulum-v4", "--num-envs", "2", "--steps", "40",
		"--workers", "2", "--repeat", "1", "--log-format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"InvertedPendulum-v4: 2 envs, 40 env steps", "frame_skip 2", "mj_step/s", "workers", "ratio", "raw on W threads"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	table, _, _ := strings.Cut(out[strings.Index(out, "workers"):], "\n\n")
	if rows := strings.Split(table, "\n"); len(rows) != 3 || len(strings.Fields(rows[1])) != 8 || len(strings.Fields(rows[2])) != 8 {
		t.Errorf("want a header and 2 worker rows of 8 figures:\n%s", out)
	}
	if !strings.Contains(errs, `"message":"raw physics"`) {
		t.Errorf("no JSON log line for the raw physics measurement in %q", errs)
	}
}

func TestBenchEnvMeasuresAtMostOneWorkerPerEnv(t *testing.T) {
	code, out, errs := runMbpo("bench", "env", "--env", "InvertedPendulum-v4", "--num-envs", "1", "--steps", "20",
		"--workers", "3", "--repeat", "1", "--log-format", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	table, _, _ := strings.Cut(out[strings.Index(out, "workers"):], "\n\n")
	if rows := strings.Split(table, "\n"); len(rows) != 2 || strings.Fields(rows[1])[0] != "1" {
		t.Errorf("one env, --workers 3: want the 1-worker row only:\n%s", out)
	}
	if !strings.Contains(errs, "at most one worker per environment") {
		t.Errorf("no warning that --workers was capped in %q", errs)
	}
}
