// sweep.go: "mbpo sweep", a grid of training runs (env × ablation × seed),
// run here several at once or written out as a Slurm job array or a
// Kubernetes Indexed Job.

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/gpu"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

const sweepAbout = `Trains every cell of a grid (environment × ablation × seed) into
OUT/ENV/ABLATION/seed_N, --parallel cells at a time, with a live status table.
Cells are numbered 0..n-1 by environment, then ablation, then seed; OUT/sweep.json
records the grid. Re-running the same command resumes: finished cells are
skipped, interrupted ones continue from their checkpoint (Ctrl-C saves one).
A failing cell is logged and written to its error.txt; the others go on and
mbpo exits with status 1 at the end. Each cell locks its run directory: a cell
that another process is training fails at once, naming that process.
Ctrl-C or SIGTERM stops the running cells after saving their checkpoints, and
mbpo exits with status 3 (interrupted; re-run to resume).
--until N pauses every cell at N env steps (checkpointed; status 0), so that a
sweep takes all its cells to a milestone before any goes further: the same
command with a larger --until, or without, goes on from there.

Ablations: none (MBPO), no-model (SAC at MBPO's G, real data only), no-restore
(MBPO with each ensemble member left at its last retrain epoch), sac, and kN,
MBPO with a fixed rollout length N (k1, k200, k500).
Presets: --preset paper (Hopper, Walker2d, HalfCheetah, Ant, Humanoid with the
published configurations) and --preset ablations (Hopper: none, k1, k200, k500,
no-model, sac); both use seeds 0-4 unless --seeds says otherwise.
--config sweep.yaml holds the same settings (keys preset, envs, ablations,
seeds, steps, set, device, parallel); flags given on the command line win.

Beyond one machine: --emit slurm writes OUT/sweep.sbatch, a job array, and
--emit k8s writes OUT/sweep-k8s.yaml, an Indexed Job; task I runs
"mbpo sweep --config GRID --out DIR --cell I" into the shared results
directory. Then: mbpo report DIR. Each task's engine uses --cpus threads
(--threads, when given alone, sets --cpus); a --device cuda sweep asks for
one GPU per task unless --gpus says otherwise. The comments of each file
say what the nodes and the cluster need.

Examples:
  mbpo sweep --envs Hopper-v4,Walker2d-v4 --seeds 0-4 --ablations none,no-model,k1 --out runs/sweep
  mbpo sweep --preset ablations --steps 20000 --set model-hidden=64 --parallel 2 --out runs/abl
  mbpo sweep --preset paper --seeds 0 --until 55000 --out runs/paper   # every env to 50 learning epochs first
  mbpo sweep --preset paper --out /shared/paper --emit slurm --parallel 10 --cpus 4 --time 72:00:00`

// settingsFlag collects repeated --set NAME=VALUE.
type settingsFlag []string

func (s *settingsFlag) String() string { return strings.Join(*s, " ") }

func (s *settingsFlag) Set(v string) error {
	*s = append(*s, v)
	return nil
}

