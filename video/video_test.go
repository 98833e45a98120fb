package video

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// frames returns n frames of w × h: a colour gradient (many colours, so the
// palette is a median cut) with a square moving across it, and every third
// frame the same as the one before it.
func frames(n, w, h int, gradient bool) []*image.RGBA {
	var out []*image.RGBA
	for k := range n {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				c := color.RGBA{40, 60, 80, 255}
				if gradient {
					c = color.RGBA{byte(255 * x / w), byte(255 * y / h), byte(255 * (x + y) / (w + h)), 255}
				}
				img.SetRGBA(x, y, c)
			}
		}
		pos := k - k/3 // frames 2, 5, 8, ... repeat the one before
		if k%3 == 2 {
			pos = (k - 1) - (k-1)/3
		}
		draw.Draw(img, image.Rect(pos*3, 5, pos*3+8, 13), &image.Uniform{color.RGBA{250, 20, 20, 255}}, image.Point{}, draw.Src)
		out = append(out, img)
	}
	return out
}

// composite plays a decoded GIF: each frame drawn over the last (disposal
// "keep"), transparent pixels leaving what was there.
func composite(t *testing.T, g *gif.GIF) []*image.RGBA {
	t.Helper()
	canvas := image.NewRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	var out []*image.RGBA
	for i, f := range g.Image {
		if g.Disposal[i] != gif.DisposalNone {
			t.Fatalf("frame %d has disposal %d, want 1 (keep)", i, g.Disposal[i])
		}
		draw.Draw(canvas, f.Bounds(), f, f.Bounds().Min, draw.Over)
		out = append(out, image.NewRGBA(canvas.Rect))
		copy(out[i].Pix, canvas.Pix)
	}
	return out
}

// diff returns the mean and largest absolute channel difference of a and b.
func diff(a, b *image.RGBA) (mean float64, max int) {
	s := 0
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		s += d
		if d > max {
			max = d
		}
	}
	return float64(s) / float64(len(a.Pix)*3/4), max
}

func encode(t *testing.T, in []*image.RGBA, fps float64) *gif.GIF {
	t.Helper()
	var buf bytes.Buffer
	g, err := NewGIF(&buf, fps)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range in {
		if err := g.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if g.Frames() != len(in) {
		t.Errorf("Frames() = %d, want %d", g.Frames(), len(in))
	}
	out, err := gif.DecodeAll(&buf)
	if err != nil {
		t.Fatalf("image/gif cannot decode the GIF: %v", err)
	}
	return out
}

func TestGIFDecodesToTheFrames(t *testing.T) {
	for _, c := range []struct {
		name     string
		gradient bool
		fps      float64
		maxMean  float64
		maxDiff  int
	}{
		// Few colours: every colour has its own palette entry, exactly.
		{"flat", false, 25, 0, 0},
		// A gradient of 2,000 colours: median cut, within 5-bit bins and
		// boxes (measured: 3.6 on average, 16 at most).
		{"gradient", true, 125.0 / 3, 4.5, 24},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := frames(12, 61, 37, c.gradient)
			g := encode(t, in, c.fps)
			if len(g.Image) != len(in) || len(g.Delay) != len(in) {
				t.Fatalf("decoded %d frames and %d delays, want %d", len(g.Image), len(g.Delay), len(in))
			}
			if g.Config.Width != 61 || g.Config.Height != 37 || g.LoopCount != 0 {
				t.Errorf("size %d × %d, loop count %d; want 61 × 37, 0 (forever)", g.Config.Width, g.Config.Height, g.LoopCount)
			}
			total := 0
			for i, d := range g.Delay {
				if d < 2 {
					t.Errorf("frame %d delay %d/100 s: browsers slow down delays under 2", i, d)
				}
				total += d
			}
			if want := 100 * float64(len(in)) / c.fps; math.Abs(float64(total)-want) > 0.5 {
				t.Errorf("delays add up to %d/100 s, want %.1f (real time)", total, want)
			}
			for i, f := range composite(t, g) {
				mean, max := diff(f, in[i])
				if mean > c.maxMean || max > c.maxDiff {
					t.Errorf("frame %d differs from its source by %.2f on average, %d at most; want ≤ %g, %d", i, mean, max, c.maxMean, c.maxDiff)
				}
			}
			// Unchanged frames are stored as one transparent pixel, with a
			// colour table of 2 entries.
			if b := g.Image[2].Bounds(); b.Dx()*b.Dy() != 1 || len(g.Image[2].Palette) != 2 {
				t.Errorf("frame 2 repeats frame 1 but is stored as %v with %d colours", b, len(g.Image[2].Palette))
			}
			if !c.gradient && len(g.Image[1].Palette) != 4 {
				t.Errorf("frame 1 changes pixels to 2 colours, but has a table of %d (want 4, transparent included)", len(g.Image[1].Palette))
			}
			if b := g.Image[1].Bounds(); b.Dx() > 12 || b.Dy() > 8 {
				t.Errorf("frame 1 moves only the square but is stored as %v", b)
			}
		})
	}
}

