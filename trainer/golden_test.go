package trainer

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine/cpu"
)

var updateGolden = flag.Bool("update-golden", false, "rewrite testdata/golden_*.jsonl from this build (only for an intended change of the numbers)")

// TestGoldenRuns pins the numbers: a short Hopper run and a short
// InvertedPendulum run on the CPU engine must write bitwise the metrics
// recorded in testdata (time columns aside). A refactor must leave them
// unchanged; a change meant to alter the numbers rewrites them with
// -update-golden and says why in its commit. OpenBLAS and the engine's C
// kernels pick their code by processor (AVX-512 or not), and the last bits
// follow, so the files are kept per kernel family; on a processor without
// its file the test says so and skips.
func TestGoldenRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("two short training runs")
	}
	eng := cpu.New(cpu.Options{Threads: 2})
	defer eng.Close()
	platform := strings.ToLower(eng.BLASCore())
	for _, tc := range []struct {
		name string
		cfg  func(*Config)
	}{
		{"Hopper-v4", func(c *Config) {
			c.Steps, c.EpochLength, c.InitSteps, c.ModelTrainFreq = 900, 300, 300, 150
			c.RolloutLength, c.RolloutBatch = 3, 500
		}},
		{"InvertedPendulum-v4", func(c *Config) {
			c.Steps, c.InitSteps = 1000, 250
			c.RolloutBatch = 500
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := PaperConfig(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			c.G, c.Hidden, c.ModelHidden, c.ModelMaxEpochs = 2, 32, 32, 4
			c.EvalEpisodes, c.ModelReturnHorz, c.CheckpointEvery = 2, 50, 0
			tc.cfg(&c)
			dir := t.TempDir()
			tr, err := New(c, eng, dir, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			if err := tr.Run(t.Context(), Hooks{}); err != nil {
				t.Fatal(err)
			}
			tr.Close()
			var got bytes.Buffer
			for _, m := range readMetrics(t, dir) {
				b, err := json.Marshal(learningFields(m))
				if err != nil {
					t.Fatal(err)
				}
				got.Write(append(b, '\n'))
			}
			path := filepath.Join("testdata", fmt.Sprintf("golden_%s_%s.jsonl", tc.name, platform))
			if *updateGolden {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s", path)
				return
			}
			want, err := os.ReadFile(path)
			if os.IsNotExist(err) {
				t.Skipf("no golden metrics for OpenBLAS kernels %q (%s): record them with go test ./trainer -run TestGoldenRuns -update-golden", platform, path)
			} else if err != nil {
				t.Fatal(err)
			}
			wl, gl := strings.Split(string(want), "\n"), strings.Split(got.String(), "\n")
			if len(wl) != len(gl) {
				t.Fatalf("%d metrics rows, golden has %d", len(gl)-1, len(wl)-1)
			}
			for i := range wl {
				if wl[i] != gl[i] {
					t.Errorf("epoch %d differs from %s:\ngot    %s\ngolden %s", i+1, path, gl[i], wl[i])
				}
			}
		})
	}
}