func runSweep(a *app, args []string) error {
	fs := a.newFlags("sweep", "[flags]", sweepAbout)
	envs := fs.String("envs", "", "environments, comma-separated (e.g. Hopper-v4,Walker2d-v4)")
	ablations := fs.String("ablations", "", "ablations, comma-separated: none, no-model, no-restore, sac, kN (e.g. none,no-model,k1)")
	seeds := fs.String("seeds", "", "seeds: a range, a list or both (e.g. 0-4 or 0,2,10-12)")
	preset := fs.String("preset", "", "a grid from the paper: paper or ablations")
	config := fs.String("config", "", "sweep.yaml with the grid and settings (flags given here win)")
	out := fs.String("out", "", "results directory: OUT/sweep.json and OUT/ENV/ABLATION/seed_N (required)")
	parallel := fs.Int("parallel", 1, "cells trained at once (each gets max(1, CPUs/N) engine threads); with --emit, most tasks at once (default: no limit)")
	device := fs.String("device", "auto", "engine of every cell: auto, cpu or cuda")
	steps := fs.Int("steps", 0, "env steps of every cell (0: each environment's published length)")
	var sets settingsFlag
	fs.Var(&sets, "set", "a train flag NAME=VALUE for every cell, repeatable (e.g. --set model-hidden=64); see mbpo train -h")
	cell := fs.Int("cell", -1, "run only cell N of the grid (what each array task of --emit runs)")
	threads := fs.Int("threads", 0, "engine threads per cell (0: CPUs / --parallel)")
	devicesFlag := fs.String("devices", "", "GPUs to spread the cells over, e.g. 0,1,2,3: each cell runs on one, the least busy; --parallel cells at once in all")
	precision := fs.String("precision", "", "matrix products of every cell: fp32 or bf16 (the same as --set precision=...)")
	statusEvery := fs.Duration("status-every", time.Minute, "how often to print the status table when stderr is not a terminal")
	until := fs.Int("until", 0, "pause every cell at this many env steps, checkpointed (0: run each to its end); a later sweep goes on")
	repair := fs.Bool("repair-metrics", false, "rebuild the damaged or missing metrics files of the cells it resumes, saying what is lost")
	emit := fs.String("emit", "", "instead of training here, write a cluster job: slurm or k8s")
	jobName := fs.String("job-name", "mbpo-sweep", "--emit: the job's name")
	cpus := fs.Int("cpus", 1, "--emit: CPUs per task, and its engine threads")
	gpus := fs.Int("gpus", 0, "--emit: GPUs per task (default: 1 with --device cuda, else 0)")
	mem := fs.String("mem", "", "--emit: memory per task (Slurm e.g. 16G, Kubernetes e.g. 16Gi)")
	slurmTime := fs.String("time", "", "--emit slurm: time limit per task (e.g. 72:00:00 or 3-00)")
	partition := fs.String("partition", "", "--emit slurm: partition")
	var binary string
	fs.StringVar(&binary, "binary", "mbpo", "--emit slurm: mbpo on the compute nodes (default: mbpo on their PATH)")
	fs.StringVar(&binary, "mbpo", "mbpo", "the same as --binary")
	image := fs.String("image", "mbpo:latest", "--emit k8s: container image with mbpo as entrypoint (see the Dockerfile)")
	pullPolicy := fs.String("image-pull-policy", "IfNotPresent", "--emit k8s: IfNotPresent (an image loaded into the nodes is used), Always or Never")
	retries := fs.Int("retries", 3, "--emit k8s: failures of one cell before the Job gives it up (backoffLimitPerIndex)")
	pvc := fs.String("pvc", "mbpo-results", "--emit k8s: PersistentVolumeClaim of the shared results (ReadWriteMany)")
	mount := fs.String("mount", "/results", "--emit k8s: where the claim is mounted; results go to MOUNT/JOB_NAME")
	var lf logFlags
	lf.register(fs)
	if err := parseArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
	}
	// Every check before anything is written.
	if flagSet(fs, "cell") && *cell < 0 {
		return usagef("--cell %d: want a cell number, 0 or more", *cell)
	}
	if *until < 0 {
		return usagef("--until %d: want env steps, 1 or more (0: no pause)", *until)
	}
	if *until > 0 && *emit != "" {
		return usagef("--until pauses the cells of a sweep run here; an emitted job runs each cell to its end (choose its length with --steps)")
	}
	if *threads < 0 {
		return usagef("--threads %d: want >= 0 (0: CPUs / --parallel)", *threads)
	}
	if *statusEvery <= 0 {
		return usagef("--status-every %v: want a positive duration (e.g. 1m)", *statusEvery)
	}
	if *emit != "" {
		if flagSet(fs, "threads") && !flagSet(fs, "cpus") {
			*cpus = *threads // each task's CPUs are its engine's threads
		} else if flagSet(fs, "threads") && *threads != *cpus {
			return usagef("--threads %d and --cpus %d: an emitted task's engine uses --cpus threads; give one of them", *threads, *cpus)
		}
	}
	if _, err := lf.logger(io.Discard); err != nil {
		return err
	}

	// The grid: the config file, then the flags given.
	var file sweep.File
	if *config != "" {
		var err error
		if file, err = sweep.ReadFile(*config); err != nil {
			return usageError{err.Error()}
		}
	}
	if flagSet(fs, "preset") {
		file.Preset = *preset
	}
	if flagSet(fs, "envs") {
		file.Envs = sweep.SplitList(*envs)
	}
	if flagSet(fs, "ablations") {
		file.Ablations = sweep.SplitList(*ablations)
	}
	if flagSet(fs, "seeds") {
		s, err := sweep.ParseSeeds(*seeds)
		if err != nil {
			return usageError{err.Error()}
		}
		file.Seeds = s
	}
	if flagSet(fs, "steps") {
		file.Steps = *steps
	}
	if flagSet(fs, "set") {
		file.Set = sweep.Settings(sets)
	}
	if flagSet(fs, "precision") {
		file.Set = append(file.Set, "precision="+*precision)
	}
	// What an emitted job passes on: only what the file or flags chose.
	explicitDevice := file.Device != "" || flagSet(fs, "device")
	explicitParallel := file.Parallel != 0 || flagSet(fs, "parallel")
	if flagSet(fs, "device") || file.Device == "" {
		file.Device = *device
	}
	if flagSet(fs, "parallel") || file.Parallel == 0 {
		file.Parallel = *parallel
	}
	g, err := file.Resolve()
	if err != nil {
		return usageError{err.Error()}
	}
	if err := g.Validate(); err != nil {
		return usageError{err.Error()}
	}
	if *out == "" {
		return usagef("--out is required: the results directory of the sweep")
	}
	if file.Parallel < 1 {
		return usagef("--parallel %d: want >= 1", file.Parallel)
	}
	if _, _, err := gpu.ParseDevice(file.Device); err != nil {
		return usageError{err.Error()}
	}
	var devices []string
	if flagSet(fs, "devices") {
		if devices, err = parseDevices(*devicesFlag); err != nil {
			return usageError{err.Error()}
		}
		if kind, _, _ := gpu.ParseDevice(file.Device); explicitDevice && kind != gpu.DeviceCUDA && file.Device != gpu.DeviceAuto {
			return usagef("--devices %s and --device %s: the cells of --devices run on those GPUs", *devicesFlag, file.Device)
		}
		if *emit != "" {
			return usagef("--devices places the cells on this machine's GPUs; an emitted job's tasks get theirs from the cluster (--gpus, --device cuda)")
		}
	}
	if *cell >= 0 {
		if _, err := g.Cell(*cell); err != nil {
			return usageError{err.Error()}
		}
	}

	emitDevice, emitParallel := "", 0
	if explicitDevice {
		emitDevice = file.Device
	}
	if explicitParallel {
		emitParallel = file.Parallel
	}
	switch *emit {
	case "":
	case "slurm":
		if *cell >= 0 {
			return usagef("--cell and --emit do not go together: the emitted job runs the cells")
		}
		o := sweep.SlurmOptions{
			JobName: *jobName, MaxParallel: emitParallel, CPUs: *cpus, GPUs: *gpus, Mem: *mem, Time: *slurmTime,
			Partition: *partition, Binary: binary, Device: emitDevice,
		}
		if err := o.Check(); err != nil {
			return usageError{err.Error()}
		}
		if a.checkOnly {
			return nil
		}
		return emitSlurm(a, g, *out, o)
	case "k8s":
		if *cell >= 0 {
			return usagef("--cell and --emit do not go together: the emitted job runs the cells")
		}
		o := sweep.K8sOptions{
			Name: *jobName, Image: *image, PullPolicy: *pullPolicy, PVC: *pvc, MountPath: *mount, Parallelism: emitParallel,
			CPUs: *cpus, Memory: *mem, GPUs: *gpus, Device: emitDevice, Retries: *retries,
		}
		if err := o.Check(); err != nil {
			return usageError{err.Error()}
		}
		if a.checkOnly {
			return nil
		}
		return emitK8s(a, g, *out, o)
	default:
		return usagef("--emit %q: want slurm or k8s", *emit)
	}
	if a.checkOnly {
		return nil
	}
	// The GPUs named exist here (before anything is written).
	if len(devices) == 0 {
		err = checkDevices("--device", []string{file.Device})
	} else {
		err = checkDevices("--devices", devices)
	}
	if err != nil {
		return err
	}

	cells := g.Cells()
	if *cell >= 0 {
		c, err := g.Cell(*cell)
		if err != nil {
			return usageError{err.Error()}
		}
		cells, file.Parallel = []sweep.Cell{c}, 1
	}
	if err := sweep.Claim(*out, g); err != nil {
		return err
	}

	board := sweep.NewBoard(cells, func(c sweep.Cell) int {
		cfg, _ := g.Config(c) // valid: checked by Validate
		return sweep.StopAt(cfg.Steps, *until)
	})
	// The status table goes where a progress display may (log.go): with a
	// JSON log, never into it.
	table, closeTable := a.progressOutput(lf)
	defer closeTable()
	if table == nil && lf.format != "json" {
		table = a.stderr // plain periodic blocks into a console log
	}
	// Redrawn in place on a terminal: stderr that is one, or the controlling
	// terminal beside a JSON log.
	ansi := table != nil && (table != a.stderr || a.terminal(a.stderr))
	logOut := a.stderr
	if table == a.stderr {
		logOut = board.Writer(a.stderr, ansi)
	}
	log, err := lf.logger(logOut)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info().Int("cells", len(cells)).Int("grid", g.Len()).Int("parallel", file.Parallel).Str("device", file.Device).
		Str("out", *out).Msg("sweep starting")
	runner := &sweep.Runner{
		Grid: g, Out: *out, Parallel: file.Parallel, Device: file.Device, Devices: devices, Threads: *threads, Log: log, Board: board,
		RepairMetrics: *repair, Until: *until,
		NewEngine: func(device string, threads int) (engine.Engine, error) {
			return selectEngine(device, threads, log)
		},
	}
	stopStatus := func() {}
	if table != nil {
		stopStatus = board.Follow(ctx, table, ansi, *statusEvery)
	}
	sum := runner.Run(ctx, cells)
	stopStatus()

	paused := ""
	if *until > 0 {
		paused = fmt.Sprintf(", %d paused at --until %d", sum.Count(sweep.Paused), *until)
	}
	fmt.Fprintf(a.stdout, "sweep %s: %d cells: %d done now, %d done before%s, %d failed, %d interrupted, %d not started\n",
		*out, len(cells), sum.Count(sweep.Done), sum.Count(sweep.Skipped), paused, sum.Count(sweep.Failed),
		sum.Count(sweep.Interrupted), sum.Count(sweep.NotStarted))
	if err := sum.Err(); err != nil {
		return err
	}
	if ctx.Err() != nil || sum.Count(sweep.Interrupted)+sum.Count(sweep.NotStarted) > 0 {
		return interruptedError{"interrupted, checkpoints saved: re-run the same command to resume"}
	}
	if n := sum.Count(sweep.Paused); n > 0 {
		fmt.Fprintf(a.stdout, "%d cells paused at or past %d env steps: the same command with a larger --until, or without, goes on\n", n, *until)
	}
	fmt.Fprintf(a.stdout, "report with: mbpo report %s\n", *out)
	return nil
}

