// shim.c implements the C helpers of shim.h, and installs quiet MuJoCo
// warning and error handlers when the library is loaded.
#include "shim.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// MuJoCo's default warning handler appends to MUJOCO_LOG.TXT in the working
// directory and prints to stdout. The binding reads the warning counters in
// mjData instead, so warnings are dropped here.
static void mbpo_quiet_warning(const char* msg) { (void)msg; }

// MuJoCo's default error handler waits for Enter before exiting. Errors are
// programming errors (MuJoCo cannot continue after one): report and abort.
static void mbpo_fatal_error(const char* msg) {
  fprintf(stderr, "mujoco: fatal error: %s\n", msg);
  abort();
}

__attribute__((constructor)) static void mbpo_install_handlers(void) {
  mju_user_warning = mbpo_quiet_warning;
  mju_user_error = mbpo_fatal_error;
}

// mj_loadXML keeps the last parsed document in a global of MuJoCo 2.2.2, so
// loads are serialised.
static pthread_mutex_t mbpo_load_lock = PTHREAD_MUTEX_INITIALIZER;

mjModel* mbpo_load_xml(const char* name, const char* xml, int len, char* err, int errsz) {
  mjVFS* vfs = malloc(sizeof(mjVFS));  // about 2 MB: never on the stack
  if (!vfs) {
    snprintf(err, errsz, "out of memory for the virtual file system");
    return NULL;
  }
  mj_defaultVFS(vfs);
  if (mj_makeEmptyFileVFS(vfs, name, len) != 0) {
    snprintf(err, errsz, "cannot add %s to the virtual file system", name);
    free(vfs);
    return NULL;
  }
  int i = mj_findFileVFS(vfs, name);
  memcpy(vfs->filedata[i], xml, len);

  pthread_mutex_lock(&mbpo_load_lock);
  mjModel* m = mj_loadXML(name, vfs, err, errsz);
  mj_freeLastXML();
  pthread_mutex_unlock(&mbpo_load_lock);

  mj_deleteVFS(vfs);
  free(vfs);
  return m;
}

int mbpo_bad_count(const mjData* d) {
  return d->warning[mjWARN_BADQPOS].number + d->warning[mjWARN_BADQVEL].number +
         d->warning[mjWARN_BADQACC].number;
}

int mbpo_step(const mjModel* m, mjData* d, int nstep, int post) {
  int before = mbpo_bad_count(d);
  for (int i = 0; i < nstep; i++) {
    mj_step(m, d);
    if (mbpo_bad_count(d) != before) {
      return 1;
    }
  }
  if (post) {
    mj_rnePostConstraint(m, d);
  }
  return 0;
}

void mbpo_reset(const mjModel* m, mjData* d) {
  // The header, as mj_resetData leaves it.
  d->pstack = 0;
  d->maxuse_stack = 0;
  d->maxuse_con = 0;
  d->maxuse_efc = 0;
  memset(d->warning, 0, sizeof(d->warning));
  memset(d->timer, 0, sizeof(d->timer));
  memset(d->solver, 0, sizeof(d->solver));
  d->solver_iter = 0;
  d->solver_nnz = 0;
  d->solver_fwdinv[0] = d->solver_fwdinv[1] = 0;
  d->ne = d->nf = d->nefc = d->ncon = 0;
  d->time = 0;
  d->energy[0] = d->energy[1] = 0;

  // The inputs of the next mj_forward or mj_step, which no computation
  // overwrites before reading them.
  memcpy(d->qpos, m->qpos0, sizeof(mjtNum) * m->nq);
  memset(d->qvel, 0, sizeof(mjtNum) * m->nv);
  memset(d->act, 0, sizeof(mjtNum) * m->na);
  memset(d->ctrl, 0, sizeof(mjtNum) * m->nu);
  memset(d->qfrc_applied, 0, sizeof(mjtNum) * m->nv);
  memset(d->xfrc_applied, 0, sizeof(mjtNum) * 6 * m->nbody);
  memset(d->qacc, 0, sizeof(mjtNum) * m->nv);
  memset(d->qacc_warmstart, 0, sizeof(mjtNum) * m->nv);
  memset(d->act_dot, 0, sizeof(mjtNum) * m->na);
  memset(d->userdata, 0, sizeof(mjtNum) * m->nuserdata);
  memset(d->sensordata, 0, sizeof(mjtNum) * m->nsensordata);
  for (int i = 0; i < m->nbody; i++) {
    int id = m->body_mocapid[i];
    if (id >= 0) {
      memcpy(d->mocap_pos + 3 * id, m->body_pos + 3 * i, sizeof(mjtNum) * 3);
      memcpy(d->mocap_quat + 4 * id, m->body_quat + 4 * i, sizeof(mjtNum) * 4);
    }
  }

  // Quantities mj_forward does not compute (mj_rnePostConstraint does) but
  // observations read: zero after a reset, as mj_resetData leaves them.
  memset(d->cacc, 0, sizeof(mjtNum) * 6 * m->nbody);
  memset(d->cfrc_int, 0, sizeof(mjtNum) * 6 * m->nbody);
  memset(d->cfrc_ext, 0, sizeof(mjtNum) * 6 * m->nbody);
}

void mbpo_replay(const mjModel* m, mjData* d, int nact, int nstep,
                 const double* ctrl, const unsigned char* reset,
                 const double* qpos, const double* qvel) {
  size_t row = 0;
  for (int i = 0; i < nact; i++) {
    if (reset[i]) {
      mbpo_reset(m, d);
      memcpy(d->qpos, qpos + row * m->nq, sizeof(mjtNum) * m->nq);
      memcpy(d->qvel, qvel + row * m->nv, sizeof(mjtNum) * m->nv);
      row++;
      mj_forward(m, d);
    }
    memcpy(d->ctrl, ctrl + (size_t)i * m->nu, sizeof(mjtNum) * m->nu);
    for (int k = 0; k < nstep; k++) {
      mj_step(m, d);
    }
  }
}
