// render_test.go checks the off-screen renderer on the ball model: a frame
// of a known state shows the scene, frames of two states differ where the
// body moved, and the renderer fails clearly on wrong input. Frames are kept
// small (96 × 72), as software rendering is slow on 2 cores.

package mujoco

import (
	"errors"
	"image"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func newRenderer(t *testing.T, m *Model, w, h int) *Renderer {
	t.Helper()
	r, err := NewRenderer(m, w, h)
	if err != nil {
		t.Fatalf("NewRenderer: %v (scripts/deps.sh installs libosmesa6)", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// onNewThread runs f on an OS thread of its own, which ends with it (the
// goroutine exits locked to it), so no two calls share a thread.
func onNewThread[T any](f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	c := make(chan result)
	go func() {
		runtime.LockOSThread()
		v, err := f()
		c <- result{v, err}
	}()
	r := <-c
	return r.v, r.err
}

// ballCam looks at the ball's start position from the side, fixed.
var ballCam = Camera{Lookat: [3]float64{0, 0, 0.3}, Distance: 2, Azimuth: 90, Elevation: -20}

func render(t *testing.T, r *Renderer, d *Data, cam Camera) *image.RGBA {
	t.Helper()
	w, h := r.Size()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	if err := r.Render(d.Qpos(), d.Qvel(), cam, img); err != nil {
		t.Fatal(err)
	}
	return img
}

// distinctColors counts the different colours of img.
func distinctColors(img *image.RGBA) int {
	seen := map[[3]byte]bool{}
	for i := 0; i < len(img.Pix); i += 4 {
		seen[[3]byte{img.Pix[i], img.Pix[i+1], img.Pix[i+2]}] = true
	}
	return len(seen)
}

// changedBox returns the bounding box of the pixels that differ between a
// and b, and how many do.
func changedBox(a, b *image.RGBA) (image.Rectangle, int) {
	var box image.Rectangle
	n := 0
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i := a.PixOffset(x, y)
			if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
				box = box.Union(image.Rect(x, y, x+1, y+1))
				n++
			}
		}
	}
	return box, n
}

func TestRenderFrameOfAKnownState(t *testing.T) {
	m, d := load(t)
	r := newRenderer(t, m, 96, 72)
	d.Forward()
	before := append([]float64(nil), d.Xpos()...)
	img := render(t, r, d, ballCam)
	if n := distinctColors(img); n < 20 {
		t.Fatalf("the frame of the ball at rest has %d distinct colours: blank", n)
	}
	for i := 3; i < len(img.Pix); i += 4 {
		if img.Pix[i] != 255 {
			t.Fatalf("alpha %d at byte %d, want 255", img.Pix[i], i)
		}
	}
	// The ball (grey, lit) is at the centre of the view: the centre pixel is
	// neither black (empty sky) nor the same as a frame without the ball.
	c := img.RGBAAt(48, 36)
	if c.R+c.G+c.B == 0 {
		t.Errorf("centre pixel %v is black: the ball is not drawn", c)
	}
	// Rendering the same state again gives the same frame, and rendering
	// never touches the Data it reads the state from.
	if _, n := changedBox(img, render(t, r, d, ballCam)); n != 0 {
		t.Errorf("two renders of one state differ in %d pixels", n)
	}
	for i, v := range d.Xpos() {
		if v != before[i] {
			t.Fatalf("rendering changed xpos[%d] of the Data: %v -> %v", i, before[i], v)
		}
	}
}

func TestRenderDiffersBetweenStates(t *testing.T) {
	m, d := load(t)
	r := newRenderer(t, m, 96, 72)
	a := render(t, r, d, ballCam)
	d.Qpos()[0] = 0.4 // the ball moves 0.4 m along +x: to the right of this view
	b := render(t, r, d, ballCam)
	box, n := changedBox(a, b)
	if n < 50 {
		t.Fatalf("moving the ball changed %d pixels, want it visible", n)
	}
	if box.Max.Y <= 10 || box.Min.Y >= 62 {
		t.Errorf("the pixels that changed, %v, are not around the ball's height at the image centre", box)
	}
	// The arm's hinge turned a quarter turn changes other pixels again.
	d.Qpos()[0] = 0
	d.Qpos()[7] = 1.5
	if _, n := changedBox(a, render(t, r, d, ballCam)); n < 20 {
		t.Errorf("turning the arm changed %d pixels", n)
	}
	// A camera following the ball keeps it in the same place: the frames of
	// the two positions differ less than under the fixed camera.
	follow := ballCam
	follow.Follow = [3]bool{true, false, false}
	follow.Lookat[0] = 0
	follow.Body = 1
	d.Qpos()[7] = 0
	fa := render(t, r, d, follow)
	d.Qpos()[0] = 0.4
	fb := render(t, r, d, follow)
	fbox, _ := changedBox(fa, fb)
	if c := fa.RGBAAt(48, 36); c != fb.RGBAAt(48, 36) {
		t.Errorf("under the following camera the ball's centre pixel changed: %v -> %v (changed %v)", c, fb.RGBAAt(48, 36), fbox)
	}
}

func TestRenderRejectsBadInput(t *testing.T) {
	m, d := load(t)
	if _, err := NewRenderer(m, 0, 10); err == nil {
		t.Error("NewRenderer with width 0: no error")
	}
	r := newRenderer(t, m, 16, 16)
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for _, c := range []struct {
		name string
		err  error
	}{
		{"short qpos", r.Render(d.Qpos()[:3], d.Qvel(), ballCam, img)},
		{"image size", r.Render(d.Qpos(), d.Qvel(), ballCam, image.NewRGBA(image.Rect(0, 0, 8, 16)))},
		{"camera body", r.Render(d.Qpos(), d.Qvel(), Camera{Body: 9, Distance: 1}, img)},
	} {
		if c.err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
	r.Close()
	if err := r.Render(d.Qpos(), d.Qvel(), ballCam, img); err == nil || !strings.Contains(err.Error(), "after Close") {
		t.Errorf("Render after Close: %v", err)
	}
}

// TestRenderBackends renders through each back end in a child process (a
// process keeps the first back end it opens): OSMesa, which scripts/deps.sh
// installs, must work; EGL is tried where Mesa's EGL is installed. An unknown
// MUJOCO_GL, and a back end whose library is missing, are errors naming what
// to install.
func TestRenderBackends(t *testing.T) {
	switch os.Getenv("MBPO_RENDER_CHILD") {
	case "":
	case "missing":
		// Neither library exists: the error wraps ErrNoGL and names the
		// Debian package to install.
		_, err := openGL("libOSMesa-missing.so.8", "libEGL-missing.so.1")
		if !errors.Is(err, ErrNoGL) || !strings.Contains(err.Error(), "apt-get install libosmesa6") ||
			!strings.Contains(err.Error(), "libOSMesa-missing.so.8 not found") {
			t.Fatalf("no OpenGL library: error %v", err)
		}
		return
	default:
		// The back end is opened, the renderer made and each frame drawn
		// on three different OS threads, as a goroutine may move between
		// calls: nothing an OpenGL library keeps per thread (EGL's bound
		// API) may be set only at open.
		m, d := load(t)
		backend, err := onNewThread(GLBackend)
		if err != nil {
			t.Fatal(err)
		}
		if want := os.Getenv(GLEnv); backend != want {
			t.Fatalf("MUJOCO_GL=%s opened %s", want, backend)
		}
		r, err := onNewThread(func() (*Renderer, error) { return NewRenderer(m, 32, 24) })
		if err != nil {
			t.Fatalf("NewRenderer on a thread other than the one that opened %s: %v", backend, err)
		}
		defer r.Close()
		for i := 0; i < 2; i++ {
			img, err := onNewThread(func() (*image.RGBA, error) {
				img := image.NewRGBA(image.Rect(0, 0, 32, 24))
				return img, r.Render(d.Qpos(), d.Qvel(), ballCam, img)
			})
			if err != nil {
				t.Fatalf("frame %d on a new thread: %v", i, err)
			}
			if distinctColors(img) < 5 {
				t.Fatalf("%s rendered a blank frame %d", backend, i)
			}
		}
		return
	}
	child := func(what, gl string) {
		cmd := exec.Command(os.Args[0], "-test.run=^TestRenderBackends$", "-test.v")
		cmd.Env = append(os.Environ(), "MBPO_RENDER_CHILD="+what, GLEnv+"="+gl)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s, MUJOCO_GL=%s: %v\n%s", what, gl, err, out)
		}
	}
	child("render", "osmesa")
	// EGL needs libEGL.so.1 (libegl1) and a vendor: Mesa's (libegl-mesa0)
	// here; make test does not install them.
	if egl, _ := filepath.Glob("/usr/lib/*/libEGL_mesa.so.0"); len(egl) > 0 {
		child("render", "egl")
	} else {
		t.Log("no Mesa EGL (libegl-mesa0): EGL not tried")
	}
	child("missing", "")
	t.Setenv(GLEnv, "glfw")
	if _, err := GLBackend(); err == nil || !strings.Contains(err.Error(), "osmesa and egl") {
		t.Errorf("MUJOCO_GL=glfw: %v", err)
	}
}
