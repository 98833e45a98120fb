// errors.go: CUresult codes as Go errors, and the errors Open returns when a
// machine has no usable GPU.

package gpu

import (
	"errors"
	"fmt"
)

// ErrNoDriver is wrapped by the error Open returns when the NVIDIA driver
// library (libcuda.so.1) cannot be loaded or lacks entry points it needs.
var ErrNoDriver = errors.New("no usable NVIDIA driver")

// ErrNoDevice is wrapped by the error Open returns when the driver loads but
// sees no CUDA device (or not the one asked for).
var ErrNoDevice = errors.New("no CUDA device")

// Result is a CUDA driver API status code (CUresult). Every non-zero Result is
// an error; errors.Is(err, gpu.OutOfMemory) tests an *Error's code.
type Result int32

// Results callers commonly test for.
const (
	InvalidValue           Result = 1
	OutOfMemory            Result = 2
	NotInitialized         Result = 3
	NoDevice               Result = 100
	InvalidDevice          Result = 101
	InvalidImage           Result = 200
	InvalidContext         Result = 201
	InvalidPTX             Result = 218
	UnsupportedPTXVersion  Result = 222
	InvalidHandle          Result = 400
	NotFound               Result = 500
	NotReady               Result = 600
	IllegalAddress         Result = 700
	LaunchOutOfResources   Result = 701
	LaunchFailed           Result = 719
	NotSupported           Result = 801
	StreamCaptureInvalid   Result = 901
	GraphExecUpdateFailure Result = 910
	Unknown                Result = 999
)

