package trainer

import (
	"image"
	"image/draw"
	"image/gif"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordCheckpointVideo records the first evaluation episode of a tiny
// run's checkpoint as a small GIF: it decodes with one frame for the reset
// and one per Stride steps, its frames change as the pendulum moves, and the
// episode is the one EvaluateCheckpoint runs first.
func TestRecordCheckpointVideo(t *testing.T) {
	dir := t.TempDir()
	run(t, tinyConfig(t), dir)
	eng := newEngine(t)
	path := filepath.Join(dir, "episode.gif")
	o := VideoOptions{Width: 48, Height: 40}
	res, err := RecordCheckpointVideo(dir, eng, 7, path, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	// InvertedPendulum steps 0.04 s: 25 frames per second, every step.
	if res.Stride != 1 || math.Abs(res.FPS-25) > 1e-9 || res.Backend == "" {
		t.Errorf("stride %d, %g fps, back end %q; want 1, 25, named", res.Stride, res.FPS, res.Backend)
	}
	if res.Frames != 1+res.Length/res.Stride {
		t.Errorf("%d frames for %d steps at stride %d", res.Frames, res.Length, res.Stride)
	}
	ev, err := EvaluateCheckpoint(dir, eng, 2, 7)
	if err != nil {
		t.Fatal(err)
	}
	if res.Length != ev.Lengths[0] || math.Abs(res.Return-ev.Returns[0]) > 1e-6*math.Max(1, math.Abs(ev.Returns[0])) {
		t.Errorf("the video's episode: %d steps, return %v; evaluation's first: %d steps, return %v",
			res.Length, res.Return, ev.Lengths[0], ev.Returns[0])
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != res.Frames || g.Config.Width != 48 || g.Config.Height != 40 {
		t.Fatalf("the GIF has %d frames of %d × %d, want %d of 48 × 40", len(g.Image), g.Config.Width, g.Config.Height, res.Frames)
	}
	// Play it: the last frame differs from the first, and no frame is blank.
	canvas := image.NewRGBA(image.Rect(0, 0, 48, 40))
	var first []byte
	for i, fr := range g.Image {
		draw.Draw(canvas, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
		if i == 0 {
			first = append([]byte(nil), canvas.Pix...)
		}
	}
	same := 0
	for i := range first {
		if first[i] == canvas.Pix[i] {
			same++
		}
	}
	if res.Length > 1 && same == len(first) {
		t.Errorf("the last frame of a %d-step episode is the first", res.Length)
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".partial-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	}
	// Options no video can have are errors naming what is wrong.
	for _, c := range []struct {
		path string
		o    VideoOptions
		want string
	}{
		{"x.gif", VideoOptions{Width: 8, Height: 8}, "16 to 4096"},
		{"x.gif", VideoOptions{Width: 64, Height: 64, FPS: 60}, "at most 50"},
		{"x.webm", VideoOptions{Width: 64, Height: 64}, ".gif or .mp4"},
	} {
		if _, err := RecordCheckpointVideo(dir, eng, 7, filepath.Join(dir, c.path), c.o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %+v: error %v, want one saying %q", c.path, c.o, err, c.want)
		}
	}
}

func TestVideoStride(t *testing.T) {
	for _, c := range []struct {
		dt     float64
		format string
		fps    float64
		stride int
		rate   float64
	}{
		{0.008, "gif", 0, 3, 125.0 / 3}, // Hopper: 125 Hz, a GIF at most 50
		{0.008, "mp4", 0, 1, 125},
		{0.008, "mp4", 30, 5, 25},
		{0.04, "gif", 0, 1, 25}, // InvertedPendulum
		{0.05, "gif", 10, 2, 10},
		{0.015, "gif", 0, 2, 100.0 / 3}, // Humanoid: 66.7 Hz
	} {
		s, r := VideoOptions{FPS: c.fps}.stride(c.dt, c.format)
		if s != c.stride || math.Abs(r-c.rate) > 1e-9 {
			t.Errorf("dt %g %s at most %g fps: stride %d at %g fps, want %d at %g", c.dt, c.format, c.fps, s, r, c.stride, c.rate)
		}
	}
}
