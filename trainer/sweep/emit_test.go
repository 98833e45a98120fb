// emit_test.go: the Slurm script passes bash -n and, run as each array task
// with a stand-in mbpo, asks for every cell exactly once; the Kubernetes
// manifest parses into an Indexed Job with one completion per cell.

package sweep

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func emitGrid() Grid {
	return Grid{Envs: []string{"Hopper-v4", "Walker2d-v4"}, Ablations: []string{"none", "no-model", "k1"}, Seeds: Seeds{0, 1},
		Steps: 20000, Set: Settings{"model-hidden=64"}}
}

func TestSlurmScriptRunsEachCellOnce(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine")
	}
	g := emitGrid()
	dir := t.TempDir()
	out := filepath.Join(dir, "results with space")
	config := filepath.Join(out, "sweep.yaml")
	os.MkdirAll(out, 0o755)
	b, _ := File{Grid: g}.Marshal()
	os.WriteFile(config, b, 0o644)
	var script bytes.Buffer
	if err := WriteSlurm(&script, g, SlurmOptions{MaxParallel: 3, CPUs: 4, Time: "48:00:00", Config: config, Out: out, Binary: "/opt/mbpo/bin/mbpo"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sweep.sbatch")
	os.WriteFile(path, script.Bytes(), 0o644)
	if msg, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s\n%s", err, msg, script.String())
	}
	for _, want := range []string{"#SBATCH --array=0-11%3\n", "#SBATCH --cpus-per-task=4\n", "#SBATCH --time=48:00:00\n", "MBPO_DEFAULT='/opt/mbpo/bin/mbpo'"} {
		if !strings.Contains(script.String(), want) {
			t.Errorf("script lacks %q:\n%s", want, script.String())
		}
	}
	m := regexp.MustCompile(`(?m)^#SBATCH --array=(\d+)-(\d+)`).FindStringSubmatch(script.String())
	if m == nil {
		t.Fatalf("no array line:\n%s", script.String())
	}
	first, _ := strconv.Atoi(m[1])
	last, _ := strconv.Atoi(m[2])

	// A stand-in mbpo prints its arguments, one per line.
	fake := filepath.Join(dir, "fake-mbpo")
	os.WriteFile(fake, []byte("#!/bin/bash\nprintf '%s\\n' \"$@\"\n"), 0o755)
	seen := map[Cell]int{}
	for task := first; task <= last; task++ {
		cmd := exec.Command(bash, path)
		cmd.Env = append(os.Environ(), "MBPO="+fake, "SLURM_ARRAY_TASK_ID="+strconv.Itoa(task), "SLURM_CPUS_PER_TASK=4")
		got, err := cmd.Output()
		if err != nil {
			t.Fatalf("task %d: %v", task, err)
		}
		args := strings.Split(strings.TrimSpace(string(got)), "\n")
		flags := map[string]string{}
		for i := 1; i+1 < len(args); i += 2 {
			flags[args[i]] = args[i+1]
		}
		if args[0] != "sweep" || flags["--out"] != out || flags["--threads"] != "4" {
			t.Fatalf("task %d runs %q", task, args)
		}
		// What the task's mbpo would run: cell --cell of the grid in --config.
		f, err := ReadFile(flags["--config"])
		if err != nil {
			t.Fatal(err)
		}
		fg, _ := f.Resolve()
		if !reflect.DeepEqual(fg, g) {
			t.Fatalf("task %d reads the grid %+v, want %+v", task, fg, g)
		}
		i, err := strconv.Atoi(flags["--cell"])
		if err != nil {
			t.Fatalf("task %d: --cell %q", task, flags["--cell"])
		}
		c, err := fg.Cell(i)
		if err != nil {
			t.Fatalf("task %d: %v", task, err)
		}
		seen[c]++
	}
	if len(seen) != g.Len() {
		t.Errorf("the array runs %d distinct cells, want %d", len(seen), g.Len())
	}
	for c, n := range seen {
		if n != 1 {
			t.Errorf("%v runs %d times", c, n)
		}
	}
}

