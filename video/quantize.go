// quantize.go: the 255-colour palette of each GIF frame, by median cut.
//
// The frame's colours are counted in 32,768 bins (5 bits per channel). When
// at most 255 bins are used, each is a palette entry (its mean colour);
// otherwise the bins are split into 255 boxes, each time cutting the box of
// largest squared error at the weighted median of its widest channel, and
// each box's entry is the mean colour of its pixels.

package video

import (
	"image"
	"sort"
)

const (
	nbins  = 1 << 15
	ncolor = 255 // palette entries for colours; one more is transparent
)

type quantizer struct {
	count [nbins]uint32
	sum   [nbins][3]uint64
	lut   [nbins]byte
	used  []uint16 // bins with a count in this frame
	boxes []box
}

// box is a set of bins: q.used[lo:hi].
type box struct {
	lo, hi int
	n      float64    // pixels
	mean   [3]float64 // their mean colour
	sse    float64    // their squared distance to it (over bin means)
	wide   int        // channel of largest spread
}

func bin(r, g, b byte) int { return int(r>>3)<<10 | int(g>>3)<<5 | int(b>>3) }

// index returns the palette index of a colour of the last palette's frame.
func (q *quantizer) index(r, g, b byte) byte { return q.lut[bin(r, g, b)] }

// binMean is the mean colour of bin i's pixels.
func (q *quantizer) binMean(i uint16) [3]float64 {
	n := float64(q.count[i])
	return [3]float64{float64(q.sum[i][0]) / n, float64(q.sum[i][1]) / n, float64(q.sum[i][2]) / n}
}

// palette counts the colours of cur inside box (only the pixels that differ
// from prev, unless all) and returns the frame's palette, after which index
// maps each of those colours to an index below n, the number of colours.
func (q *quantizer) palette(cur, prev *image.RGBA, r image.Rectangle, all bool) (pal [256][3]byte, n int) {
	for _, i := range q.used {
		q.count[i], q.sum[i] = 0, [3]uint64{}
	}
	q.used = q.used[:0]
	for y := r.Min.Y; y < r.Max.Y; y++ {
		c := cur.Pix[cur.PixOffset(r.Min.X, y):]
		p := prev.Pix[prev.PixOffset(r.Min.X, y):]
		for x := 0; x < 4*r.Dx(); x += 4 {
			if !all && c[x] == p[x] && c[x+1] == p[x+1] && c[x+2] == p[x+2] {
				continue
			}
			i := bin(c[x], c[x+1], c[x+2])
			if q.count[i] == 0 {
				q.used = append(q.used, uint16(i))
			}
			q.count[i]++
			q.sum[i][0] += uint64(c[x])
			q.sum[i][1] += uint64(c[x+1])
			q.sum[i][2] += uint64(c[x+2])
		}
	}
	if len(q.used) <= ncolor {
		for k, i := range q.used {
			m := q.binMean(i)
			pal[k] = [3]byte{round8(m[0]), round8(m[1]), round8(m[2])}
			q.lut[i] = byte(k)
		}
		return pal, len(q.used)
	}
	q.boxes = append(q.boxes[:0], q.newBox(0, len(q.used)))
	for len(q.boxes) < ncolor {
		k := -1
		for j, b := range q.boxes {
			if b.hi-b.lo > 1 && (k < 0 || b.sse > q.boxes[k].sse) {
				k = j
			}
		}
		if k < 0 {
			break
		}
		a, b := q.split(q.boxes[k])
		q.boxes[k] = a
		q.boxes = append(q.boxes, b)
	}
	for k, b := range q.boxes {
		pal[k] = [3]byte{round8(b.mean[0]), round8(b.mean[1]), round8(b.mean[2])}
		for _, i := range q.used[b.lo:b.hi] {
			q.lut[i] = byte(k)
		}
	}
	return pal, len(q.boxes)
}

// newBox sums the bins q.used[lo:hi].
func (q *quantizer) newBox(lo, hi int) box {
	b := box{lo: lo, hi: hi}
	var s, s2 [3]float64
	for _, i := range q.used[lo:hi] {
		n := float64(q.count[i])
		m := q.binMean(i)
		b.n += n
		for c := range 3 {
			s[c] += n * m[c]
			s2[c] += n * m[c] * m[c]
		}
	}
	best := -1.0
	for c := range 3 {
		b.mean[c] = s[c] / b.n
		v := s2[c] - s[c]*s[c]/b.n
		b.sse += v
		if v > best {
			best, b.wide = v, c
		}
	}
	return b
}

// split cuts b at the weighted median of its widest channel.
func (q *quantizer) split(b box) (box, box) {
	bins := q.used[b.lo:b.hi]
	c := b.wide
	sort.Slice(bins, func(x, y int) bool { return q.binMean(bins[x])[c] < q.binMean(bins[y])[c] })
	half, acc := b.n/2, 0.0
	cut := 1
	for j, i := range bins[:len(bins)-1] {
		acc += float64(q.count[i])
		cut = j + 1
		if acc >= half {
			break
		}
	}
	return q.newBox(b.lo, b.lo+cut), q.newBox(b.lo+cut, b.hi)
}

func round8(x float64) byte {
	if x >= 255 {
		return 255
	}
	return byte(x + 0.5)
}
