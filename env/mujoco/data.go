// data.go binds mjData: the simulation state, stepping, and views of its
// arrays in C memory.

package mujoco

/*
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"unsafe"
)

// Data is the simulation state of one Model (mjData). Its array views (Qpos,
// Qvel, ...) are Go slices over C memory, valid until Close: read and write
// them in place, never keep them past Close.
type Data struct {
	model *Model
	d     *C.mjData

	qpos, qvel, ctrl, qaccWarmstart []float64
	xpos, xipos, siteXpos           []float64
	cinert, cvel, cfrcExt           []float64
	qfrcActuator, qfrcConstraint    []float64
}

// NewData allocates a simulation state for m, at the model's reference
// configuration.
func NewData(m *Model) (*Data, error) {
	d := C.mj_makeData(m.ptr())
	if d == nil {
		return nil, fmt.Errorf("mujoco: out of memory for the data of model %s", m.name)
	}
	m.open.Add(1)
	nq, nv, nu, nb, ns := m.NQ(), m.NV(), m.NU(), m.NBody(), m.NSite()
	return &Data{
		model:          m,
		d:              d,
		qpos:           doubles(d.qpos, nq),
		qvel:           doubles(d.qvel, nv),
		ctrl:           doubles(d.ctrl, nu),
		qaccWarmstart:  doubles(d.qacc_warmstart, nv),
		xpos:           doubles(d.xpos, 3*nb),
		xipos:          doubles(d.xipos, 3*nb),
		siteXpos:       doubles(d.site_xpos, 3*ns),
		cinert:         doubles(d.cinert, 10*nb),
		cvel:           doubles(d.cvel, 6*nb),
		cfrcExt:        doubles(d.cfrc_ext, 6*nb),
		qfrcActuator:   doubles(d.qfrc_actuator, nv),
		qfrcConstraint: doubles(d.qfrc_constraint, nv),
	}, nil
}

// Close frees the state. The array views must not be used afterwards.
func (d *Data) Close() error {
	if d.d == nil {
		return nil
	}
	C.mj_deleteData(d.d)
	*d = Data{model: d.model}
	d.model.open.Add(-1)
	return nil
}

// Model returns the model d simulates.
func (d *Data) Model() *Model { return d.model }

// Qpos is the view of the position coordinates (nq).
func (d *Data) Qpos() []float64 { return d.qpos }

// Qvel is the view of the velocities (nv).
func (d *Data) Qvel() []float64 { return d.qvel }

// Ctrl is the view of the actuator controls (nu). MuJoCo clamps controls to
// the control range when it uses them, without changing Ctrl.
func (d *Data) Ctrl() []float64 { return d.ctrl }

// QaccWarmstart is the view of the accelerations the constraint solver
// starts from at the next step (nv): part of the state to save for an exact
// continuation.
func (d *Data) QaccWarmstart() []float64 { return d.qaccWarmstart }

// Xpos is the view of the Cartesian positions of the body frames (nbody × 3).
func (d *Data) Xpos() []float64 { return d.xpos }

// Xipos is the view of the Cartesian positions of the bodies' centres of mass
// (nbody × 3).
func (d *Data) Xipos() []float64 { return d.xipos }

// SiteXpos is the view of the Cartesian positions of the sites (nsite × 3).
func (d *Data) SiteXpos() []float64 { return d.siteXpos }

// Cinert is the view of the com-based body inertias and masses (nbody × 10).
func (d *Data) Cinert() []float64 { return d.cinert }

// Cvel is the view of the com-based body velocities, rotation then
// translation (nbody × 6).
func (d *Data) Cvel() []float64 { return d.cvel }

// CfrcExt is the view of the com-based external forces on the bodies
// (nbody × 6). MuJoCo fills it only in RNEPostConstraint (or Step with
// postConstraint set); Reset zeroes it.
func (d *Data) CfrcExt() []float64 { return d.cfrcExt }

// QfrcActuator is the view of the actuator forces in joint space (nv).
func (d *Data) QfrcActuator() []float64 { return d.qfrcActuator }

// QfrcConstraint is the view of the constraint forces in joint space (nv).
func (d *Data) QfrcConstraint() []float64 { return d.qfrcConstraint }

// Time is the simulation time in seconds.
func (d *Data) Time() float64 { return float64(d.ptr().time) }

// SetTime sets the simulation time in seconds.
func (d *Data) SetTime(t float64) { d.ptr().time = C.mjtNum(t) }

// Reset restores the reference state as mj_resetData does: qpos = qpos0,
// zero velocities, controls, forces and warm start, time 0, warning counters
// cleared, zero cfrc_ext. It leaves the other derived arrays, which the next
// Forward or Step computes before reading them, and so skips mj_resetData's
// clearing of the whole half-megabyte mjData buffer, a cost an env pool pays
// at every episode end (TestFastResetMatchesMujocoReset compares the two).
func (d *Data) Reset() { C.mbpo_reset(d.model.m, d.ptr()) }

// ResetAll is Reset by mj_resetData itself, which also clears every derived
// array of the data. Reset leaves the data in a state no computation can tell
// apart from this one, faster.
func (d *Data) ResetAll() { C.mj_resetData(d.model.m, d.ptr()) }

// Forward computes every derived quantity of the current state without
// advancing time (mj_forward).
func (d *Data) Forward() { C.mj_forward(d.model.m, d.ptr()) }

// RNEPostConstraint computes the constraint-aware body forces, CfrcExt among
// them (mj_rnePostConstraint).
func (d *Data) RNEPostConstraint() { C.mj_rnePostConstraint(d.model.m, d.ptr()) }

// Step advances the simulation by n time steps (mj_step) in one call into C,
// then calls mj_rnePostConstraint if postConstraint is set. It reports
// badState when MuJoCo found a non-finite or huge qpos, qvel or qacc during
// the steps; MuJoCo has then reset the data to the reference state, and Step
// returns at once.
func (d *Data) Step(n int, postConstraint bool) (badState bool) {
	post := C.int(0)
	if postConstraint {
		post = 1
	}
	return C.mbpo_step(d.model.m, d.ptr(), C.int(n), post) != 0
}

// BadStates counts how often MuJoCo found a bad qpos, qvel or qacc (and reset
// the data) since the last Reset.
func (d *Data) BadStates() int { return int(C.mbpo_bad_count(d.ptr())) }

// Recording is a sequence of controls with the states the simulation was
// reset to along the way, for Replay.
type Recording struct {
	FrameSkip int       // mj_step calls per control
	Ctrl      []float64 // [n × nu] controls, one row per env step
	Reset     []bool    // [n] reset before row i
	Qpos      []float64 // [resets × nq] state to reset to, one row per true Reset entry
	Qvel      []float64 // [resets × nv]
}

// Steps is the number of controls in r.
func (r *Recording) Steps() int { return len(r.Reset) }

// Replay steps d through r entirely in C: for each control, reset to the
// recorded state if asked (Reset, set qpos and qvel, mj_forward), set
// the control and call mj_step FrameSkip times. It measures raw physics
// speed without any per-step Go work.
func (d *Data) Replay(r *Recording) error {
	m := d.model
	n, resets := len(r.Reset), 0
	for _, b := range r.Reset {
		if b {
			resets++
		}
	}
	switch {
	case r.FrameSkip < 1:
		return fmt.Errorf("mujoco: replay: FrameSkip %d must be at least 1", r.FrameSkip)
	case len(r.Ctrl) != n*m.NU():
		return fmt.Errorf("mujoco: replay: %d controls for %d steps of %d actuators", len(r.Ctrl), n, m.NU())
	case len(r.Qpos) != resets*m.NQ() || len(r.Qvel) != resets*m.NV():
		return fmt.Errorf("mujoco: replay: %d resets need %d qpos and %d qvel values, have %d and %d",
			resets, resets*m.NQ(), resets*m.NV(), len(r.Qpos), len(r.Qvel))
	case n == 0:
		return nil
	}
	reset := make([]C.uchar, n)
	for i, b := range r.Reset {
		if b {
			reset[i] = 1
		}
	}
	C.mbpo_replay(m.m, d.ptr(), C.int(n), C.int(r.FrameSkip),
		ptrOrNil(r.Ctrl), &reset[0], ptrOrNil(r.Qpos), ptrOrNil(r.Qvel))
	return nil
}

func ptrOrNil(s []float64) *C.mjtNum {
	if len(s) == 0 {
		return nil
	}
	return (*C.mjtNum)(unsafe.Pointer(&s[0]))
}

func (d *Data) ptr() *C.mjData {
	if d.d == nil {
		panic("mujoco: Data used after Close")
	}
	return d.d
}
