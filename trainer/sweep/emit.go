// emit.go: running a sweep beyond one machine. A Slurm job array and a
// Kubernetes Indexed Job both give each task an index 0..n-1; each task runs
// `mbpo sweep --config GRID --out DIR --cell INDEX`, one cell, into a shared
// results directory that mbpo report then reads.

package sweep

import (
	"bytes"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// Marshal writes the file as YAML (the grid, with seeds as ranges).
func (f File) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(f); err != nil {
		return nil, err
	}
	enc.Close()
	return buf.Bytes(), nil
}

// SlurmOptions describe the job array of WriteSlurm.
type SlurmOptions struct {
	JobName     string // --job-name (default mbpo-sweep)
	MaxParallel int    // most array tasks running at once, the array's %N (0: no limit)
	CPUs        int    // --cpus-per-task (default 1); each cell's engine uses as many threads
	GPUs        int    // --gres=gpu:N per task (0: one when Device is cuda, else none)
	Mem         string // --mem, e.g. 16G ("": the cluster's default)
	Time        string // --time, e.g. 48:00:00 ("": the cluster's default)
	Partition   string // --partition ("": the cluster's default)
	Binary      string // mbpo on the compute nodes (default: mbpo on their PATH; $MBPO overrides it at run time)
	Config      string // the sweep.yaml on the shared filesystem
	Out         string // the results directory on the shared filesystem
	Logs        string // directory of the tasks' logs (default Out/logs); must exist before sbatch
	Device      string // --device of every cell ("": the config's)
}

// slurmTime matches the --time formats of sbatch: minutes, minutes:seconds,
// hours:minutes:seconds, days-hours, days-hours:minutes,
// days-hours:minutes:seconds, or no limit.
var slurmTime = regexp.MustCompile(`^(\d+(:\d+){0,2}|\d+-\d+(:\d+){0,2}|(?i:unlimited|infinite))$`)

// Check reports the first option that sbatch would reject, naming the flag
// of mbpo sweep that sets it.
func (o SlurmOptions) Check() error {
	switch {
	case o.Time != "" && !slurmTime.MatchString(o.Time):
		return fmt.Errorf("--time %q: want a Slurm time limit: MINUTES, HOURS:MINUTES:SECONDS or DAYS-HOURS[:MINUTES[:SECONDS]] (e.g. 72:00:00 or 3-00)", o.Time)
	case o.CPUs < 1:
		return fmt.Errorf("--cpus %d: want >= 1", o.CPUs)
	case o.GPUs < 0:
		return fmt.Errorf("--gpus %d: want >= 0", o.GPUs)
	case o.MaxParallel < 0:
		return fmt.Errorf("--parallel %d: want >= 1", o.MaxParallel)
	}
	return nil
}

// gpusFor is the GPUs per task: gpus, or one for a GPU sweep.
func gpusFor(gpus int, device string) int {
	if gpus == 0 && device == "cuda" {
		return 1
	}
	return gpus
}

