// metrics.go: the per-epoch metrics row, with fixed names, as JSON (a line
// of metrics.jsonl) and as CSV cells (a line of metrics.csv); the files
// themselves are package rundir's (metricsfile.go).

package trainer

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// Metrics is one epoch's row. The JSON names are the metric names used in
// metrics.jsonl, metrics.csv and reports; their meaning is fixed.
type Metrics struct {
	Epoch    int `json:"epoch"`     // epochs completed (1-based), the random ones included
	EnvSteps int `json:"env_steps"` // real env steps taken, random exploration included
	// Timesteps are the env steps after the initial random ones: the x axis
	// of the MBPO paper's curves (its authors' code counts from the end of
	// the random phase), so a Hopper run of 125 epochs ends at 125,000.
	Timesteps int     `json:"timesteps"`
	WallSec   float64 `json:"wall_s"` // wall time since the run started (resumed runs continue the count)

	EvalReturnMean float64 `json:"eval/return_mean"` // deterministic policy, mean over the evaluation episodes
	EvalReturnStd  float64 `json:"eval/return_std"`
	EvalLengthMean float64 `json:"eval/length_mean"`

	TrainReturnMean float64 `json:"train/return_mean"` // episodes of the data-collecting env that ended this epoch (NaN if none)
	TrainEpisodes   int     `json:"train/episodes"`
	TrainNonFinite  int     `json:"train/nonfinite_steps"` // steps after which the simulator state was not finite (episode ended, transition dropped)
	// TrainTermRate is the real episodes the environment's termination rule
	// ended this epoch per real env step of the epoch (time-limit
	// truncations not counted): the real-env side of rollout/termination_rate.
	TrainTermRate float64 `json:"train/termination_rate"`

	ModelHoldoutMSE []float32 `json:"model/holdout_mse"`  // per member, last retrain of the epoch, at the member's best epoch
	ModelHoldoutNLL []float32 `json:"model/holdout_nll"`  // per member
	ModelBestEpoch  []int     `json:"model/best_epoch"`   // per member, the retrain epoch (0-based) whose weights it was restored to
	ModelElites     []int     `json:"model/elites"`       // elite member ids, best first
	ModelEpochs     int       `json:"model/train_epochs"` // epochs of the last retrain
	ModelTrainLoss  float32   `json:"model/train_loss"`

	RolloutK       int     `json:"rollout/k"`           // rollout length in force
	ModelBufSize   int     `json:"rollout/buffer_size"` // transitions in the model buffer
	ModelBufCap    int     `json:"rollout/buffer_capacity"`
	RolloutMeanLen float64 `json:"rollout/mean_length"` // mean steps per rollout of the last round
	// RolloutTermRate is the model rollouts the termination function ended in
	// the last round per model transition made: the hazard that
	// train/termination_rate measures in the real env. Much lower than the
	// real rate, the model keeps states alive that would have ended.
	RolloutTermRate float64 `json:"rollout/termination_rate"`

	Q1Loss     float64 `json:"sac/q1_loss"` // means over the epoch's updates
	Q2Loss     float64 `json:"sac/q2_loss"`
	PolicyLoss float64 `json:"sac/policy_loss"`
	AlphaLoss  float64 `json:"sac/alpha_loss"`
	Alpha      float64 `json:"sac/alpha"`
	Entropy    float64 `json:"sac/entropy"`
	QMean      float64 `json:"sac/q_mean"`
	Updates    int64   `json:"sac/updates"` // SAC updates so far

	HealthQBound       float64 `json:"health/q_bound"`       // margin × max|r| / (1-γ): the largest |Q| the rewards allow
	HealthQRatio       float64 `json:"health/q_ratio"`       // |sac/q_mean| / health/q_bound; above 1 the critics diverge
	HealthCriticGrowth float64 `json:"health/critic_growth"` // mean critic loss over the previous epoch's; above 100 it diverges
	HealthDiverging    int     `json:"health/diverging"`     // 1 when either check failed this epoch

	ModelReturnMean float64 `json:"exploit/model_return_mean"` // deterministic policy in the model from the evaluation start states
	RealReturnMean  float64 `json:"exploit/real_return_mean"`  // the same policy in the real env from the same states (= eval return)

	TimeEnv     float64 `json:"time/env_s"` // seconds this epoch in each stage
	TimeModel   float64 `json:"time/model_s"`
	TimeRollout float64 `json:"time/rollout_s"`
	TimeSAC     float64 `json:"time/sac_s"`
	TimeEval    float64 `json:"time/eval_s"`

	EnvStepsPerSec     float64 `json:"perf/env_steps_per_s"`        // real env steps per wall second, this epoch
	SACUpdatesPerSec   float64 `json:"perf/sac_updates_per_s"`      // per second of SAC time
	ModelStepsPerSec   float64 `json:"perf/model_steps_per_s"`      // rollout transitions per second of rollout time
	ModelTrainRowsPerS float64 `json:"perf/model_train_rows_per_s"` // member-rows per second of model-training time
}

