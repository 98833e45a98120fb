// launch_test.go: loading the kernels and launching them through package gpu,
// on the fake driver (which runs the two benchmark kernels only).

package kernels

import (
	"errors"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/gpu/fakecuda"
	"github.com/mbpogo/mbpo/gpu/gputest"
)

func TestLoadAndLaunchOnFakeDriver(t *testing.T) {
	d, err := gpu.Options{Library: fakecuda.Build(t)}.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	gputest.CheckLeaks(t, d)
	ks, err := Load(d)
	if err != nil {
		t.Fatal(err)
	}
	defer ks.Close()
	s, err := d.NewStream()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	buf, err := d.AllocFloat32(300)
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	if err := s.Memset32(buf.Ptr(), 0, 300); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := ks.AddOne(s, buf.Ptr(), 300); err != nil {
			t.Fatal(err)
		}
	}
	if err := ks.Empty(s); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 300)
	if err := gpu.Download(s, got, buf.Ptr()); err != nil {
		t.Fatal(err)
	}
	if got[0] != 3 || got[299] != 3 {
		t.Errorf("after three AddOne: %v, %v, want 3", got[0], got[299])
	}
	// The fake cannot run the forward: the error must name the kernel and
	// the driver's code.
	p, err := PlanForward(engine.PaperEnsemble(11, 3, 200))
	if err != nil {
		t.Fatal(err)
	}
	err = ks.EnsembleForward(s, p, ForwardArgs{N: 10})
	if !errors.Is(err, gpu.NotSupported) || !strings.Contains(err.Error(), "mbpo_ensemble_forward") {
		t.Errorf("forward on the fake driver: %v, want CUDA_ERROR_NOT_SUPPORTED naming the kernel", err)
	}
	if err := ks.EnsembleForward(s, p, ForwardArgs{N: 0}); err == nil {
		t.Error("a forward over 0 rows was launched")
	}
	if err := ks.Close(); err != nil {
		t.Fatal(err)
	}
}
