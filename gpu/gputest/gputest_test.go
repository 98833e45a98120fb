// gputest_test.go: CheckLeaks notices a buffer left open, on the fake driver.

package gputest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/gpu/gputest"
)

// recorder is a testing.TB whose errors and cleanups are kept, not acted on.
type recorder struct {
	testing.TB
	errors   []string
	cleanups []func()
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Logf(string, ...any) {}

// end runs the cleanups, last registered first, as testing does.
func (r *recorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestCheckLeaks(t *testing.T) {
	d, err := gpu.Options{Library: fakecuda.Build(t)}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	tests := []struct {
		name    string
		leak    bool
		pinned  bool
		wantErr bool
	}{
		{"freed device buffer", false, false, false},
		{"leaked device buffer", true, false, true},
		{"leaked pinned buffer", true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			gputest.CheckLeaks(r, d)
			var closer interface{ Close() error }
			if tt.pinned {
				closer, err = d.AllocHost(1000)
			} else {
				closer, err = d.Alloc(1000)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !tt.leak {
				closer.Close()
			}
			r.end()
			if tt.leak {
				closer.Close() // leaked on purpose; free it now for the next case
			}
			if got := len(r.errors) > 0; got != tt.wantErr {
				t.Fatalf("CheckLeaks reported %q, want an error: %v", r.errors, tt.wantErr)
			}
			if tt.wantErr && !strings.Contains(r.errors[0], "1 (1000 bytes) at the end") {
				t.Errorf("leak report %q does not count the leaked allocation", r.errors[0])
			}
		})
	}
}
