// sweep_k8s_test.go: what "mbpo sweep --emit k8s" writes, decoded with
// Kubernetes' own API types (k8s.io/api core/v1 ConfigMap and batch/v1 Job)
// and strict decoding, so that a field Kubernetes does not know, or one in
// the wrong place, fails the test; then every index of the Indexed Job is
// expanded as the kubelet would and checked to run its own cell.
//
//	go test ./cmd/mbpo -run K8s

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/mbpogo/mbpo/trainer/sweep"
)

// k8sObjects splits a multi-document manifest and decodes each document
// strictly into the API type its apiVersion and kind name.
func k8sObjects(t *testing.T, manifest []byte) (*corev1.ConfigMap, *batchv1.Job) {
	t.Helper()
	var cm *corev1.ConfigMap
	var job *batchv1.Job
	for _, doc := range regexp.MustCompile(`(?m)^---[ \t]*$`).Split(string(manifest), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var tm metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &tm); err != nil {
			t.Fatalf("a document is not YAML: %v\n%s", err, doc)
		}
		switch tm.APIVersion + " " + tm.Kind {
		case "v1 ConfigMap":
			cm = new(corev1.ConfigMap)
			if err := yaml.UnmarshalStrict([]byte(doc), cm); err != nil {
				t.Fatalf("the ConfigMap does not decode strictly: %v\n%s", err, doc)
			}
		case "batch/v1 Job":
			job = new(batchv1.Job)
			if err := yaml.UnmarshalStrict([]byte(doc), job); err != nil {
				t.Fatalf("the Job does not decode strictly: %v\n%s", err, doc)
			}
		default:
			t.Fatalf("unexpected object %s %s", tm.APIVersion, tm.Kind)
		}
	}
	if cm == nil || job == nil {
		t.Fatalf("want a ConfigMap and a Job:\n%s", manifest)
	}
	return cm, job
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// expandK8s expands $(VAR) references in s as the kubelet does for a
// container's args: a defined VAR is replaced, $$ is a literal $, and an
// undefined reference stays as written.
func expandK8s(s string, env map[string]string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 >= len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i:], ')')
			if end < 0 {
				b.WriteString(s[i:])
				return b.String()
			}
			name := s[i+2 : i+end]
			if v, ok := env[name]; ok {
				b.WriteString(v)
			} else {
				b.WriteString(s[i : i+end+1])
			}
			i += end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// The decoder is strict: an unknown field, or a known one misplaced, fails.
func TestK8sStrictDecodingCatchesWrongFields(t *testing.T) {
	out := t.TempDir()
	if code, _, stderr := mbpo(t, "sweep", "--envs", "InvertedPendulum-v4", "--ablations", "none", "--seeds", "0-1", "--out", out, "--emit", "k8s"); code != 0 {
		t.Fatalf("emit: exit %d: %s", code, stderr)
	}
	manifest, _ := os.ReadFile(filepath.Join(out, "sweep-k8s.yaml"))
	k8sObjects(t, manifest) // as written: decodes
	job := regexp.MustCompile(`(?ms)^apiVersion: batch/v1.*`).FindString(string(manifest))
	for name, bad := range map[string]string{
		"unknown":   strings.Replace(job, "imagePullPolicy:", "imagePullPolcy:", 1),
		"misplaced": strings.Replace(job, "      restartPolicy: Never", "      restartPolicy: Never\n      completionMode: Indexed", 1),
	} {
		if bad == job {
			t.Fatalf("%s: the replacement found nothing to change in:\n%s", name, job)
		}
		if err := yaml.UnmarshalStrict([]byte(bad), new(batchv1.Job)); err == nil || !strings.Contains(err.Error(), "unknown field") {
			t.Errorf("%s field: strict decoding says %v, want an unknown field error", name, err)
		}
	}
}