// WriteSlurm writes a bash script for sbatch: a job array with one task
// per cell of g, task i running cell i.
func WriteSlurm(w io.Writer, g Grid, o SlurmOptions) error {
	n := g.Len()
	if n == 0 {
		return fmt.Errorf("the grid has no cells")
	}
	if o.Config == "" || o.Out == "" {
		return fmt.Errorf("slurm script: the shared config file and results directory are required")
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if err := o.Check(); err != nil {
		return err
	}
	name := or(o.JobName, "mbpo-sweep")
	logs := or(o.Logs, path.Join(o.Out, "logs"))
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# Slurm job array of an mbpo sweep: %d cells, array task i runs cell i.\n", n)
	fmt.Fprintf(&b, "# Written by mbpo sweep --emit slurm; submit it with sbatch.\n")
	fmt.Fprintf(&b, "# Re-submitting resumes: finished cells are skipped, interrupted ones resume.\n")
	fmt.Fprintf(&b, "#\n# What the compute nodes need: mbpo on their PATH (or submit with MBPO=/path/to/mbpo),\n")
	fmt.Fprintf(&b, "# and the shared libraries it loads: MuJoCo 2.2.2 (Debian: libmujoco2.2.2) and OpenBLAS\n")
	fmt.Fprintf(&b, "# (libopenblas0); for --device cuda also an NVIDIA driver (libcuda.so.1), no CUDA toolkit.\n")
	fmt.Fprintf(&b, "# Check a node with: srun mbpo envs. The results directory must be on a filesystem\n")
	fmt.Fprintf(&b, "# that every node sees. Each task locks its cell (flock): a second task on the same cell\n")
	fmt.Fprintf(&b, "# fails at once, naming the first.\n")
	fmt.Fprintf(&b, "#\n# Slurm sends SIGTERM 5 minutes before the time limit: the cell saves a checkpoint and\n")
	fmt.Fprintf(&b, "# exits with status 3 (interrupted); re-submitting resumes it. Logs are appended to.\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
	array := fmt.Sprintf("0-%d", n-1)
	if o.MaxParallel > 0 {
		array += fmt.Sprintf("%%%d", o.MaxParallel)
	}
	fmt.Fprintf(&b, "#SBATCH --array=%s\n", array)
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", max(o.CPUs, 1))
	if gpus := gpusFor(o.GPUs, o.Device); gpus > 0 {
		fmt.Fprintf(&b, "#SBATCH --gres=gpu:%d\n", gpus)
	}
	if o.Mem != "" {
		fmt.Fprintf(&b, "#SBATCH --mem=%s\n", o.Mem)
	}
	if o.Time != "" {
		fmt.Fprintf(&b, "#SBATCH --time=%s\n", o.Time)
	}
	if o.Partition != "" {
		fmt.Fprintf(&b, "#SBATCH --partition=%s\n", o.Partition)
	}
	fmt.Fprintf(&b, "#SBATCH --output=%s\n", path.Join(logs, "cell_%a.log"))
	fmt.Fprintf(&b, "#SBATCH --open-mode=append\n")
	fmt.Fprintf(&b, "#SBATCH --signal=B:TERM@300\n")
	fmt.Fprintf(&b, "#\n# Cells (index env ablation seed), numbered as in %s:\n", path.Join(o.Out, RecordFile))
	for _, c := range g.Cells() {
		fmt.Fprintf(&b, "#   %d %s %s %d\n", c.Index, c.Env, c.Ablation, c.Seed)
	}
	fmt.Fprintf(&b, "set -euo pipefail\n")
	fmt.Fprintf(&b, "MBPO_DEFAULT=%s\n", shellQuote(or(o.Binary, "mbpo")))
	fmt.Fprintf(&b, "MBPO=\"${MBPO:-$MBPO_DEFAULT}\"\n")
	fmt.Fprintf(&b, "if ! command -v \"$MBPO\" >/dev/null 2>&1; then\n")
	fmt.Fprintf(&b, "  echo \"mbpo sweep task $SLURM_ARRAY_TASK_ID: $MBPO not found on $(hostname): install mbpo on the nodes or submit with MBPO=/path/to/mbpo (see the top of this script)\" >&2\n")
	fmt.Fprintf(&b, "  exit 127\nfi\n")
	args := []string{"sweep", "--config", shellQuote(o.Config), "--out", shellQuote(o.Out)}
	if o.Device != "" {
		args = append(args, "--device", shellQuote(o.Device))
	}
	args = append(args, "--threads", `"${SLURM_CPUS_PER_TASK:-1}"`, "--cell", `"$SLURM_ARRAY_TASK_ID"`)
	fmt.Fprintf(&b, "exec \"$MBPO\" %s\n", strings.Join(args, " "))
	_, err := io.WriteString(w, b.String())
	return err
}

// K8sOptions describe the Kubernetes Job of WriteK8s.
type K8sOptions struct {
	Name        string // the Job's name (default mbpo-sweep); the ConfigMap is NAME-grid
	Image       string // container image with mbpo as its entrypoint (default mbpo:latest, see the Dockerfile)
	PVC         string // PersistentVolumeClaim of the shared results (default mbpo-results)
	MountPath   string // where the claim is mounted (default /results); results go to MOUNT/NAME
	Parallelism int    // pods running at once (0: all cells)
	// PullPolicy is the container's imagePullPolicy (default IfNotPresent, so
	// that an image loaded into the nodes is used even with a :latest tag,
	// for which Kubernetes would default to Always).
	PullPolicy string
	CPUs       int    // CPU request and limit per pod, and the engine's threads (default 1)
	Memory     string // memory request and limit per pod, e.g. 16Gi ("": none)
	GPUs       int    // nvidia.com/gpu per pod (0: one when Device is cuda, else none)
	Device     string // --device of every cell ("": the config's)
	// Retries is each cell's backoffLimitPerIndex: the failures of one cell
	// before the Job gives it up (default 3), whatever the other cells do.
	// A retried cell resumes from its checkpoint.
	Retries int
}

// Check reports the first option the Job could not run with, naming the
// flag of mbpo sweep that sets it.
func (o K8sOptions) Check() error {
	switch {
	case o.PullPolicy != "" && o.PullPolicy != "IfNotPresent" && o.PullPolicy != "Always" && o.PullPolicy != "Never":
		return fmt.Errorf("--image-pull-policy %q: want IfNotPresent, Always or Never", o.PullPolicy)
	case o.CPUs < 1:
		return fmt.Errorf("--cpus %d: want >= 1", o.CPUs)
	case o.GPUs < 0:
		return fmt.Errorf("--gpus %d: want >= 0", o.GPUs)
	case o.Retries < 0:
		return fmt.Errorf("--retries %d: want >= 0", o.Retries)
	case o.Parallelism < 0:
		return fmt.Errorf("--parallel %d: want >= 1", o.Parallelism)
	}
	return nil
}

// Out is the results directory inside the pods: MOUNT/NAME.
func (o K8sOptions) Out() string {
	return path.Join(or(o.MountPath, "/results"), or(o.Name, "mbpo-sweep"))
}

// The Kubernetes objects, as far as WriteK8s fills them.
type (
	k8sMeta struct {
		Name   string            `yaml:"name,omitempty"`
		Labels map[string]string `yaml:"labels,omitempty"`
	}
	k8sConfigMap struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   k8sMeta           `yaml:"metadata"`
		Data       map[string]string `yaml:"data"`
	}
	k8sJob struct {
		APIVersion string  `yaml:"apiVersion"`
		Kind       string  `yaml:"kind"`
		Metadata   k8sMeta `yaml:"metadata"`
		Spec       struct {
			Completions          int    `yaml:"completions"`
			Parallelism          int    `yaml:"parallelism"`
			CompletionMode       string `yaml:"completionMode"`
			BackoffLimitPerIndex int    `yaml:"backoffLimitPerIndex"`
			PodFailurePolicy     struct {
				Rules []k8sPodFailureRule `yaml:"rules"`
			} `yaml:"podFailurePolicy"`
			Template struct {
				Metadata k8sMeta `yaml:"metadata"`
				Spec     struct {
					RestartPolicy string         `yaml:"restartPolicy"`
					Containers    []k8sContainer `yaml:"containers"`
					Volumes       []k8sVolume    `yaml:"volumes"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	k8sPodFailureRule struct {
		Action          string               `yaml:"action"`
		OnPodConditions []k8sPodConditionRef `yaml:"onPodConditions"`
	}
	// k8sPodConditionRef matches a pod condition; its status is written
	// out rather than left to the API server's default.
	k8sPodConditionRef struct {
		Type   string `yaml:"type"`
		Status string `yaml:"status"`
	}
	k8sContainer struct {
		Name            string       `yaml:"name"`
		Image           string       `yaml:"image"`
		ImagePullPolicy string       `yaml:"imagePullPolicy"`
		Args            []string     `yaml:"args"`
		Env             []k8sEnv     `yaml:"env"`
		Resources       k8sResources `yaml:"resources"`
		VolumeMounts    []k8sMount   `yaml:"volumeMounts"`
	}
	k8sEnv struct {
		Name      string `yaml:"name"`
		ValueFrom struct {
			FieldRef struct {
				FieldPath string `yaml:"fieldPath"`
			} `yaml:"fieldRef"`
		} `yaml:"valueFrom"`
	}
	k8sResources struct {
		Requests map[string]string `yaml:"requests,omitempty"`
		Limits   map[string]string `yaml:"limits,omitempty"`
	}
	k8sMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly,omitempty"`
	}
	k8sVolume struct {
		Name                  string `yaml:"name"`
		PersistentVolumeClaim *struct {
			ClaimName string `yaml:"claimName"`
		} `yaml:"persistentVolumeClaim,omitempty"`
		ConfigMap *struct {
			Name string `yaml:"name"`
		} `yaml:"configMap,omitempty"`
	}
)

// k8sGridDir is where the pods see the sweep.yaml of the ConfigMap.
const k8sGridDir = "/etc/mbpo-sweep"

// WriteK8s writes two Kubernetes objects as one multi-document YAML: a
// ConfigMap holding the grid as sweep.yaml and a batch/v1 Job in Indexed
// completion mode with one completion per cell; pod i runs cell i into the
// shared claim.
func WriteK8s(w io.Writer, g Grid, o K8sOptions) error {
	n := g.Len()
	if n == 0 {
		return fmt.Errorf("the grid has no cells")
	}
	if o.CPUs == 0 {
		o.CPUs = 1
	}
	if err := o.Check(); err != nil {
		return err
	}
	name := or(o.Name, "mbpo-sweep")
	gridYAML, err := File{Grid: g, Device: o.Device}.Marshal()
	if err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/name": "mbpo", "mbpo/sweep": name}
	cm := k8sConfigMap{APIVersion: "v1", Kind: "ConfigMap", Metadata: k8sMeta{Name: name + "-grid", Labels: labels},
		Data: map[string]string{"sweep.yaml": string(gridYAML)}}

	var job k8sJob
	job.APIVersion, job.Kind, job.Metadata = "batch/v1", "Job", k8sMeta{Name: name, Labels: labels}
	job.Spec.Completions, job.Spec.CompletionMode = n, "Indexed"
	job.Spec.Parallelism = n
	if o.Parallelism > 0 {
		job.Spec.Parallelism = min(o.Parallelism, n)
	}
	job.Spec.BackoffLimitPerIndex = 3
	if o.Retries > 0 {
		job.Spec.BackoffLimitPerIndex = o.Retries
	}
	// A pod evicted or pre-empted (SIGTERM: the cell saves a checkpoint) is
	// retried without using up its cell's retries.
	rule := k8sPodFailureRule{Action: "Ignore", OnPodConditions: []k8sPodConditionRef{{Type: "DisruptionTarget", Status: "True"}}}
	job.Spec.PodFailurePolicy.Rules = []k8sPodFailureRule{rule}
	job.Spec.Template.Metadata = k8sMeta{Labels: labels}
	ps := &job.Spec.Template.Spec
	ps.RestartPolicy = "Never"
	cpus := max(o.CPUs, 1)
	c := k8sContainer{
		Name:            "mbpo",
		Image:           or(o.Image, "mbpo:latest"),
		ImagePullPolicy: or(o.PullPolicy, "IfNotPresent"),
		Args:            []string{"sweep", "--config", path.Join(k8sGridDir, "sweep.yaml"), "--out", o.Out(), "--threads", fmt.Sprint(cpus)},
		VolumeMounts:    []k8sMount{{Name: "results", MountPath: or(o.MountPath, "/results")}, {Name: "grid", MountPath: k8sGridDir, ReadOnly: true}},
	}
	if o.Device != "" {
		c.Args = append(c.Args, "--device", o.Device)
	}
	// Kubernetes expands $(CELL) from the container's env: the pod's index.
	c.Args = append(c.Args, "--cell", "$(CELL)")
	var env k8sEnv
	env.Name = "CELL"
	env.ValueFrom.FieldRef.FieldPath = "metadata.annotations['batch.kubernetes.io/job-completion-index']"
	c.Env = []k8sEnv{env}
	c.Resources.Requests = map[string]string{"cpu": fmt.Sprint(cpus)}
	c.Resources.Limits = map[string]string{"cpu": fmt.Sprint(cpus)}
	if o.Memory != "" {
		c.Resources.Requests["memory"], c.Resources.Limits["memory"] = o.Memory, o.Memory
	}
	if gpus := gpusFor(o.GPUs, o.Device); gpus > 0 {
		c.Resources.Requests["nvidia.com/gpu"], c.Resources.Limits["nvidia.com/gpu"] = fmt.Sprint(gpus), fmt.Sprint(gpus)
	}
	ps.Containers = []k8sContainer{c}
	results := k8sVolume{Name: "results", PersistentVolumeClaim: &struct {
		ClaimName string `yaml:"claimName"`
	}{or(o.PVC, "mbpo-results")}}
	grid := k8sVolume{Name: "grid", ConfigMap: &struct {
		Name string `yaml:"name"`
	}{name + "-grid"}}
	ps.Volumes = []k8sVolume{results, grid}

	pvc := or(o.PVC, "mbpo-results")
	fmt.Fprintf(w, "# Kubernetes Indexed Job of an mbpo sweep: %d cells, pod i runs cell i into %s\n", n, o.Out())
	fmt.Fprintf(w, "# on the claim %s. Written by mbpo sweep --emit k8s; apply it with kubectl apply -f.\n", pvc)
	fmt.Fprintf(w, "#\n# The PersistentVolumeClaim %s must exist before this is applied, with accessModes\n", pvc)
	fmt.Fprintf(w, "# [ReadWriteMany] so that pods on different nodes write to it at once (ReadWriteOnce\n")
	fmt.Fprintf(w, "# works only while every pod lands on one node), on a filesystem with flock (each pod\n")
	fmt.Fprintf(w, "# locks its cell's directory).\n")
	fmt.Fprintf(w, "#\n# backoffLimitPerIndex (each cell retried up to %d times, alone, whatever the other\n", job.Spec.BackoffLimitPerIndex)
	fmt.Fprintf(w, "# cells do) needs Kubernetes 1.29 or later (beta, on by default; GA in 1.33); on an older\n")
	fmt.Fprintf(w, "# cluster replace it by backoffLimit: N, the failures of all cells together. The\n")
	fmt.Fprintf(w, "# podFailurePolicy (1.26 or later) retries an evicted or pre-empted pod without counting it:\n")
	fmt.Fprintf(w, "# SIGTERM makes the cell save a checkpoint, and the retry resumes it.\n")
	fmt.Fprintf(w, "#\n# imagePullPolicy %s: ", c.ImagePullPolicy)
	switch c.ImagePullPolicy {
	case "IfNotPresent":
		fmt.Fprintf(w, "a node uses the image it already has (e.g. loaded with kind load or\n# ctr import), else pulls it; push a new tag for a new build.\n")
	case "Always":
		fmt.Fprintf(w, "every pod pulls the image from its registry.\n")
	default:
		fmt.Fprintf(w, "the image must already be on every node.\n")
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(cm); err != nil {
		return err
	}
	if err := enc.Encode(job); err != nil {
		return err
	}
	return enc.Close()
}

// shellQuote quotes s for bash as one word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
