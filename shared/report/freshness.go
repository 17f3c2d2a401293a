package report

import (
	"context"
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// freshness describes one dataset's day (m nil: no manifest) as seen at now, with links from page.
func (o Options) freshness(ds string, m *snapshot.Manifest, prefix string, date calendar.Day, now time.Time, page string) Freshness {
	f := Freshness{Dataset: ds, Title: datasetTitles[ds]}
	late := now.After(date.End().Add(o.LateAfter))
	version := snapshot.Version(ds)
	if m != nil {
		version = m.DatasetVersion // the version the day was found under
	}
	key, err := snapshot.ManifestKeyAt(prefix, ds, version, date)
	if err == nil {
		f.ManifestKey = key // linked only when the manifest is there
	}
	if m == nil {
		f.State = StateWaiting
		if late {
			f.State = StateLate
		}
		return f
	}
	f.Delivered = true
	f.Apps = len(m.Apps)
	f.Pending = slices.Clone(m.AppsPending)
	f.GeneratedAt = m.GeneratedAt
	f.Action = m.Origin.Action
	if fb := m.Origin.Details["fallback_action"]; fb != "" && fb != f.Action {
		f.Action += " (fallback " + fb + ")"
	}
	switch {
	case m.Status == snapshot.StatusComplete && len(m.AppsPending) == 0:
		f.State = StateComplete
	case late:
		f.State = StateLate
	default:
		f.State = StatePartial
	}
	if err == nil {
		f.ManifestHref = o.Link(page, key)
	}
	for _, e := range m.Files {
		f.Files = append(f.Files, FileLink{App: e.App, Format: string(e.Format), Rows: e.Rows, Bytes: e.Bytes,
			Key: e.Key, Href: o.Link(page, e.Key)})
	}
	return f
}

// overall sums up the datasets' states.
func overall(fs []Freshness) string {
	if len(fs) == 0 {
		return StateWaiting
	}
	state := StateComplete
	for _, f := range fs {
		switch f.State {
		case StateLate:
			return StateLate
		case StatePartial, StateWaiting:
			state = StatePartial
		}
	}
	return state
}

// dayNav links a day's page to the neighbouring days' reports (when they exist, or are rendered
// by the same refresh), its month and the index.
func dayNav(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, page string, link func(string, string) string, rendering map[string]bool) Nav {
	var n Nav
	exists := func(d calendar.Day) string {
		key, err := DayKey(prefix, d)
		if err != nil {
			return ""
		}
		if _, err := store.Head(ctx, key); err != nil && !rendering[d.String()] {
			return ""
		}
		return link(page, key)
	}
	prev, next := date.Add(-1), date.Add(1)
	if n.Prev = exists(prev); n.Prev != "" {
		n.PrevLabel = prev.String()
	}
	if n.Next = exists(next); n.Next != "" {
		n.NextLabel = next.String()
	}
	month := date.String()[:7]
	if key, err := MonthKey(prefix, month); err == nil {
		n.Month, n.MonthLbl = link(page, key), month
	}
	if key, err := IndexKey(prefix); err == nil {
		n.Index = link(page, key)
	}
	return n
}
