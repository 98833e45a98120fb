// agent_test.go: the GPU engine's SAC agent against the CPU engine's, from
// the same state on the same batches and keys: initialisation, deterministic
// and sampled actions, one Update's statistics, gradients (through the Adam
// moments), parameters, targets and temperature, a few more updates, and
// argument errors.

package cuda

import (
	"math"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/rng"
)

func smallAgentSpec() engine.AgentSpec {
	s := engine.PaperAgent(6, 3, -3)
	s.Hidden = []int{24, 20}
	s.LogStdMin, s.LogStdMax = -1, 0.5 // a narrow clip, so some raw log σ fall outside it
	return s
}

// agentState is a state that exercises every path: targets apart from the
// critics, non-zero biases, raw log σ past the clip, α ≠ 1.
func agentState(t *testing.T, spec engine.AgentSpec, seed uint64) engine.State {
	t.Helper()
	ag, err := cpuEngine(t).NewAgent(spec, seed)
	if err != nil {
		t.Fatal(err)
	}
	st := ag.State()
	key := rng.Key{Seed: seed, Purpose: rng.Test, Step: 10}
	for k, name := range []string{"q1_target", "q2_target"} {
		for i := range st.Buffers[name] {
			st.Buffers[name][i] += 0.05 * key.Normal(uint64(k<<24+i))
		}
	}
	for k, name := range []string{"policy", "q1", "q2"} {
		for i, v := range st.Buffers[name] {
			if v == 0 { // biases
				st.Buffers[name][i] = 0.1 * key.Normal(uint64(1<<28+k<<24+i))
			}
		}
	}
	pol := spec.Policy()
	L := pol.Layers()
	in, out := pol.Sizes[L-1], pol.Sizes[L]
	for k := 0; k < in; k++ {
		for j := spec.Act; j < out; j++ { // the log σ columns
			st.Buffers["policy"][pol.Weight(L-1)+k*out+j] *= 6
		}
	}
	st.Buffers["log_alpha"][0] = float32(math.Log(0.3))
	return st
}

// sacBatch is a batch of n transitions, about a quarter of them done.
func sacBatch(spec engine.AgentSpec, n int, seed uint64) engine.Batch {
	k := func(step uint64) rng.Key { return rng.Key{Seed: seed, Purpose: rng.Test, Step: step} }
	b := engine.Batch{N: n, Obs: make([]float32, n*spec.Obs), Act: make([]float32, n*spec.Act),
		Rew: make([]float32, n), NextObs: make([]float32, n*spec.Obs), Done: make([]float32, n)}
	k(1).FillNormal(b.Obs)
	k(2).FillNormal(b.NextObs)
	k(3).FillNormal(b.Rew)
	for i := range b.Act {
		b.Act[i] = 2*k(4).Uniform(uint64(i)) - 1
	}
	for i := range b.Done {
		if k(5).Intn(uint64(i), 4) == 0 {
			b.Done[i] = 1
		}
	}
	return b
}

func agentPair(t *testing.T, e *Engine, spec engine.AgentSpec, st engine.State) (want, got engine.Agent) {
	t.Helper()
	want, err := cpuEngine(t).NewAgent(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.NewAgent(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, got)
	for _, a := range []engine.Agent{want, got} {
		if err := a.SetState(st); err != nil {
			t.Fatal(err)
		}
	}
	return want, got
}

func checkAgentInit(t *testing.T, e *Engine, spec engine.AgentSpec) {
	want, err := cpuEngine(t).NewAgent(spec, 42)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.NewAgent(spec, 42)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, got)
	compareStates(t, "init", got.State(), want.State(), 0, func(d diff) float64 { return d.abs })
}

func checkAgentAct(t *testing.T, e *Engine, spec engine.AgentSpec, n int) {
	want, got := agentPair(t, e, spec, agentState(t, spec, 3))
	obs := make([]float32, n*spec.Obs)
	rng.Key{Seed: 3, Purpose: rng.Test, Step: 20}.FillNormal(obs)
	for _, det := range []bool{true, false} {
		key := rng.Key{Seed: 9, Purpose: rng.PolicyNoise, Step: 77}
		wa, ga := make([]float32, n*spec.Act), make([]float32, n*spec.Act)
		if err := want.Act(obs, n, det, key, wa); err != nil {
			t.Fatal(err)
		}
		if err := got.Act(obs, n, det, key, ga); err != nil {
			t.Fatal(err)
		}
		d := compare(ga, wa)
		t.Logf("Act (deterministic %v) on %d rows: %s", det, n, d)
		if d.rel > outTol {
			t.Errorf("Act (deterministic %v) differs from the CPU engine beyond %g", det, outTol)
		}
	}
}

