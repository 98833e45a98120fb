// render.c implements render.h: an off-screen OpenGL context from OSMesa or
// EGL, opened with dlopen, and MuJoCo's renderer drawing into it.
//
// Every call that touches OpenGL makes the renderer's context current on the
// calling thread and releases it before returning, so a Go goroutine may call
// from any OS thread; calls are serialised by one lock (MuJoCo's OpenGL entry
// points are process globals).
#include "render.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The few OpenGL, OSMesa and EGL names used, declared here so that no GL
// headers are needed to build.
#define MBPO_GL_RGBA 0x1908
#define MBPO_GL_UNSIGNED_BYTE 0x1401

typedef void* (*osmesa_create_fn)(unsigned format, int depth, int stencil, int accum, void* share);
typedef unsigned char (*osmesa_make_current_fn)(void* ctx, void* buf, unsigned type, int w, int h);
typedef void (*osmesa_destroy_fn)(void* ctx);

#define MBPO_EGL_NONE 0x3038
#define MBPO_EGL_RED_SIZE 0x3024
#define MBPO_EGL_GREEN_SIZE 0x3023
#define MBPO_EGL_BLUE_SIZE 0x3022
#define MBPO_EGL_ALPHA_SIZE 0x3021
#define MBPO_EGL_DEPTH_SIZE 0x3025
#define MBPO_EGL_STENCIL_SIZE 0x3026
#define MBPO_EGL_SURFACE_TYPE 0x3033
#define MBPO_EGL_PBUFFER_BIT 0x0001
#define MBPO_EGL_RENDERABLE_TYPE 0x3040
#define MBPO_EGL_OPENGL_BIT 0x0008
#define MBPO_EGL_OPENGL_API 0x30A2
#define MBPO_EGL_WIDTH 0x3057
#define MBPO_EGL_HEIGHT 0x3056
#define MBPO_EGL_PLATFORM_DEVICE_EXT 0x313F
#define MBPO_EGL_PLATFORM_SURFACELESS_MESA 0x31DD

typedef void* (*egl_get_proc_fn)(const char*);
typedef void* (*egl_get_platform_display_fn)(unsigned platform, void* native, const int* attrs);
typedef unsigned (*egl_query_devices_fn)(int max, void** devices, int* n);
typedef void* (*egl_get_display_fn)(void* native);
typedef unsigned (*egl_initialize_fn)(void* dpy, int* major, int* minor);
typedef unsigned (*egl_choose_config_fn)(void* dpy, const int* attrs, void** configs, int size, int* n);
typedef unsigned (*egl_bind_api_fn)(unsigned api);
typedef void* (*egl_create_context_fn)(void* dpy, void* config, void* share, const int* attrs);
typedef void* (*egl_create_pbuffer_fn)(void* dpy, void* config, const int* attrs);
typedef unsigned (*egl_make_current_fn)(void* dpy, void* draw, void* read, void* ctx);
typedef unsigned (*egl_destroy_fn)(void* dpy, void* obj);
typedef int (*egl_get_error_fn)(void);

static pthread_mutex_t gl_lock = PTHREAD_MUTEX_INITIALIZER;
static int gl_backend;  // the back end opened, 0 before

static struct {
  osmesa_create_fn create;
  osmesa_make_current_fn make_current;
  osmesa_destroy_fn destroy;
} osmesa;

static struct {
  void* display;
  void* config;
  egl_create_context_fn create_context;
  egl_create_pbuffer_fn create_pbuffer;
  egl_bind_api_fn bind_api;  // per thread: called before every other EGL call on a context
  egl_make_current_fn make_current;
  egl_destroy_fn destroy_context, destroy_surface;
  egl_get_error_fn get_error;
} egl;

struct mbpo_renderer {
  mjModel* m;  // a private copy, with the off-screen buffer's size
  mjData* d;
  int width, height;
  void* ctx;      // OSMesaContext or EGLContext
  void* surface;  // EGLSurface (a 1 × 1 pbuffer), or NULL
  unsigned char* osmesa_buf;
  unsigned char* flip;  // one frame read bottom row first
  mjvScene scn;
  mjvOption opt;
  mjrContext con;
};

