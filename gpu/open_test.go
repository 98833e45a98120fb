// open_test.go: opening the driver where there is none, or where it fails,
// and the --device choice.

package gpu_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
)

func TestOpenWithoutDriverLibrary(t *testing.T) {
	_, err := gpu.Options{Library: "libcuda-not-here.so.1"}.Open()
	if !errors.Is(err, gpu.ErrNoDriver) {
		t.Fatalf("Open with a missing library: %v, want an error wrapping ErrNoDriver", err)
	}
	for _, want := range []string{"libcuda-not-here.so.1", "no usable NVIDIA driver", "--device cpu"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

// On this machine Open either works (a GPU machine) or says there is no
// driver or no device; it never fails in some other way.
func TestOpenHere(t *testing.T) {
	d, err := gpu.Open()
	if err == nil {
		t.Logf("GPU here: %v", d.Info())
		if err := d.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !errors.Is(err, gpu.ErrNoDriver) && !errors.Is(err, gpu.ErrNoDevice) {
		t.Fatalf("Open: %v, want an error wrapping ErrNoDriver or ErrNoDevice", err)
	}
	t.Logf("no GPU here: %v", err)
}

func TestOpenFailures(t *testing.T) {
	tests := []struct {
		name     string
		defines  []string
		ordinal  int
		sentinel error
		code     gpu.Result // 0: no driver code expected
		mentions string
	}{
		{"cuInit finds no device", []string{"FAKE_INIT_RESULT=100"}, 0, gpu.ErrNoDevice, gpu.NoDevice, "sees no CUDA device"},
		{"cuInit fails", []string{"FAKE_INIT_RESULT=999"}, 0, gpu.ErrNoDriver, gpu.Unknown, "CUDA_ERROR_UNKNOWN"},
		{"stub library", []string{"FAKE_INIT_RESULT=34"}, 0, gpu.ErrNoDriver, 34, "CUDA_ERROR_STUB_LIBRARY"},
		{"zero devices", []string{"FAKE_DEVICE_COUNT=0"}, 0, gpu.ErrNoDevice, 0, "CUDA_VISIBLE_DEVICES"},
		{"ordinal out of range", nil, 3, gpu.ErrNoDevice, 0, "no device cuda:3: the NVIDIA driver sees 1 CUDA device (cuda:0 to cuda:0)"},
		{"entry point missing", []string{"FAKE_OMIT_MEMALLOC"}, 0, gpu.ErrNoDriver, 0, "no entry point cuMemAlloc_v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lib := fakecuda.Build(t, tt.defines...)
			d, err := gpu.Options{Library: lib, Ordinal: tt.ordinal}.Open()
			if err == nil {
				d.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %q does not wrap %v", err, tt.sentinel)
			}
			if tt.code != 0 && !errors.Is(err, tt.code) {
				t.Errorf("error %q does not carry %v", err, tt.code)
			}
			if !strings.Contains(err.Error(), tt.mentions) {
				t.Errorf("error %q does not mention %q", err, tt.mentions)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	missing := gpu.Options{Library: "libcuda-not-here.so.1"}
	fake := gpu.Options{Library: fakecuda.Build(t)}
	tests := []struct {
		name       string
		opts       gpu.Options
		device     string
		wantDevice bool
		reason     string // part of the reason; "" when an error is expected
		err        string // part of the error
	}{
		{"cpu never loads the driver", missing, "cpu", false, "engine cpu: --device cpu", ""},
		{"auto without GPU falls back", missing, "auto", false, "engine cpu: --device auto found no usable GPU", ""},
		{"cuda without GPU is an error", missing, "cuda", false, "", "--device cuda: gpu: no usable NVIDIA driver"},
		{"auto with GPU", fake, "auto", true, "engine cuda: Fake GPU (device 0, sm_90, 4 SMs, 1.0 GiB, driver CUDA 13.0)", ""},
		{"cuda with GPU", fake, "cuda", true, "engine cuda: Fake GPU", ""},
		{"unknown value", fake, "gpu", false, "", `--device "gpu": want auto, cpu, cuda or cuda:N`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, reason, err := tt.opts.Select(tt.device)
			if d != nil {
				defer d.Close()
			}
			if (d != nil) != tt.wantDevice {
				t.Errorf("Select(%q) device = %v, want device: %v", tt.device, d, tt.wantDevice)
			}
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("Select(%q) error = %v, want one containing %q", tt.device, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Select(%q): %v", tt.device, err)
			}
			if !strings.Contains(reason, tt.reason) {
				t.Errorf("Select(%q) reason = %q, want it to contain %q", tt.device, reason, tt.reason)
			}
		})
	}
}

// A machine with several GPUs: cuda:N opens device N, Count says how many
// there are, and a device past them is an error that names them.
func TestSeveralDevices(t *testing.T) {
	four := gpu.Options{Library: fakecuda.Build(t, "FAKE_DEVICE_COUNT=4")}
	if n, err := four.Count(); n != 4 || err != nil {
		t.Fatalf("Count = %d, %v; want 4", n, err)
	}
	if _, err := (gpu.Options{Library: "libcuda-not-here.so.1"}).Count(); !errors.Is(err, gpu.ErrNoDriver) {
		t.Errorf("Count without a driver: %v", err)
	}
	for _, n := range []int{0, 2, 3} {
		d, reason, err := four.Select("cuda:" + strconv.Itoa(n))
		if err != nil {
			t.Fatalf("cuda:%d: %v", n, err)
		}
		if d.Info().Ordinal != n || !strings.Contains(reason, "(device "+strconv.Itoa(n)+",") {
			t.Errorf("cuda:%d opened device %d: %s", n, d.Info().Ordinal, reason)
		}
		d.Close()
	}
	_, _, err := four.Select("cuda:9")
	var oe *gpu.OrdinalError
	if !errors.As(err, &oe) || oe.Count != 4 || !errors.Is(err, gpu.ErrNoDevice) ||
		!strings.Contains(err.Error(), "--device cuda:9: gpu: no device cuda:9: the NVIDIA driver sees 4 CUDA devices (cuda:0 to cuda:3)") {
		t.Errorf("cuda:9 on four devices: %v", err)
	}
	for _, bad := range []string{"cuda:", "cuda:-1", "cuda:01", "cuda:x", "cuda:1:2", "gpu:0", "CUDA"} {
		if _, _, err := gpu.ParseDevice(bad); err == nil {
			t.Errorf("ParseDevice(%q) accepted", bad)
		}
	}
	for dev, want := range map[string]int{"cuda": 0, "cuda:0": 0, "cuda:7": 7, "cuda:12": 12} {
		if kind, n, err := gpu.ParseDevice(dev); kind != "cuda" || n != want || err != nil {
			t.Errorf("ParseDevice(%q) = %s, %d, %v", dev, kind, n, err)
		}
	}
	// The environment names the library when Options do not.
	t.Setenv(gpu.LibraryEnv, "libcuda-from-env.so.1")
	if _, err := (gpu.Options{}).Count(); err == nil || !strings.Contains(err.Error(), "libcuda-from-env.so.1") {
		t.Errorf("Count with %s set: %v", gpu.LibraryEnv, err)
	}
}
