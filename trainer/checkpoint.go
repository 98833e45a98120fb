// checkpoint.go: what a checkpoint of a run holds and how a Trainer saves
// and restores it. The file, checkpoint.mbpo in the run directory, is the
// container of package trainer/rundir/checkpoint (magic, version, JSON
// header, typed sections, CRC-32, written to a temporary file and renamed
// into place); this file decides its contents.
//
// The header holds the config, the loop's counters, the statistics and
// clocks of the epoch in progress (so that a stop inside an epoch resumes to
// the same row, its time columns counting both sessions), the elites and the
// data env's physics and noise state; the sections are the engine states'
// named float32 buffers ("agent/NAME", "model/NAME";
// layouts in engine) and the replay buffers ("real", "pending",
// "model_buffer"). Buffers are engine-independent, so a checkpoint from the
// CPU engine resumes on a GPU engine and back.

package trainer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer/rundir"
	"github.com/mbpogo/mbpo/trainer/rundir/checkpoint"
)

// checkpointHeader is the JSON header of a checkpoint.
type checkpointHeader struct {
	Config      Config               `json:"config"`
	Engine      string               `json:"engine"`
	Saved       time.Time            `json:"saved"`
	EnvSteps    int                  `json:"env_steps"`
	Updates     int64                `json:"updates"`
	Retrains    uint64               `json:"retrains"`
	EpRet       float64              `json:"episode_return"`
	EpLen       int                  `json:"episode_length"`
	Obs         []float32            `json:"obs"`
	K           int                  `json:"k"`
	WallSec     float64              `json:"wall_s"`
	Elites      []int                `json:"elites,omitempty"`
	LastModel   engine.FitResult     `json:"last_model"`
	LastRollout engine.RolloutResult `json:"last_rollout"`
	Env         env.State            `json:"env"`
	AgentStep   int64                `json:"agent_step"`
	ModelStep   int64                `json:"model_step"`
	// ModelBufferSaved is false when the model buffer was too large to save,
	// or left out by Pack: resume then refills it with one fresh round of
	// rollouts.
	ModelBufferSaved bool `json:"model_buffer_saved"`
	// Epoch holds the statistics and clocks of the epoch in progress (at an
	// epoch's end: none, and clocks just started), so that a run stopped
	// inside an epoch writes the same row for it.
	Epoch epochState `json:"epoch"`
	// PrevCritic is the last finished epoch's mean critic loss, which the
	// divergence watch compares the next epoch's with (0: none yet).
	PrevCritic float64 `json:"prev_critic_loss,omitempty"`
	// RMax is the largest |reward| of a real transition so far (0: read
	// the real buffer, as checkpoints written before it existed need).
	RMax float64 `json:"r_max,omitempty"`
	// RealAdded counts the transitions ever added to the real buffer (0:
	// the real buffer's own count, which checkpoints before it carried).
	RealAdded int64 `json:"real_added,omitempty"`
	// The section list follows, kept by package checkpoint.
}

// epochState is what a checkpoint keeps of epochAccumulator.
type epochState struct {
	SACSums      [7]jsonFloat `json:"sac_sums"`
	SACCount     int          `json:"sac_count"`
	TrainReturns []jsonFloat  `json:"train_returns"`
	NonFinite    int          `json:"nonfinite_steps"`
	Terminations int          `json:"terminations,omitempty"` // absent before train/termination_rate: 0
	// Clocks is absent in checkpoints written before it was kept: the row
	// of an epoch resumed from one then times only the session after the
	// resume.
	Clocks *epochClocks `json:"clocks,omitempty"`
}

// epochClocks is the epoch's time so far and the counts its rates divide
// by it, so that the row of an epoch stopped and resumed inside times the
// whole epoch.
type epochClocks struct {
	EnvSec          float64 `json:"env_s"`
	ModelSec        float64 `json:"model_s"`
	RolloutSec      float64 `json:"rollout_s"`
	SACSec          float64 `json:"sac_s"`
	WallSec         float64 `json:"wall_s"` // since the epoch began, summed over its sessions
	EnvStepsAtStart int     `json:"env_steps_at_start"`
	ModelRows       int64   `json:"model_rows"`
	RolloutSteps    int64   `json:"rollout_steps"`
	SACUntimed      int     `json:"sac_untimed"`
}

