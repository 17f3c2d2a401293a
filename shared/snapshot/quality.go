package snapshot

import (
	"github.com/tcusage/tcusage/shared/usage"
)

// CrossChecks runs the checks across datasets (usage.CrossChecks) on one day's manifests, given
// by dataset, from the measures their files recorded: each check whose two datasets are both
// given, for every app of the checked dataset that the other also has. Nothing is read.
func CrossChecks(manifests map[string]*Manifest) []usage.Check {
	var out []usage.Check
	for _, cc := range usage.CrossChecks() {
		m, against := manifests[cc.Dataset], manifests[cc.Against]
		if m == nil || against == nil {
			continue
		}
		mine, theirs := m.AppMeasures(), against.AppMeasures()
		has := setOf(against.Apps)
		for _, app := range m.Apps {
			if !has[app] {
				continue
			}
			if c, ok := cc.Compare(app, mine[app], theirs[app]); ok {
				out = append(out, c)
			}
		}
	}
	return out
}
