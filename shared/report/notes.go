package report

import (
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// maxNotes bounds the warnings and restated figures a page lists: a day of thousands of apps
// with a check failing for each still renders a page people can read (the manifests hold all).
const maxNotes = 50

// notes returns the day's quality warnings (the manifests' checks that warn or fail, and the
// checks across datasets, such as room usage within the app's TRTC total) and its restated
// figures (each restatement's measure totals before and after, for the day and per app), from
// the manifests the page is built from.
func notes(ms map[string]*snapshot.Manifest) (warnings []Warning, restated []Restatement) {
	warn := func(ds string, c usage.Check) {
		if c.Status == usage.CheckOK || len(warnings) >= maxNotes {
			return
		}
		msg := c.Name
		if c.Detail != "" {
			msg += ": " + c.Detail
		}
		if c.Status == usage.CheckFail {
			msg = "failed " + msg
		}
		warnings = append(warnings, Warning{Dataset: ds, App: c.App, Message: msg})
	}
	for _, ds := range Datasets() {
		m := ms[ds]
		if m == nil {
			continue
		}
		for _, c := range m.Checks {
			warn(ds, c)
		}
		for _, ch := range m.Changes {
			when := ch.GeneratedAt.In(calendar.Zone).Format(time.DateTime)
			for _, mc := range ch.Measures {
				if len(restated) >= maxNotes || mc.Before == mc.After {
					continue
				}
				app := mc.App
				if app == "" {
					app = "all apps"
				}
				restated = append(restated, Restatement{Dataset: ds, Date: when, App: app, Metric: mc.Measure,
					Before: mc.Before, After: mc.After, Unit: measureUnit(ds, mc.Measure)})
			}
		}
	}
	for _, c := range snapshot.CrossChecks(ms) {
		warn(crossDataset(c), c)
	}
	return warnings, restated
}

// crossDataset names the dataset a cross check is about: the first part of its name
// ("roomusage_within_trtcusage" is about roomusage), else the check's name.
func crossDataset(c usage.Check) string {
	for _, cc := range usage.CrossChecks() {
		if cc.Name == c.Name {
			return cc.Dataset
		}
	}
	return c.Name
}

// measureUnit is the unit of a dataset's measure column: the schema's, and seconds for the
// usage columns room usage's API may add (named <header>_seconds).
func measureUnit(ds, measure string) string {
	if s, ok := usage.Lookup(ds); ok {
		for _, c := range s.Columns {
			if c.Name == measure {
				return c.Unit
			}
		}
	}
	if strings.HasSuffix(measure, "_seconds") {
		return UnitSecond
	}
	return ""
}
