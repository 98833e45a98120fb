// sweep.go: "mbpo sweep", a grid of training runs (env × ablation × seed),
// run here several at once or written out as a Slurm job array or a
// Kubernetes Indexed Job.

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mbpogo/mbpo/trainer/engine"
	"github.com/mbpogo/mbpo/trainer/sweep"
)

const sweepAbout = `Trains every cell of a grid (environment × ablation × seed) into
OUT/ENV/ABLATION/seed_N, --parallel cells at a time, with a live status table.
Cells are numbered 0..n-1 by environment, then ablation, then seed; OUT/sweep.json
records the grid. Re-running the same command resumes: finished cells are
skipped, interrupted ones continue from their checkpoint (Ctrl-C saves one).
A failing cell is logged and written to its error.txt; the others go on and
mbpo exits with status 1 at the end.

Ablations: none (MBPO), no-model (SAC at MBPO's G, real data only), sac, and
kN, MBPO with a fixed rollout length N (k1, k200, k500).
Presets: --preset paper (Hopper, Walker2d, HalfCheetah, Ant, Humanoid with the
published configurations) and --preset ablations (Hopper: none, k1, k200, k500,
no-model, sac); both use seeds 0-4 unless --seeds says otherwise.
--config sweep.yaml holds the same settings (keys preset, envs, ablations,
seeds, steps, set, device, parallel); flags given on the command line win.

Beyond one machine: --emit slurm writes OUT/sweep.sbatch, a job array, and
--emit k8s writes OUT/sweep-k8s.yaml, an Indexed Job; task i runs
"mbpo sweep --config GRID --out DIR --cell i" into the shared results
directory. Then: mbpo report DIR.

Examples:
  mbpo sweep --envs Hopper-v4,Walker2d-v4 --seeds 0-4 --ablations none,no-model,k1 --out runs/sweep
  mbpo sweep --preset ablations --steps 20000 --set model-hidden=64 --parallel 2 --out runs/abl
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
	ablations := fs.String("ablations", "", "ablations, comma-separated: none, no-model, sac, kN (e.g. none,no-model,k1)")
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
	statusEvery := fs.Duration("status-every", time.Minute, "how often to print the status table when stderr is not a terminal")
	emit := fs.String("emit", "", "instead of training here, write a cluster job: slurm or k8s")
	jobName := fs.String("job-name", "mbpo-sweep", "--emit: the job's name")
	cpus := fs.Int("cpus", 1, "--emit: CPUs per task, and its engine threads")
	gpus := fs.Int("gpus", 0, "--emit: GPUs per task")
	mem := fs.String("mem", "", "--emit: memory per task (Slurm e.g. 16G, Kubernetes e.g. 16Gi)")
	slurmTime := fs.String("time", "", "--emit slurm: time limit per task (e.g. 72:00:00)")
	partition := fs.String("partition", "", "--emit slurm: partition")
	binary := fs.String("mbpo", "", "--emit slurm: mbpo on the compute nodes (default: this binary's absolute path)")
	image := fs.String("image", "mbpo:latest", "--emit k8s: container image with mbpo as entrypoint (see the Dockerfile)")
	pvc := fs.String("pvc", "mbpo-results", "--emit k8s: PersistentVolumeClaim of the shared results")
	mount := fs.String("mount", "/results", "--emit k8s: where the claim is mounted; results go to MOUNT/JOB_NAME")
	var lf logFlags
	lf.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %q", fs.Args())
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
		return emitSlurm(a, g, *out, sweep.SlurmOptions{
			JobName: *jobName, MaxParallel: emitParallel, CPUs: *cpus, GPUs: *gpus, Mem: *mem, Time: *slurmTime,
			Partition: *partition, Binary: *binary, Device: emitDevice,
		})
	case "k8s":
		if *cell >= 0 {
			return usagef("--cell and --emit do not go together: the emitted job runs the cells")
		}
		return emitK8s(a, g, *out, sweep.K8sOptions{
			Name: *jobName, Image: *image, PVC: *pvc, MountPath: *mount, Parallelism: emitParallel, CPUs: *cpus,
			Memory: *mem, GPUs: *gpus, Device: emitDevice,
		})
	default:
		return usagef("--emit %q: want slurm or k8s", *emit)
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

	ansi := isTerminal(a.stderr)
	board := sweep.NewBoard(cells, func(c sweep.Cell) int {
		cfg, _ := g.Config(c) // valid: checked by Validate
		return cfg.Steps
	})
	log, err := lf.logger(board.Writer(a.stderr, ansi))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info().Int("cells", len(cells)).Int("grid", g.Len()).Int("parallel", file.Parallel).Str("device", file.Device).
		Str("out", *out).Msg("sweep starting")
	runner := &sweep.Runner{
		Grid: g, Out: *out, Parallel: file.Parallel, Device: file.Device, Threads: *threads, Log: log, Board: board,
		NewEngine: func(device string, threads int) (engine.Engine, error) {
			return selectEngine(device, threads, log)
		},
	}
	stopStatus := board.Follow(ctx, a.stderr, ansi, *statusEvery)
	sum := runner.Run(ctx, cells)
	stopStatus()

	fmt.Fprintf(a.stdout, "sweep %s: %d cells: %d done now, %d done before, %d failed, %d interrupted, %d not started\n",
		*out, len(cells), sum.Count(sweep.Done), sum.Count(sweep.Skipped), sum.Count(sweep.Failed),
		sum.Count(sweep.Interrupted), sum.Count(sweep.NotStarted))
	if err := sum.Err(); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return errors.New("interrupted: re-run the same command to resume")
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
	if o.Binary == "" {
		if o.Binary, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this mbpo binary (%v): give --mbpo PATH", err)
		}
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
