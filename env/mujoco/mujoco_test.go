// mujoco_test.go checks the binding against MuJoCo's own behaviour on small
// inline models: loading, stepping, resets, bad-state detection and replay.

package mujoco

import (
	"math"
	"strings"
	"testing"
)

// ballXML is a free ball above a plane (contacts, cfrc_ext) with a hinged arm
// driven by one clamped motor.
const ballXML = `<mujoco model="ball">
  <option timestep="0.005"/>
  <worldbody>
    <geom name="floor" type="plane" size="5 5 0.1"/>
    <body name="ball" pos="0 0 0.3">
      <freejoint/>
      <geom type="sphere" size="0.1" mass="1"/>
    </body>
    <body name="arm" pos="1 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="capsule" fromto="0 0 0 0 0 -0.5" size="0.05" mass="0.5" contype="0" conaffinity="0"/>
      <site name="tip" pos="0 0 -0.5"/>
    </body>
  </worldbody>
  <actuator>
    <motor joint="hinge" ctrllimited="true" ctrlrange="-2 3" gear="1"/>
  </actuator>
</mujoco>`

func load(t *testing.T) (*Model, *Data) {
	t.Helper()
	m, err := LoadXML("ball.xml", []byte(ballXML))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewData(m)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	return m, d
}

func TestLoadXMLSizes(t *testing.T) {
	m, d := load(t)
	if got := Version(); !strings.HasPrefix(got, "2.") {
		t.Errorf("Version() = %q, want MuJoCo 2.x", got)
	}
	for _, c := range []struct {
		name      string
		got, want int
	}{
		{"nq", m.NQ(), 8}, {"nv", m.NV(), 7}, {"nu", m.NU(), 1}, {"nbody", m.NBody(), 3}, {"nsite", m.NSite(), 1},
		{"len qpos", len(d.Qpos()), 8}, {"len qvel", len(d.Qvel()), 7}, {"len ctrl", len(d.Ctrl()), 1},
		{"len xpos", len(d.Xpos()), 9}, {"len cinert", len(d.Cinert()), 30}, {"len cvel", len(d.Cvel()), 18},
		{"len cfrc_ext", len(d.CfrcExt()), 18}, {"len site_xpos", len(d.SiteXpos()), 3},
		{"len qfrc_constraint", len(d.QfrcConstraint()), 7}, {"len qfrc_actuator", len(d.QfrcActuator()), 7},
	} {
		if c.got != c.want {
			t.Errorf("%s = %d, want %d", c.name, c.got, c.want)
		}
	}
	if m.Timestep() != 0.005 {
		t.Errorf("Timestep() = %v, want 0.005", m.Timestep())
	}
	low, high := m.CtrlRange()
	if low[0] != -2 || high[0] != 3 || !m.CtrlLimited()[0] {
		t.Errorf("ctrl range [%v, %v] limited %v, want [-2, 3] limited", low, high, m.CtrlLimited())
	}
	if q := m.Qpos0(); q[2] != 0.3 || q[3] != 1 {
		t.Errorf("qpos0 = %v, want z 0.3 and unit quaternion", q)
	}
	if mass := m.BodyMass(); mass[0] != 0 || math.Abs(mass[1]-1) > 1e-12 {
		t.Errorf("body masses %v, want world 0 and ball 1", mass)
	}
	if id, err := m.BodyID("arm"); err != nil || id != 2 {
		t.Errorf("BodyID(arm) = %d, %v; want 2", id, err)
	}
	if id, err := m.SiteID("tip"); err != nil || id != 0 {
		t.Errorf("SiteID(tip) = %d, %v; want 0", id, err)
	}
	if _, err := m.BodyID("nothing"); err == nil || !strings.Contains(err.Error(), `"nothing"`) {
		t.Errorf("BodyID(nothing) error = %v, want one naming the body", err)
	}
}

