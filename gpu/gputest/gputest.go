// Package gputest holds helpers for tests that run on a GPU: opening the
// device (or skipping where there is none) and checking for leaked memory.
package gputest

import (
	"os"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
)

// RequireEnv is the environment variable that turns a GPU test's skip into a
// failure: the device bundle sets MBPO_REQUIRE_GPU=1 so that a GPU machine
// whose driver cannot be used fails loudly instead of passing by skipping.
const RequireEnv = "MBPO_REQUIRE_GPU"

// Open returns device 0 for a GPU test. Where no GPU is usable it skips the
// test, or fails it when RequireEnv is set to 1. When the test ends it checks
// that every allocation made through the device was freed (CheckLeaks), then
// closes the device.
func Open(t testing.TB) *gpu.Device {
	t.Helper()
	d, err := gpu.Open()
	if err != nil {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("%s=1 but no GPU is usable: %v", RequireEnv, err)
		}
		t.Skipf("no GPU: %v", err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("closing the device: %v", err)
		}
	})
	CheckLeaks(t, d)
	return d
}

// CheckLeaks records the allocations live on d now and, when the test ends,
// reports an error for every allocation made since and not freed. It also
// logs how much the driver's free memory changed, which covers memory
// allocated behind the package's back (the driver's own use makes that figure
// approximate, so it is logged, not checked).
func CheckLeaks(t testing.TB, d *gpu.Device) {
	t.Helper()
	n0, b0 := d.Live()
	free0, _, err0 := d.MemInfo()
	t.Cleanup(func() {
		n1, b1 := d.Live()
		if n1 != n0 || b1 != b0 {
			t.Errorf("leaked device memory: %d allocations (%d bytes) live at the start, %d (%d bytes) at the end; Close every Buffer and HostBuffer",
				n0, b0, n1, b1)
		}
		if free1, _, err1 := d.MemInfo(); err0 == nil && err1 == nil {
			t.Logf("driver free memory: %d bytes before, %d after (change %+d)", free0, free1, free1-free0)
		}
	})
}
