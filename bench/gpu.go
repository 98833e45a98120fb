// gpu.go: the GPU runtime's costs (launch latency, graph replay against
// single launches, device memory bandwidth) and the ensemble forward
// kernel's speed, checked against the CPU engine (mbpo bench gpu). It runs
// the kernels on a kernels.Machine through the launchers the GPU engine
// uses: kernels.OnGPU on a device, kernels.OnHost in the tests.

package bench

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/engine/cpu"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/kernels"
	"github.com/mbpogo/mbpo/rng"
)

// GPUResult is what GPU measures; mbpo bench gpu --json writes it and
// torch_peer.py writes the same forward fields for PyTorch.
type GPUResult struct {
	Device        string  `json:"device"`
	Driver        string  `json:"driver"`
	LaunchUS      float64 `json:"launch_us"`            // wall time per empty-kernel launch, pipelined
	Launches20US  float64 `json:"launches20_us"`        // 20 small launches one by one, per batch, pipelined
	Graph20US     float64 `json:"graph20_us"`           // the same 20 as one graph replay, per replay, pipelined
	GraphRatio    float64 `json:"graph_ratio"`          // Graph20US / Launches20US
	Launches20Syn float64 `json:"launches20_synced_us"` // as Launches20US, waiting for each batch
	Graph20Syn    float64 `json:"graph20_synced_us"`    // as Graph20US, waiting for each replay
	CopyGBs       float64 `json:"copy_gbs"`             // device-to-device copy, bytes read + written per second
	Members       int     `json:"members"`              // forward shape
	In            int     `json:"in"`
	Out           int     `json:"out"`
	Hidden        []int   `json:"hidden"`
	Rows          int     `json:"rows"`
	ForwardMS     float64 `json:"forward_ms"` // median over the timed launches
	ForwardMinMS  float64 `json:"forward_min_ms"`
	ForwardTFLOPs float64 `json:"forward_tflops"`      // at the median
	Registers     int     `json:"forward_registers"`   // per thread
	SpillBytes    int     `json:"forward_local_bytes"` // local memory per thread
	CheckRows     int     `json:"check_rows"`          // rows compared with the CPU engine
	CheckMaxAbs   float64 `json:"check_max_abs"`
	CheckMaxRel   float64 `json:"check_max_rel"` // |gpu-cpu| / max(1, |cpu|)
	CheckPass     bool    `json:"check_pass"`    // CheckMaxRel <= 1e-4
	CheckTol      float64 `json:"check_tolerance"`
	ForwardConfig string  `json:"forward_plan"`           // rows per block, threads, shared bytes
	Error         string  `json:"error,omitempty"`        // why the benchmark stopped early
	CPUCheckMS    float64 `json:"cpu_check_ms,omitempty"` // the CPU engine's time on the check rows
}

// CheckTolerance is the pass mark of the GPU forward against the CPU engine:
// |gpu - cpu| <= 1e-4 · max(1, |cpu|).
const CheckTolerance = 1e-4

// GPUOptions sizes GPU.
type GPUOptions struct {
	Launches  int // empty-kernel launches timed for the launch latency
	Batches   int // batches of 20 launches (and graph replays) timed
	CopyBytes int // bytes of each device-to-device copy

	// The ensemble forward: Members members of Layers hidden layers of
	// Hidden units, input Obs + Act, output Obs + 1, over Rows rows, timed
	// Reps times after 3 warm-ups; CheckRows of its rows, spread over all,
	// are compared with the CPU engine.
	Rows, Members, Hidden, Layers, Obs, Act int
	Reps, CheckRows                         int
}

// GPU measures the GPU runtime on m (info describes its device): the launch
// latency, 20 small launches one by one against the same 20 replayed as a
// graph, the device copy bandwidth, and the ensemble forward of o's shape
// with its check against the CPU engine. A stage that fails stops the
// measurement: what was measured before it is in the result, with the
// failure in its Error field, and the failure is returned too. A forward
// that differs from the CPU engine is no error: the result's CheckPass says.
func GPU(m kernels.Machine, info gpu.Info, o GPUOptions) (GPUResult, error) {
	res := GPUResult{
		Device: info.String(), Driver: fmt.Sprintf("CUDA %d.%d", info.DriverVersion/1000, info.DriverVersion%1000/10),
		CheckTol: CheckTolerance,
	}
	spec := engine.PaperEnsemble(o.Obs, o.Act, o.Hidden)
	spec.Members = o.Members
	spec.Hidden = make([]int, o.Layers)
	for i := range spec.Hidden {
		spec.Hidden[i] = o.Hidden
	}
	spec.WeightDecay = make([]float32, o.Layers+1)
	// Each stage adds to res; a failure stops the run but what was measured
	// before it is still returned.
	measurements := []func() error{
		func() (err error) { res.LaunchUS, err = launchLatency(m, o.Launches); return err },
		func() error { return graphReplay(m, o.Batches, &res) },
		func() (err error) { res.CopyGBs, err = copyBandwidth(m, o.CopyBytes); return err },
		func() error {
			return forward(m, info.MaxSharedPerBlockOpt, spec, o.Rows, o.Reps, min(o.CheckRows, o.Rows), &res)
		},
	}
	for _, step := range measurements {
		if err := step(); err != nil {
			res.Error = err.Error()
			return res, err
		}
	}
	return res, nil
}

