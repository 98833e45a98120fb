// mp4.go: MP4 (H.264, yuv420p) through ffmpeg, fed raw RGBA frames on its
// standard input.

package video

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"os/exec"
	"strconv"
	"strings"
)

// ErrNoFFmpeg is the error of an MP4 where ffmpeg is not on PATH.
var ErrNoFFmpeg = errors.New("video: MP4 needs ffmpeg on PATH (Debian: apt-get install ffmpeg); a .gif needs nothing")

// MP4 writes an MP4 file through an ffmpeg process, started at the first
// frame (which fixes the size).
type MP4 struct {
	path   string
	fps    float64
	ffmpeg string
	cmd    *exec.Cmd
	in     io.WriteCloser
	stderr bytes.Buffer
	size   image.Point
	buf    *image.RGBA
	frames int
	err    error
	closed bool
}

// FFmpeg returns the path of ffmpeg on PATH, or ErrNoFFmpeg.
func FFmpeg() (string, error) {
	ff, err := exec.LookPath("ffmpeg")
	if err != nil {
		return "", ErrNoFFmpeg
	}
	return ff, nil
}

// CreateMP4 returns a writer of the MP4 file path playing at fps frames per
// second. Its error wraps ErrNoFFmpeg when ffmpeg is not on PATH.
func CreateMP4(path string, fps float64) (*MP4, error) {
	ff, err := FFmpeg()
	if err != nil {
		return nil, fmt.Errorf("%w (writing %s)", err, path)
	}
	if !(fps > 0 && fps <= 1000) {
		return nil, fmt.Errorf("video: %s: %g frames per second, want (0, 1000]", path, fps)
	}
	return &MP4{path: path, fps: fps, ffmpeg: ff}, nil
}

// Frames returns the number of frames added.
func (m *MP4) Frames() int { return m.frames }

func (m *MP4) start(size image.Point) error {
	m.size = size
	m.buf = image.NewRGBA(image.Rectangle{Max: size})
	m.cmd = exec.Command(m.ffmpeg, "-nostdin", "-y", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "rgba", "-s", fmt.Sprintf("%dx%d", size.X, size.Y),
		"-framerate", strconv.FormatFloat(m.fps, 'g', -1, 64), "-i", "pipe:0",
		// yuv420p (what players take) needs even sizes: pad odd ones by a pixel.
		"-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-crf", "20", "-movflags", "+faststart", m.path)
	m.cmd.Stderr = &m.stderr
	in, err := m.cmd.StdinPipe()
	if err != nil {
		return err
	}
	m.in = in
	if err := m.cmd.Start(); err != nil {
		return fmt.Errorf("video: start ffmpeg: %w", err)
	}
	return nil
}

// Add appends img as the next frame.
func (m *MP4) Add(img image.Image) error {
	if m.closed {
		return errors.New("video: Add to a closed MP4")
	}
	if m.err != nil {
		return m.err
	}
	b := img.Bounds()
	if m.cmd == nil {
		if b.Dx() < 1 || b.Dy() < 1 {
			return fmt.Errorf("video: MP4 frame of %v pixels", b.Size())
		}
		if m.err = m.start(b.Size()); m.err != nil {
			return m.err
		}
	} else if b.Size() != m.size {
		return fmt.Errorf("video: MP4 frame %d is %v pixels, the first was %v", m.frames, b.Size(), m.size)
	}
	draw.Draw(m.buf, m.buf.Rect, img, b.Min, draw.Src)
	if _, err := m.in.Write(m.buf.Pix); err != nil {
		m.err = m.failed(err)
		return m.err
	}
	m.frames++
	return nil
}

// failed waits for ffmpeg and returns err with what ffmpeg said.
func (m *MP4) failed(err error) error {
	m.in.Close()
	if werr := m.cmd.Wait(); werr != nil {
		err = werr
	}
	return fmt.Errorf("video: ffmpeg writing %s: %v: %s", m.path, err, strings.TrimSpace(m.stderr.String()))
}

// Close ends the stream and waits for ffmpeg to finish the file.
func (m *MP4) Close() error {
	if m.closed {
		return errors.New("video: MP4 already closed")
	}
	m.closed = true
	if m.err != nil {
		return m.err
	}
	if m.cmd == nil {
		return errors.New("video: an MP4 needs at least one frame")
	}
	if err := m.in.Close(); err != nil {
		return m.failed(err)
	}
	if err := m.cmd.Wait(); err != nil {
		return fmt.Errorf("video: ffmpeg writing %s: %v: %s", m.path, err, strings.TrimSpace(m.stderr.String()))
	}
	return nil
}
