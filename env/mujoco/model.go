// model.go binds mjModel: compiling an MJCF document from memory and reading
// the model's sizes, names and constants.

// Package mujoco binds the part of the MuJoCo C API (Debian's libmujoco-dev,
// MuJoCo 2.2.2) that the benchmark environments need: compiling a model from
// an in-memory MJCF document, stepping, resetting, and reading the simulation
// arrays in place.
//
// Memory rules: a Model and each Data own C memory that only their Close
// frees; there are no finalizers, because a Data's array views would
// otherwise outlive the memory they point into. The C side never keeps a Go
// pointer: Go slices are passed only for the duration of a call.
//
// Concurrency: a Model is read-only once loaded and may be shared by Data
// stepped on different goroutines; one Data must be used by one goroutine at a
// time. Loading is serialised internally (MuJoCo 2.2.2's XML loader keeps
// global state).
//
// Loading the package installs MuJoCo warning and error handlers: warnings
// are dropped (the binding reads mjData's warning counters instead of
// MuJoCo's log file), and a MuJoCo error, which MuJoCo cannot continue
// after, prints the message and aborts.
package mujoco

/*
#cgo LDFLAGS: -lmujoco
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"fmt"
	"sync/atomic"
	"unsafe"
)

// Model is a compiled MuJoCo model (mjModel).
type Model struct {
	m    *C.mjModel
	name string
	open atomic.Int32 // Data made from this model and not yet closed
}

// Version returns the version string of the linked MuJoCo library.
func Version() string { return C.GoString(C.mj_versionString()) }

// LoadXML compiles the MJCF document xml. name is the document's file name,
// used in error messages and to resolve the document inside MuJoCo's virtual
// file system; the document must not include other files.
func LoadXML(name string, xml []byte) (*Model, error) {
	if len(xml) == 0 {
		return nil, fmt.Errorf("mujoco: load %s: empty document", name)
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var errbuf [1000]C.char
	m := C.mbpo_load_xml(cname, (*C.char)(unsafe.Pointer(&xml[0])), C.int(len(xml)), &errbuf[0], C.int(len(errbuf)))
	if m == nil {
		return nil, fmt.Errorf("mujoco: load %s: %s", name, C.GoString(&errbuf[0]))
	}
	return &Model{m: m, name: name}, nil
}

// Close frees the model. Every Data made from it must be closed first.
func (m *Model) Close() error {
	if m.m == nil {
		return nil
	}
	if n := m.open.Load(); n > 0 {
		return fmt.Errorf("mujoco: close model %s: %d Data still open; close them first", m.name, n)
	}
	C.mj_deleteModel(m.m)
	m.m = nil
	return nil
}

// Name returns the file name the model was loaded from.
func (m *Model) Name() string { return m.name }

// NQ is the number of position coordinates (length of qpos).
func (m *Model) NQ() int { return int(m.ptr().nq) }

// NV is the number of degrees of freedom (length of qvel).
func (m *Model) NV() int { return int(m.ptr().nv) }

// NU is the number of actuators (length of ctrl).
func (m *Model) NU() int { return int(m.ptr().nu) }

// NBody is the number of bodies, the world body included.
func (m *Model) NBody() int { return int(m.ptr().nbody) }

// NSite is the number of sites.
func (m *Model) NSite() int { return int(m.ptr().nsite) }

// Timestep is the simulation time step in seconds (option timestep).
func (m *Model) Timestep() float64 { return float64(m.ptr().opt.timestep) }

// Qpos0 returns a copy of the reference configuration qpos0, the qpos that
// Data.Reset restores.
func (m *Model) Qpos0() []float64 { return copyDoubles(m.ptr().qpos0, m.NQ()) }

// BodyMass returns a copy of the mass of every body (world body first).
func (m *Model) BodyMass() []float64 { return copyDoubles(m.ptr().body_mass, m.NBody()) }

// CtrlRange returns copies of the lower and upper control limits of each
// actuator (actuator_ctrlrange).
func (m *Model) CtrlRange() (low, high []float64) {
	r := copyDoubles(m.ptr().actuator_ctrlrange, 2*m.NU())
	low, high = make([]float64, m.NU()), make([]float64, m.NU())
	for i := range low {
		low[i], high[i] = r[2*i], r[2*i+1]
	}
	return low, high
}

// CtrlLimited reports for each actuator whether MuJoCo clamps its control to
// the control range.
func (m *Model) CtrlLimited() []bool {
	p := unsafe.Slice((*C.mjtByte)(unsafe.Pointer(m.ptr().actuator_ctrllimited)), m.NU())
	out := make([]bool, len(p))
	for i, v := range p {
		out[i] = v != 0
	}
	return out
}

// BodyID returns the index of the body called name.
func (m *Model) BodyID(name string) (int, error) { return m.id(C.mjOBJ_BODY, "body", name) }

// SiteID returns the index of the site called name.
func (m *Model) SiteID(name string) (int, error) { return m.id(C.mjOBJ_SITE, "site", name) }

func (m *Model) id(kind C.int, what, name string) (int, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	id := int(C.mj_name2id(m.ptr(), kind, cname))
	if id < 0 {
		return 0, fmt.Errorf("mujoco: model %s has no %s named %q", m.name, what, name)
	}
	return id, nil
}

func (m *Model) ptr() *C.mjModel {
	if m.m == nil {
		panic("mujoco: Model used after Close")
	}
	return m.m
}

func copyDoubles(p *C.mjtNum, n int) []float64 {
	if n == 0 {
		return nil
	}
	return append([]float64(nil), doubles(p, n)...)
}

// doubles is a Go view of n mjtNum (double) in C memory.
func doubles(p *C.mjtNum, n int) []float64 {
	if n == 0 || p == nil {
		return nil
	}
	return unsafe.Slice((*float64)(unsafe.Pointer(p)), n)
}
