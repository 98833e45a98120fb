// render.go binds MuJoCo's renderer (mjv_ scene, mjr_ context) drawing
// off-screen, with no display and no GPU needed: the OpenGL context comes from
// OSMesa (Mesa's software renderer, Debian's libosmesa6) or EGL (Mesa's
// surfaceless platform, or a GPU driver's), opened at run time.

package mujoco

/*
#include <stdlib.h>
#include "render.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"os"
	"unsafe"
)

// ErrNoGL is the error (wrapped, with the reasons) of a renderer that can
// open no off-screen OpenGL context.
var ErrNoGL = errors.New("mujoco: rendering needs an off-screen OpenGL context: install Debian's libosmesa6 " +
	"(apt-get install libosmesa6), or EGL (libegl1 with libegl-mesa0 or a GPU driver) and set MUJOCO_GL=egl")

// GLEnv is the environment variable that chooses the OpenGL back end:
// "osmesa" or "egl"; unset or empty, OSMesa is tried first, then EGL. (The
// name and values are those of MuJoCo's Python bindings.) A process renders
// through the first back end it opens.
const GLEnv = "MUJOCO_GL"

// Camera is a free camera looking at a point from Distance, at Azimuth and
// Elevation in degrees (MuJoCo's mjvCamera conventions: azimuth 90 and
// elevation 0 look along +y, horizontally).
type Camera struct {
	Body      int        // the body the look-at point follows
	Follow    [3]bool    // the axes along which the look-at point follows Body's position
	Lookat    [3]float64 // per axis: the offset from Body's position when followed, else the coordinate
	Distance  float64
	Azimuth   float64
	Elevation float64
}

// Renderer draws states of one model into images. It holds a private copy of
// the model and its own simulation state, so rendering never touches the
// Data it is given the state of. A Renderer may be used by one goroutine at a
// time; renderers in one process draw one at a time.
type Renderer struct {
	r             *C.mbpo_renderer
	name          string
	nq, nv, nbody int
	width, height int
	rgb           []byte
}

// The shared libraries of the back ends.
const (
	osmesaLib = "libOSMesa.so.8" // Debian's libosmesa6
	eglLib    = "libEGL.so.1"    // Debian's libegl1 (with libegl-mesa0, or a GPU driver's EGL)
)

// GLBackend opens (once per process) and names the off-screen OpenGL back
// end chosen by MUJOCO_GL: "osmesa" or "egl". The error wraps ErrNoGL when
// none can be opened.
func GLBackend() (string, error) { return openGL(osmesaLib, eglLib) }

// openGL is GLBackend with the libraries named.
func openGL(osmesa, egl string) (string, error) {
	want := C.int(C.MBPO_GL_AUTO)
	switch v := os.Getenv(GLEnv); v {
	case "":
	case "osmesa":
		want = C.MBPO_GL_OSMESA
	case "egl":
		want = C.MBPO_GL_EGL
	default:
		return "", fmt.Errorf("mujoco: %s=%s: off-screen rendering supports osmesa and egl", GLEnv, v)
	}
	cos, cegl := C.CString(osmesa), C.CString(egl)
	defer C.free(unsafe.Pointer(cos))
	defer C.free(unsafe.Pointer(cegl))
	var errbuf [1000]C.char
	switch C.mbpo_gl_open(want, cos, cegl, &errbuf[0], C.int(len(errbuf))) {
	case C.MBPO_GL_OSMESA:
		return "osmesa", nil
	case C.MBPO_GL_EGL:
		return "egl", nil
	}
	return "", fmt.Errorf("%w (%s)", ErrNoGL, C.GoString(&errbuf[0]))
}

// NewRenderer makes a renderer of width × height pixels for m. Its error
// wraps ErrNoGL when no off-screen OpenGL context can be opened.
func NewRenderer(m *Model, width, height int) (*Renderer, error) {
	if width < 1 || height < 1 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("mujoco: renderer of %d × %d pixels: want 1 to 8192 each", width, height)
	}
	if _, err := GLBackend(); err != nil {
		return nil, err
	}
	var errbuf [1000]C.char
	r := C.mbpo_renderer_new(m.ptr(), C.int(width), C.int(height), &errbuf[0], C.int(len(errbuf)))
	if r == nil {
		return nil, fmt.Errorf("mujoco: renderer for %s: %s", m.name, C.GoString(&errbuf[0]))
	}
	return &Renderer{r: r, name: m.name, nq: m.NQ(), nv: m.NV(), nbody: m.NBody(),
		width: width, height: height, rgb: make([]byte, 3*width*height)}, nil
}

// Size returns the width and height of the images the renderer draws.
func (r *Renderer) Size() (width, height int) { return r.width, r.height }

// Render draws the model in the state (qpos, qvel) seen by cam into img,
// which must be Size() large; its alpha is 255 everywhere.
func (r *Renderer) Render(qpos, qvel []float64, cam Camera, img *image.RGBA) error {
	switch {
	case r.r == nil:
		return fmt.Errorf("mujoco: renderer for %s used after Close", r.name)
	case len(qpos) != r.nq || len(qvel) != r.nv:
		return fmt.Errorf("mujoco: render %s with %d qpos and %d qvel values, want %d and %d", r.name, len(qpos), len(qvel), r.nq, r.nv)
	case cam.Body < 0 || cam.Body >= r.nbody:
		return fmt.Errorf("mujoco: render %s with a camera on body %d of %d", r.name, cam.Body, r.nbody)
	case img.Rect.Dx() != r.width || img.Rect.Dy() != r.height:
		return fmt.Errorf("mujoco: render %s into a %v image, want %d × %d", r.name, img.Rect.Size(), r.width, r.height)
	}
	c := C.mbpo_camera{body: C.int(cam.Body), distance: C.double(cam.Distance),
		azimuth: C.double(cam.Azimuth), elevation: C.double(cam.Elevation)}
	for i := range 3 {
		if cam.Follow[i] {
			c.follow[i] = 1
		}
		c.lookat[i] = C.double(cam.Lookat[i])
	}
	rc := C.mbpo_render(r.r, (*C.double)(unsafe.Pointer(&qpos[0])), (*C.double)(unsafe.Pointer(ptrOrNil(qvel))), &c, (*C.uchar)(unsafe.Pointer(&r.rgb[0])))
	if rc != 0 {
		return fmt.Errorf("mujoco: render %s: OpenGL error 0x%x", r.name, int(rc))
	}
	for y := range r.height {
		src := r.rgb[3*r.width*y : 3*r.width*(y+1)]
		dst := img.Pix[y*img.Stride : y*img.Stride+4*r.width]
		for x := range r.width {
			dst[4*x], dst[4*x+1], dst[4*x+2], dst[4*x+3] = src[3*x], src[3*x+1], src[3*x+2], 255
		}
	}
	return nil
}

// Close frees the renderer and its OpenGL context.
func (r *Renderer) Close() error {
	if r.r != nil {
		C.mbpo_renderer_free(r.r)
		r.r = nil
	}
	return nil
}
