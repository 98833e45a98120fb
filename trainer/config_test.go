package trainer

import (
	"encoding/json"
	"flag"
	"io"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/mbpogo/mbpo/engine"
	"github.com/mbpogo/mbpo/env"
)

// The network settings are Config fields with the paper's values on every
// environment (MBPO uses the same ones throughout).
func TestNetworkSettingsDefaults(t *testing.T) {
	tests := []struct {
		flag string
		get  func(Config) any
		want any
	}{
		{"init-alpha", func(c Config) any { return c.InitAlpha }, 1.0},
		{"log-std-min", func(c Config) any { return c.LogStdMin }, -20.0},
		{"log-std-max", func(c Config) any { return c.LogStdMax }, 2.0},
		{"model-weight-decay", func(c Config) any { return c.ModelWeightDecay }, [5]float64{2.5e-5, 5e-5, 7.5e-5, 7.5e-5, 1e-4}},
		{"model-max-logvar-init", func(c Config) any { return c.ModelMaxLogVarInit }, 0.5},
		{"model-min-logvar-init", func(c Config) any { return c.ModelMinLogVarInit }, -10.0},
		{"model-improvement", func(c Config) any { return c.ModelImprovement }, 0.01},
	}
	for _, id := range env.IDs() {
		c, err := PaperConfig(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range tests {
			if got := tt.get(c); got != tt.want {
				t.Errorf("%s: --%s default %v, want %v", id, tt.flag, got, tt.want)
			}
		}
	}
}

// The network specs come from Config alone, and for the published
// configurations they are the engines' fixtures (engine.PaperEnsemble,
// engine.PaperAgent), to the bit: a run builds the same networks it built
// when the fixtures were the trainer's defaults.
func TestPaperSpecsAreTheConfigs(t *testing.T) {
	for _, id := range env.IDs() {
		c, err := PaperConfig(id)
		if err != nil {
			t.Fatal(err)
		}
		spec, _ := env.Lookup(id)
		od, ad := spec.ObsDim, spec.ActDim
		wantE := engine.PaperEnsemble(od, ad, c.ModelHidden)
		wantE.Precision = engine.FP32
		if got := c.EnsembleSpec(od, ad); !reflect.DeepEqual(got, wantE) {
			t.Errorf("%s: EnsembleSpec %+v, want %+v", id, got, wantE)
		}
		wantA := engine.PaperAgent(od, ad, float32(c.TargetEntropy))
		wantA.Precision = engine.FP32
		if got := c.AgentSpec(od, ad); !reflect.DeepEqual(got, wantA) {
			t.Errorf("%s: AgentSpec %+v, want %+v", id, got, wantA)
		}
	}
}

// Every network setting is a flag with the paper's default, and what it sets
// reaches the spec.
func TestNetworkSettingsFlags(t *testing.T) {
	tests := []struct {
		args    []string
		def     string // the flag's default as -h prints it
		check   func(engine.EnsembleSpec, engine.AgentSpec) bool
		wantErr string
	}{
		{args: []string{"--init-alpha", "0.2"}, def: "1",
			check: func(_ engine.EnsembleSpec, a engine.AgentSpec) bool { return a.InitAlpha == 0.2 }},
		{args: []string{"--log-std-min", "-5"}, def: "-20",
			check: func(_ engine.EnsembleSpec, a engine.AgentSpec) bool { return a.LogStdMin == -5 && a.LogStdMax == 2 }},
		{args: []string{"--log-std-max", "1"}, def: "2",
			check: func(_ engine.EnsembleSpec, a engine.AgentSpec) bool { return a.LogStdMin == -20 && a.LogStdMax == 1 }},
		{args: []string{"--model-weight-decay", "1e-5, 2e-5,3e-5,4e-5,0"}, def: "2.5e-05,5e-05,7.5e-05,7.5e-05,0.0001",
			check: func(e engine.EnsembleSpec, _ engine.AgentSpec) bool {
				return reflect.DeepEqual(e.WeightDecay, []float32{1e-5, 2e-5, 3e-5, 4e-5, 0})
			}},
		{args: []string{"--model-max-logvar-init", "1"}, def: "0.5",
			check: func(e engine.EnsembleSpec, _ engine.AgentSpec) bool {
				return e.MaxLogVarInit == 1 && e.MinLogVarInit == -10
			}},
		{args: []string{"--model-min-logvar-init", "-5"}, def: "-10",
			check: func(e engine.EnsembleSpec, _ engine.AgentSpec) bool {
				return e.MaxLogVarInit == 0.5 && e.MinLogVarInit == -5
			}},
		{args: []string{"--model-improvement", "0.05"}, def: "0.01",
			check: func(engine.EnsembleSpec, engine.AgentSpec) bool { return true }},
		{args: []string{"--model-weight-decay", "1e-5,2e-5"}, def: "2.5e-05,5e-05,7.5e-05,7.5e-05,0.0001",
			wantErr: "want 5 comma-separated numbers"},
		{args: []string{"--model-weight-decay", "1e-5,2e-5,x,4e-5,5e-5"}, def: "2.5e-05,5e-05,7.5e-05,7.5e-05,0.0001",
			wantErr: `"x" is not a number`},
	}
	for _, tt := range tests {
		c, err := PaperConfig("Hopper-v4")
		if err != nil {
			t.Fatal(err)
		}
		fs := flag.NewFlagSet("train", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.RegisterFlags(fs)
		name := strings.TrimPrefix(tt.args[0], "--")
		if f := fs.Lookup(name); f == nil || f.DefValue != tt.def || f.Usage == "" {
			t.Errorf("--%s: flag %+v, want one with default %q and a doc", name, f, tt.def)
			continue
		}
		err = fs.Parse(tt.args)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: %v, want an error mentioning %q", tt.args, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%v: %v", tt.args, err)
		}
		if !tt.check(c.EnsembleSpec(11, 3), c.AgentSpec(11, 3)) {
			t.Errorf("%v: specs %+v and %+v do not carry it", tt.args, c.EnsembleSpec(11, 3), c.AgentSpec(11, 3))
		}
	}
}

