// checkpoint.go: saving and resuming a run. One file, checkpoint.mbpo, in
// the run directory, written to a temporary file and renamed into place, so
// a crash never leaves a half-written checkpoint:
//
//	"MBPOCKPT" | u32 version | u64 header length | header (JSON) |
//	sections, in the header's order | u32 CRC-32 (IEEE) of all before
//
// The header holds the config, the loop's counters, the statistics of the
// epoch in progress (so that a stop inside an epoch resumes to the same
// row), the elites, the data env's physics and noise state and the section
// list; the sections are the
// engine states' named float32 buffers (layouts in engine) and the
// replay buffers. Buffers are engine-independent, so a checkpoint from the
// CPU engine resumes on a GPU engine and back.

package trainer

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
	"github.com/mbpogo/mbpo/stages"
	"github.com/mbpogo/mbpo/trainer/rundir"
)

// CheckpointFile is the checkpoint's name inside a run directory.
const CheckpointFile = "checkpoint.mbpo"

const (
	checkpointMagic   = "MBPOCKPT"
	checkpointVersion = 1
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
	// ModelBufferSaved is false when the model buffer was too large to save:
	// resume then refills it with one fresh round of rollouts.
	ModelBufferSaved bool `json:"model_buffer_saved"`
	// Epoch holds the statistics of the epoch in progress (none at an epoch's
	// end), so that a run stopped inside an epoch writes the same row for it.
	Epoch epochState `json:"epoch"`
	// PrevCritic is the last finished epoch's mean critic loss, which the
	// divergence watch compares the next epoch's with (0: none yet).
	PrevCritic float64 `json:"prev_critic_loss,omitempty"`
	// RMax is the largest |reward| of a real transition so far (0: read
	// the real buffer, as checkpoints written before it existed need).
	RMax float64 `json:"r_max,omitempty"`
	// RealAdded counts the transitions ever added to the real buffer (0:
	// the real buffer's own count, which checkpoints before it carried).
	RealAdded int64     `json:"real_added,omitempty"`
	Sections  []section `json:"sections"`
}

// epochState is the part of epochAccumulator a checkpoint keeps: all but
// the clocks and the throughput counts that go with them.
type epochState struct {
	SACSums      [7]jsonFloat `json:"sac_sums"`
	SACCount     int          `json:"sac_count"`
	TrainReturns []jsonFloat  `json:"train_returns"`
	NonFinite    int          `json:"nonfinite_steps"`
}

func (a *epochAccumulator) state() epochState {
	u := a.sac
	s := epochState{SACCount: u.Updates, NonFinite: a.nonFinite}
	for i, v := range []float64{u.Q1Loss, u.Q2Loss, u.PolicyLoss, u.AlphaLoss, u.Alpha, u.Entropy, u.QMean} {
		s.SACSums[i] = jsonFloat(v)
	}
	for _, v := range a.trainReturns {
		s.TrainReturns = append(s.TrainReturns, jsonFloat(v))
	}
	return s
}