func TestLoadXMLErrors(t *testing.T) {
	for _, c := range []struct {
		name, xml, want string
	}{
		{"empty", "", "empty document"},
		{"not xml", "<mujoco><worldbody>", "bad.xml"},
		{"unknown element", `<mujoco><worldbody><blob/></worldbody></mujoco>`, "blob"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := LoadXML("bad.xml", []byte(c.xml))
			if err == nil {
				m.Close()
				t.Fatal("LoadXML succeeded, want an error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
		})
	}
}

func TestStepRunsNStepsAndLeavesCtrlUnclamped(t *testing.T) {
	m, d := load(t)
	d2, err := NewData(m)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	d.Ctrl()[0], d2.Ctrl()[0] = 10, 10 // above the range: MuJoCo clamps internally only
	if bad := d.Step(4, false); bad {
		t.Fatal("Step reported a bad state")
	}
	for range 4 {
		d2.Step(1, false)
	}
	if d.Time() != 4*m.Timestep() {
		t.Errorf("time after Step(4) = %v, want %v", d.Time(), 4*m.Timestep())
	}
	for i, q := range d.Qpos() {
		if q != d2.Qpos()[i] {
			t.Fatalf("qpos[%d] after Step(4) = %v, after 4 × Step(1) = %v", i, q, d2.Qpos()[i])
		}
	}
	if d.Ctrl()[0] != 10 {
		t.Errorf("ctrl after step = %v, want the 10 that was set", d.Ctrl()[0])
	}
	// The clamped control is what acted: the actuator force equals the upper limit.
	if f := d.QfrcActuator()[6]; f != 3 {
		t.Errorf("actuator force = %v, want the clamped control 3", f)
	}
}

func TestBadStateIsReportedAndReset(t *testing.T) {
	for _, c := range []struct {
		name string
		set  func(d *Data)
	}{
		{"nan qvel", func(d *Data) { d.Qvel()[0] = math.NaN() }},
		{"huge qpos", func(d *Data) { d.Qpos()[0] = 1e300 }},
		{"huge qvel", func(d *Data) { d.Qvel()[6] = 1e12 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, d := load(t)
			d.Step(3, false)
			c.set(d)
			if bad := d.Step(5, false); !bad {
				t.Fatal("Step did not report the bad state")
			}
			if d.BadStates() == 0 {
				t.Error("BadStates() = 0 after a bad state")
			}
			// MuJoCo reset the data at the start of the first mj_step and
			// finished that step; Step returned at once.
			fresh, err := NewData(m)
			if err != nil {
				t.Fatal(err)
			}
			defer fresh.Close()
			fresh.Step(1, false)
			for i, q := range d.Qpos() {
				if q != fresh.Qpos()[i] {
					t.Fatalf("qpos[%d] = %v after MuJoCo's reset, want %v (one step from qpos0)", i, q, fresh.Qpos()[i])
				}
			}
			d.Reset()
			if d.BadStates() != 0 {
				t.Errorf("BadStates() = %d after Reset, want 0", d.BadStates())
			}
			if bad := d.Step(5, false); bad {
				t.Error("a clean state was reported bad after Reset")
			}
		})
	}
}

func TestRNEPostConstraintFillsContactForce(t *testing.T) {
	_, d := load(t)
	for range 200 { // the ball falls 0.2 m and rests on the floor
		d.Step(1, false)
	}
	if d.CfrcExt()[6+5] != 0 {
		t.Fatalf("cfrc_ext filled without mj_rnePostConstraint: %v", d.CfrcExt()[6:12])
	}
	d.Step(1, true)
	// At rest the floor carries the ball's weight: vertical force ≈ m g.
	if fz := d.CfrcExt()[6+5]; math.Abs(fz-9.81) > 0.5 {
		t.Errorf("contact force on the resting ball = %v, want about 9.81", fz)
	}
	d.Reset()
	d.Forward()
	for i, f := range d.CfrcExt() {
		if f != 0 {
			t.Fatalf("cfrc_ext[%d] = %v after Reset and Forward, want 0", i, f)
		}
	}
}

func TestReplayRepeatsTheSameSimulation(t *testing.T) {
	m, d := load(t)
	const fs = 3
	rec := Recording{FrameSkip: fs}
	ctrls := []float64{1, -1, 2.5, 0, -3, 0.5}
	for i, u := range ctrls {
		reset := i == 0 || i == 4
		rec.Reset = append(rec.Reset, reset)
		if reset {
			d.Reset()
			q := m.Qpos0()
			q[7] = 0.1 * float64(i+1) // hinge angle
			copy(d.Qpos(), q)
			d.Qvel()[6] = 0.3
			d.Forward()
			rec.Qpos = append(rec.Qpos, d.Qpos()...)
			rec.Qvel = append(rec.Qvel, d.Qvel()...)
		}
		rec.Ctrl = append(rec.Ctrl, u)
		d.Ctrl()[0] = u
		d.Step(fs, false)
	}
	want := append([]float64(nil), d.Qpos()...)

	d2, err := NewData(m)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	if err := d2.Replay(&rec); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if d2.Qpos()[i] != want[i] {
			t.Fatalf("replayed qpos[%d] = %v, want %v", i, d2.Qpos()[i], want[i])
		}
	}
	rec.Ctrl = rec.Ctrl[1:]
	if err := d2.Replay(&rec); err == nil {
		t.Error("Replay accepted a recording with a control missing")
	}
}

func TestCloseOrder(t *testing.T) {
	m, err := LoadXML("ball.xml", []byte(ballXML))
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewData(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err == nil || !strings.Contains(err.Error(), "close them first") {
		t.Fatalf("closing a model with open Data: error %v, want a refusal", err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close of Data: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatalf("closing the model after its Data: %v", err)
	}
	defer func() {
		if recover() == nil {
			t.Error("stepping a closed Data did not panic")
		}
	}()
	d.Step(1, false)
}