func (a *epochAccumulator) state() epochState {
	u := a.sac
	s := epochState{SACCount: u.Updates, NonFinite: a.nonFinite, Terminations: a.terminations}
	c := epochClocks{EnvSec: a.timeEnv, ModelSec: a.timeModel, RolloutSec: a.timeRollout, SACSec: a.timeSAC,
		WallSec: a.wallBefore, EnvStepsAtStart: a.envStepsAtStart, ModelRows: a.modelRows, RolloutSteps: a.rolloutSteps,
		SACUntimed: a.sacUntimed}
	if !a.wallAtStart.IsZero() {
		c.WallSec = time.Since(a.wallAtStart).Seconds()
	}
	s.Clocks = &c
	for i, v := range []float64{u.Q1Loss, u.Q2Loss, u.PolicyLoss, u.AlphaLoss, u.Alpha, u.Entropy, u.QMean} {
		s.SACSums[i] = jsonFloat(v)
	}
	for _, v := range a.trainReturns {
		s.TrainReturns = append(s.TrainReturns, jsonFloat(v))
	}
	return s
}

// setState restores an epoch in progress at env step envSteps.
func (a *epochAccumulator) setState(s epochState, envSteps int) {
	*a = epochAccumulator{envStepsAtStart: envSteps, sacUntimed: s.SACCount}
	if c := s.Clocks; c != nil {
		a.timeEnv, a.timeModel, a.timeRollout, a.timeSAC = c.EnvSec, c.ModelSec, c.RolloutSec, c.SACSec
		a.wallBefore, a.envStepsAtStart = c.WallSec, c.EnvStepsAtStart
		a.modelRows, a.rolloutSteps, a.sacUntimed = c.ModelRows, c.RolloutSteps, c.SACUntimed
	}
	a.nonFinite, a.terminations, a.trainReturns = s.NonFinite, s.Terminations, nil
	v := s.SACSums
	a.sac = engine.UpdateSums{
		Q1Loss: float64(v[0]), Q2Loss: float64(v[1]), PolicyLoss: float64(v[2]), AlphaLoss: float64(v[3]),
		Alpha: float64(v[4]), Entropy: float64(v[5]), QMean: float64(v[6]), Updates: s.SACCount,
	}
	for _, v := range s.TrainReturns {
		a.trainReturns = append(a.trainReturns, float64(v))
	}
}

// jsonFloat is a float64 that JSON carries exactly, NaN and infinities as
// strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return json.Marshal(strconv.FormatFloat(x, 'g', -1, 64))
	}
	return json.Marshal(x)
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		x, err := strconv.ParseFloat(s, 64)
		*f = jsonFloat(x)
		return err
	}
	var x float64
	err := json.Unmarshal(b, &x)
	*f = jsonFloat(x)
	return err
}

// SaveCheckpoint writes the run's complete state to RunDir/checkpoint.mbpo:
// the header, then the agent's buffers, the real buffer, the pending
// episode (--real-add episode), the ensemble's buffers and the model buffer
// (when it fits --checkpoint-model-buffer-mib), in that order.
func (t *Trainer) SaveCheckpoint() error {
	h := checkpointHeader{
		Config: t.Cfg, Engine: t.eng.Name(), Saved: time.Now().UTC(),
		EnvSteps: t.envSteps, Updates: t.updates, Retrains: t.retrains,
		EpRet: t.epRet, EpLen: t.epLen, Obs: t.obs, K: t.k,
		WallSec:   t.wallBefore + time.Since(t.sessionStart).Seconds(),
		LastModel: t.lastModel, LastRollout: t.lastRollout, Env: t.env.State(), Epoch: t.epochAcc.state(),
		PrevCritic: t.prevCritic, RMax: t.rMax, RealAdded: t.realAdded,
	}
	as := t.agent.State()
	h.AgentStep = as.Step
	secs := checkpointSections{f32: map[string]map[string][]float32{"agent/": as.Buffers}, replay: map[string]*stages.Replay{}}
	real, err := stages.Download(t.st.Real(), t.spec.ObsDim, t.spec.ActDim)
	if err != nil {
		return fmt.Errorf("checkpoint: real buffer: %w", err)
	}
	secs.replay["real"] = real
	if t.pending != nil {
		secs.replay["pending"] = t.pending
	}
	if t.ens != nil {
		ms := t.ens.State()
		h.ModelStep = ms.Step
		h.Elites = t.elites
		secs.f32["model/"] = ms.Buffers
		rowBytes := int64(4 * (2*t.spec.ObsDim + t.spec.ActDim + 2))
		n, err := t.st.Model().Len()
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		if int64(n)*rowBytes <= int64(t.Cfg.CheckpointModelBufferMiB)<<20 {
			mb, err := stages.Download(t.st.Model(), t.spec.ObsDim, t.spec.ActDim)
			if err != nil {
				return fmt.Errorf("checkpoint: model buffer: %w", err)
			}
			h.ModelBufferSaved = true
			secs.replay["model_buffer"] = mb
		} else if !t.capWarned {
			t.capWarned = true
			t.log.Warn().Int64("model_buffer_mib", int64(n)*rowBytes>>20).Int("cap_mib", t.Cfg.CheckpointModelBufferMiB).
				Msg("the model buffer has outgrown --checkpoint-model-buffer-mib: checkpoints leave it out, so a resume refills it with fresh rollouts and no longer repeats an uninterrupted run; raise the cap (a resume can; in a sweep, --set checkpoint-model-buffer-mib=N) to keep resumes exact")
		}
	}
	if err := writeCheckpoint(filepath.Join(t.RunDir, rundir.CheckpointFile), h, secs); err != nil {
		return err
	}
	t.savedAt = t.envSteps
	return nil
}

