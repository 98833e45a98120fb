// render.go draws an environment's current state with MuJoCo's renderer,
// off-screen (env/mujoco: OSMesa or EGL), from a camera that tracks the
// robot's torso.

package env

import (
	"fmt"
	"image"

	"github.com/mbpogo/mbpo/env/mujoco"
)

// Renderer draws the current state of one Env. It never changes the Env's
// simulation: it renders from its own copy of the model and state.
type Renderer struct {
	e   *Env
	r   *mujoco.Renderer
	cam mujoco.Camera
}

// trackingCamera returns the camera of a task: on the torso's x (and y for
// the robots that turn), at a fixed height, from the side. The pendulums'
// camera is fixed on the rail, so the cart's motion shows.
func trackingCamera(model string, m *mujoco.Model) (mujoco.Camera, error) {
	type view struct {
		body              string
		followY           bool
		z, dist, az, elev float64
	}
	v, ok := map[string]view{
		"hopper.xml":                   {"torso", false, 0.8, 3.5, 90, -20},
		"walker2d.xml":                 {"torso", false, 0.8, 4, 90, -20},
		"half_cheetah.xml":             {"torso", false, 0.4, 4, 90, -20},
		"ant.xml":                      {"torso", true, 0.5, 6, 90, -30},
		"humanoid.xml":                 {"torso", true, 0.8, 4, 90, -20},
		"swimmer.xml":                  {"torso", true, 0, 5, 90, -50},
		"inverted_pendulum.xml":        {"", false, 0.2, 2.6, 90, -10},
		"inverted_double_pendulum.xml": {"", false, 0.5, 3.6, 90, -10},
	}[model]
	if !ok {
		return mujoco.Camera{}, fmt.Errorf("env: no camera for model %s", model)
	}
	cam := mujoco.Camera{Lookat: [3]float64{2: v.z}, Distance: v.dist, Azimuth: v.az, Elevation: v.elev}
	if v.body != "" {
		id, err := m.BodyID(v.body)
		if err != nil {
			return mujoco.Camera{}, err
		}
		cam.Body = id
		cam.Follow = [3]bool{true, v.followY, false}
	}
	return cam, nil
}

// GLBackend opens the off-screen OpenGL back end (once per process; the
// MUJOCO_GL environment variable chooses osmesa or egl) and names it. Its
// error wraps mujoco.ErrNoGL, which names the package to install.
func GLBackend() (string, error) { return mujoco.GLBackend() }

// NewRenderer returns a renderer of e's state into width × height images.
// Its error wraps mujoco.ErrNoGL, which names the package to install, where
// no off-screen OpenGL context can be opened. Close it before e.
func (e *Env) NewRenderer(width, height int) (*Renderer, error) {
	cam, err := trackingCamera(e.spec.Model, e.model)
	if err != nil {
		return nil, err
	}
	r, err := mujoco.NewRenderer(e.model, width, height)
	if err != nil {
		return nil, fmt.Errorf("env: %s: %w", e.spec.ID, err)
	}
	return &Renderer{e: e, r: r, cam: cam}, nil
}

// Camera returns the camera the renderer draws from.
func (r *Renderer) Camera() mujoco.Camera { return r.cam }

// SetCamera changes the camera the renderer draws from.
func (r *Renderer) SetCamera(c mujoco.Camera) { r.cam = c }

// Size returns the width and height of the images drawn.
func (r *Renderer) Size() (width, height int) { return r.r.Size() }

// NewImage returns an image of the renderer's size to draw into.
func (r *Renderer) NewImage() *image.RGBA {
	w, h := r.r.Size()
	return image.NewRGBA(image.Rect(0, 0, w, h))
}

// Render draws the env's current state into img (NewImage's size).
func (r *Renderer) Render(img *image.RGBA) error {
	return r.r.Render(r.e.data.Qpos(), r.e.data.Qvel(), r.cam, img)
}

// Close frees the renderer.
func (r *Renderer) Close() error { return r.r.Close() }