func checkAgentUpdate(t *testing.T, e *Engine, spec engine.AgentSpec, n, updates int) {
	want, got := agentPair(t, e, spec, agentState(t, spec, 4))
	for u := 0; u < updates; u++ {
		b := sacBatch(spec, n, uint64(100+u))
		key := rng.Key{Seed: 4, Purpose: rng.SACNoise, Step: uint64(u)}
		sw, err := want.Update(b, key)
		if err != nil {
			t.Fatal(err)
		}
		sg, err := got.Update(b, key)
		if err != nil {
			t.Fatal(err)
		}
		wv := []float32{sw.Q1Loss, sw.Q2Loss, sw.PolicyLoss, sw.AlphaLoss, sw.Alpha, sw.Entropy, sw.QMean}
		gv := []float32{sg.Q1Loss, sg.Q2Loss, sg.PolicyLoss, sg.AlphaLoss, sg.Alpha, sg.Entropy, sg.QMean}
		d := compare(gv, wv)
		t.Logf("update %d: stats %+v; CPU engine %+v; %s", u+1, sg, sw, d)
		if d.rel > outTol {
			t.Errorf("update %d: statistics differ from the CPU engine beyond %g", u+1, outTol)
		}
		if u == 0 {
			stw, stg := want.State(), got.State()
			for _, name := range []string{"policy", "q1", "q2"} {
				shape := spec.Critic()
				if name == "policy" {
					shape = spec.Policy()
				}
				compareGradients(t, "update 1 "+name, stg.Buffers[name+"_adam_m"], stw.Buffers[name+"_adam_m"], mlpSegments(shape), gradTol)
			}
			compareGradients(t, "update 1", stg.Buffers["log_alpha_adam_m"], stw.Buffers["log_alpha_adam_m"], []segment{{"logα", 0, 1}}, gradTol)
			compareStates(t, "update 1", stg, stw, outTol, func(d diff) float64 { return d.rel })
		}
	}
	compareStates(t, "after all updates", got.State(), want.State(), outTol, func(d diff) float64 { return d.rel })
}

func checkAgentErrors(t *testing.T, e *Engine) {
	spec := smallAgentSpec()
	a, err := e.NewAgent(spec, 1)
	if err != nil {
		t.Fatal(err)
	}
	closeWhenDone(t, a)
	if _, err := a.Update(engine.Batch{N: 2, Obs: make([]float32, 1)}, rng.Key{}); err == nil || !strings.Contains(err.Error(), "Update batch") {
		t.Errorf("Update on a short batch: %v", err)
	}
	if err := a.Act(make([]float32, 3), 1, true, rng.Key{}, make([]float32, spec.Act)); err == nil {
		t.Error("Act on a short observation did not fail")
	}
	if err := a.Act(nil, 0, true, rng.Key{}, nil); err != nil {
		t.Errorf("Act on no rows: %v", err)
	}
	st := a.State()
	st.Buffers["q1"] = st.Buffers["q1"][:3]
	if err := a.SetState(st); err == nil || !strings.Contains(err.Error(), "q1") {
		t.Errorf("SetState with a short q1: %v", err)
	}
}

func TestHostAgentInit(t *testing.T) { checkAgentInit(t, onHost(t), smallAgentSpec()) }

func TestHostAgentAct(t *testing.T) { checkAgentAct(t, onHost(t), smallAgentSpec(), 70) }

func TestHostAgentUpdate(t *testing.T) { checkAgentUpdate(t, onHost(t), smallAgentSpec(), 40, 2) }

func TestHostAgentErrors(t *testing.T) { checkAgentErrors(t, onHost(t)) }

func TestGPUAgentInit(t *testing.T) { checkAgentInit(t, onGPU(t), engine.PaperAgent(11, 3, -3)) }

func TestGPUAgentAct(t *testing.T) {
	e := onGPU(t)
	checkAgentAct(t, e, smallAgentSpec(), 70)
	checkAgentAct(t, e, engine.PaperAgent(11, 3, -3), 5000)
}

func TestGPUAgentUpdate(t *testing.T) {
	e := onGPU(t)
	checkAgentUpdate(t, e, smallAgentSpec(), 48, 3)
	checkAgentUpdate(t, e, engine.PaperAgent(11, 3, -3), 256, 3)
}

func TestGPUAgentErrors(t *testing.T) { checkAgentErrors(t, onGPU(t)) }