// Resume reopens the run in runDir at its checkpoint, on eng, holding
// runDir's lock until Close. The config is the checkpoint's; steps, if
// positive, extends or shortens the run's total (and config.json says so).
// A run stopped before its first checkpoint starts over from its
// config.json. The metrics files must hold every row up to the checkpoint
// (a *rundir.MetricsError otherwise; RepairMetrics rebuilds them); rows written
// after it are dropped, to be written again.
func Resume(runDir string, eng engine.Engine, steps int, log zerolog.Logger) (*Trainer, error) {
	return ResumeWith(runDir, eng, ResumeSettings{Steps: steps}, log)
}

// ResumeSettings are the settings a resumed run may change. A zero field
// keeps the run's own.
type ResumeSettings struct {
	Steps int // the run's new total of env steps, if positive
	// Precision, if set and not the run's, continues the run with matrix
	// products in this precision (Config.Precision): config.json and the
	// next checkpoints record it, and the run no longer repeats an
	// uninterrupted one. The command asks for it explicitly
	// (--change-precision).
	Precision string
	// CheckpointEvery and CheckpointModelBufferMiB, if not nil, replace the
	// run's (Config.CheckpointEvery, Config.CheckpointModelBufferMiB): they
	// decide when checkpoints are written and what they hold, not what the
	// run computes (CheckpointFlag). A larger model-buffer cap keeps the
	// resumes of a run whose model buffer outgrew the old one exact from its
	// next checkpoint on.
	CheckpointEvery          *int
	CheckpointModelBufferMiB *int
}

