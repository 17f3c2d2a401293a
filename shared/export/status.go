package export

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Status is where a dataset stands: what is delivered, what is behind, and who is writing.
type Status struct {
	Dataset string    `json:"dataset"`
	At      time.Time `json:"at"`
	// From and To are the days looked at: the last StatusDays days the API serves, up to the
	// newest day the current cycle fetches.
	From calendar.Day `json:"from"`
	To   calendar.Day `json:"to"`
	// NewestComplete is the newest day whose manifest is complete (zero: none in the window).
	NewestComplete calendar.Day `json:"newest_complete,omitzero"`
	// Partial lists the days with a manifest that still waits for apps.
	Partial []PartialDay `json:"partial,omitempty"`
	// Missing lists the days without a manifest.
	Missing []calendar.Day `json:"missing,omitempty"`
	// Late lists the days incomplete longer than LateAfter after they ended.
	Late []calendar.Day `json:"late,omitempty"`
	// Backlog counts the app-days still to fetch, and ClearsIn estimates how long they take at
	// the API's pace.
	Backlog         int       `json:"backlog_app_days"`
	ClearsInSeconds int64     `json:"clears_in_seconds"`
	ClearsBy        time.Time `json:"clears_by,omitzero"`
	// Lease is the dataset's lease when somebody holds it.
	Lease *snapshot.LeaseRecord `json:"lease,omitempty"`
}

// PartialDay is a day waiting for apps.
type PartialDay struct {
	Date    calendar.Day `json:"date"`
	Pending []string     `json:"apps_pending"`
}

// StatusDays is how many days Status looks back by default.
const StatusDays = 31

// Status reads where the dataset stands: the manifests of the last days (days, or StatusDays; no
// earlier than the API serves), and the lease. lateAfter is how long after its end a day may stay
// incomplete.
func (r *Runner) Status(ctx context.Context, days int, lateAfter time.Duration) (*Status, error) {
	if days <= 0 {
		days = StatusDays
	}
	now := r.now()
	lim := r.CycleLimits()
	st := &Status{Dataset: r.Dataset(), At: now.UTC(), To: lim.Latest, From: lim.Latest.Add(1 - days)}
	if !lim.Earliest.IsZero() && st.From.Before(lim.Earliest) {
		st.From = lim.Earliest
	}
	for _, day := range calendar.Days(st.From, st.To) {
		if err := r.statusOf(ctx, day, st); err != nil {
			return nil, err
		}
	}
	for _, d := range append(partialDays(st.Partial), st.Missing...) {
		if now.After(d.End().Add(lateAfter)) {
			st.Late = append(st.Late, d)
		}
	}
	slices.SortFunc(st.Late, func(a, b calendar.Day) int { return a.Compare(b) })
	clears := time.Duration(st.Backlog) * r.Interval
	st.ClearsInSeconds = int64(clears.Round(time.Second) / time.Second)
	if st.Backlog > 0 {
		st.ClearsBy = now.Add(clears).UTC()
	}
	lease, err := snapshot.ReadLease(ctx, r.Store, r.Prefix, r.Dataset())
	if err != nil {
		return nil, fmt.Errorf("status %s: %w", r.Dataset(), err)
	}
	if lease != nil && !lease.Free(time.Now(), 0) { // leases run on the wall clock
		st.Lease = lease
	}
	return st, nil
}

// statusOf adds one day's state.
func (r *Runner) statusOf(ctx context.Context, day calendar.Day, st *Status) error {
	m, err := snapshot.ReadProgress(ctx, r.Store, r.Prefix, r.Dataset(), day)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		st.Missing = append(st.Missing, day)
		st.Backlog += len(r.Apps)
		return nil
	case err != nil:
		return fmt.Errorf("status %s %s: %w", r.Dataset(), day, err)
	}
	var pending []string
	delivered := m.Delivered()
	for _, a := range r.Apps {
		if !delivered[a] {
			pending = append(pending, a)
		}
	}
	if len(pending) > 0 {
		st.Partial = append(st.Partial, PartialDay{Date: day, Pending: pending})
		st.Backlog += len(pending)
		return nil
	}
	if st.NewestComplete.IsZero() || day.After(st.NewestComplete) {
		st.NewestComplete = day
	}
	return nil
}

func partialDays(ps []PartialDay) []calendar.Day {
	out := make([]calendar.Day, len(ps))
	for i, p := range ps {
		out[i] = p.Date
	}
	return out
}
