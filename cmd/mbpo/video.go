// video.go: the video flags of "mbpo eval --video FILE" and "mbpo train
// --video-every N", and the videos train records between epochs.

package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/trainer"
	"github.com/mbpogo/mbpo/video"
)

// videoFlags are the settings of the videos a command writes.
type videoFlags struct {
	size   string
	fps    float64
	every  int    // train: an episode every this many epochs (0: none)
	format string // train: gif or mp4
	path   string // eval: the video file
}

// register adds the size and rate flags.
func (v *videoFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&v.size, "video-size", "480x480", "video frame size, WIDTHxHEIGHT pixels")
	fs.Float64Var(&v.fps, "video-fps", 0, "video frames per second at most: 0 is the env's control rate (a GIF: at most 50); "+
		"frames are every Nth env step, played in real time")
}

// registerEval adds eval's flags.
func (v *videoFlags) registerEval(fs *flag.FlagSet) {
	fs.StringVar(&v.path, "video", "", "also write a video of the first episode to this .gif (or .mp4, with ffmpeg on PATH) file")
	v.register(fs)
}

// registerTrain adds train's flags.
func (v *videoFlags) registerTrain(fs *flag.FlagSet) {
	fs.IntVar(&v.every, "video-every", 0, "every N epochs, write a video of one deterministic episode to RUN_DIR/videos/epoch_N.gif (0: none)")
	fs.StringVar(&v.format, "video-format", "gif", "format of --video-every's videos: gif, or mp4 (needs ffmpeg on PATH)")
	v.register(fs)
}

// options parses the size and checks the settings for a file of format.
func (v *videoFlags) options(format string) (trainer.VideoOptions, error) {
	o := trainer.VideoOptions{FPS: v.fps}
	w, h, ok := strings.Cut(strings.ToLower(v.size), "x")
	var err1, err2 error
	o.Width, err1 = strconv.Atoi(w)
	o.Height, err2 = strconv.Atoi(h)
	if !ok || err1 != nil || err2 != nil {
		return o, usagef("--video-size %q: want WIDTHxHEIGHT, e.g. 480x480", v.size)
	}
	if err := o.Validate("video." + format); err != nil {
		return o, usagef("--video-size %s, --video-fps %g: %v", v.size, v.fps, err)
	}
	return o, nil
}

// checkEval checks eval's flags: nothing when --video is not given.
func (v *videoFlags) checkEval() (trainer.VideoOptions, error) {
	if v.path == "" {
		return trainer.VideoOptions{}, nil
	}
	format, err := video.Format(v.path)
	if err != nil {
		return trainer.VideoOptions{}, usagef("--video %s: %v", v.path, err)
	}
	return v.options(format)
}

// evalReady checks, before the evaluation, that the video can be written:
// rendering (and ffmpeg, for MP4) works on this machine.
func (v *videoFlags) evalReady(o trainer.VideoOptions) error {
	if v.path == "" {
		return nil
	}
	format, _ := video.Format(v.path)
	if err := trainer.CheckVideo(format, o); err != nil {
		return fmt.Errorf("--video %s: %w", v.path, err)
	}
	return nil
}

// recordEval writes eval's video, when --video is given.
func (v *videoFlags) recordEval(w io.Writer, runDir string, eng engine.Engine, seed uint64, o trainer.VideoOptions) error {
	if v.path == "" {
		return nil
	}
	res, err := trainer.RecordCheckpointVideo(runDir, eng, seed, v.path, o)
	if err != nil {
		return err
	}
	printVideo(w, res)
	return nil
}

// checkTrain checks train's flags: nothing when --video-every is 0.
func (v *videoFlags) checkTrain() (trainer.VideoOptions, error) {
	if v.every < 0 {
		return trainer.VideoOptions{}, usagef("--video-every %d: want 0 (no videos) or more epochs", v.every)
	}
	if v.every == 0 {
		return trainer.VideoOptions{}, nil
	}
	if v.format != "gif" && v.format != "mp4" {
		return trainer.VideoOptions{}, usagef("--video-format %q: want gif or mp4", v.format)
	}
	return v.options(v.format)
}

// trainVideos records train's videos: Ready checks, before the run starts,
// that they can be written; Epoch writes one when the epoch is due.
type trainVideos struct {
	flags videoFlags
	opts  trainer.VideoOptions
}

// ready checks the flags and that rendering (and ffmpeg, for MP4) works on
// this machine, so a run never finds out after hours.
func (tv *trainVideos) ready() error {
	o, err := tv.flags.checkTrain()
	if err != nil || tv.flags.every == 0 {
		return err
	}
	tv.opts = o
	if err := trainer.CheckVideo(tv.flags.format, o); err != nil {
		return fmt.Errorf("--video-every: %w", err)
	}
	return nil
}

// epoch records the video of epoch when it is due. A failure is a warning:
// the run goes on.
func (tv *trainVideos) epoch(log zerolog.Logger, t *trainer.Trainer, epoch int) {
	if tv.flags.every <= 0 || epoch%tv.flags.every != 0 {
		return
	}
	path := filepath.Join(t.RunDir, "videos", fmt.Sprintf("epoch_%04d.%s", epoch, tv.flags.format))
	res, err := recordTrainVideo(t, path, tv.opts)
	if err != nil {
		log.Warn().Err(err).Int("epoch", epoch).Msg("video not written")
		return
	}
	log.Info().Int("epoch", epoch).Str("video", path).Int("frames", res.Frames).Float64("fps", round(res.FPS, 2)).
		Float64("return", round(res.Return, 1)).Int("length", res.Length).Msg("video")
}

func recordTrainVideo(t *trainer.Trainer, path string, o trainer.VideoOptions) (trainer.VideoResult, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
		return trainer.VideoResult{}, err
	}
	return t.RecordVideo(path, o)
}

// printVideo says what a recorded video holds.
func printVideo(w io.Writer, res trainer.VideoResult) {
	fmt.Fprintf(w, "video: %s, %d frames at %.3g fps (every %d env steps, real time, rendered with %s): episode return %.1f, length %d\n",
		res.Path, res.Frames, res.FPS, res.Stride, res.Backend, res.Return, res.Length)
}