func TestK8sJobDecodesAsKubernetesTypes(t *testing.T) {
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^ENTRYPOINT \["/usr/local/bin/mbpo"\]`).Match(dockerfile) {
		t.Fatalf("the Dockerfile's image no longer has mbpo as its entrypoint, which the Job's args assume")
	}
	cases := []struct {
		name   string
		flags  []string
		cells  int
		cpus   int64
		mem    string
		gpus   int64
		retry  int32
		par    int32
		device string
	}{
		{"cpu", []string{"--envs", "InvertedPendulum-v4,Hopper-v4", "--ablations", "none,k1", "--seeds", "0-2", "--device", "cpu",
			"--cpus", "2", "--mem", "4Gi", "--retries", "5", "--parallel", "3", "--job-name", "abl", "--pvc", "shared", "--mount", "/data"},
			12, 2, "4Gi", 0, 5, 3, "cpu"},
		{"gpu", []string{"--envs", "Hopper-v4", "--ablations", "none", "--seeds", "0-3", "--device", "cuda", "--threads", "4", "--image", "registry.example/mbpo:v3"},
			4, 4, "", 1, 3, 4, "cuda"},
		{"gpus", []string{"--envs", "Hopper-v4", "--ablations", "none", "--seeds", "0", "--device", "cuda", "--gpus", "2"},
			1, 1, "", 2, 3, 1, "cuda"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			args := append([]string{"sweep", "--out", out, "--emit", "k8s"}, tc.flags...)
			if code, stdout, stderr := mbpo(t, args...); code != 0 || !strings.Contains(stdout, fmt.Sprintf("%d completions", tc.cells)) {
				t.Fatalf("emit: exit %d\n%s%s", code, stdout, stderr)
			}
			manifest, err := os.ReadFile(filepath.Join(out, "sweep-k8s.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			cm, job := k8sObjects(t, manifest)
			s := job.Spec

			// Indexed completions, one per cell, and the per-index retry.
			if s.CompletionMode == nil || *s.CompletionMode != batchv1.IndexedCompletion || s.Completions == nil || int(*s.Completions) != tc.cells {
				t.Errorf("completion mode %v, completions %v: want Indexed, %d", s.CompletionMode, s.Completions, tc.cells)
			}
			if s.Parallelism == nil || *s.Parallelism != tc.par {
				t.Errorf("parallelism %v, want %d", s.Parallelism, tc.par)
			}
			if s.BackoffLimitPerIndex == nil || *s.BackoffLimitPerIndex != tc.retry || s.BackoffLimit != nil || s.MaxFailedIndexes != nil {
				t.Errorf("backoffLimitPerIndex %v, backoffLimit %v, maxFailedIndexes %v: want %d per index and no Job-wide limit",
					s.BackoffLimitPerIndex, s.BackoffLimit, s.MaxFailedIndexes, tc.retry)
			}
			// A disrupted pod (evicted, pre-empted) is retried without
			// counting against its index; the API requires restartPolicy
			// Never with a podFailurePolicy.
			pfp := s.PodFailurePolicy
			if pfp == nil || len(pfp.Rules) != 1 || pfp.Rules[0].Action != batchv1.PodFailurePolicyActionIgnore ||
				len(pfp.Rules[0].OnPodConditions) != 1 || pfp.Rules[0].OnPodConditions[0].Type != corev1.DisruptionTarget ||
				pfp.Rules[0].OnPodConditions[0].Status != corev1.ConditionTrue || pfp.Rules[0].OnExitCodes != nil {
				t.Errorf("podFailurePolicy %+v: want Ignore on DisruptionTarget=True", pfp)
			}
			ps := s.Template.Spec
			if ps.RestartPolicy != corev1.RestartPolicyNever || len(ps.Containers) != 1 {
				t.Fatalf("restartPolicy %q, %d containers", ps.RestartPolicy, len(ps.Containers))
			}
			c := ps.Containers[0]
			if c.Command != nil || c.ImagePullPolicy != corev1.PullIfNotPresent {
				t.Errorf("command %q (want the image's entrypoint), imagePullPolicy %q", c.Command, c.ImagePullPolicy)
			}

			// Resources: --cpus CPUs, the memory asked, GPUs only for a GPU
			// grid (an extended resource: its request must equal its limit).
			for kind, rl := range map[string]corev1.ResourceList{"requests": c.Resources.Requests, "limits": c.Resources.Limits} {
				if q := rl[corev1.ResourceCPU]; q.Value() != tc.cpus {
					t.Errorf("%s cpu %s, want %d", kind, q.String(), tc.cpus)
				}
				q, ok := rl[corev1.ResourceMemory]
				if want := tc.mem; (want == "") == ok || (ok && q.Cmp(resource.MustParse(want)) != 0) {
					t.Errorf("%s memory %v (set %v), want %q", kind, q.String(), ok, want)
				}
				g, ok := rl["nvidia.com/gpu"]
				if (tc.gpus == 0) == ok || g.Value() != tc.gpus {
					t.Errorf("%s nvidia.com/gpu %s (set %v), want %d", kind, g.String(), ok, tc.gpus)
				}
			}

			// Volumes: every mount names a volume of the pod; the results
			// on the claim, the grid from the ConfigMap, read-only.
			vols := map[string]corev1.Volume{}
			for _, v := range ps.Volumes {
				vols[v.Name] = v
			}
			mounts := map[string]corev1.VolumeMount{}
			for _, m := range c.VolumeMounts {
				if _, ok := vols[m.Name]; !ok {
					t.Errorf("mount %q names no volume of the pod", m.Name)
				}
				mounts[m.Name] = m
			}
			var results, grid string
			for name, v := range vols {
				switch {
				case v.PersistentVolumeClaim != nil:
					results = mounts[name].MountPath
					wantClaim := map[bool]string{true: "shared", false: "mbpo-results"}[tc.name == "cpu"]
					if v.PersistentVolumeClaim.ClaimName != wantClaim {
						t.Errorf("claim %q, want %q", v.PersistentVolumeClaim.ClaimName, wantClaim)
					}
				case v.ConfigMap != nil:
					grid = mounts[name].MountPath
					if v.ConfigMap.Name != cm.Name || !mounts[name].ReadOnly {
						t.Errorf("grid volume from ConfigMap %q (the manifest's is %q), read-only %v", v.ConfigMap.Name, cm.Name, mounts[name].ReadOnly)
					}
				}
			}
			if results == "" || grid == "" {
				t.Fatalf("volumes %+v mounts %+v: want the results claim and the grid ConfigMap mounted", ps.Volumes, c.VolumeMounts)
			}

			// The grid the pods read: the ConfigMap's sweep.yaml, written
			// here where the pods would see it.
			local := filepath.Join(dir, "grid")
			os.MkdirAll(local, 0o755)
			for key, val := range cm.Data {
				os.WriteFile(filepath.Join(local, key), []byte(val), 0o644)
			}

			// Each index's command: $(CELL) from the pod's completion
			// index, as the kubelet expands it.
			env := map[string]string{}
			var cellVar string
			for _, e := range c.Env {
				if e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
					e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['"+batchv1.JobCompletionIndexAnnotation+"']" {
					cellVar = e.Name
				}
			}
			if cellVar == "" {
				t.Fatalf("no env var holds the completion index: %+v", c.Env)
			}
			seen := map[int]int{}
			for i := 0; i < tc.cells; i++ {
				env[cellVar] = strconv.Itoa(i)
				var argv []string
				for _, a := range c.Args {
					argv = append(argv, expandK8s(a, env))
				}
				flags := map[string]string{}
				for j := 1; j+1 < len(argv); j += 2 {
					flags[argv[j]] = argv[j+1]
				}
				if argv[0] != "sweep" || flags["--device"] != tc.device || flags["--threads"] != strconv.FormatInt(tc.cpus, 10) ||
					filepath.Dir(flags["--config"]) != grid || !strings.HasPrefix(flags["--out"], results+"/") {
					t.Fatalf("index %d runs %q (grid mounted at %s, results at %s)", i, argv, grid, results)
				}
				// The command line parses, against the grid as mounted.
				for j := range argv {
					if argv[j] == flags["--config"] {
						argv[j] = filepath.Join(local, filepath.Base(flags["--config"]))
					}
				}
				var stdout, stderr bytes.Buffer
				a := newApp(&stdout, &stderr)
				a.checkOnly = true
				if code := a.run(argv); code != 0 {
					t.Fatalf("index %d: mbpo %s: exit %d\n%s", i, strings.Join(argv, " "), code, stderr.String())
				}
				cell, err := strconv.Atoi(flags["--cell"])
				if err != nil {
					t.Fatalf("index %d: --cell %q", i, flags["--cell"])
				}
				seen[cell]++
			}
			f, err := sweep.ReadFile(filepath.Join(local, "sweep.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			g, err := f.Resolve()
			if err != nil || g.Len() != tc.cells {
				t.Fatalf("the ConfigMap's grid: %v, %d cells, want %d", err, g.Len(), tc.cells)
			}
			for i := 0; i < tc.cells; i++ {
				if seen[i] != 1 {
					t.Errorf("cell %d is run by %d indexes, want 1", i, seen[i])
				}
			}
		})
	}
}
