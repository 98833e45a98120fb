package main

import (
	"image/gif"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// decodeGIF returns the number of frames and the size of a GIF file.
func decodeGIF(t *testing.T, path string) (frames, w, h int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return len(g.Image), g.Config.Width, g.Config.Height
}

// TestTrainAndEvalVideos: train --video-every writes a GIF into the run
// directory every N epochs (and on resume), eval --video writes the first
// episode, with as many frames as it says.
func TestTrainAndEvalVideos(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	args := append([]string{"train", "--run-dir", dir, "--video-every", "2", "--video-size", "48x40"}, tinyTrain()...)
	code, _, stderr := runMbpo(args...)
	if code != 0 {
		t.Fatalf("train: exit %d\n%s", code, stderr)
	}
	if n, w, h := decodeGIF(t, filepath.Join(dir, "videos", "epoch_0002.gif")); n < 2 || w != 48 || h != 40 {
		t.Errorf("epoch 2's video: %d frames of %d × %d", n, w, h)
	}
	if _, err := os.Stat(filepath.Join(dir, "videos", "epoch_0001.gif")); err == nil {
		t.Error("a video of epoch 1 with --video-every 2")
	}
	if !strings.Contains(stderr, "video=") {
		t.Errorf("train logged no video line:\n%s", stderr)
	}
	// Resume takes the video flags: epochs 3 and 4, one video at 4.
	code, _, stderr = runMbpo("train", "--resume", dir, "--steps", "1200", "--video-every", "4", "--video-size", "32x32")
	if code != 0 {
		t.Fatalf("resume with --video-every: exit %d\n%s", code, stderr)
	}
	if n, w, _ := decodeGIF(t, filepath.Join(dir, "videos", "epoch_0004.gif")); n < 2 || w != 32 {
		t.Errorf("epoch 4's video: %d frames %d wide", n, w)
	}

	path := filepath.Join(t.TempDir(), "policy.gif")
	code, stdout, stderr := runMbpo("eval", dir, "--episodes", "2", "--video", path, "--video-size", "64x48")
	if code != 0 {
		t.Fatalf("eval --video: exit %d\n%s", code, stderr)
	}
	m := regexp.MustCompile(`video: (\S+), (\d+) frames at 25 fps`).FindStringSubmatch(stdout)
	if m == nil || m[1] != path {
		t.Fatalf("eval --video printed %q", stdout)
	}
	want, _ := strconv.Atoi(m[2])
	if n, w, h := decodeGIF(t, path); n != want || w != 64 || h != 48 {
		t.Errorf("the GIF has %d frames of %d × %d; eval said %d of 64 × 48", n, w, h, want)
	}
}

func TestVideoFlagsAreChecked(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", dir, "--video", "x.avi"}, ".gif or .mp4"},
		{[]string{"eval", dir, "--video", "x.gif", "--video-size", "480"}, "WIDTHxHEIGHT"},
		{[]string{"eval", dir, "--video", "x.gif", "--video-fps", "60"}, "at most 50"},
		{[]string{"eval", dir, "--video", "x.gif", "--video-size", "8x8"}, "16 to 4096"},
		{append([]string{"train", "--video-every", "-1"}, tinyTrain()...), "--video-every -1"},
		{append([]string{"train", "--video-every", "1", "--video-format", "webm"}, tinyTrain()...), "gif or mp4"},
	} {
		code, _, stderr := runMbpo(c.args...)
		if code != exitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%s: exit %d, want %d with %q:\n%s", strings.Join(c.args, " "), code, exitUsage, c.want, stderr)
		}
	}
	// An MP4 without ffmpeg is an error before the run starts.
	t.Setenv("PATH", t.TempDir())
	run := filepath.Join(dir, "run")
	code, _, stderr := runMbpo(append([]string{"train", "--run-dir", run, "--video-every", "1", "--video-format", "mp4"}, tinyTrain()...)...)
	if code != exitFailed || !strings.Contains(stderr, "apt-get install ffmpeg") {
		t.Errorf("--video-format mp4 without ffmpeg: exit %d, want %d naming ffmpeg:\n%s", code, exitFailed, stderr)
	}
	// Nothing was written by the refused commands.
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("refused commands wrote %v", entries)
	}
	if _, err := os.Stat("x.gif"); err == nil {
		t.Error("a refused command wrote x.gif")
	}
}