func (a *epochAccumulator) setState(s epochState) {
	a.nonFinite, a.trainReturns = s.NonFinite, nil
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

// section names one payload after the header: a float32 buffer of Len
// values, or a replay buffer of Len bytes.
type section struct {
	Name string `json:"name"`
	Kind string `json:"kind"` // "f32" or "replay"
	Len  int64  `json:"len"`
}

// SaveCheckpoint writes the run's complete state to RunDir/checkpoint.mbpo.
func (t *Trainer) SaveCheckpoint() error {
	h := checkpointHeader{
		Config: t.Cfg, Engine: t.eng.Name(), Saved: time.Now().UTC(),
		EnvSteps: t.envSteps, Updates: t.updates, Retrains: t.retrains,
		EpRet: t.epRet, EpLen: t.epLen, Obs: t.obs, K: t.k,
		WallSec:   t.wallBefore + time.Since(t.sessionStart).Seconds(),
		LastModel: t.lastModel, LastRollout: t.lastRollout, Env: t.env.State(), Epoch: t.epochAcc.state(),
		PrevCritic: t.prevCritic, RMax: t.rMax, RealAdded: t.realAdded,
	}
	type payload struct {
		sec  section
		f32  []float32
		repl *stages.Replay
	}
	var pays []payload
	addState := func(prefix string, st engine.State) {
		for _, name := range sortedNames(st.Buffers) {
			b := st.Buffers[name]
			pays = append(pays, payload{sec: section{Name: prefix + name, Kind: "f32", Len: int64(len(b))}, f32: b})
		}
	}
	as := t.agent.State()
	h.AgentStep = as.Step
	addState("agent/", as)
	real, err := stages.Download(t.st.Real(), t.spec.ObsDim, t.spec.ActDim)
	if err != nil {
		return fmt.Errorf("checkpoint: real buffer: %w", err)
	}
	pays = append(pays, payload{sec: section{Name: "real", Kind: "replay"}, repl: real})
	if t.pending != nil {
		pays = append(pays, payload{sec: section{Name: "pending", Kind: "replay"}, repl: t.pending})
	}
	if t.ens != nil {
		ms := t.ens.State()
		h.ModelStep = ms.Step
		h.Elites = t.elites
		addState("model/", ms)
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
			pays = append(pays, payload{sec: section{Name: "model_buffer", Kind: "replay"}, repl: mb})
		}
	}
	// A replay section's byte length is known only once serialised: count it
	// with a pass into io.Discard.
	for i := range pays {
		if pays[i].repl != nil {
			n, err := pays[i].repl.WriteTo(io.Discard)
			if err != nil {
				return err
			}
			pays[i].sec.Len = n
		}
		h.Sections = append(h.Sections, pays[i].sec)
	}

	path := filepath.Join(t.RunDir, CheckpointFile)
	tmp, err := rundir.CreateTemp(t.RunDir, ".checkpoint-*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	crc := crc32.NewIEEE()
	bw := bufio.NewWriterSize(io.MultiWriter(tmp, crc), 1<<20)
	hdr, err := json.Marshal(h)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint header: %w", err)
	}
	bw.WriteString(checkpointMagic)
	binary.Write(bw, binary.LittleEndian, uint32(checkpointVersion))
	binary.Write(bw, binary.LittleEndian, uint64(len(hdr)))
	bw.Write(hdr)
	for _, p := range pays {
		if p.repl != nil {
			if _, err := p.repl.WriteTo(bw); err != nil {
				tmp.Close()
				return fmt.Errorf("checkpoint %s: %w", p.sec.Name, err)
			}
			continue
		}
		writeFloats(bw, p.f32)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	binary.Write(tmp, binary.LittleEndian, crc.Sum32())
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// Resume reopens the run in runDir at its checkpoint, on eng, holding
// runDir's lock until Close. The config is the checkpoint's; steps, if
// positive, extends or shortens the run's total (and config.json says so).
// A run stopped before its first checkpoint starts over from its
// config.json. The metrics files must hold every row up to the checkpoint
// (a *MetricsError otherwise; RepairMetrics rebuilds them); rows written
// after it are dropped, to be written again.
func Resume(runDir string, eng engine.Engine, steps int, log zerolog.Logger) (*Trainer, error) {
	return ResumeWith(runDir, eng, ResumeSettings{Steps: steps}, log)
}

// ResumeSettings are the settings a resumed run may change.
type ResumeSettings struct {
	Steps int // the run's new total of env steps, if positive
	// Precision, if set and not the run's, continues the run with matrix
	// products in this precision (Config.Precision): config.json and the
	// next checkpoints record it, and the run no longer repeats an
	// uninterrupted one. The command asks for it explicitly
	// (--change-precision).
	Precision string
}

// ResumeWith is Resume with the settings s changed.
func ResumeWith(runDir string, eng engine.Engine, s ResumeSettings, log zerolog.Logger) (*Trainer, error) {
	steps := s.Steps
	if _, err := os.Stat(runDir); err != nil {
		return nil, fmt.Errorf("run directory: %w", err)
	}
	if !HoldsRun(runDir) {
		return nil, fmt.Errorf("no checkpoint and no %s in %s: is this a run directory of mbpo train?", ConfigFile, runDir)
	}
	lock, err := lockRun(runDir, log)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(runDir, CheckpointFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return restart(runDir, eng, s, lock, log)
	}
	h, secs, err := readCheckpoint(path)
	if err != nil {
		lock.Unlock()
		return nil, err
	}
	cfg := h.Config
	if steps > 0 {
		cfg.Steps = steps
	}
	s.changePrecision(&cfg, log)
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
	t.epochAcc.setState(h.Epoch)
	t.prevCritic = h.PrevCritic
	// Rows written after the checkpoint will be written again.
	dropped, err := prepareMetrics(runDir, t.envSteps, cfg)
	if err != nil {
		t.Close()
		return nil, err
	}
	if dropped > 0 {
		log.Info().Int("rows", dropped).Int("env_steps", t.envSteps).Msg("dropped the metrics rows written after the checkpoint: they will be written again")
	}
	if cfg.Steps != h.Config.Steps || cfg.Precision != h.Config.Precision {
		if err := writeJSONAtomic(filepath.Join(runDir, ConfigFile), cfg); err != nil {
			t.Close()
			return nil, err
		}
	}
	if t.ens != nil && !h.ModelBufferSaved && t.retrains > 0 {
		log.Warn().Msg("the checkpoint holds no model buffer (too large to save): refilling it with one round of rollouts, so the run will not repeat an uninterrupted one exactly")
		if _, err := t.rollout(t.retrains - 1); err != nil {
			return fail(err)
		}
	}
	return t, nil
}

// changePrecision sets cfg's precision to the one s asks for, saying so.
func (s ResumeSettings) changePrecision(cfg *Config, log zerolog.Logger) {
	if s.Precision != "" && s.Precision != cfg.Precision {
		log.Warn().Str("from", cfg.Precision).Str("to", s.Precision).
			Msg("changing the run's precision: from here on it no longer repeats an uninterrupted run")
		cfg.Precision = s.Precision
	}
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
	if s.Steps > 0 {
		cfg.Steps = s.Steps
	}
	s.changePrecision(&cfg, log)
	if err := cfg.Validate(); err != nil {
		lock.Unlock()
		return nil, fmt.Errorf("%s: %w", filepath.Join(runDir, ConfigFile), err)
	}
	for _, f := range []string{MetricsJSONLFile, MetricsCSVFile} {
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
	r, err := openCheckpoint(filepath.Join(runDir, CheckpointFile))
	if err != nil {
		return Config{}, err
	}
	r.Close()
	return r.h.Config, nil
}

// CheckpointEnvSteps returns the env steps at which the checkpoint in runDir
// was saved, reading only its header (Resume verifies the rest).
func CheckpointEnvSteps(runDir string) (int, error) {
	r, err := openCheckpoint(filepath.Join(runDir, CheckpointFile))
	if err != nil {
		return 0, err
	}
	r.Close()
	return r.h.EnvSteps, nil
}

// checkpointReader reads one checkpoint file: openCheckpoint reads and
// checks the header, sections the payloads and the checksum.
type checkpointReader struct {
	path string
	f    *os.File
	size int64
	body io.Reader // the file before its checksum, through crc
	crc  hash.Hash32
	h    checkpointHeader
}

func (r *checkpointReader) Close() error { return r.f.Close() }

func (r *checkpointReader) corrupt(format string, args ...any) error {
	return fmt.Errorf("%s is corrupt or truncated: %s", r.path, fmt.Sprintf(format, args...))
}

// openCheckpoint opens path and reads its magic, version and header.
func openCheckpoint(path string) (*checkpointReader, error) {
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("no checkpoint at %s: is this a run directory of mbpo train?", path)
		}
		return nil, err
	}
	r := &checkpointReader{path: path, f: f, crc: crc32.NewIEEE()}
	fail := func(err error) (*checkpointReader, error) { f.Close(); return nil, err }
	st, err := f.Stat()
	if err != nil {
		return fail(err)
	}
	if r.size = st.Size(); r.size < int64(len(checkpointMagic))+16 {
		return fail(r.corrupt("only %d bytes", r.size))
	}
	r.body = io.TeeReader(bufio.NewReaderSize(io.LimitReader(f, r.size-4), 1<<20), r.crc)
	magic := make([]byte, len(checkpointMagic))
	if _, err := io.ReadFull(r.body, magic); err != nil || string(magic) != checkpointMagic {
		return fail(fmt.Errorf("%s is not an mbpo checkpoint (bad magic)", path))
	}
	var version uint32
	var hlen uint64
	binary.Read(r.body, binary.LittleEndian, &version)
	if version != checkpointVersion {
		return fail(fmt.Errorf("%s has checkpoint version %d; this mbpo reads version %d", path, version, checkpointVersion))
	}
	if err := binary.Read(r.body, binary.LittleEndian, &hlen); err != nil || hlen > uint64(r.size) {
		return fail(r.corrupt("header length %d", hlen))
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(r.body, hdr); err != nil {
		return fail(r.corrupt("header: %v", err))
	}
	if err := json.Unmarshal(hdr, &r.h); err != nil {
		return fail(r.corrupt("header: %v", err))
	}
	return r, nil
}

// sections reads every payload after the header and verifies the checksum.
func (r *checkpointReader) sections() (checkpointSections, error) {
	secs := checkpointSections{f32: map[string]map[string][]float32{}, replay: map[string]*stages.Replay{}}
	for _, s := range r.h.Sections {
		switch s.Kind {
		case "f32":
			if s.Len < 0 || s.Len*4 > r.size {
				return secs, r.corrupt("section %s of %d floats", s.Name, s.Len)
			}
			buf, err := readFloats(r.body, int(s.Len))
			if err != nil {
				return secs, r.corrupt("section %s: %v", s.Name, err)
			}
			prefix, name := splitSection(s.Name)
			if secs.f32[prefix] == nil {
				secs.f32[prefix] = map[string][]float32{}
			}
			secs.f32[prefix][name] = buf
		case "replay":
			rb, err := stages.ReadReplay(io.LimitReader(r.body, s.Len))
			if err != nil {
				return secs, r.corrupt("section %s: %v", s.Name, err)
			}
			secs.replay[s.Name] = rb
		default:
			return secs, r.corrupt("section %s of unknown kind %q", s.Name, s.Kind)
		}
	}
	want := r.crc.Sum32()
	var got uint32
	if _, err := r.f.Seek(r.size-4, io.SeekStart); err != nil {
		return secs, err
	}
	if err := binary.Read(r.f, binary.LittleEndian, &got); err != nil {
		return secs, r.corrupt("checksum: %v", err)
	}
	if got != want {
		return secs, r.corrupt("checksum %08x, contents give %08x", got, want)
	}
	return secs, nil
}

// readCheckpoint reads and verifies a whole checkpoint file.
func readCheckpoint(path string) (checkpointHeader, checkpointSections, error) {
	r, err := openCheckpoint(path)
	if err != nil {
		return checkpointHeader{}, checkpointSections{}, err
	}
	defer r.Close()
	secs, err := r.sections()
	return r.h, secs, err
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

func writeFloats(w io.Writer, v []float32) {
	buf := make([]byte, 0, 4096)
	for _, x := range v {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		if len(buf) == cap(buf) {
			w.Write(buf)
			buf = buf[:0]
		}
	}
	w.Write(buf)
}

func readFloats(r io.Reader, n int) ([]float32, error) {
	raw := make([]byte, 4*n)
	if _, err := io.ReadFull(r, raw); err != nil {
		return nil, err
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return v, nil
}

// writeJSONAtomic writes v as indented JSON to path through a temp file.
func writeJSONAtomic(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return rundir.WriteFile(path, append(b, '\n'))
}