// ResumeWith is Resume with the settings s changed.
func ResumeWith(runDir string, eng engine.Engine, s ResumeSettings, log zerolog.Logger) (*Trainer, error) {
	lock, err := rundir.Open(runDir)
	if err != nil {
		return nil, err
	}
	logLock(lock, runDir, log)
	path := filepath.Join(runDir, rundir.CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return restart(runDir, eng, s, lock, log)
	}
	h, secs, err := readCheckpoint(path)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	// config.json holds the settings of the last resume that changed them,
	// which may have stopped before its first checkpoint.
	cfg := h.Config
	saved, savedErr := readConfigJSON(runDir)
	if savedErr == nil && sameRun(saved, cfg) {
		cfg.Steps, cfg.CheckpointEvery, cfg.CheckpointModelBufferMiB = saved.Steps, saved.CheckpointEvery, saved.CheckpointModelBufferMiB
	}
	s.apply(&cfg, log)
	if err := cfg.Validate(); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("%s: config: %w", path, err)
	}
	t, err := build(cfg, eng, runDir, log)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	t.lock = lock
	fail := func(err error) (*Trainer, error) {
		t.Close()
		return nil, fmt.Errorf("%s: %w (the checkpoint does not match this build or config)", path, err)
	}
	if len(h.Obs) != t.spec.ObsDim {
		return fail(fmt.Errorf("observation of length %d, env %s has %d", len(h.Obs), cfg.Env, t.spec.ObsDim))
	}
	if err := t.agent.SetState(engine.State{Buffers: secs.f32["agent/"], Step: h.AgentStep}); err != nil {
		return fail(fmt.Errorf("agent: %w", err))
	}
	real := secs.replay["real"]
	if real == nil {
		return fail(fmt.Errorf("no real buffer"))
	}
	if od, ad := real.Dims(); od != t.spec.ObsDim || ad != t.spec.ActDim {
		return fail(fmt.Errorf("real buffer of obs %d act %d, env has %d and %d", od, ad, t.spec.ObsDim, t.spec.ActDim))
	}
	real.Resize(cfg.ReplaySize)
	if err := stages.Upload(t.st.Real(), real); err != nil {
		return fail(fmt.Errorf("real buffer: %w", err))
	}
	t.realAdded, t.rMax = h.RealAdded, h.RMax
	if t.realAdded == 0 { // a checkpoint written before RealAdded was kept
		t.realAdded = real.Added()
	}
	if t.rMax == 0 { // a checkpoint written before RMax was kept
		t.rMax = real.MaxAbsReward()
	}
	if t.pending != nil {
		// --real-add episode: the episode in progress at the checkpoint.
		p := secs.replay["pending"]
		if p == nil {
			return fail(fmt.Errorf("no pending episode (--real-add episode)"))
		}
		if od, ad := p.Dims(); od != t.spec.ObsDim || ad != t.spec.ActDim || p.Len() > t.pending.Cap() || !p.InOrder() {
			return fail(fmt.Errorf("pending episode of %d rows does not fit", p.Len()))
		}
		t.pending = p
	}
	t.k = h.K
	if t.ens != nil {
		if err := t.ens.SetState(engine.State{Buffers: secs.f32["model/"], Step: h.ModelStep}); err != nil {
			return fail(fmt.Errorf("ensemble: %w", err))
		}
		for _, e := range h.Elites {
			if e < 0 || e >= cfg.EnsembleSize {
				return fail(fmt.Errorf("elite %d outside the ensemble of %d", e, cfg.EnsembleSize))
			}
		}
		t.elites = append([]int(nil), h.Elites...)
		mb := secs.replay["model_buffer"]
		if mb == nil {
			mb = stages.NewReplay(t.spec.ObsDim, t.spec.ActDim, t.modelCapacity(t.k))
		}
		mb.Resize(t.modelCapacity(t.k))
		if err := stages.Upload(t.st.Model(), mb); err != nil {
			return fail(fmt.Errorf("model buffer: %w", err))
		}
	}
	if err := t.env.SetState(h.Env); err != nil {
		return fail(fmt.Errorf("env: %w", err))
	}
	t.envSteps, t.updates, t.retrains = h.EnvSteps, h.Updates, h.Retrains
	t.epRet, t.epLen, t.wallBefore = h.EpRet, h.EpLen, h.WallSec
	copy(t.obs, h.Obs)
	t.lastModel, t.lastRollout = h.LastModel, h.LastRollout
	t.epochAcc.setState(h.Epoch, h.EnvSteps)
	t.prevCritic = h.PrevCritic
	// Rows written after the checkpoint will be written again.
	dropped, err := rundir.TrimMetrics(runDir, metricsFormat(cfg.EnsembleSize), t.envSteps, cfg.EpochLength)
	if err != nil {
		t.Close()
		return nil, err
	}
	if dropped > 0 {
		log.Info().Int("rows", dropped).Int("env_steps", t.envSteps).Msg("dropped the metrics rows written after the checkpoint: they will be written again")
	}
	if reflect.DeepEqual(cfg, h.Config) {
		t.savedAt = h.EnvSteps // the checkpoint on disk is this run's as it stands
	}
	if savedErr != nil || !reflect.DeepEqual(cfg, saved) {
		if err := rundir.WriteJSON(filepath.Join(runDir, rundir.ConfigFile), cfg); err != nil {
			t.Close()
			return nil, err
		}
	}
	if t.ens != nil && !h.ModelBufferSaved && t.retrains > 0 {
		log.Warn().Msg("the checkpoint holds no model buffer (it outgrew --checkpoint-model-buffer-mib, or the run was packed): refilling it with one round of rollouts, so the run will not repeat an uninterrupted one exactly")
		if _, err := t.rollout(t.retrains - 1); err != nil {
			return fail(err)
		}
	}
	return t, nil
}

// apply sets in cfg the settings s changes, saying so where the run no
// longer repeats an uninterrupted one.
func (s ResumeSettings) apply(cfg *Config, log zerolog.Logger) {
	if s.Steps > 0 {
		cfg.Steps = s.Steps
	}
	if s.Precision != "" && s.Precision != cfg.Precision {
		log.Warn().Str("from", cfg.Precision).Str("to", s.Precision).
			Msg("changing the run's precision: from here on it no longer repeats an uninterrupted run")
		cfg.Precision = s.Precision
	}
	if s.CheckpointEvery != nil && *s.CheckpointEvery != cfg.CheckpointEvery {
		log.Info().Int("from", cfg.CheckpointEvery).Int("to", *s.CheckpointEvery).Msg("checkpoint every N epochs")
		cfg.CheckpointEvery = *s.CheckpointEvery
	}
	if s.CheckpointModelBufferMiB != nil && *s.CheckpointModelBufferMiB != cfg.CheckpointModelBufferMiB {
		log.Info().Int("from", cfg.CheckpointModelBufferMiB).Int("to", *s.CheckpointModelBufferMiB).Msg("checkpoints hold a model buffer of up to N MiB")
		cfg.CheckpointModelBufferMiB = *s.CheckpointModelBufferMiB
	}
}

