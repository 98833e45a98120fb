// gif.go: a streaming animated-GIF (GIF89a) encoder.
//
// File layout: header, logical screen (no global colour table), NETSCAPE2.0
// loop extension, then per frame a graphic control extension (delay,
// disposal "keep", transparent index) and an image: its descriptor (the
// bounding box of the pixels that changed), a local colour table of as few
// entries as the frame needs (2 to 256, the last one transparent) and
// LZW-compressed indices in sub-blocks of up to 255 bytes; the trailer
// last. The first frame is whole; in later frames a pixel equal to the
// previous frame's is transparent, so the previous one shows through.

package video

import (
	"bufio"
	"compress/lzw"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"io"
	"math"
)

// GIF streams an animated GIF to an io.Writer.
type GIF struct {
	w      *bufio.Writer
	fps    float64
	frames int
	size   image.Point
	prev   *image.RGBA // the previous frame, as given
	cur    *image.RGBA
	idx    []byte // palette indices of the frame being written
	q      quantizer
	err    error
	closed bool
}

// NewGIF returns a GIF writer playing at fps frames per second (at most
// MaxGIFRate).
func NewGIF(w io.Writer, fps float64) (*GIF, error) {
	if err := checkGIFRate(fps); err != nil {
		return nil, err
	}
	return &GIF{w: bufio.NewWriterSize(w, 1<<16), fps: fps}, nil
}

func checkGIFRate(fps float64) error {
	if !(fps > 0 && fps <= MaxGIFRate) {
		return fmt.Errorf("a GIF plays at most %d frames per second (browsers slow down shorter delays), got %g", MaxGIFRate, fps)
	}
	return nil
}

// Frames returns the number of frames added.
func (g *GIF) Frames() int { return g.frames }

// delay is frame i's delay in hundredths of a second: the frames' start
// times rounded to hundredths, so the GIF keeps real time at any rate.
func (g *GIF) delay(i int) int {
	return int(math.Round(100*float64(i+1)/g.fps) - math.Round(100*float64(i)/g.fps))
}

// Add appends img as the next frame.
func (g *GIF) Add(img image.Image) error {
	if g.closed {
		return errors.New("video: Add to a closed GIF")
	}
	if g.err != nil {
		return g.err
	}
	b := img.Bounds()
	if g.frames == 0 {
		if b.Dx() < 1 || b.Dy() < 1 || b.Dx() > 65535 || b.Dy() > 65535 {
			return fmt.Errorf("video: GIF frame of %v pixels", b.Size())
		}
		g.size = b.Size()
		g.prev = image.NewRGBA(image.Rectangle{Max: g.size})
		g.cur = image.NewRGBA(image.Rectangle{Max: g.size})
		g.idx = make([]byte, g.size.X*g.size.Y)
		g.header()
	} else if b.Size() != g.size {
		return fmt.Errorf("video: GIF frame %d is %v pixels, the first was %v", g.frames, b.Size(), g.size)
	}
	draw.Draw(g.cur, g.cur.Rect, img, b.Min, draw.Src)
	g.frame()
	g.prev, g.cur = g.cur, g.prev
	g.frames++
	if g.err == nil {
		g.err = g.w.Flush()
	}
	return g.err
}

// Close writes the trailer. A GIF with no frame is an error.
func (g *GIF) Close() error {
	if g.closed {
		return errors.New("video: GIF already closed")
	}
	g.closed = true
	if g.err != nil {
		return g.err
	}
	if g.frames == 0 {
		return errors.New("video: a GIF needs at least one frame")
	}
	g.w.WriteByte(0x3B)
	return g.w.Flush()
}

func (g *GIF) header() {
	w := g.w
	w.WriteString("GIF89a")
	binary.Write(w, binary.LittleEndian, [2]uint16{uint16(g.size.X), uint16(g.size.Y)})
	w.Write([]byte{0x70, 0, 0}) // 8-bit colour resolution, no global table; background 0; aspect 0
	w.Write([]byte{0x21, 0xFF, 11})
	w.WriteString("NETSCAPE2.0")
	w.Write([]byte{3, 1, 0, 0, 0}) // loop forever
}