// resultName returns the driver API's name of every CUresult it defines
// (CUDA 13), so an error reads the same whether or not the driver could be
// asked.
func resultName(r Result) (string, bool) {
	switch r {
	case 0:
		return "CUDA_SUCCESS", true
	case 1:
		return "CUDA_ERROR_INVALID_VALUE", true
	case 2:
		return "CUDA_ERROR_OUT_OF_MEMORY", true
	case 3:
		return "CUDA_ERROR_NOT_INITIALIZED", true
	case 4:
		return "CUDA_ERROR_DEINITIALIZED", true
	case 5:
		return "CUDA_ERROR_PROFILER_DISABLED", true
	case 6:
		return "CUDA_ERROR_PROFILER_NOT_INITIALIZED", true
	case 7:
		return "CUDA_ERROR_PROFILER_ALREADY_STARTED", true
	case 8:
		return "CUDA_ERROR_PROFILER_ALREADY_STOPPED", true
	case 34:
		return "CUDA_ERROR_STUB_LIBRARY", true
	case 46:
		return "CUDA_ERROR_DEVICE_UNAVAILABLE", true
	case 100:
		return "CUDA_ERROR_NO_DEVICE", true
	case 101:
		return "CUDA_ERROR_INVALID_DEVICE", true
	case 102:
		return "CUDA_ERROR_DEVICE_NOT_LICENSED", true
	case 200:
		return "CUDA_ERROR_INVALID_IMAGE", true
	case 201:
		return "CUDA_ERROR_INVALID_CONTEXT", true
	case 202:
		return "CUDA_ERROR_CONTEXT_ALREADY_CURRENT", true
	case 205:
		return "CUDA_ERROR_MAP_FAILED", true
	case 206:
		return "CUDA_ERROR_UNMAP_FAILED", true
	case 207:
		return "CUDA_ERROR_ARRAY_IS_MAPPED", true
	case 208:
		return "CUDA_ERROR_ALREADY_MAPPED", true
	case 209:
		return "CUDA_ERROR_NO_BINARY_FOR_GPU", true
	case 210:
		return "CUDA_ERROR_ALREADY_ACQUIRED", true
	case 211:
		return "CUDA_ERROR_NOT_MAPPED", true
	case 212:
		return "CUDA_ERROR_NOT_MAPPED_AS_ARRAY", true
	case 213:
		return "CUDA_ERROR_NOT_MAPPED_AS_POINTER", true
	case 214:
		return "CUDA_ERROR_ECC_UNCORRECTABLE", true
	case 215:
		return "CUDA_ERROR_UNSUPPORTED_LIMIT", true
	case 216:
		return "CUDA_ERROR_CONTEXT_ALREADY_IN_USE", true
	case 217:
		return "CUDA_ERROR_PEER_ACCESS_UNSUPPORTED", true
	case 218:
		return "CUDA_ERROR_INVALID_PTX", true
	case 219:
		return "CUDA_ERROR_INVALID_GRAPHICS_CONTEXT", true
	case 220:
		return "CUDA_ERROR_NVLINK_UNCORRECTABLE", true
	case 221:
		return "CUDA_ERROR_JIT_COMPILER_NOT_FOUND", true
	case 222:
		return "CUDA_ERROR_UNSUPPORTED_PTX_VERSION", true
	case 223:
		return "CUDA_ERROR_JIT_COMPILATION_DISABLED", true
	case 224:
		return "CUDA_ERROR_UNSUPPORTED_EXEC_AFFINITY", true
	case 225:
		return "CUDA_ERROR_UNSUPPORTED_DEVSIDE_SYNC", true
	case 226:
		return "CUDA_ERROR_CONTAINED", true
	case 300:
		return "CUDA_ERROR_INVALID_SOURCE", true
	case 301:
		return "CUDA_ERROR_FILE_NOT_FOUND", true
	case 302:
		return "CUDA_ERROR_SHARED_OBJECT_SYMBOL_NOT_FOUND", true
	case 303:
		return "CUDA_ERROR_SHARED_OBJECT_INIT_FAILED", true
	case 304:
		return "CUDA_ERROR_OPERATING_SYSTEM", true
	case 400:
		return "CUDA_ERROR_INVALID_HANDLE", true
	case 401:
		return "CUDA_ERROR_ILLEGAL_STATE", true
	case 402:
		return "CUDA_ERROR_LOSSY_QUERY", true
	case 500:
		return "CUDA_ERROR_NOT_FOUND", true
	case 600:
		return "CUDA_ERROR_NOT_READY", true
	case 700:
		return "CUDA_ERROR_ILLEGAL_ADDRESS", true
	case 701:
		return "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", true
	case 702:
		return "CUDA_ERROR_LAUNCH_TIMEOUT", true
	case 703:
		return "CUDA_ERROR_LAUNCH_INCOMPATIBLE_TEXTURING", true
	case 704:
		return "CUDA_ERROR_PEER_ACCESS_ALREADY_ENABLED", true
	case 705:
		return "CUDA_ERROR_PEER_ACCESS_NOT_ENABLED", true
	case 708:
		return "CUDA_ERROR_PRIMARY_CONTEXT_ACTIVE", true
	case 709:
		return "CUDA_ERROR_CONTEXT_IS_DESTROYED", true
	case 710:
		return "CUDA_ERROR_ASSERT", true
	case 711:
		return "CUDA_ERROR_TOO_MANY_PEERS", true
	case 712:
		return "CUDA_ERROR_HOST_MEMORY_ALREADY_REGISTERED", true
	case 713:
		return "CUDA_ERROR_HOST_MEMORY_NOT_REGISTERED", true
	case 714:
		return "CUDA_ERROR_HARDWARE_STACK_ERROR", true
	case 715:
		return "CUDA_ERROR_ILLEGAL_INSTRUCTION", true
	case 716:
		return "CUDA_ERROR_MISALIGNED_ADDRESS", true
	case 717:
		return "CUDA_ERROR_INVALID_ADDRESS_SPACE", true
	case 718:
		return "CUDA_ERROR_INVALID_PC", true
	case 719:
		return "CUDA_ERROR_LAUNCH_FAILED", true
	case 720:
		return "CUDA_ERROR_COOPERATIVE_LAUNCH_TOO_LARGE", true
	case 721:
		return "CUDA_ERROR_TENSOR_MEMORY_LEAK", true
	case 800:
		return "CUDA_ERROR_NOT_PERMITTED", true
	case 801:
		return "CUDA_ERROR_NOT_SUPPORTED", true
	case 802:
		return "CUDA_ERROR_SYSTEM_NOT_READY", true
	case 803:
		return "CUDA_ERROR_SYSTEM_DRIVER_MISMATCH", true
	case 804:
		return "CUDA_ERROR_COMPAT_NOT_SUPPORTED_ON_DEVICE", true
	case 805:
		return "CUDA_ERROR_MPS_CONNECTION_FAILED", true
	case 806:
		return "CUDA_ERROR_MPS_RPC_FAILURE", true
	case 807:
		return "CUDA_ERROR_MPS_SERVER_NOT_READY", true
	case 808:
		return "CUDA_ERROR_MPS_MAX_CLIENTS_REACHED", true
	case 809:
		return "CUDA_ERROR_MPS_MAX_CONNECTIONS_REACHED", true
	case 810:
		return "CUDA_ERROR_MPS_CLIENT_TERMINATED", true
	case 811:
		return "CUDA_ERROR_CDP_NOT_SUPPORTED", true
	case 812:
		return "CUDA_ERROR_CDP_VERSION_MISMATCH", true
	case 900:
		return "CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED", true
	case 901:
		return "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", true
	case 902:
		return "CUDA_ERROR_STREAM_CAPTURE_MERGE", true
	case 903:
		return "CUDA_ERROR_STREAM_CAPTURE_UNMATCHED", true
	case 904:
		return "CUDA_ERROR_STREAM_CAPTURE_UNJOINED", true
	case 905:
		return "CUDA_ERROR_STREAM_CAPTURE_ISOLATION", true
	case 906:
		return "CUDA_ERROR_STREAM_CAPTURE_IMPLICIT", true
	case 907:
		return "CUDA_ERROR_CAPTURED_EVENT", true
	case 908:
		return "CUDA_ERROR_STREAM_CAPTURE_WRONG_THREAD", true
	case 909:
		return "CUDA_ERROR_TIMEOUT", true
	case 910:
		return "CUDA_ERROR_GRAPH_EXEC_UPDATE_FAILURE", true
	case 911:
		return "CUDA_ERROR_EXTERNAL_DEVICE", true
	case 912:
		return "CUDA_ERROR_INVALID_CLUSTER_SIZE", true
	case 913:
		return "CUDA_ERROR_FUNCTION_NOT_LOADED", true
	case 914:
		return "CUDA_ERROR_INVALID_RESOURCE_TYPE", true
	case 915:
		return "CUDA_ERROR_INVALID_RESOURCE_CONFIGURATION", true
	case 916:
		return "CUDA_ERROR_KEY_ROTATION", true
	case 917:
		return "CUDA_ERROR_STREAM_DETACHED", true
	case 918:
		return "CUDA_ERROR_GRAPH_RECAPTURE_FAILURE", true
	case 999:
		return "CUDA_ERROR_UNKNOWN", true
	}
	return "", false
}