static int open_osmesa(const char* lib, char* err, int errsz) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    snprintf(err, errsz, "%s not found (Debian package libosmesa6)", lib);
    return 0;
  }
  osmesa.create = (osmesa_create_fn)dlsym(h, "OSMesaCreateContextExt");
  osmesa.make_current = (osmesa_make_current_fn)dlsym(h, "OSMesaMakeCurrent");
  osmesa.destroy = (osmesa_destroy_fn)dlsym(h, "OSMesaDestroyContext");
  if (!osmesa.create || !osmesa.make_current || !osmesa.destroy) {
    snprintf(err, errsz, "libOSMesa lacks OSMesaCreateContextExt, OSMesaMakeCurrent or OSMesaDestroyContext");
    return 0;
  }
  return 1;
}

// egl_display initialises a display without a window system: the first
// device of EGL_EXT_device_enumeration (a GPU driver's, or Mesa's software
// device), else Mesa's surfaceless platform, else the default display.
static void* egl_display(void* h, egl_get_proc_fn gpa, egl_initialize_fn init) {
  egl_get_platform_display_fn gpd = (egl_get_platform_display_fn)gpa("eglGetPlatformDisplayEXT");
  egl_query_devices_fn qd = (egl_query_devices_fn)gpa("eglQueryDevicesEXT");
  int major, minor;
  if (gpd && qd) {
    void* devs[16];
    int n = 0;
    if (qd(16, devs, &n)) {
      for (int i = 0; i < n; i++) {
        void* dpy = gpd(MBPO_EGL_PLATFORM_DEVICE_EXT, devs[i], NULL);
        if (dpy && init(dpy, &major, &minor)) {
          return dpy;
        }
      }
    }
  }
  if (gpd) {
    void* dpy = gpd(MBPO_EGL_PLATFORM_SURFACELESS_MESA, NULL, NULL);
    if (dpy && init(dpy, &major, &minor)) {
      return dpy;
    }
  }
  egl_get_display_fn gd = (egl_get_display_fn)dlsym(h, "eglGetDisplay");
  if (gd) {
    void* dpy = gd(NULL);
    if (dpy && init(dpy, &major, &minor)) {
      return dpy;
    }
  }
  return NULL;
}

static int open_egl(const char* lib, char* err, int errsz) {
  void* h = dlopen(lib, RTLD_NOW | RTLD_GLOBAL);
  if (!h) {
    snprintf(err, errsz, "%s not found (Debian packages libegl1 and libegl-mesa0)", lib);
    return 0;
  }
  egl_get_proc_fn gpa = (egl_get_proc_fn)dlsym(h, "eglGetProcAddress");
  egl_initialize_fn init = (egl_initialize_fn)dlsym(h, "eglInitialize");
  egl_choose_config_fn choose = (egl_choose_config_fn)dlsym(h, "eglChooseConfig");
  egl.bind_api = (egl_bind_api_fn)dlsym(h, "eglBindAPI");
  egl.create_context = (egl_create_context_fn)dlsym(h, "eglCreateContext");
  egl.create_pbuffer = (egl_create_pbuffer_fn)dlsym(h, "eglCreatePbufferSurface");
  egl.make_current = (egl_make_current_fn)dlsym(h, "eglMakeCurrent");
  egl.destroy_context = (egl_destroy_fn)dlsym(h, "eglDestroyContext");
  egl.destroy_surface = (egl_destroy_fn)dlsym(h, "eglDestroySurface");
  egl.get_error = (egl_get_error_fn)dlsym(h, "eglGetError");
  if (!gpa || !init || !choose || !egl.bind_api || !egl.create_context || !egl.create_pbuffer ||
      !egl.make_current || !egl.destroy_context || !egl.destroy_surface || !egl.get_error) {
    snprintf(err, errsz, "%s lacks an EGL 1.4 function", lib);
    return 0;
  }
  egl.display = egl_display(h, gpa, init);
  if (!egl.display) {
    snprintf(err, errsz, "EGL found no display without a window system (no GPU driver's EGL device, no Mesa "
             "surfaceless platform: Debian package libegl-mesa0)");
    return 0;
  }
  const int attrs[] = {MBPO_EGL_RED_SIZE, 8, MBPO_EGL_GREEN_SIZE, 8, MBPO_EGL_BLUE_SIZE, 8,
                       MBPO_EGL_ALPHA_SIZE, 8, MBPO_EGL_DEPTH_SIZE, 24, MBPO_EGL_STENCIL_SIZE, 8,
                       MBPO_EGL_SURFACE_TYPE, MBPO_EGL_PBUFFER_BIT,
                       MBPO_EGL_RENDERABLE_TYPE, MBPO_EGL_OPENGL_BIT, MBPO_EGL_NONE};
  int n = 0;
  if (!choose(egl.display, attrs, &egl.config, 1, &n) || n < 1) {
    snprintf(err, errsz, "EGL has no RGBA8, depth 24, stencil 8 OpenGL configuration with pbuffers (error 0x%x)",
             egl.get_error());
    return 0;
  }
  if (!egl.bind_api(MBPO_EGL_OPENGL_API)) {
    snprintf(err, errsz, "EGL cannot bind the desktop OpenGL API (error 0x%x)", egl.get_error());
    return 0;
  }
  return 1;
}