// job is the part of a batch/v1 Job the test checks.
type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Data       map[string]string
	Spec       struct {
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		CompletionMode string `yaml:"completionMode"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Env   []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []struct {
					Name                  string `yaml:"name"`
					PersistentVolumeClaim struct {
						ClaimName string `yaml:"claimName"`
					} `yaml:"persistentVolumeClaim"`
					ConfigMap struct {
						Name string `yaml:"name"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func TestK8sManifestIsAnIndexedJob(t *testing.T) {
	g := emitGrid()
	var buf bytes.Buffer
	opt := K8sOptions{Name: "hopper-abl", PVC: "shared-runs", Parallelism: 4, CPUs: 2, Device: "cpu"}
	if err := WriteK8s(&buf, g, opt); err != nil {
		t.Fatal(err)
	}
	var docs []job
	dec := yaml.NewDecoder(&buf)
	for {
		var d job
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("manifest does not parse: %v\n%s", err, buf.String())
		}
		docs = append(docs, d)
	}
	if len(docs) != 2 || docs[0].Kind != "ConfigMap" || docs[1].Kind != "Job" || docs[1].APIVersion != "batch/v1" {
		t.Fatalf("want a ConfigMap and a batch/v1 Job, got %d documents", len(docs))
	}
	j := docs[1]
	if j.Spec.Completions != 12 || j.Spec.CompletionMode != "Indexed" || j.Spec.Parallelism != 4 || j.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Errorf("job spec: completions %d mode %q parallelism %d restart %q", j.Spec.Completions, j.Spec.CompletionMode, j.Spec.Parallelism, j.Spec.Template.Spec.RestartPolicy)
	}
	c := j.Spec.Template.Spec.Containers[0]
	if c.Image != "mbpo:latest" {
		t.Errorf("image %q, want the default mbpo:latest", c.Image)
	}
	flags := map[string]string{}
	for i := 1; i+1 < len(c.Args); i += 2 {
		flags[c.Args[i]] = c.Args[i+1]
	}
	if c.Args[0] != "sweep" || flags["--cell"] != "$(CELL)" || flags["--out"] != "/results/hopper-abl" || flags["--threads"] != "2" || flags["--device"] != "cpu" {
		t.Errorf("container args %q", c.Args)
	}
	if len(c.Env) != 1 || c.Env[0].Name != "CELL" || !strings.Contains(c.Env[0].ValueFrom.FieldRef.FieldPath, "job-completion-index") {
		t.Errorf("CELL is not the pod's completion index: %+v", c.Env)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	vols := map[string]string{}
	for _, v := range j.Spec.Template.Spec.Volumes {
		vols[v.Name] = v.PersistentVolumeClaim.ClaimName + v.ConfigMap.Name
	}
	if vols["results"] != "shared-runs" || vols["grid"] != "hopper-abl-grid" || mounts["results"] != "/results" ||
		!strings.HasPrefix(flags["--config"], mounts["grid"]+"/") {
		t.Errorf("volumes %v mounts %v config %s", vols, mounts, flags["--config"])
	}

	// The ConfigMap's sweep.yaml is the same grid.
	path := filepath.Join(t.TempDir(), "sweep.yaml")
	os.WriteFile(path, []byte(docs[0].Data["sweep.yaml"]), 0o644)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fg, _ := f.Resolve(); !reflect.DeepEqual(fg, g) || f.Device != "cpu" {
		t.Errorf("ConfigMap grid %+v device %q, want %+v", fg, f.Device, g)
	}
}

