// devices_test.go: a sweep over several GPUs places each cell on one of
// them, the least busy, several to a GPU when --parallel exceeds them, and
// the status table shows each cell's device. The engines are CPU engines
// standing in for the GPUs (the placement is what is tested).
//
//	go test ./trainer/sweep -run Devices

package sweep

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/trainer"
)

// countedEngine counts the cells open on its device until Close.
type countedEngine struct {
	engine.Engine
	close func()
}

func (e countedEngine) Close() error {
	e.close()
	return e.Engine.Close()
}

func TestSweepPlacesCellsOnDevices(t *testing.T) {
	g := tinyGrid()
	g.Seeds = Seeds{0, 1, 2} // 6 cells
	out := t.TempDir()
	var mu sync.Mutex
	running := map[string]int{}
	most := map[string]int{}
	total, mostTotal := 0, 0
	cellsOn := map[string]int{}
	r := newRunner(g, out, 4)
	r.Devices = []string{"cuda:0", "cuda:3"}
	r.Board = NewBoard(g.Cells(), func(Cell) int { return g.Steps })
	r.NewEngine = func(device string, threads int) (engine.Engine, error) {
		mu.Lock()
		defer mu.Unlock()
		running[device]++
		total++
		most[device] = max(most[device], running[device])
		mostTotal = max(mostTotal, total)
		cellsOn[device]++
		return countedEngine{cpu.New(cpu.Options{Threads: 1}), func() {
			mu.Lock()
			running[device]--
			total--
			mu.Unlock()
		}}, nil
	}
	sum := r.Run(context.Background(), g.Cells())
	if err := sum.Err(); err != nil || sum.Count(Done) != 6 {
		t.Fatalf("%d cells done, %v", sum.Count(Done), err)
	}
	if len(cellsOn) != 2 || cellsOn["cuda:0"]+cellsOn["cuda:3"] != 6 {
		t.Errorf("cells per device %v: want the 6 on cuda:0 and cuda:3", cellsOn)
	}
	if most["cuda:0"] > 2 || most["cuda:3"] > 2 || mostTotal > 4 {
		t.Errorf("at most %v cells at once per device, %d in all: want 2 per device (4 cells at once on 2 GPUs)", most, mostTotal)
	}
	if most["cuda:0"] < 2 && most["cuda:3"] < 2 {
		t.Errorf("no device ever ran two cells at once (%v), with 4 in parallel on 2", most)
	}
	// Each cell's config.json records its device, and the table shows it.
	var table strings.Builder
	r.Board.Render(&table)
	for _, c := range g.Cells() {
		b, err := os.ReadFile(filepath.Join(out, c.Dir(), "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var cfg trainer.Config
		json.Unmarshal(b, &cfg)
		if cfg.Device != "cuda:0" && cfg.Device != "cuda:3" {
			t.Errorf("%s ran with --device %q", c, cfg.Device)
		}
		found := false
		for _, line := range strings.Split(table.String(), "\n") {
			f := strings.Fields(line)
			if len(f) > 4 && f[0] == strconv.Itoa(c.Index) {
				found = f[4] == cfg.Device
			}
		}
		if !found {
			t.Errorf("the status table does not show %s on %s:\n%s", c, cfg.Device, table.String())
		}
	}
	if !strings.Contains(table.String(), "DEVICE") {
		t.Errorf("no DEVICE column:\n%s", table.String())
	}
}

// Without devices the table says cpu for the CPU engine; --device cuda:N
// without a list shows that GPU.
func TestDeviceLabel(t *testing.T) {
	for _, tt := range []struct{ device, engine, want string }{
		{"cpu", "cpu", "cpu"}, {"auto", "cpu", "cpu"}, {"auto", "cuda", "cuda:0"}, {"cuda", "cuda", "cuda:0"}, {"cuda:2", "cuda", "cuda:2"}, {"cuda:1", "cpu", "cuda:1"},
	} {
		if got := deviceLabel(tt.device, tt.engine); got != tt.want {
			t.Errorf("deviceLabel(%s, %s) = %s, want %s", tt.device, tt.engine, got, tt.want)
		}
	}
}