// Name is the driver API's name of r, such as "CUDA_ERROR_OUT_OF_MEMORY", or
// "CUDA_ERROR_<n>" for a code this package does not know.
func (r Result) Name() string {
	if n, ok := resultName(r); ok {
		return n
	}
	return fmt.Sprintf("CUDA_ERROR_%d", int32(r))
}

// Error reports r's name and number.
func (r Result) Error() string { return fmt.Sprintf("%s (%d)", r.Name(), int32(r)) }

// Error is a failed driver call: the call, the driver's code, name and
// description, and for a module load the JIT compiler's log.
type Error struct {
	Op   string // the driver call or the package operation that failed
	Code Result
	Name string // the driver's name for Code (CUDA_ERROR_...)
	Text string // the driver's description of Code
	Log  string // the JIT error log, for module loads
}

// Error formats the failure as "op: NAME (code): text", then the JIT log.
func (e *Error) Error() string {
	s := fmt.Sprintf("%s: %s (%d)", e.Op, e.Name, int32(e.Code))
	if e.Text != "" {
		s += ": " + e.Text
	}
	if e.Log != "" {
		s += "\nJIT log:\n" + e.Log
	}
	return s
}

// Is reports whether target is the Result e carries, so that
// errors.Is(err, gpu.OutOfMemory) works.
func (e *Error) Is(target error) bool {
	r, ok := target.(Result)
	return ok && r == e.Code
}

// newError builds the error of a failed call from code and the driver's
// name and text for it (either may be empty, then the package's table names it).
func newError(op string, code Result, name, text string) *Error {
	if name == "" {
		name = code.Name()
	}
	return &Error{Op: op, Code: code, Name: name, Text: text}
}