int mbpo_gl_open(int backend, const char* osmesa_lib, const char* egl_lib, char* err, int errsz) {
  pthread_mutex_lock(&gl_lock);
  int got = gl_backend;
  if (got && backend != MBPO_GL_AUTO && backend != got) {
    snprintf(err, errsz, "this process already renders through %s; it cannot switch to %s",
             got == MBPO_GL_OSMESA ? "OSMesa" : "EGL", backend == MBPO_GL_OSMESA ? "OSMesa" : "EGL");
    got = 0;
  } else if (!got) {
    char e1[300] = "", e2[300] = "";
    if ((backend == MBPO_GL_AUTO || backend == MBPO_GL_OSMESA) && open_osmesa(osmesa_lib, e1, sizeof(e1))) {
      got = MBPO_GL_OSMESA;
    } else if ((backend == MBPO_GL_AUTO || backend == MBPO_GL_EGL) && open_egl(egl_lib, e2, sizeof(e2))) {
      got = MBPO_GL_EGL;
    } else if (backend == MBPO_GL_AUTO) {
      snprintf(err, errsz, "OSMesa: %s; EGL: %s", e1, e2);
    } else {
      snprintf(err, errsz, "%s", backend == MBPO_GL_OSMESA ? e1 : e2);
    }
    gl_backend = got;
  }
  pthread_mutex_unlock(&gl_lock);
  return got;
}

// make_current makes r's context current on this thread; release undoes it.
// EGL's bound API is per thread, and a goroutine may come on any thread: a
// context is created and released under desktop OpenGL bound on the thread
// of the call (released under another API, it would stay current here).
static int make_current(mbpo_renderer* r) {
  if (gl_backend == MBPO_GL_OSMESA) {
    return osmesa.make_current(r->ctx, r->osmesa_buf, MBPO_GL_UNSIGNED_BYTE, r->width, r->height);
  }
  return egl.bind_api(MBPO_EGL_OPENGL_API) && egl.make_current(egl.display, r->surface, r->surface, r->ctx);
}

static void release(void) {
  if (gl_backend == MBPO_GL_OSMESA) {
    osmesa.make_current(NULL, NULL, 0, 0, 0);
  } else {
    egl.bind_api(MBPO_EGL_OPENGL_API);
    egl.make_current(egl.display, NULL, NULL, NULL);
  }
}

static void free_locked(mbpo_renderer* r) {
  if (r->ctx && r->con.glInitialized && make_current(r)) {
    mjr_freeContext(&r->con);
    release();
  }
  mjv_freeScene(&r->scn);
  if (r->ctx) {
    if (gl_backend == MBPO_GL_OSMESA) {
      osmesa.destroy(r->ctx);
    } else {
      egl.destroy_context(egl.display, r->ctx);
    }
  }
  if (r->surface) {
    egl.destroy_surface(egl.display, r->surface);
  }
  if (r->d) {
    mj_deleteData(r->d);
  }
  if (r->m) {
    mj_deleteModel(r->m);
  }
  free(r->osmesa_buf);
  free(r->flip);
  free(r);
}

