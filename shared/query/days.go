package query

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// Why a day is fetched live.
const (
	reasonFresh      = "fresh=true"
	reasonSave       = "save=true"
	reasonNoSnapshot = "no snapshot"
	reasonTampered   = "a stored file did not match its manifest"
)

// dayPlan is one day of a query and where its rows come from: the files of its snapshot, or a
// live fetch.
type dayPlan struct {
	date calendar.Day
	// manifest is the day's manifest, of the newest dataset version that has one (nil: none).
	manifest *snapshot.Manifest
	// files are, for a day read from its snapshot, the file read for each app, in the query's
	// app order.
	files []snapshot.FileEntry
	// live is set when the day is fetched from the API, and reason says why.
	live   bool
	reason string
	// answers are a live day's app-days once fetched, in the query's app order.
	answers export.Answers
}

// DaySource tells where one day of an answer came from.
type DaySource struct {
	Date calendar.Day `json:"date"`
	// Source is "snapshot" (the stored files, checked against the manifest) or "live" (the API).
	Source string `json:"source"`
	// GeneratedAt, DatasetVersion and Status are the snapshot's manifest's.
	GeneratedAt    *time.Time `json:"generated_at,omitempty"`
	DatasetVersion string     `json:"dataset_version,omitempty"`
	Status         string     `json:"status,omitempty"`
	// Reason says why a day was fetched live.
	Reason string `json:"reason,omitempty"`
}

// Day sources.
const (
	SourceSnapshot = "snapshot"
	SourceLive     = "live"
)

func (d *dayPlan) source() DaySource {
	if d.live {
		return DaySource{Date: d.date, Source: SourceLive, Reason: d.reason}
	}
	at := d.manifest.GeneratedAt.UTC()
	return DaySource{Date: d.date, Source: SourceSnapshot, GeneratedAt: &at, DatasetVersion: d.manifest.DatasetVersion, Status: d.manifest.Status}
}

// version is the dataset version of the day's rows: its manifest's, or the current one for a
// live day.
func (d *dayPlan) version(current string) string {
	if d.live || d.manifest == nil {
		return current
	}
	return d.manifest.DatasetVersion
}

// planDays reads the manifest of every day of q and decides where each day's rows come from: its
// snapshot when the manifest lists every app asked for as delivered (complete, or partial with
// other apps pending) and holds a file each in a format of prefer; otherwise the API. A store
// failure is an error (wrapping export.ErrStore).
func (h *Handler) planDays(ctx context.Context, q Query, prefer []usage.Format) ([]*dayPlan, error) {
	days := calendar.Days(q.From, q.To)
	out := make([]*dayPlan, len(days))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(h.readers())
	for i, date := range days {
		out[i] = &dayPlan{date: date}
		if q.Live() {
			out[i].live, out[i].reason = true, reasonFresh
			if q.Save {
				out[i].reason = reasonSave
			}
			continue
		}
		g.Go(func() error { return h.planDay(gctx, q, prefer, out[i]) })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

func (h *Handler) planDay(ctx context.Context, q Query, prefer []usage.Format, d *dayPlan) error {
	r := h.Runner
	m, err := snapshot.FindManifest(ctx, r.Store, r.Prefix, r.Dataset(), d.date)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.live, d.reason = true, reasonNoSnapshot
		return nil
	case errors.Is(err, snapshot.ErrBadManifest):
		h.logger().WarnContext(ctx, "manifest unreadable; the day is fetched live", "date", d.date, "error", err)
		d.live, d.reason = true, "manifest unreadable"
		return nil
	case err != nil:
		return fmt.Errorf("%w: %w", export.ErrStore, err)
	}
	d.manifest = m
	if m.Dataset != r.Dataset() || m.Date != d.date {
		d.live, d.reason = true, "manifest names another partition"
		return nil
	}
	for _, app := range q.Apps {
		switch {
		case slices.Contains(m.AppsPending, app):
			d.live, d.reason = true, fmt.Sprintf("app %s pending in the snapshot", app)
		case !slices.Contains(m.Apps, app):
			d.live, d.reason = true, fmt.Sprintf("app %s not in the snapshot", app)
		}
		if d.live {
			d.files = nil
			return nil
		}
		e, ok := pickFile(m, app, prefer)
		if !ok {
			d.live, d.reason, d.files = true, "no JSON Lines or CSV file stored (TCUSAGE_FORMAT)", nil
			return nil
		}
		d.files = append(d.files, e)
	}
	return nil
}

// pickFile returns the manifest's file of app in the first format of prefer it has.
func pickFile(m *snapshot.Manifest, app string, prefer []usage.Format) (snapshot.FileEntry, bool) {
	for _, f := range prefer {
		for _, e := range m.Files {
			if e.App == app && e.Format == f {
				return e, true
			}
		}
	}
	return snapshot.FileEntry{}, false
}

// liveDays returns the days fetched live.
func liveDays(days []*dayPlan) []*dayPlan {
	var out []*dayPlan
	for _, d := range days {
		if d.live {
			out = append(out, d)
		}
	}
	return out
}

// checkLive refuses a query whose live days cannot be fetched: more than plan.MaxDays of them,
// one before the API's first day (400 InvalidParameter), or more app-days than the API's pace
// allows before the function's timeout (400 RangeTooLarge).
func (h *Handler) checkLive(ctx context.Context, q Query, days []*dayPlan) *httpAnswer {
	live := liveDays(days)
	if len(live) == 0 {
		return nil
	}
	fromField, toField := "from", "to"
	if q.From == q.To {
		fromField, toField = "date", "date"
	}
	if n := len(live); n > plan.MaxDays {
		return invalid(&plan.InputError{Field: toField, Problem: fmt.Sprintf(
			"%d of the %d days asked for have no complete snapshot (%s) and would be fetched from the API, at most %d per query: ask for fewer days, or fill them first with tcusage backfill",
			n, len(days), dayRange(live), plan.MaxDays)})
	}
	lim := h.Runner.Limits()
	if first := live[0].date; !lim.Earliest.IsZero() && first.Before(lim.Earliest) {
		return invalid(&plan.InputError{Field: fromField, Problem: fmt.Sprintf(
			"%s has no complete snapshot and is before %s, the earliest day this API serves", first, lim.Earliest)})
	}
	toFetch := 0
	for _, d := range live {
		if d.answers == nil {
			toFetch++
		}
	}
	return h.checkTime(ctx, toFetch*len(q.Apps))
}

// dayRange names days briefly: one, a few, or the first and last.
func dayRange(days []*dayPlan) string {
	names := make([]string, 0, 3)
	for _, d := range days {
		if len(names) == 3 {
			return fmt.Sprintf("%s..%s", days[0].date, days[len(days)-1].date)
		}
		names = append(names, d.date.String())
	}
	return strings.Join(names, ", ")
}
