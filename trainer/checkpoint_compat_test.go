package trainer

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

var writeCheckpointV1 = flag.Bool("write-checkpoint-v1", false,
	"rewrite testdata/checkpoint_v1 from this build (only for an intended change of the checkpoint format, with a new version)")

// checkpointV1 is the run directory in testdata/checkpoint_v1: a tiny
// InvertedPendulum run stopped by a signal at env step 250, inside its third
// epoch of four, written by the build of the commit that added it (before the
// checkpoint format moved to package trainer/rundir/checkpoint).
// resumed_<kernels>.jsonl holds the rows that build wrote after resuming it,
// time columns aside.
const checkpointV1 = "testdata/checkpoint_v1"

func checkpointV1Config(t *testing.T) Config {
	t.Helper()
	c, err := PaperConfig("InvertedPendulum-v4")
	if err != nil {
		t.Fatal(err)
	}
	c.Steps, c.EpochLength, c.InitSteps, c.ReplaySize = 400, 100, 100, 1000
	c.G, c.Hidden, c.ModelHidden, c.EnsembleSize, c.Elites = 1, 8, 8, 3, 2
	c.ModelTrainFreq, c.RolloutBatch, c.ModelMaxEpochs, c.BatchSize, c.ModelBatch = 50, 40, 2, 32, 32
	c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 2, 20, 1
	c.Threads, c.TensorBoard = 1, false
	return c
}