mbpo_renderer* mbpo_renderer_new(const mjModel* m, int width, int height, char* err, int errsz) {
  if (!gl_backend) {
    snprintf(err, errsz, "no OpenGL back end is open");
    return NULL;
  }
  mbpo_renderer* r = calloc(1, sizeof(mbpo_renderer));
  if (!r) {
    snprintf(err, errsz, "out of memory");
    return NULL;
  }
  r->width = width;
  r->height = height;
  mjv_defaultScene(&r->scn);
  mjv_defaultOption(&r->opt);
  mjr_defaultContext(&r->con);
  r->m = mj_copyModel(NULL, m);
  r->d = r->m ? mj_makeData(r->m) : NULL;
  r->flip = malloc((size_t)width * height * 3);
  if (!r->d || !r->flip) {
    snprintf(err, errsz, "out of memory for a %d × %d renderer", width, height);
    free_locked(r);
    return NULL;
  }
  r->m->vis.global.offwidth = width;
  r->m->vis.global.offheight = height;
  // Software rendering (llvmpipe, under OSMesa or Mesa's EGL) spends most
  // of a frame on 4× multisampling and on MuJoCo's 4096² shadow map: without
  // the first and with a 1024² map, a 480 × 480 Hopper frame takes a third
  // of the time, and looks nearly the same at that size.
  r->m->vis.quality.offsamples = 0;
  if (r->m->vis.quality.shadowsize > 1024) {
    r->m->vis.quality.shadowsize = 1024;
  }

  pthread_mutex_lock(&gl_lock);
  if (gl_backend == MBPO_GL_OSMESA) {
    r->osmesa_buf = malloc((size_t)width * height * 4);
    r->ctx = r->osmesa_buf ? osmesa.create(MBPO_GL_RGBA, 24, 8, 0, NULL) : NULL;
    if (!r->ctx) {
      snprintf(err, errsz, "OSMesaCreateContextExt failed");
    }
  } else {
    const int pb[] = {MBPO_EGL_WIDTH, 1, MBPO_EGL_HEIGHT, 1, MBPO_EGL_NONE};
    egl.bind_api(MBPO_EGL_OPENGL_API);  // else this thread's default, OpenGL ES
    r->surface = egl.create_pbuffer(egl.display, egl.config, pb);
    r->ctx = r->surface ? egl.create_context(egl.display, egl.config, NULL, NULL) : NULL;
    if (!r->ctx) {
      snprintf(err, errsz, "EGL context creation failed (error 0x%x)", egl.get_error());
    }
  }
  if (!r->ctx || !make_current(r)) {
    if (r->ctx) {
      snprintf(err, errsz, "cannot make the %s context current", gl_backend == MBPO_GL_OSMESA ? "OSMesa" : "EGL");
    }
    free_locked(r);
    pthread_mutex_unlock(&gl_lock);
    return NULL;
  }
  mjv_makeScene(r->m, &r->scn, 2000);
  mjr_makeContext(r->m, &r->con, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
  int ok = r->con.offWidth >= width && r->con.offHeight >= height;
  release();
  pthread_mutex_unlock(&gl_lock);
  if (!ok) {
    snprintf(err, errsz, "the off-screen buffer is %d × %d, smaller than %d × %d (the OpenGL maximum?)",
             r->con.offWidth, r->con.offHeight, width, height);
    mbpo_renderer_free(r);
    return NULL;
  }
  return r;
}

int mbpo_render(mbpo_renderer* r, const double* qpos, const double* qvel, const mbpo_camera* cam,
                unsigned char* rgb) {
  mjModel* m = r->m;
  mjData* d = r->d;
  memcpy(d->qpos, qpos, sizeof(mjtNum) * m->nq);
  memcpy(d->qvel, qvel, sizeof(mjtNum) * m->nv);
  mj_forward(m, d);

  mjvCamera c;
  mjv_defaultCamera(&c);
  c.type = mjCAMERA_FREE;
  for (int i = 0; i < 3; i++) {
    c.lookat[i] = cam->lookat[i] + (cam->follow[i] ? d->xpos[3 * cam->body + i] : 0);
  }
  c.distance = cam->distance;
  c.azimuth = cam->azimuth;
  c.elevation = cam->elevation;

  pthread_mutex_lock(&gl_lock);
  if (!make_current(r)) {
    pthread_mutex_unlock(&gl_lock);
    return -1;
  }
  mjrRect vp = {0, 0, r->width, r->height};
  mjv_updateScene(m, d, &r->opt, NULL, &c, mjCAT_ALL, &r->scn);
  mjr_setBuffer(mjFB_OFFSCREEN, &r->con);
  mjr_render(vp, &r->scn, &r->con);
  mjr_readPixels(r->flip, NULL, vp, &r->con);
  int glerr = mjr_getError();
  release();
  pthread_mutex_unlock(&gl_lock);

  size_t row = (size_t)r->width * 3;
  for (int y = 0; y < r->height; y++) {
    memcpy(rgb + (size_t)y * row, r->flip + (size_t)(r->height - 1 - y) * row, row);
  }
  return glerr;
}

void mbpo_renderer_free(mbpo_renderer* r) {
  if (!r) {
    return;
  }
  pthread_mutex_lock(&gl_lock);
  free_locked(r);
  pthread_mutex_unlock(&gl_lock);
}