// launchLatency is the wall time per launch of an empty kernel, n launches
// queued back to back and waited for once (after a warm-up).
func launchLatency(m kernels.Machine, n int) (float64, error) {
	for i := 0; i < 100; i++ {
		if err := kernels.Empty(m); err != nil {
			return 0, err
		}
	}
	if err := m.Synchronize(); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := kernels.Empty(m); err != nil {
			return 0, err
		}
	}
	if err := m.Synchronize(); err != nil {
		return 0, err
	}
	return us(time.Since(start)) / float64(n), nil
}

// graphReplay compares 20 small launches (x += 1 on 1024 floats) queued one
// by one with the same 20 captured as a graph and replayed: per batch, both
// pipelined (batches queued back to back) and synced (waiting for each). The
// buffer's final value checks that every launch and replay ran.
func graphReplay(m kernels.Machine, batches int, res *GPUResult) error {
	const n, per = 1024, 20
	buf, err := m.Alloc(4 * n) // zeroed
	if err != nil {
		return err
	}
	defer m.Free(buf)
	batch := func() error {
		for i := 0; i < per; i++ {
			if err := kernels.AddOne(m, buf, n); err != nil {
				return err
			}
		}
		return nil
	}
	g, err := m.Capture(batch)
	if err != nil {
		return err
	}
	defer g.Close()

	run := func(f func() error, synced bool) (float64, error) {
		for i := 0; i < 10; i++ { // warm-up
			if err := f(); err != nil {
				return 0, err
			}
		}
		if err := m.Synchronize(); err != nil {
			return 0, err
		}
		start := time.Now()
		for i := 0; i < batches; i++ {
			if err := f(); err != nil {
				return 0, err
			}
			if synced {
				if err := m.Synchronize(); err != nil {
					return 0, err
				}
			}
		}
		if err := m.Synchronize(); err != nil {
			return 0, err
		}
		return us(time.Since(start)) / float64(batches), nil
	}
	if res.Launches20US, err = run(batch, false); err != nil {
		return err
	}
	if res.Graph20US, err = run(g.Launch, false); err != nil {
		return err
	}
	if res.Launches20Syn, err = run(batch, true); err != nil {
		return err
	}
	if res.Graph20Syn, err = run(g.Launch, true); err != nil {
		return err
	}
	res.GraphRatio = res.Graph20US / res.Launches20US
	got := make([]float32, n)
	if err := kernels.Download(m, got, buf); err != nil {
		return err
	}
	if want := float32(4 * (batches + 10) * per); got[0] != want || got[n-1] != want {
		return fmt.Errorf("graph benchmark: the buffer holds %v, %v after the runs, want %v: launches went missing", got[0], got[n-1], want)
	}
	return nil
}

// copyBandwidth is the device-to-device copy bandwidth in GB/s, counting the
// bytes read and written, over the best of 10 timed copies.
func copyBandwidth(m kernels.Machine, bytes int) (float64, error) {
	src, err := m.Alloc(bytes)
	if err != nil {
		return 0, err
	}
	defer m.Free(src)
	dst, err := m.Alloc(bytes)
	if err != nil {
		return 0, err
	}
	defer m.Free(dst)
	if err := m.Memset32(src, 0x01010101, bytes/4); err != nil {
		return 0, err
	}
	times, err := timeRuns(m, 2, 10, func() error { return m.Copy(dst, src, bytes) })
	if err != nil {
		return 0, err
	}
	return 2 * float64(bytes) / slices.Min(times).Seconds() / 1e9, nil
}

// timeRuns runs f warm times, then reps times each timed on its own (device
// time between events on a GPU), and returns the time of each timed run.
func timeRuns(m kernels.Machine, warm, reps int, f func() error) ([]time.Duration, error) {
	for i := 0; i < warm; i++ {
		if err := f(); err != nil {
			return nil, err
		}
	}
	var times []time.Duration
	for i := 0; i < reps; i++ {
		dt, err := m.Time(f)
		if err != nil {
			return nil, err
		}
		times = append(times, dt)
	}
	return times, nil
}

