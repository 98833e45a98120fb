// video.go: a video of one episode of the deterministic policy (policy → env
// → renderer → GIF or MP4), for mbpo eval --video and mbpo train
// --video-every.

package trainer

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/rng"
	"github.com/mbpogo/mbpo/video"
)

// VideoOptions are the settings of an episode's video.
type VideoOptions struct {
	Width, Height int // frame size in pixels (480 × 480)
	// FPS is the highest frame rate wanted; 0 means the env's control rate
	// (1/dt), at most video.MaxGIFRate for a GIF. Frames are every
	// Stride-th env step, with Stride the smallest that keeps to it, and
	// play in real time.
	FPS float64
}

// DefaultVideoOptions returns 480 × 480 at the env's control rate.
func DefaultVideoOptions() VideoOptions { return VideoOptions{Width: 480, Height: 480} }

// Validate reports options no video can have, for the video file path.
func (o VideoOptions) Validate(path string) error {
	format, err := video.Format(path)
	if err != nil {
		return err
	}
	switch {
	case o.Width < 16 || o.Height < 16 || o.Width > 4096 || o.Height > 4096:
		return fmt.Errorf("video size %d × %d: want 16 to 4096 pixels each", o.Width, o.Height)
	case o.FPS < 0 || math.IsNaN(o.FPS) || o.FPS > 1000:
		return fmt.Errorf("video frame rate %g: want 0 (the env's control rate) or up to 1000", o.FPS)
	case format == "gif" && o.FPS > video.MaxGIFRate:
		return fmt.Errorf("video frame rate %g: a GIF plays at most %d frames per second", o.FPS, video.MaxGIFRate)
	}
	return nil
}

// stride returns the env steps per frame and the frame rate for an env
// of step dt, written as format.
func (o VideoOptions) stride(dt float64, format string) (int, float64) {
	limit := o.FPS
	if limit == 0 && format == "gif" {
		limit = video.MaxGIFRate
	}
	rate := 1 / dt
	s := 1
	if limit > 0 {
		s = max(int(math.Ceil(rate/limit-1e-9)), 1)
	}
	return s, rate / float64(s)
}

// VideoResult describes a recorded episode.
type VideoResult struct {
	Path    string
	Frames  int     // the reset state and every Stride-th step's
	Stride  int     // env steps per frame
	FPS     float64 // frames per second (real time)
	Return  float64 // the episode's undiscounted return
	Length  int     // its env steps
	Backend string  // the OpenGL back end: osmesa or egl
}

// RecordEpisode runs one episode of agent's deterministic policy on env
// spec.ID, from the reset of episode 0 of Evaluate(spec, agent, n, seed, w)
// (the same reset noise), renders it and writes the video file path (.gif
// or .mp4; the file appears whole, or not at all).
func RecordEpisode(spec env.Spec, agent engine.Agent, seed uint64, path string, o VideoOptions) (VideoResult, error) {
	res := VideoResult{Path: path}
	if err := o.Validate(path); err != nil {
		return res, err
	}
	format, _ := video.Format(path)
	res.Stride, res.FPS = o.stride(spec.Dt, format)
	e, err := env.Make(spec.ID)
	if err != nil {
		return res, err
	}
	defer e.Close()
	e.Seed(rng.Key{Seed: seed, Purpose: rng.Eval, Step: 0})
	r, err := e.NewRenderer(o.Width, o.Height)
	if err != nil {
		return res, err
	}
	defer r.Close()
	// A process renders through one back end, opened by NewRenderer.
	if res.Backend, err = env.GLBackend(); err != nil {
		return res, err
	}
	tmp := filepath.Join(filepath.Dir(path), ".partial-"+filepath.Base(path))
	w, err := video.Create(tmp, res.FPS)
	if err != nil {
		return res, err
	}
	fail := func(err error) (VideoResult, error) {
		w.Close()
		os.Remove(tmp)
		return res, err
	}
	img := r.NewImage()
	frame := func() error {
		if err := r.Render(img); err != nil {
			return err
		}
		res.Frames++
		return w.Add(img)
	}
	obs, next := make([]float32, spec.ObsDim), make([]float32, spec.ObsDim)
	unit, act := make([]float32, spec.ActDim), make([]float32, spec.ActDim)
	e.Reset(obs)
	if err := frame(); err != nil {
		return fail(err)
	}
	for {
		if err := agent.Act(obs, 1, true, rng.Key{}, unit); err != nil {
			return fail(err)
		}
		spec.ActionFromUnit(act, unit)
		st, err := e.Step(act, next)
		if err != nil {
			return fail(err)
		}
		res.Return += st.Reward
		res.Length++
		obs, next = next, obs
		if res.Length%res.Stride == 0 {
			if err := frame(); err != nil {
				return fail(err)
			}
		}
		if st.Terminated || st.Truncated {
			break
		}
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return res, err
	}
	return res, os.Rename(tmp, path)
}

// RecordVideo records an episode of the run's current policy (the reset of
// the run's seed) into path.
func (t *Trainer) RecordVideo(path string, o VideoOptions) (VideoResult, error) {
	return RecordEpisode(t.spec, t.agent, t.Cfg.Seed, path, o)
}

// RecordCheckpointVideo loads the policy of the checkpoint in runDir onto
// eng and records the episode of EvaluateCheckpoint's first (same seed).
func RecordCheckpointVideo(runDir string, eng engine.Engine, seed uint64, path string, o VideoOptions) (VideoResult, error) {
	if err := o.Validate(path); err != nil {
		return VideoResult{Path: path}, err
	}
	n, err := ReadNetworks(runDir)
	if err != nil {
		return VideoResult{Path: path}, err
	}
	agent, err := n.NewAgent(eng)
	if err != nil {
		return VideoResult{Path: path}, err
	}
	return RecordEpisode(n.Env, agent, seed, path, o)
}

// CheckVideo reports, before a run starts, what would stop its videos: no
// off-screen OpenGL (the error names the package to install), or no ffmpeg
// for an MP4.
func CheckVideo(format string, o VideoOptions) error {
	if err := o.Validate("x." + format); err != nil {
		return err
	}
	if _, err := env.GLBackend(); err != nil {
		return err
	}
	if format == "mp4" {
		_, err := video.FFmpeg()
		return err
	}
	return nil
}
