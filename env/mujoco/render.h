// render.h declares the off-screen renderer the Go binding calls: MuJoCo's
// own renderer (mjv_ scene, mjr_ context) drawing into an OpenGL context that
// is created without a display, from OSMesa (software, Debian's libosmesa6)
// or EGL (Mesa's surfaceless platform, or a GPU driver's device platform).
// Neither library is linked: the one used is opened at run time, so the
// binary builds and runs (without rendering) where neither is installed.
#ifndef MBPO_MUJOCO_RENDER_H
#define MBPO_MUJOCO_RENDER_H

#include <mujoco/mujoco.h>

// The OpenGL back ends.
enum { MBPO_GL_AUTO = 0, MBPO_GL_OSMESA = 1, MBPO_GL_EGL = 2 };

// mbpo_camera places a free camera: it looks at lookat, where each axis i
// with follow[i] set is offset from the position of body (the tracked body),
// from distance, at azimuth and elevation (degrees).
typedef struct {
  int body;
  int follow[3];
  double lookat[3];
  double distance, azimuth, elevation;
} mbpo_camera;

typedef struct mbpo_renderer mbpo_renderer;

// mbpo_gl_open opens the OpenGL back end (MBPO_GL_AUTO: OSMesa, then EGL)
// from the shared library osmesa_lib or egl_lib, once per process: MuJoCo
// keeps the OpenGL entry points it loads in globals, so a process renders
// through one back end. It returns the back end opened, or 0 with a message
// in err (errsz bytes).
int mbpo_gl_open(int backend, const char* osmesa_lib, const char* egl_lib, char* err, int errsz);

// mbpo_renderer_new makes a renderer of width × height pixels for a private
// copy of m, with its own simulation state and OpenGL context. It returns
// NULL with a message in err on failure.
mbpo_renderer* mbpo_renderer_new(const mjModel* m, int width, int height, char* err, int errsz);

// mbpo_render sets the renderer's state to qpos (nq values) and qvel (nv),
// computes the positions (mj_forward), draws the scene seen by cam and reads
// it into rgb: width × height × 3 bytes, top row first. It returns 0, or a
// non-zero OpenGL error code.
int mbpo_render(mbpo_renderer* r, const double* qpos, const double* qvel, const mbpo_camera* cam,
                unsigned char* rgb);

// mbpo_renderer_free frees the renderer and its OpenGL context.
void mbpo_renderer_free(mbpo_renderer* r);

#endif
