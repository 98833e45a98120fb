// errors_test.go: CUresult codes become named, comparable errors.

package gpu

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestResultNames(t *testing.T) {
	tests := []struct {
		code Result
		want string
	}{
		{0, "CUDA_SUCCESS"},
		{OutOfMemory, "CUDA_ERROR_OUT_OF_MEMORY"},
		{NoDevice, "CUDA_ERROR_NO_DEVICE"},
		{InvalidPTX, "CUDA_ERROR_INVALID_PTX"},
		{34, "CUDA_ERROR_STUB_LIBRARY"},
		{LaunchFailed, "CUDA_ERROR_LAUNCH_FAILED"},
		{GraphExecUpdateFailure, "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE"},
		{918, "CUDA_ERROR_GRAPH_RECAPTURE_FAILURE"},
		{Unknown, "CUDA_ERROR_UNKNOWN"},
		{12345, "CUDA_ERROR_12345"}, // not a code of the driver API
	}
	for _, tt := range tests {
		if got := tt.code.Name(); got != tt.want {
			t.Errorf("Result(%d).Name() = %q, want %q", tt.code, got, tt.want)
		}
		if got, want := tt.code.Error(), fmt.Sprintf("%s (%d)", tt.want, tt.code); got != want {
			t.Errorf("Result(%d).Error() = %q, want %q", tt.code, got, want)
		}
	}
}

// Every code the table knows has its own CUDA_ERROR_ name, and every exported
// constant is one of them.
func TestEveryResultHasADistinctName(t *testing.T) {
	seen := map[string]Result{}
	known := 0
	for r := Result(1); r < 1000; r++ {
		name, ok := resultName(r)
		if !ok {
			continue
		}
		known++
		if !strings.HasPrefix(name, "CUDA_ERROR_") {
			t.Errorf("code %d is named %q, want a CUDA_ERROR_ name", r, name)
		}
		if prev, dup := seen[name]; dup {
			t.Errorf("codes %d and %d are both named %s", prev, r, name)
		}
		seen[name] = r
	}
	if known < 100 {
		t.Errorf("only %d codes named; the CUDA 13 driver API defines over 100", known)
	}
	for _, r := range []Result{InvalidValue, OutOfMemory, NotInitialized, NoDevice, InvalidDevice, InvalidImage,
		InvalidContext, InvalidPTX, UnsupportedPTXVersion, InvalidHandle, NotFound, NotReady, IllegalAddress,
		LaunchOutOfResources, LaunchFailed, NotSupported, StreamCaptureInvalid, GraphExecUpdateFailure, Unknown} {
		if _, ok := resultName(r); !ok {
			t.Errorf("exported Result %d has no name", r)
		}
	}
}

func TestErrorCarriesCodeNameAndText(t *testing.T) {
	tests := []struct {
		name, text string // from the driver; empty when it did not know the code
		wantName   string
	}{
		{"CUDA_ERROR_OUT_OF_MEMORY", "out of memory", "CUDA_ERROR_OUT_OF_MEMORY"},
		{"", "", "CUDA_ERROR_OUT_OF_MEMORY"},
	}
	for _, tt := range tests {
		err := error(newError("cuMemAlloc_v2", OutOfMemory, tt.name, tt.text))
		msg := err.Error()
		for _, want := range []string{"cuMemAlloc_v2", tt.wantName, "(2)", tt.text} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q lacks %q", msg, want)
			}
		}
		wrapped := fmt.Errorf("allocating: %w", err)
		if !errors.Is(wrapped, OutOfMemory) {
			t.Errorf("errors.Is(%q, OutOfMemory) = false", wrapped)
		}
		if errors.Is(wrapped, InvalidValue) {
			t.Errorf("errors.Is(%q, InvalidValue) = true", wrapped)
		}
		var e *Error
		if !errors.As(wrapped, &e) || e.Code != OutOfMemory {
			t.Errorf("errors.As(%q) did not give the *Error with code 2", wrapped)
		}
	}
	withLog := &Error{Op: "cuModuleLoadDataEx", Code: InvalidPTX, Name: InvalidPTX.Name(), Log: "line 7: syntax error"}
	if !strings.Contains(withLog.Error(), "JIT log:\nline 7: syntax error") {
		t.Errorf("module load error %q does not show the JIT log", withLog.Error())
	}
}