// Columns returns the CSV header for an ensemble of members: the scalar
// metrics in the order of the JSON, with per-member lists flattened as
// NAME_0 ... NAME_{members-1} and the elites as one "a;b;c" column.
func Columns(members int) []string {
	var cols []string
	for _, f := range metricFields() {
		if _, ok := (Metrics{}).perMember(f); ok {
			for e := 0; e < members; e++ {
				cols = append(cols, fmt.Sprintf("%s_%d", f, e))
			}
			continue
		}
		cols = append(cols, f)
	}
	return cols
}

// Untimed returns m without the fields that measure time (wall time, the
// per-stage seconds and the rates), so that two runs of the same computation,
// one of them stopped and resumed say, compare equal.
func (m Metrics) Untimed() Metrics {
	m.WallSec = 0
	m.TimeEnv, m.TimeModel, m.TimeRollout, m.TimeSAC, m.TimeEval = 0, 0, 0, 0, 0
	m.EnvStepsPerSec, m.SACUpdatesPerSec, m.ModelStepsPerSec, m.ModelTrainRowsPerS = 0, 0, 0, 0
	return m
}

// perMember returns the per-member values of the list metric named f, and
// whether f is one (the CSV gives each member a column).
func (m Metrics) perMember(f string) ([]float64, bool) {
	var vals []float64
	switch f {
	case "model/holdout_mse", "model/holdout_nll":
		src := m.ModelHoldoutMSE
		if f == "model/holdout_nll" {
			src = m.ModelHoldoutNLL
		}
		for _, v := range src {
			vals = append(vals, float64(v))
		}
	case "model/best_epoch":
		for _, v := range m.ModelBestEpoch {
			vals = append(vals, float64(v))
		}
	default:
		return nil, false
	}
	return vals, true
}

// metricFields lists the JSON names of Metrics in declaration order.
func metricFields() []string {
	t := reflect.TypeOf(Metrics{})
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("json")
	}
	return names
}

// MarshalJSON writes the fields in declaration order, with NaN and Inf as
// null so every line is valid JSON.
func (m Metrics) MarshalJSON() ([]byte, error) {
	v := reflect.ValueOf(m)
	b := []byte{'{'}
	for i, name := range metricFields() {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendQuote(b, name)
		b = append(b, ':')
		f := v.Field(i)
		if f.Kind() == reflect.Float64 || f.Kind() == reflect.Float32 {
			x := f.Float()
			if math.IsNaN(x) || math.IsInf(x, 0) {
				b = append(b, "null"...)
				continue
			}
		}
		enc, err := json.Marshal(f.Interface())
		if err != nil {
			return nil, err
		}
		b = append(b, enc...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a row; a null or missing number reads as NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	type plain Metrics
	p := plain(*m)
	v := reflect.ValueOf(&p).Elem()
	for i := 0; i < v.NumField(); i++ {
		if k := v.Field(i).Kind(); k == reflect.Float64 || k == reflect.Float32 {
			v.Field(i).SetFloat(math.NaN())
		}
	}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*m = Metrics(p)
	return nil
}

// row formats m as CSV cells matching Columns(members).
func (m Metrics) row(members int) []string {
	var cells []string
	v := reflect.ValueOf(m)
	for i, f := range metricFields() {
		if vals, ok := m.perMember(f); ok {
			for e := 0; e < members; e++ {
				if e < len(vals) {
					cells = append(cells, formatFloat(vals[e]))
				} else {
					cells = append(cells, "")
				}
			}
			continue
		}
		switch f {
		case "model/elites":
			parts := make([]string, len(m.ModelElites))
			for i, e := range m.ModelElites {
				parts[i] = strconv.Itoa(e)
			}
			cells = append(cells, strings.Join(parts, ";"))
		default:
			switch fv := v.Field(i); fv.Kind() {
			case reflect.Float64, reflect.Float32:
				cells = append(cells, formatFloat(fv.Float()))
			default:
				cells = append(cells, fmt.Sprint(fv.Interface()))
			}
		}
	}
	return cells
}

// csvDigits are the significant digits of metrics.csv's numbers.
const csvDigits = 7

func formatFloat(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', csvDigits, 64)
}
