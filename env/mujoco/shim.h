// shim.h declares the few C helpers the Go binding calls instead of MuJoCo
// directly: loading from memory under a lock, and stepping frame_skip times in
// one cgo call.
#ifndef MBPO_MUJOCO_SHIM_H
#define MBPO_MUJOCO_SHIM_H

#include <mujoco/mujoco.h>

// mbpo_load_xml compiles the MJCF document xml (len bytes, named name) from a
// private virtual file system. On failure it returns NULL and writes a message
// into err (errsz bytes).
mjModel* mbpo_load_xml(const char* name, const char* xml, int len, char* err, int errsz);

// mbpo_bad_count is the number of times MuJoCo found a bad qpos, qvel or qacc
// (and reset the data) since the last mj_resetData or mbpo_reset.
int mbpo_bad_count(const mjData* d);

// mbpo_step calls mj_step nstep times, then mj_rnePostConstraint when post is
// non-zero. It stops early and returns 1 when MuJoCo reports a bad state
// (MuJoCo has then reset d), and returns 0 otherwise.
int mbpo_step(const mjModel* m, mjData* d, int nstep, int post);

// mbpo_reset puts d in the state mj_resetData(m, d) leaves as far as any
// later computation can tell: qpos = qpos0; zero velocities, controls,
// applied forces, warm start, activations, user and sensor data, time, sizes
// and warning counters; mocap bodies at their model poses; zero cacc,
// cfrc_int and cfrc_ext. Unlike mj_resetData it does not clear the whole
// mjData buffer (half a megabyte for the benchmark models), whose other
// arrays mj_forward and mj_step compute before reading them.
void mbpo_reset(const mjModel* m, mjData* d);

// mbpo_replay steps d through a recorded sequence of nact actions of nu
// controls each (ctrl, row-major), calling mj_step nstep times per action.
// Before action i where reset[i] is non-zero it resets d (mbpo_reset) to the
// next unused row of qpos (nq values a row) and qvel (nv values a row) and
// calls mj_forward. It is the raw physics loop that env benchmarks compare
// against.
void mbpo_replay(const mjModel* m, mjData* d, int nact, int nstep,
                 const double* ctrl, const unsigned char* reset,
                 const double* qpos, const double* qvel);

#endif