// A checkpoint written by an earlier build resumes: the state restored from
// it, saved again, is the same bytes (the header's save time and wall clock
// aside), and the run goes on to write the rows that build wrote.
func TestCheckpointV1Resumes(t *testing.T) {
	eng := cpu.New(cpu.Options{Threads: 1})
	defer eng.Close()
	platform := strings.ToLower(eng.BLASCore())
	if *writeCheckpointV1 {
		writeCheckpointV1Data(t, platform)
	}
	dir := t.TempDir()
	files := []string{rundir.ConfigFile, rundir.MetricsJSONLFile, rundir.MetricsCSVFile, rundir.CheckpointFile}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(checkpointV1, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := Resume(dir, eng, 0, zerolog.Nop())
	if err != nil {
		t.Fatalf("resuming the checkpoint of an earlier build: %v", err)
	}
	defer tr.Close()
	if err := tr.SaveCheckpoint(); err != nil {
		t.Fatal(err)
	}
	old, err := os.ReadFile(filepath.Join(checkpointV1, rundir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	saved, err := os.ReadFile(filepath.Join(dir, rundir.CheckpointFile))
	if err != nil {
		t.Fatal(err)
	}
	oh, op := splitCheckpointV1(t, old)
	sh, sp := splitCheckpointV1(t, saved)
	// The earlier build kept no clocks of the epoch in progress: the
	// restored epoch's SAC updates are left out of its SAC rate, and its
	// clock starts at the resume.
	clocks := sh["epoch"].(map[string]any)["clocks"]
	if c, ok := clocks.(map[string]any); !ok || c["sac_untimed"] != sh["epoch"].(map[string]any)["sac_count"] || c["env_steps_at_start"] != 250.0 {
		t.Errorf("clocks of the restored epoch %v: want the updates so far untimed, the clock started at env step 250", clocks)
	}
	delete(sh["epoch"].(map[string]any), "clocks")
	if !reflect.DeepEqual(oh, sh) {
		t.Errorf("the restored state saves another header:\nearlier build %v\nthis build    %v", oh, sh)
	}
	if !bytes.Equal(op, sp) {
		t.Errorf("the restored state saves other sections (%d bytes, the earlier build's %d)", len(sp), len(op))
	}

	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	rows := readMetrics(t, dir)
	if len(rows) != 4 || rows[3].EnvSteps != 400 {
		t.Fatalf("%d rows after resuming, want 4, the last at env step 400", len(rows))
	}
	// The SAC rate of the resumed epoch divides only the updates its clock
	// timed, those after the resume (G = 1: one per env step).
	if m := rows[2]; !near64(m.SACUpdatesPerSec*m.TimeSAC, 50) {
		t.Errorf("resumed epoch: %g SAC updates/s over %g s is %g updates, want the 50 after the resume",
			m.SACUpdatesPerSec, m.TimeSAC, m.SACUpdatesPerSec*m.TimeSAC)
	}
	before := readMetrics(t, checkpointV1)
	var got bytes.Buffer
	for i, m := range rows {
		b, _ := json.Marshal(learningFields(m))
		if i < len(before) {
			if a, _ := json.Marshal(learningFields(before[i])); !bytes.Equal(a, b) {
				t.Errorf("row %d, written before the checkpoint, changed on resuming:\nbefore %s\nafter  %s", i+1, a, b)
			}
			continue
		}
		got.Write(append(b, '\n'))
	}
	path := filepath.Join(checkpointV1, "resumed_"+platform+".jsonl")
	want, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		t.Skipf("no rows of the earlier build for OpenBLAS kernels %q (%s) to compare the resumed run with", platform, path)
	} else if err != nil {
		t.Fatal(err)
	}
	if !sameWrittenFields(got.String(), string(want)) {
		t.Errorf("the resumed run's rows differ from the earlier build's (%s) in the metrics it wrote:\ngot\n%s\nwant\n%s", path, got.String(), want)
	}
}

// sameWrittenFields reports whether the JSON lines got and want have as
// many rows and every metric of a want row has the same value in got's:
// metrics added since the earlier build wrote want (got has more keys) do
// not count.
func sameWrittenFields(got, want string) bool {
	g, w := strings.Split(strings.TrimSpace(got), "\n"), strings.Split(strings.TrimSpace(want), "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range w {
		var gm, wm map[string]json.RawMessage
		if json.Unmarshal([]byte(g[i]), &gm) != nil || json.Unmarshal([]byte(w[i]), &wm) != nil {
			return false
		}
		for k, v := range wm {
			if !bytes.Equal(gm[k], v) {
				return false
			}
		}
	}
	return true
}

// splitCheckpointV1 parses a version-1 checkpoint by its layout, "MBPOCKPT" |
// u32 version | u64 header length | JSON header | sections | u32 CRC-32: it
// returns the header without the fields that a save at another moment
// changes, and the sections' bytes.
func splitCheckpointV1(t *testing.T, b []byte) (map[string]any, []byte) {
	t.Helper()
	if len(b) < 24 || string(b[:8]) != "MBPOCKPT" || binary.LittleEndian.Uint32(b[8:]) != 1 {
		t.Fatalf("not a version 1 checkpoint")
	}
	n := binary.LittleEndian.Uint64(b[12:])
	var h map[string]any
	if err := json.Unmarshal(b[20:20+n], &h); err != nil {
		t.Fatal(err)
	}
	delete(h, "saved")
	delete(h, "wall_s")
	return h, b[20+n : len(b)-4]
}

// writeCheckpointV1Data writes testdata/checkpoint_v1 with this build.
func writeCheckpointV1Data(t *testing.T, platform string) {
	c := checkpointV1Config(t)
	dir := t.TempDir()
	tr, err := New(c, newEngine(t), dir, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	err = tr.Run(ctx, Hooks{Step: func(done, total int) {
		if done == 250 {
			cancel()
		}
	}})
	tr.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(checkpointV1, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{rundir.ConfigFile, rundir.MetricsJSONLFile, rundir.MetricsCSVFile, rundir.CheckpointFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(checkpointV1, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	before := len(readMetrics(t, dir))
	tr, err = Resume(dir, newEngine(t), 0, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Run(context.Background(), Hooks{}); err != nil {
		t.Fatal(err)
	}
	var rows bytes.Buffer
	for _, m := range readMetrics(t, dir)[before:] {
		b, _ := json.Marshal(learningFields(m))
		rows.Write(append(b, '\n'))
	}
	if err := os.WriteFile(filepath.Join(checkpointV1, "resumed_"+platform+".jsonl"), rows.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", checkpointV1)
}
