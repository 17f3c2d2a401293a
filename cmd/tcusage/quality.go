package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// errQuality is verify's error when every partition matches its manifest but quality checks
// failed (exit 3): the data was delivered as recorded, and looks wrong.
type errQuality struct{ failed int }

func (e errQuality) Error() string {
	return fmt.Sprintf("%d quality check(s) failed (the files match their manifests)", e.failed)
}

// qualityTally counts the checks verify printed.
type qualityTally struct{ ok, warn, fail, restatements int }

func (q *qualityTally) add(c usage.Check) {
	switch c.Status {
	case usage.CheckOK:
		q.ok++
	case usage.CheckWarn:
		q.warn++
	default:
		q.fail++
	}
}

// printChecks prints a partition's checks: those that warn or fail, every one with all.
func printChecks(w io.Writer, where string, checks []usage.Check, all bool, q *qualityTally) {
	for _, c := range checks {
		q.add(c)
		if all || c.Status != usage.CheckOK {
			fmt.Fprintf(w, "CHECK      %s: %s\n", where, c)
		}
	}
}

// printChanges prints a partition's restatements, one line each, with the measures that moved.
func printChanges(w io.Writer, where string, changes []snapshot.Change, q *qualityTally) {
	for _, c := range changes {
		q.restatements++
		apps := map[string]bool{}
		var list []string
		for _, f := range c.Files {
			if !apps[f.App] {
				apps[f.App] = true
				list = append(list, f.App)
			}
		}
		var moved []string
		for _, m := range c.Measures {
			if m.App == "" {
				moved = append(moved, fmt.Sprintf("%s %v → %v", m.Measure, m.Before, m.After))
			}
		}
		line := fmt.Sprintf("RESTATED   %s: #%d at %s, %d file(s) of app(s) %s", where, c.Seq,
			c.GeneratedAt.UTC().Format("2006-01-02T15:04:05Z"), len(c.Files), strings.Join(list, ","))
		if len(moved) > 0 {
			line += "; day totals " + strings.Join(moved, ", ")
		}
		fmt.Fprintf(w, "%s (%s)\n", line, c.Key)
	}
}

// crossDays holds, per day, the manifest readers read of each dataset: what the checks across
// datasets compare.
type crossDays map[string]map[string]*snapshot.Manifest

// add keeps m as dataset's manifest of its day unless a newer version's is already there.
func (d crossDays) add(dataset string, day calendar.Day, m *snapshot.Manifest) {
	if d[day.String()] == nil {
		d[day.String()] = map[string]*snapshot.Manifest{}
	}
	if _, ok := d[day.String()][dataset]; !ok {
		d[day.String()][dataset] = m
	}
}

// qualityNote is the OK line's word on the manifest's quality (nothing when it recorded none).
func qualityNote(m *snapshot.Manifest) string {
	if m.Quality == "" {
		return ""
	}
	return ", quality " + m.Quality
}