// The Slurm script appends to its logs (a resubmission keeps the earlier
// attempts' lines), names mbpo by PATH unless told, says what the nodes
// need and stops with a clear message where mbpo is missing; a GPU sweep
// asks for a GPU; a time limit sbatch would reject is an error.
func TestSlurmScriptForAClusterOfNodes(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash on this machine")
	}
	g := emitGrid()
	out := t.TempDir()
	var script bytes.Buffer
	if err := WriteSlurm(&script, g, SlurmOptions{Config: filepath.Join(out, "sweep.yaml"), Out: out, Device: "cuda"}); err != nil {
		t.Fatal(err)
	}
	s := script.String()
	for _, want := range []string{"#SBATCH --open-mode=append\n", "#SBATCH --gres=gpu:1\n", "MBPO_DEFAULT='mbpo'\n",
		"libmujoco2.2.2", "libopenblas0", "libcuda.so.1", "--device 'cuda'"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	path := filepath.Join(out, "sweep.sbatch")
	os.WriteFile(path, script.Bytes(), 0o755)
	cmd := exec.Command(bash, path)
	cmd.Env = append(os.Environ(), "MBPO=/nonexistent/mbpo", "SLURM_ARRAY_TASK_ID=0")
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 127 || !strings.Contains(string(msg), "/nonexistent/mbpo not found") {
		t.Errorf("task without mbpo: %v, %q; want exit 127 naming the binary", err, msg)
	}

	var cpu bytes.Buffer
	WriteSlurm(&cpu, g, SlurmOptions{Config: "c", Out: "o", Device: "cpu"})
	if strings.Contains(cpu.String(), "--gres") {
		t.Errorf("a CPU sweep asks for a GPU:\n%s", cpu.String())
	}
	for _, ok := range []string{"30", "30:00", "72:00:00", "3-00", "3-12:30", "3-12:30:00", "UNLIMITED"} {
		if err := (SlurmOptions{Time: ok, CPUs: 1}).Check(); err != nil {
			t.Errorf("--time %s: %v", ok, err)
		}
	}
	for _, bad := range []SlurmOptions{{Time: "bogus", CPUs: 1}, {Time: "1h", CPUs: 1}, {Time: "72:00:00\n#SBATCH --x", CPUs: 1}, {CPUs: 0}, {CPUs: 1, GPUs: -1}} {
		if err := bad.Check(); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if err := WriteSlurm(io.Discard, g, SlurmOptions{Config: "c", Out: "o", Time: "bogus"}); err == nil || !strings.Contains(err.Error(), "--time") {
		t.Errorf("WriteSlurm with --time bogus: %v", err)
	}
}

// The Job uses an image already on the nodes (IfNotPresent, which a
// :latest tag would not default to), retries each cell alone
// (backoffLimitPerIndex), says what the claim must be, and asks for a GPU
// per pod in a GPU sweep and for --cpus CPUs in a CPU one.
func TestK8sJobForACluster(t *testing.T) {
	g := emitGrid()
	decode := func(o K8sOptions) (string, map[string]any) {
		t.Helper()
		var buf bytes.Buffer
		if err := WriteK8s(&buf, g, o); err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(strings.NewReader(buf.String()))
		var cm, job map[string]any
		if err := dec.Decode(&cm); err != nil {
			t.Fatal(err)
		}
		if err := dec.Decode(&job); err != nil {
			t.Fatal(err)
		}
		return buf.String(), job
	}
	get := func(m any, keys ...any) any {
		for _, k := range keys {
			switch k := k.(type) {
			case string:
				m = m.(map[string]any)[k]
			case int:
				m = m.([]any)[k]
			}
		}
		return m
	}
	text, job := decode(K8sOptions{Device: "cuda", CPUs: 4})
	spec := get(job, "spec")
	c := get(spec, "template", "spec", "containers", 0)
	if get(c, "imagePullPolicy") != "IfNotPresent" || get(c, "image") != "mbpo:latest" {
		t.Errorf("image %v pulled %v, want mbpo:latest IfNotPresent", get(c, "image"), get(c, "imagePullPolicy"))
	}
	if get(spec, "backoffLimitPerIndex") != 3 || get(spec, "backoffLimit") != nil {
		t.Errorf("backoffLimitPerIndex %v, backoffLimit %v: want 3 per cell and no Job-wide limit", get(spec, "backoffLimitPerIndex"), get(spec, "backoffLimit"))
	}
	if get(spec, "podFailurePolicy", "rules", 0, "action") != "Ignore" {
		t.Errorf("no podFailurePolicy ignoring disruptions: %v", get(spec, "podFailurePolicy"))
	}
	if get(c, "resources", "requests", "nvidia.com/gpu") != "1" || get(c, "resources", "limits", "nvidia.com/gpu") != "1" ||
		get(c, "resources", "requests", "cpu") != "4" {
		t.Errorf("GPU sweep resources %v, want one GPU and 4 CPUs", get(c, "resources"))
	}
	for _, want := range []string{"ReadWriteMany", "must exist", "Kubernetes 1.29"} {
		if !strings.Contains(text, want) {
			t.Errorf("the manifest's comments lack %q", want)
		}
	}
	_, job = decode(K8sOptions{Device: "cpu", CPUs: 2, Image: "registry.example/mbpo:v3", PullPolicy: "Always", Retries: 5})
	spec = get(job, "spec")
	c = get(spec, "template", "spec", "containers", 0)
	if get(c, "imagePullPolicy") != "Always" || get(c, "image") != "registry.example/mbpo:v3" || get(spec, "backoffLimitPerIndex") != 5 {
		t.Errorf("image %v policy %v retries %v", get(c, "image"), get(c, "imagePullPolicy"), get(spec, "backoffLimitPerIndex"))
	}
	if get(c, "resources", "requests", "nvidia.com/gpu") != nil || get(c, "resources", "requests", "cpu") != "2" {
		t.Errorf("CPU sweep resources %v, want 2 CPUs and no GPU", get(c, "resources"))
	}
	if err := WriteK8s(io.Discard, g, K8sOptions{PullPolicy: "Sometimes"}); err == nil || !strings.Contains(err.Error(), "--image-pull-policy") {
		t.Errorf("a bad pull policy: %v", err)
	}
}
