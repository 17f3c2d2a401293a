package export

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// commitInFlight is a day's commit running while the next day is fetched.
type commitInFlight struct {
	done chan struct{}
	ps   PartitionSummary
	part Summary          // the day's own pending and failed app-days
	res  *snapshot.Result // the commit's result, when it committed
	at   time.Time        // when the apps were fetched
	err  error
}

// startCommit commits the fetched apps of day in the background.
func (r *Runner) startCommit(ctx context.Context, day calendar.Day, results []*fetched, guard func() error) *commitInFlight {
	c := &commitInFlight{done: make(chan struct{}), at: r.now()}
	go func() {
		defer close(c.done)
		c.ps, c.res, c.err = r.commitDay(ctx, day, results, &c.part, guard)
	}()
	return c
}

// finish waits for the commit (none: nil) and records it in sum and days, and in conf when it
// found the apps unchanged; it returns the commit's error.
func (c *commitInFlight) finish(sum *Summary, days *committed, conf confirmed) error {
	if c == nil {
		return nil
	}
	<-c.done
	if c.res != nil {
		days.add(c.ps.Date, c.res)
		if c.res.Kept {
			conf.add(c.ps.Date, c.ps.Apps, c.at)
		}
	}
	sum.Partitions = append(sum.Partitions, c.ps)
	sum.Pending = append(sum.Pending, c.part.Pending...)
	sum.Failed = append(sum.Failed, c.part.Failed...)
	return c.err
}

// commitDay commits the fetched apps of one day, unless any of them failed; it records the day's
// pending and failed app-days in part.
func (r *Runner) commitDay(ctx context.Context, day calendar.Day, results []*fetched, part *Summary, guard func() error) (PartitionSummary, *snapshot.Result, error) {
	defer func() {
		for _, f := range results {
			f.discard()
		}
	}()
	ps := PartitionSummary{Date: day}
	var failed []error
	var done []*fetched
	for _, f := range results {
		switch {
		case f.queued:
			part.Pending = append(part.Pending, f.unit)
		case f.err != nil:
			part.Failed = append(part.Failed, AppDayError{AppDay: f.unit, Error: f.err.Error()})
			failed = append(failed, fmt.Errorf("%s app %s: %w", f.unit.Date, f.unit.App, f.err))
		default:
			done = append(done, f)
		}
	}
	switch {
	case len(failed) > 0:
		ps.Status = StatusFailed
		return ps, nil, errors.Join(failed...)
	case len(done) == 0:
		ps.Status = StatusPending
		return ps, nil, nil
	}
	req := r.commitRequest(day, done)
	req.Guard = guard
	for _, f := range done {
		ps.Rows += f.res.Rows
	}
	res, err := snapshot.Commit(ctx, r.Store, r.Prefix, req)
	if err != nil {
		ps.Status = StatusFailed
		return ps, nil, fmt.Errorf("%s: %w: %w", day, ErrStore, err)
	}
	ps.Status = res.Manifest.Status
	ps.Apps = req.Apps
	ps.Written, ps.Unchanged, ps.Deleted = len(res.Written), len(res.Unchanged), len(res.Deleted)
	ps.ManifestKey = res.ManifestKey
	r.logger().InfoContext(ctx, "partition committed", "dataset", req.Dataset, "date", day, "status", ps.Status,
		"apps", len(req.Apps), "rows", ps.Rows, "written", ps.Written, "unchanged", ps.Unchanged, "deleted", ps.Deleted)
	return ps, res, nil
}

// commitRequest describes the delivery of the fetched apps of day, merged into what the day
// already holds.
func (r *Runner) commitRequest(day calendar.Day, done []*fetched) snapshot.CommitRequest {
	now := r.now().UTC()
	req := snapshot.CommitRequest{
		Dataset:       r.Dataset(),
		Day:           day,
		Window:        snapshot.NewWindow(calendar.Zone, day.Start(), day.End()),
		GeneratedAt:   now,
		Merge:         true,
		ExpectedApps:  r.Apps,
		FetchedAt:     map[string]time.Time{},
		AppRequestIDs: map[string][]string{},
		AppActions:    map[string]string{},
		AppWindows:    map[string]snapshot.SentWindow{},
		Logger:        r.logger(),
	}
	details := map[string]string{}
	for _, f := range done {
		a := f.res.Action
		req.Apps = append(req.Apps, f.unit.App)
		req.FetchedAt[f.unit.App] = now
		req.AppRequestIDs[f.unit.App] = f.res.RequestIDs
		req.AppActions[f.unit.App] = a.Name
		if len(f.res.Window.Fields) > 0 {
			req.AppWindows[f.unit.App] = sentWindow(f.res.Window)
		}
		req.RequestIDs = append(req.RequestIDs, f.res.RequestIDs...)
		req.Origin = snapshot.Origin{Service: a.Service, Action: a.Name, APIVersion: a.Version}
		for k, v := range f.res.Details {
			details[k] = v
		}
		measures := f.measures()
		for _, ef := range f.files {
			req.Files = append(req.Files, snapshot.File{App: f.unit.App, Format: ef.format, Rows: f.res.Rows, Columns: f.res.Columns, Measures: measures, Content: ef.spool})
		}
		req.Checks = append(req.Checks, f.checks()...)
	}
	if len(details) > 0 {
		req.Origin.Details = details
	}
	return req
}

// sentWindow is the manifest's record of the window a request named (tcapi.SentWindow).
func sentWindow(w tcapi.SentWindow) snapshot.SentWindow {
	out := snapshot.SentWindow{Fields: maps.Clone(w.Fields)}
	for _, r := range w.Readings {
		if out.Readings == nil {
			out.Readings = map[string]bool{}
		}
		out.Readings[r.Name] = r.Value
	}
	return out
}