// A bad network setting is one error that names its flag.
func TestNetworkSettingsValidateNamesTheFlag(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		mutate func(*Config)
		want   string
	}{
		{func(c *Config) { c.InitAlpha = 0 }, "--init-alpha 0: want > 0"},
		{func(c *Config) { c.InitAlpha = nan }, "--init-alpha NaN"},
		{func(c *Config) { c.LogStdMin = 3 }, "--log-std-min 3, --log-std-max 2: want finite, min below max"},
		{func(c *Config) { c.LogStdMax = math.Inf(1) }, "--log-std-max +Inf"},
		{func(c *Config) { c.ModelWeightDecay[2] = -1e-5 }, "--model-weight-decay 2.5e-05,5e-05,-1e-05,7.5e-05,0.0001: want finite values >= 0"},
		{func(c *Config) { c.ModelWeightDecay[0] = nan }, "--model-weight-decay NaN"},
		{func(c *Config) { c.ModelMinLogVarInit = 1 }, "--model-min-logvar-init 1, --model-max-logvar-init 0.5: want finite, min below max"},
		{func(c *Config) { c.ModelMaxLogVarInit = nan }, "--model-max-logvar-init NaN"},
		{func(c *Config) { c.ModelImprovement = 1 }, "--model-improvement 1"},
	}
	for _, tt := range tests {
		c, err := PaperConfig("Hopper-v4")
		if err != nil {
			t.Fatal(err)
		}
		tt.mutate(&c)
		err = c.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate() = %v, want an error mentioning %q", err, tt.want)
		} else if n := strings.Count(err.Error(), "\n") + 1; n != 1 {
			t.Errorf("%d errors for one bad setting:\n%v", n, err)
		}
	}
	// The model's settings are not checked for a run without a model.
	c, _ := PaperConfig("Hopper-v4")
	c.Algo, c.ModelMinLogVarInit = "sac", 1
	c.Normalize()
	if err := c.Validate(); err != nil {
		t.Errorf("SAC with a model setting out of range: %v", err)
	}
}

// A config.json written before a setting existed loads with the setting's
// paper value.
func TestOlderConfigLoads(t *testing.T) {
	want, err := PaperConfig("Walker2d-v4")
	if err != nil {
		t.Fatal(err)
	}
	want.Seed, want.Steps = 3, 20000
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"init_alpha", "log_std_min", "log_std_max", "model_weight_decay",
		"model_max_logvar_init", "model_min_logvar_init", "model_improvement"} {
		if _, ok := fields[k]; !ok {
			t.Fatalf("config.json has no %q", k)
		}
		delete(fields, k)
	}
	old, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	var got Config
	if err := json.Unmarshal(old, &got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("old config.json loads as\n%+v\nwant\n%+v", got, want)
	}
}