// emitSlurm writes OUT/sweep.yaml (the grid), OUT/sweep.json and
// OUT/sweep.sbatch, and creates OUT/logs.
func emitSlurm(a *app, g sweep.Grid, out string, o sweep.SlurmOptions) error {
	abs, err := filepath.Abs(out)
	if err != nil {
		return err
	}
	if err := sweep.Claim(abs, g); err != nil {
		return err
	}
	o.Config, o.Out, o.Logs = filepath.Join(abs, "sweep.yaml"), abs, filepath.Join(abs, "logs")
	grid, err := sweep.File{Grid: g, Device: o.Device}.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(o.Config, grid, 0o644); err != nil {
		return err
	}
	if err := os.MkdirAll(o.Logs, 0o755); err != nil {
		return err
	}
	var sb strings.Builder
	if err := sweep.WriteSlurm(&sb, g, o); err != nil {
		return err
	}
	script := filepath.Join(abs, "sweep.sbatch")
	if err := os.WriteFile(script, []byte(sb.String()), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (%d array tasks, one per cell) and its grid %s\nsubmit with: sbatch %s\nthen: mbpo report %s\n",
		script, g.Len(), o.Config, script, abs)
	return nil
}

// emitK8s writes OUT/sweep-k8s.yaml: the grid's ConfigMap and the Job.
func emitK8s(a *app, g sweep.Grid, out string, o sweep.K8sOptions) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var sb strings.Builder
	if err := sweep.WriteK8s(&sb, g, o); err != nil {
		return err
	}
	path := filepath.Join(out, "sweep-k8s.yaml")
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "wrote %s (an Indexed Job of %d completions, one per cell)\napply with: kubectl apply -f %s\n"+
		"results: %s on the claim %s; copy them out, then: mbpo report DIR\n", path, g.Len(), path, o.Out(), o.PVC)
	return nil
}
