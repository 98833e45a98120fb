// stream.go: streams (ordered queues of device work) and events (markers on
// a stream, for waiting and for timing).

package gpu

/*
#include "driver.h"
*/
import "C"

import (
	"fmt"
	"time"
)

// Stream is an ordered queue of work on a device. Streams made here do not
// synchronise with the legacy default stream.
type Stream struct {
	dev *Device
	s   C.CUstream
}

// NewStream creates a stream.
func (d *Device) NewStream() (*Stream, error) {
	s := &Stream{dev: d}
	if r := C.mbpo_stream_create(d.drv, d.ctx, &s.s); r != 0 {
		return nil, d.err("cuStreamCreate", r)
	}
	return s, nil
}

// Device is the device the stream belongs to.
func (s *Stream) Device() *Device { return s.dev }

// Synchronize waits until all work queued on s has finished and returns the
// first error of that work, if any.
func (s *Stream) Synchronize() error {
	d := s.dev
	if r := C.mbpo_stream_sync(d.drv, d.ctx, s.s); r != 0 {
		return d.err("cuStreamSynchronize", r)
	}
	return nil
}

// Close destroys the stream once its queued work is done; a second Close does
// nothing.
func (s *Stream) Close() error {
	if s == nil || s.s == nil {
		return nil
	}
	d := s.dev
	if r := C.mbpo_stream_destroy(d.drv, d.ctx, s.s); r != 0 {
		return d.err("cuStreamDestroy_v2", r)
	}
	s.s = nil
	return nil
}

// Event marks a point in a stream's work.
type Event struct {
	dev *Device
	e   C.CUevent
}

// NewEvent creates an event that records timestamps.
func (d *Device) NewEvent() (*Event, error) {
	e := &Event{dev: d}
	if r := C.mbpo_event_create(d.drv, d.ctx, &e.e); r != 0 {
		return nil, d.err("cuEventCreate", r)
	}
	return e, nil
}

// Record marks the current end of s's queue: the event completes when the work
// queued before it has.
func (e *Event) Record(s *Stream) error {
	d := e.dev
	if r := C.mbpo_event_record(d.drv, d.ctx, e.e, s.s); r != 0 {
		return d.err("cuEventRecord", r)
	}
	return nil
}

// Synchronize waits until the event has completed.
func (e *Event) Synchronize() error {
	d := e.dev
	if r := C.mbpo_event_sync(d.drv, d.ctx, e.e); r != 0 {
		return d.err("cuEventSynchronize", r)
	}
	return nil
}

// Close destroys the event; a second Close does nothing.
func (e *Event) Close() error {
	if e == nil || e.e == nil {
		return nil
	}
	d := e.dev
	if r := C.mbpo_event_destroy(d.drv, d.ctx, e.e); r != 0 {
		return d.err("cuEventDestroy_v2", r)
	}
	e.e = nil
	return nil
}

// Elapsed returns the device time between two recorded, completed events
// (resolution about half a microsecond).
func Elapsed(start, end *Event) (time.Duration, error) {
	if start.dev != end.dev {
		return 0, fmt.Errorf("gpu: Elapsed between events of two devices")
	}
	d := start.dev
	var ms C.float
	if r := C.mbpo_event_elapsed(d.drv, d.ctx, &ms, start.e, end.e); r != 0 {
		return 0, d.err("cuEventElapsedTime", r)
	}
	return time.Duration(float64(ms) * float64(time.Millisecond)), nil
}
