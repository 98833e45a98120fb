// physics_test.go checks the raw physics measurement.

package env

import (
	"strings"
	"testing"
)

func TestRecordPhysicsReplaysTheSameRun(t *testing.T) {
	r, err := RecordPhysics("InvertedDoublePendulum-v4", 500, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	resets := 0
	for _, b := range r.rec.Reset {
		if b {
			resets++
		}
	}
	if resets < 5 {
		t.Errorf("%d resets in 500 random steps of InvertedDoublePendulum: want several", resets)
	}
	for range 2 { // Measure checks that the replay ends where the run ended
		s, err := r.Measure()
		if err != nil {
			t.Fatal(err)
		}
		if s.MjSteps != 500*5 || s.FrameSkip != 5 || s.Elapsed <= 0 || s.EnvStepsPerSecond() != s.MjStepsPerSecond()/5 {
			t.Errorf("speed %+v: want 2500 mj_step calls at frame skip 5", s)
		}
	}
	for _, threads := range []int{1, 3} {
		s, err := r.MeasureParallel(threads)
		if err != nil {
			t.Fatal(err)
		}
		if s.MjSteps != threads*500*5 || s.FrameSkip != 5 || s.Elapsed <= 0 {
			t.Errorf("MeasureParallel(%d): speed %+v: want %d mj_step calls at frame skip 5", threads, s, threads*2500)
		}
	}
	if _, err := r.MeasureParallel(0); err == nil {
		t.Error("MeasureParallel(0): no error")
	}
	r.env.data.Qpos()[0] += 1e-9 // a replay that diverges is an error
	if _, err := r.MeasureParallel(2); err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Errorf("MeasureParallel after a divergence: error %v", err)
	}
	if _, err := r.Measure(); err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Errorf("Measure after a divergence: error %v", err)
	}
}

func TestRecordPhysicsErrors(t *testing.T) {
	if _, err := RecordPhysics("Hopper-v4", 0, 1); err == nil {
		t.Error("0 steps accepted")
	}
	if _, err := RecordPhysics("Nope", 10, 1); err == nil || !strings.Contains(err.Error(), "Hopper-v4") {
		t.Errorf("unknown id: error %v, want the list of ids", err)
	}
}
