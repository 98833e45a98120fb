// graph.go: CUDA graphs recorded by stream capture, instantiated once and
// replayed for a fraction of the cost of launching their kernels one by one.

package gpu

/*
#include "driver.h"
*/
import "C"

import (
	"errors"
	"fmt"
)

// Graph is recorded device work (kernels, copies, memsets) that can be
// instantiated into a GraphExec.
type Graph struct {
	dev *Device
	g   C.CUgraph
}

// BeginCapture starts recording s: work queued on s is recorded instead of
// run until EndCapture. Capture is relaxed: calls from other threads are not
// checked, which suits goroutines that move between threads.
func (s *Stream) BeginCapture() error {
	d := s.dev
	if r := C.mbpo_capture_begin(d.drv, d.ctx, s.s); r != 0 {
		return d.err("cuStreamBeginCapture_v2", r)
	}
	return nil
}

// EndCapture stops recording s and returns the recorded graph.
func (s *Stream) EndCapture() (*Graph, error) {
	d := s.dev
	g := &Graph{dev: d}
	if r := C.mbpo_capture_end(d.drv, d.ctx, s.s, &g.g); r != 0 {
		return nil, d.err("cuStreamEndCapture", r)
	}
	return g, nil
}

// Capture records the work record queues on s into a graph. Capture ends even
// when record fails; then the error of record is returned.
func (s *Stream) Capture(record func(s *Stream) error) (*Graph, error) {
	if err := s.BeginCapture(); err != nil {
		return nil, err
	}
	rerr := record(s)
	g, err := s.EndCapture()
	if rerr != nil {
		if g != nil {
			g.Close()
		}
		return nil, fmt.Errorf("gpu: recording a graph: %w", rerr)
	}
	return g, err
}

// Instantiate makes an executable graph from g; g may be closed afterwards.
func (g *Graph) Instantiate() (*GraphExec, error) {
	d := g.dev
	e := &GraphExec{dev: d}
	if r := C.mbpo_graph_instantiate(d.drv, d.ctx, &e.e, g.g); r != 0 {
		return nil, d.err("cuGraphInstantiateWithFlags", r)
	}
	return e, nil
}

// Close destroys the graph; a second Close does nothing.
func (g *Graph) Close() error {
	if g == nil || g.g == nil {
		return nil
	}
	d := g.dev
	if r := C.mbpo_graph_destroy(d.drv, d.ctx, g.g); r != 0 {
		return d.err("cuGraphDestroy", r)
	}
	g.g = nil
	return nil
}

// GraphExec is an instantiated graph, ready to launch.
type GraphExec struct {
	dev *Device
	e   C.CUgraphExec
}

// Launch queues the whole graph on s.
func (e *GraphExec) Launch(s *Stream) error {
	d := e.dev
	if r := C.mbpo_graph_launch(d.drv, d.ctx, e.e, s.s); r != 0 {
		return d.err("cuGraphLaunch", r)
	}
	return nil
}

// Update makes e run g from now on. When g has the same shape as the graph e
// was made from (same kinds of nodes in the same order; only arguments,
// pointers or sizes changed) the driver updates e in place, which is cheap,
// and Update reports true; otherwise e is instantiated anew from g and Update
// reports false.
func (e *GraphExec) Update(g *Graph) (inPlace bool, err error) {
	d := e.dev
	var result C.int
	r := C.mbpo_graph_update(d.drv, d.ctx, e.e, g.g, &result)
	if r == 0 {
		return true, nil
	}
	uerr := d.err("cuGraphExecUpdate_v2", r)
	if !errors.Is(uerr, GraphExecUpdateFailure) && !errors.Is(uerr, NotSupported) {
		return false, uerr
	}
	fresh, err := g.Instantiate()
	if err != nil {
		return false, fmt.Errorf("gpu: graph update failed (%v) and so did re-instantiating: %w", uerr, err)
	}
	if err := e.Close(); err != nil {
		fresh.Close()
		return false, err
	}
	e.e = fresh.e
	return false, nil
}

// Close destroys the executable graph; a second Close does nothing.
func (e *GraphExec) Close() error {
	if e == nil || e.e == nil {
		return nil
	}
	d := e.dev
	if r := C.mbpo_graph_exec_destroy(d.drv, d.ctx, e.e); r != 0 {
		return d.err("cuGraphExecDestroy", r)
	}
	e.e = nil
	return nil
}
