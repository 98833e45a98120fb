// published.go: the paper's published outcomes, the one table a report
// compares against.

package report

// Published is MBPO's published outcome on one environment: the return it
// reaches and by how many env steps. The numbers are approximate, read off
// the learning curves of Janner et al. 2019, as listed in
// ../shared/reference/mbpo-hyperparameters.md ("Published outcomes to
// compare against").
type Published struct {
	Env    string
	Return float64 // the return to reach: the low end of the published range
	Steps  int     // env steps by which the paper reaches it
	Text   string  // the published figure as the reference gives it
}

// PublishedResults returns the published table: Hopper ≈ 3,000+ by 100k
// steps; Walker2d ≈ 4,500 by 300k; HalfCheetah ≈ 10,000–12,000 by 400k; Ant
// ≈ 5,000–6,000 by 300k; Humanoid (45-dim observations) ≈ 5,000+ by 300k.
func PublishedResults() []Published {
	return []Published{
		{"Hopper-v4", 3000, 100_000, "≈3,000+ by 100k"},
		{"Walker2d-v4", 4500, 300_000, "≈4,500 by 300k"},
		{"HalfCheetah-v4", 10000, 400_000, "≈10,000–12,000 by 400k"},
		{"Ant-v4", 5000, 300_000, "≈5,000–6,000 by 300k"},
		{"HumanoidTruncatedObs-v4", 5000, 300_000, "≈5,000+ by 300k"},
	}
}

// PublishedFor returns the published outcome for env, if the paper has one.
func PublishedFor(env string) (Published, bool) {
	for _, p := range PublishedResults() {
		if p.Env == env {
			return p, true
		}
	}
	return Published{}, false
}
