// Package video writes frames as an animated GIF or an MP4 file.
//
// GIF needs nothing outside Go: frames are streamed to the file as they
// come (image/gif's EncodeAll would hold a whole episode in memory, 230 MB
// for 1,000 frames of 480 × 480), each with its own 256-colour palette, and
// only the part that changed since the previous frame is stored. The files
// decode with image/gif and play in browsers. GIF frame delays are whole
// hundredths of a second and browsers slow down delays under 2/100 s, so a
// GIF plays at most 50 frames per second; delays alternate (2, 3, 2, 3, ...)
// so that any rate up to that plays in real time.
//
// MP4 (H.264) pipes the frames to ffmpeg, which must be on PATH (Debian:
// apt-get install ffmpeg).
package video

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
)

// Writer takes the frames of one video, in order, all of one size.
type Writer interface {
	// Add appends a frame.
	Add(img image.Image) error
	// Close finishes the file; a Writer that failed leaves an incomplete one.
	Close() error
}

// MaxGIFRate is the highest frame rate a GIF plays at in browsers.
const MaxGIFRate = 50

// Formats lists the formats by file extension.
func Formats() []string { return []string{"gif", "mp4"} }

// Format returns the format of path from its extension: "gif" or "mp4".
func Format(path string) (string, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".gif":
		return "gif", nil
	case ".mp4":
		return "mp4", nil
	default:
		return "", fmt.Errorf("video: %s: unknown format %q; want a .gif or .mp4 file", path, ext)
	}
}

// Create creates the video file path, in the format of its extension, to
// play at fps frames per second.
func Create(path string, fps float64) (Writer, error) {
	format, err := Format(path)
	if err != nil {
		return nil, err
	}
	if format == "mp4" {
		return CreateMP4(path, fps)
	}
	if err := checkGIFRate(fps); err != nil {
		return nil, fmt.Errorf("video: %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	g, _ := NewGIF(f, fps) // the rate is checked
	return &gifFile{GIF: g, f: f}, nil
}

// gifFile is a GIF written to a file it closes.
type gifFile struct {
	*GIF
	f *os.File
}

func (g *gifFile) Close() error {
	err := g.GIF.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}
