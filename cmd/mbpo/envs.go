// envs.go is "mbpo envs": the table of benchmark environments.

package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/mbpogo/mbpo/env"
)

// runEnvs lists every environment with its sizes and time step.
func runEnvs(a *app, args []string) error {
	fs := a.newFlags("envs", "", "List the benchmark environments: id, observation and action sizes, frame skip,\n"+
		"seconds per step, action range and MuJoCo model.")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("envs takes no arguments, got %q", fs.Args())
	}
	w := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ID\tOBS\tACT\tFRAME_SKIP\tDT\tACTION\tMAX_STEPS\tMODEL")
	for _, id := range env.IDs() {
		s, err := env.Lookup(id)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "%s\t%d\t%d\t%d\t%g\t%s\t%d\t%s\n",
			s.ID, s.ObsDim, s.ActDim, s.FrameSkip, s.Dt, actionRange(s), s.MaxEpisodeSteps, s.Model)
	}
	return w.Flush()
}

// actionRange formats the action bounds as [low, high] when every actuator
// shares them, and as "mixed" otherwise.
func actionRange(s env.Spec) string {
	for i := range s.ActLow {
		if s.ActLow[i] != s.ActLow[0] || s.ActHigh[i] != s.ActHigh[0] {
			return "mixed"
		}
	}
	return fmt.Sprintf("[%g, %g]", s.ActLow[0], s.ActHigh[0])
}