func TestGIFRejectsBadUse(t *testing.T) {
	if _, err := NewGIF(&bytes.Buffer{}, 60); err == nil || !strings.Contains(err.Error(), "at most 50") {
		t.Errorf("60 fps: %v", err)
	}
	g, _ := NewGIF(&bytes.Buffer{}, 10)
	if err := g.Close(); err == nil {
		t.Error("a GIF without frames closed without error")
	}
	g, _ = NewGIF(&bytes.Buffer{}, 10)
	g.Add(image.NewRGBA(image.Rect(0, 0, 4, 4)))
	if err := g.Add(image.NewRGBA(image.Rect(0, 0, 5, 4))); err == nil {
		t.Error("a frame of another size: no error")
	}
	if _, err := Create(filepath.Join(t.TempDir(), "x.avi"), 10); err == nil || !strings.Contains(err.Error(), ".gif or .mp4") {
		t.Errorf("x.avi: %v", err)
	}
}

func TestCreateGIFFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.GIF")
	w, err := Create(path, 20)
	if err != nil {
		t.Fatal(err)
	}
	in := frames(5, 20, 10, true)
	for _, f := range in {
		if err := w.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil || len(g.Image) != 5 {
		t.Fatalf("decoded %v frames, error %v", len(g.Image), err)
	}
}

func TestMP4(t *testing.T) {
	t.Run("without ffmpeg", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		_, err := Create(filepath.Join(t.TempDir(), "a.mp4"), 25)
		if !errors.Is(err, ErrNoFFmpeg) || !strings.Contains(err.Error(), "apt-get install ffmpeg") {
			t.Errorf("MP4 without ffmpeg: %v", err)
		}
	})
	t.Run("with ffmpeg", func(t *testing.T) {
		if _, err := exec.LookPath("ffmpeg"); err != nil {
			t.Skip("ffmpeg is not on PATH (optional: apt-get install ffmpeg); MP4 writing not tested")
		}
		path := filepath.Join(t.TempDir(), "a.mp4")
		w, err := Create(path, 25)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range frames(10, 33, 21, true) { // odd sizes: padded to even
			if err := w.Add(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames",
			"-show_entries", "stream=nb_read_frames,width,height,codec_name", "-of", "csv=p=0", path).Output()
		if err != nil {
			t.Fatalf("ffprobe: %v", err)
		}
		fields := strings.Split(strings.TrimSpace(string(out)), ",")
		if len(fields) != 4 || fields[0] != "h264" || fields[1] != "34" || fields[2] != "22" {
			t.Fatalf("ffprobe: %q, want h264,34,22,10", out)
		}
		if n, _ := strconv.Atoi(fields[3]); n != 10 {
			t.Errorf("the MP4 has %d frames, want 10", n)
		}
	})
}

// BenchmarkGIFFrame480 encodes 480 × 480 frames of a gradient that moves
// by a pixel each frame, so every pixel changes, as under a tracking camera
// (go test ./video -run '^$' -bench GIF).
func BenchmarkGIFFrame480(b *testing.B) {
	base := frames(1, 488, 480, true)[0]
	var in []*image.RGBA
	for k := range 8 {
		in = append(in, base.SubImage(image.Rect(k, 0, k+480, 480)).(*image.RGBA))
	}
	g, _ := NewGIF(io.Discard, 25)
	b.ResetTimer()
	for i := range b.N {
		if err := g.Add(in[i%len(in)]); err != nil {
			b.Fatal(err)
		}
	}
}