// forward times the ensemble forward over rows random inputs and compares
// checkRows of its rows, spread over the whole range, with the CPU engine's
// ForwardAll. maxShared is the shared memory a block may use on the
// device (0: no limit).
func forward(m kernels.Machine, maxShared int, spec engine.EnsembleSpec, rows, reps, checkRows int, res *GPUResult) error {
	p, err := kernels.PlanForward(spec)
	if err != nil {
		return err
	}
	if maxShared > 0 && p.SharedBytes > maxShared {
		return fmt.Errorf("the forward plan needs %d bytes of shared memory per block, the device allows %d", p.SharedBytes, maxShared)
	}
	res.Members, res.In, res.Out, res.Hidden, res.Rows = spec.Members, spec.In, spec.Out, spec.Hidden, rows
	res.ForwardConfig = fmt.Sprintf("%d rows x %d threads per block, %d B shared, grid %dx%d",
		p.Rows, p.Threads, p.SharedBytes, p.Grid(rows).X, p.Grid(rows).Y)
	res.Registers, _ = kernels.KernelAttribute(m, kernels.KEnsembleForward, gpu.Registers)
	res.SpillBytes, _ = kernels.KernelAttribute(m, kernels.KEnsembleForward, gpu.LocalBytes)

	ens, err := cpu.New(cpu.Options{}).NewEnsemble(spec, 1)
	if err != nil {
		return fmt.Errorf("the CPU engine, needed to check the GPU's output: %w", err)
	}
	params := ens.State().Buffers["params"]
	mu, sd := make([]float32, spec.In), make([]float32, spec.In)
	nk := rng.Key{Seed: 1, Purpose: rng.Test, Step: 1}
	for j := range mu {
		mu[j], sd[j] = nk.Normal(uint64(j)), 0.5+nk.Uniform(uint64(1000+j))
	}
	ens.SetNormalizer(mu, sd)
	x := make([]float32, rows*spec.In)
	rng.Key{Seed: 1, Purpose: rng.Test, Step: 2}.FillNormal(x)

	var bufs []kernels.Ptr
	defer func() {
		for _, b := range bufs {
			m.Free(b)
		}
	}()
	alloc := func(n int) (kernels.Ptr, error) {
		b, err := m.Alloc(4 * n)
		if err == nil {
			bufs = append(bufs, b)
		}
		return b, err
	}
	upload := func(v []float32) (kernels.Ptr, error) {
		b, err := alloc(len(v))
		if err != nil {
			return 0, err
		}
		return b, kernels.Upload(m, b, v)
	}
	outLen := spec.Members * rows * spec.Out
	var xd, pd, mud, sdd, mean, logvar kernels.Ptr
	for _, u := range []struct {
		dst *kernels.Ptr
		v   []float32
	}{{&xd, x}, {&pd, params}, {&mud, mu}, {&sdd, sd}} {
		if *u.dst, err = upload(u.v); err != nil {
			return err
		}
	}
	for _, dst := range []*kernels.Ptr{&mean, &logvar} {
		if *dst, err = alloc(outLen); err != nil {
			return err
		}
	}
	times, err := timeRuns(m, 3, reps, func() error {
		return kernels.Forward(m, p, mean, logvar, xd, pd, mud, sdd, rows, 0)
	})
	if err != nil {
		return err
	}
	slices.Sort(times)
	med := times[len(times)/2]
	res.ForwardMS, res.ForwardMinMS = ms(med), ms(times[0])
	res.ForwardTFLOPs = p.FLOPs(rows) / med.Seconds() / 1e12

	// The check: rows spread evenly, first and last included.
	gm, gl := make([]float32, outLen), make([]float32, outLen)
	if err := kernels.Download(m, gm, mean); err != nil {
		return err
	}
	if err := kernels.Download(m, gl, logvar); err != nil {
		return err
	}
	idx := make([]int, checkRows)
	xs := make([]float32, checkRows*spec.In)
	for i := range idx {
		idx[i] = i * (rows - 1) / max(1, checkRows-1)
		copy(xs[i*spec.In:], x[idx[i]*spec.In:(idx[i]+1)*spec.In])
	}
	cm, cl := make([]float32, spec.Members*checkRows*spec.Out), make([]float32, spec.Members*checkRows*spec.Out)
	start := time.Now()
	if err := ens.ForwardAll(xs, checkRows, cm, cl); err != nil {
		return err
	}
	res.CPUCheckMS = ms(time.Since(start))
	for e := 0; e < spec.Members; e++ {
		for i, r := range idx {
			for j := 0; j < spec.Out; j++ {
				c := (e*checkRows+i)*spec.Out + j
				g := (e*rows+r)*spec.Out + j
				for _, pair := range [][2]float32{{gm[g], cm[c]}, {gl[g], cl[c]}} {
					diff := math.Abs(float64(pair[0]) - float64(pair[1]))
					if math.IsNaN(diff) {
						diff = math.Inf(1)
					}
					res.CheckMaxAbs = max(res.CheckMaxAbs, diff)
					res.CheckMaxRel = max(res.CheckMaxRel, diff/max(1, math.Abs(float64(pair[1]))))
				}
			}
		}
	}
	res.CheckRows = checkRows
	res.CheckPass = res.CheckMaxRel <= CheckTolerance
	return nil
}