// frame writes g.cur, as the change from g.prev after the first frame.
func (g *GIF) frame() {
	box := g.cur.Rect
	first := g.frames == 0
	if !first {
		box = changed(g.prev, g.cur)
		if box.Empty() {
			box = image.Rect(0, 0, 1, 1) // one transparent pixel: the frame keeps its time
		}
	}
	pal, ncol := g.q.palette(g.cur, g.prev, box, first)
	// The local colour table holds 2^bits entries, the last one the
	// transparent index of "unchanged": as few as the frame needs, so a frame
	// where little changed costs little.
	bits := 1
	for 1<<bits < ncol+1 {
		bits++
	}
	transparent := byte(1<<bits - 1)
	n := 0
	for y := box.Min.Y; y < box.Max.Y; y++ {
		c := g.cur.Pix[g.cur.PixOffset(box.Min.X, y):]
		p := g.prev.Pix[g.prev.PixOffset(box.Min.X, y):]
		for x := 0; x < 4*box.Dx(); x += 4 {
			if !first && c[x] == p[x] && c[x+1] == p[x+1] && c[x+2] == p[x+2] {
				g.idx[n] = transparent
			} else {
				g.idx[n] = g.q.index(c[x], c[x+1], c[x+2])
			}
			n++
		}
	}

	w := g.w
	d := g.delay(g.frames)
	// Graphic control: disposal 1 (keep the frame), transparent index given.
	w.Write([]byte{0x21, 0xF9, 4, 1<<2 | 1, byte(d), byte(d >> 8), transparent, 0})
	w.WriteByte(0x2C)
	binary.Write(w, binary.LittleEndian, [4]uint16{uint16(box.Min.X), uint16(box.Min.Y), uint16(box.Dx()), uint16(box.Dy())})
	w.WriteByte(0x80 | byte(bits-1)) // a local colour table of 2^bits entries
	for _, c := range pal[:1<<bits] {
		w.Write(c[:])
	}
	lit := max(bits, 2) // GIF's smallest LZW code size is 2
	w.WriteByte(byte(lit))
	bw := &blockWriter{w: w}
	lw := lzw.NewWriter(bw, lzw.LSB, lit)
	if _, err := lw.Write(g.idx[:n]); err != nil && g.err == nil {
		g.err = err
	}
	if err := lw.Close(); err != nil && g.err == nil {
		g.err = err
	}
	bw.close()
}

// changed returns the bounding box of the pixels where a and b differ.
func changed(a, b *image.RGBA) image.Rectangle {
	box := image.Rectangle{}
	w := a.Rect.Dx()
	for y := 0; y < a.Rect.Dy(); y++ {
		ra, rb := a.Pix[y*a.Stride:y*a.Stride+4*w], b.Pix[y*b.Stride:y*b.Stride+4*w]
		lo, hi := -1, -1
		for x := 0; x < w; x++ {
			i := 4 * x
			if ra[i] != rb[i] || ra[i+1] != rb[i+1] || ra[i+2] != rb[i+2] {
				if lo < 0 {
					lo = x
				}
				hi = x
			}
		}
		if lo >= 0 {
			box = box.Union(image.Rect(lo, y, hi+1, y+1))
		}
	}
	return box
}

// blockWriter cuts a byte stream into GIF data sub-blocks: a length byte
// (1 to 255) and that many bytes, ended by a zero-length block.
type blockWriter struct {
	w   *bufio.Writer
	buf [255]byte
	n   int
}

func (b *blockWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		b.buf[b.n] = c
		if b.n++; b.n == len(b.buf) {
			b.flush()
		}
	}
	return len(p), nil
}

func (b *blockWriter) flush() {
	if b.n > 0 {
		b.w.WriteByte(byte(b.n))
		b.w.Write(b.buf[:b.n])
		b.n = 0
	}
}

func (b *blockWriter) close() {
	b.flush()
	b.w.WriteByte(0)
}
