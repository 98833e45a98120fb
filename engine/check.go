// check.go: the checks every engine makes of what its callers pass in: a
// State's buffers against the network's own, and the sizes of the slices the
// Ensemble and Agent methods take. who names the engine ("cpu engine") at
// the start of each message, so that every engine reports the same misuse in
// the same words.

package engine

import (
	"fmt"
	"sort"
)

// CheckState reports a State whose buffers are not exactly want's names with
// want's lengths, or whose step is negative. what names the network kind
// ("ensemble", "agent") in messages.
func CheckState(who, what string, want map[string]int, st State) error {
	names := make([]string, 0, len(want))
	for name := range want {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		b, ok := st.Buffers[name]
		if !ok {
			return fmt.Errorf("%s: %s state has no buffer %q; it needs %v (was it saved from another kind of network?)",
				who, what, name, names)
		}
		if len(b) != want[name] {
			return fmt.Errorf("%s: %s state buffer %q has %d values, want %d (was it saved with another spec?)",
				who, what, name, len(b), want[name])
		}
	}
	for name := range st.Buffers {
		if _, ok := want[name]; !ok {
			return fmt.Errorf("%s: %s state has an unknown buffer %q; it takes exactly %v", who, what, name, names)
		}
	}
	if st.Step < 0 {
		return fmt.Errorf("%s: %s state step %d, want ≥ 0", who, what, st.Step)
	}
	return nil
}

// CheckNormalizer reports a normaliser (Ensemble.SetNormalizer) whose mean
// and std are not both of length In.
func CheckNormalizer(who string, s EnsembleSpec, mean, std []float32) error {
	if len(mean) != s.In || len(std) != s.In {
		return fmt.Errorf("%s: SetNormalizer with %d means and %d stds, want In = %d each", who, len(mean), len(std), s.In)
	}
	return nil
}

// CheckMembers reports a member id of Ensemble.SaveMembers or
// RestoreMembers (op) outside the ensemble, or, when saved is not nil, one
// restored that was never saved (saved[e] says whether member e was).
func CheckMembers(who, op string, s EnsembleSpec, members []int, saved []bool) error {
	for _, e := range members {
		if e < 0 || e >= s.Members {
			return fmt.Errorf("%s: %s of member %d, want within [0, %d)", who, op, e, s.Members)
		}
		if saved != nil && !saved[e] {
			return fmt.Errorf("%s: %s of member %d, which has no saved weights", who, op, e)
		}
	}
	return nil
}

// CheckTrainStep reports the arguments of an Ensemble.TrainStep that do not
// fit: a batch below 1, or x and y shorter than every member's batch.
func CheckTrainStep(who string, s EnsembleSpec, x, y []float32, batch int) error {
	E, in, out := s.Members, s.In, s.Out
	if batch < 1 {
		return fmt.Errorf("%s: TrainStep batch %d, want at least 1", who, batch)
	}
	if len(x) < E*batch*in || len(y) < E*batch*out {
		return fmt.Errorf("%s: TrainStep needs x of %d and y of %d values (%d members × batch %d), got %d and %d",
			who, E*batch*in, E*batch*out, E, batch, len(x), len(y))
	}
	return nil
}

// checkRows reports n < 0 or x too short for n rows; op names the method.
func checkRows(who, op string, s EnsembleSpec, x []float32, n int) error {
	if n < 0 {
		return fmt.Errorf("%s: %s with n = %d rows", who, op, n)
	}
	if len(x) < n*s.In {
		return fmt.Errorf("%s: %s x has %d values, want n·In = %d", who, op, len(x), n*s.In)
	}
	return nil
}

// CheckEvaluate reports the arguments of an Ensemble.Evaluate that do not
// fit: n below 1, or x, y, mse or nll too short.
func CheckEvaluate(who string, s EnsembleSpec, x, y []float32, n int, mse, nll []float32) error {
	E, out := s.Members, s.Out
	if err := checkRows(who, "Evaluate", s, x, n); err != nil {
		return err
	}
	if n < 1 || len(y) < n*out || len(mse) < E || len(nll) < E {
		return fmt.Errorf("%s: Evaluate needs n ≥ 1, y of n·Out = %d and mse, nll of %d values; got n = %d, %d, %d, %d",
			who, n*out, E, n, len(y), len(mse), len(nll))
	}
	return nil
}

// CheckForwardAll reports the arguments of an Ensemble.ForwardAll that do
// not fit: n below 0, or x, mean or logvar too short.
func CheckForwardAll(who string, s EnsembleSpec, x []float32, n int, mean, logvar []float32) error {
	E, out := s.Members, s.Out
	if err := checkRows(who, "ForwardAll", s, x, n); err != nil {
		return err
	}
	if len(mean) < E*n*out || len(logvar) < E*n*out {
		return fmt.Errorf("%s: ForwardAll needs mean and logvar of Members·n·Out = %d values, got %d and %d",
			who, E*n*out, len(mean), len(logvar))
	}
	return nil
}

// CheckPredict reports the arguments of an Ensemble.Predict that do not
// fit: n below 0, x, members, mean or logvar too short, or a member out of
// range.
func CheckPredict(who string, s EnsembleSpec, x []float32, members []int32, n int, mean, logvar []float32) error {
	E, out := s.Members, s.Out
	if err := checkRows(who, "Predict", s, x, n); err != nil {
		return err
	}
	if len(members) < n || len(mean) < n*out || len(logvar) < n*out {
		return fmt.Errorf("%s: Predict needs members of n = %d and mean, logvar of n·Out = %d values, got %d, %d, %d",
			who, n, n*out, len(members), len(mean), len(logvar))
	}
	for i, m := range members[:n] {
		if m < 0 || int(m) >= E {
			return fmt.Errorf("%s: Predict members[%d] = %d, want a member in [0, %d)", who, i, m, E)
		}
	}
	return nil
}

// CheckAct reports the arguments of an Agent.Act that do not fit: n below
// 0, or obs or act too short.
func CheckAct(who string, s AgentSpec, obs []float32, n int, act []float32) error {
	O, A := s.Obs, s.Act
	if n < 0 || len(obs) < n*O || len(act) < n*A {
		return fmt.Errorf("%s: Act on n = %d rows needs obs of n·Obs = %d and act of n·Act = %d values, got %d and %d",
			who, n, n*O, n*A, len(obs), len(act))
	}
	return nil
}

// CheckBatch reports an Agent.Update batch whose slices do not match its N.
func CheckBatch(who string, s AgentSpec, b Batch) error {
	O, A, n := s.Obs, s.Act, b.N
	switch {
	case n < 1:
		return fmt.Errorf("%s: Update batch N = %d, want at least 1", who, n)
	case len(b.Obs) < n*O || len(b.NextObs) < n*O:
		return fmt.Errorf("%s: Update batch Obs and NextObs need N·Obs = %d values, got %d and %d", who, n*O, len(b.Obs), len(b.NextObs))
	case len(b.Act) < n*A:
		return fmt.Errorf("%s: Update batch Act needs N·Act = %d values, got %d", who, n*A, len(b.Act))
	case len(b.Rew) < n || len(b.Done) < n:
		return fmt.Errorf("%s: Update batch Rew and Done need N = %d values, got %d and %d", who, n, len(b.Rew), len(b.Done))
	}
	return nil
}