// sameRun reports whether a and b are the settings of one run: equal but for
// its length and the checkpoint settings.
func sameRun(a, b Config) bool {
	a, b = a.Numerics(), b.Numerics()
	a.Steps, b.Steps = 0, 0
	return reflect.DeepEqual(a, b)
}

// restart starts over, from its config.json, a run stopped before its first
// checkpoint (killed in its first epochs, or out of disk space at its first
// write); the rows it wrote are written again, the same.
func restart(runDir string, eng engine.Engine, s ResumeSettings, lock *rundir.Lock, log zerolog.Logger) (*Trainer, error) {
	cfg, err := readConfigJSON(runDir)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	s.apply(&cfg, log)
	if err := cfg.Validate(); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("%s: %w", filepath.Join(runDir, rundir.ConfigFile), err)
	}
	for _, f := range []string{rundir.MetricsJSONLFile, rundir.MetricsCSVFile} {
		if err := os.Remove(filepath.Join(runDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			lock.Unlock()
			return nil, err
		}
	}
	log.Warn().Str("run_dir", runDir).Msg("no checkpoint: the run stopped before its first one; starting it over from its config.json")
	return start(cfg, eng, runDir, lock, log)
}

// checkpointSections holds a checkpoint's payloads by name: float buffers
// grouped by prefix ("agent/", "model/"), replay buffers by name.
type checkpointSections struct {
	f32    map[string]map[string][]float32
	replay map[string]*stages.Replay
}

// ReadCheckpointConfig returns the config saved in a run's checkpoint,
// reading only the checkpoint's header.
func ReadCheckpointConfig(runDir string) (Config, error) {
	var h checkpointHeader
	if err := checkpoint.ReadHeader(filepath.Join(runDir, rundir.CheckpointFile), &h); err != nil {
		return Config{}, err
	}
	return h.Config, nil
}

// CheckpointEnvSteps returns the env steps at which the checkpoint in runDir
// was saved, reading only its header (Resume verifies the rest).
func CheckpointEnvSteps(runDir string) (int, error) {
	var h checkpointHeader
	if err := checkpoint.ReadHeader(filepath.Join(runDir, rundir.CheckpointFile), &h); err != nil {
		return 0, err
	}
	return h.EnvSteps, nil
}

// readCheckpoint reads and verifies a whole checkpoint file.
func readCheckpoint(path string) (checkpointHeader, checkpointSections, error) {
	return readCheckpointWithout(path)
}

// readCheckpointWithout is readCheckpoint reading past the replay sections
// named in skip (still checksummed) instead of holding them.
func readCheckpointWithout(path string, skip ...string) (checkpointHeader, checkpointSections, error) {
	var h checkpointHeader
	secs := checkpointSections{f32: map[string]map[string][]float32{}, replay: map[string]*stages.Replay{}}
	floats, err := checkpoint.ReadFile(path, &h, func(name string, body io.Reader) error {
		if slices.Contains(skip, name) {
			_, err := io.Copy(io.Discard, body)
			return err
		}
		rb, err := stages.ReadReplay(body)
		secs.replay[name] = rb
		return err
	})
	if err != nil {
		return checkpointHeader{}, checkpointSections{}, err
	}
	for name, buf := range floats {
		prefix, rest := splitSection(name)
		if secs.f32[prefix] == nil {
			secs.f32[prefix] = map[string][]float32{}
		}
		secs.f32[prefix][rest] = buf
	}
	return h, secs, nil
}

// writeCheckpoint writes a checkpoint file of h and secs at path: the
// agent's buffers, the real buffer, the pending episode, the ensemble's
// buffers and the model buffer, in that order, each that secs holds.
func writeCheckpoint(path string, h checkpointHeader, secs checkpointSections) error {
	var w checkpoint.Writer
	floats := func(prefix string) {
		for _, name := range sortedNames(secs.f32[prefix]) {
			w.Floats(prefix+name, secs.f32[prefix][name])
		}
	}
	replay := func(name string) {
		if r := secs.replay[name]; r != nil {
			w.Replay(name, r)
		}
	}
	floats("agent/")
	replay("real")
	replay("pending")
	floats("model/")
	replay("model_buffer")
	return w.WriteFile(path, h)
}

func splitSection(name string) (prefix, rest string) {
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			return name[:i+1], name[i+1:]
		}
	}
	return "", name
}

func sortedNames(m map[string][]float32) []string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}
