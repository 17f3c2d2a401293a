// Package export runs the data path every function shares: for each planned day, fetch the apps
// not yet delivered (a pool of workers, at the API's pacing, under the invocation's deadline),
// encode their rows into temporary files, and commit the day to the snapshot store with its
// manifest. Only the Source differs between functions. Queries fetch the days their snapshots
// do not hold the same way (Runner.Fetch), into temporary files, under the same lease.
package export

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/usage"
)

// Runner fetches and commits the days of a plan.Window for one Source.
type Runner struct {
	Source source.Source
	API    source.Caller
	Store  snapshot.Store
	Prefix string
	// Apps are the configured apps; a partition is complete when all of them are in.
	Apps    []string
	Formats []usage.Format
	// Zone decides which day is yesterday and when a cycle of timer runs begins: at DaySettles
	// after 00:00 in the zone (see plan.CycleAt).
	Zone       *time.Location
	DaySettles time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives progress (default: discard).
	Logger *slog.Logger
	// TempDir holds encoded files until they are committed (default os.TempDir()).
	TempDir string
	// Workers is how many app-days are fetched at once (default: enough to keep the action's
	// pacing busy, ceil(Latency/interval)+1, from 4 to 16). The API client's pacing keeps the
	// calls within each action's rate limit, and does not start a call that could not be answered
	// before the deadline.
	Workers int
	// Interval is the API time one app-day uses at the action's pacing (the interval between
	// calls × the calls it needs), and Latency a typical answer time; they size the worker pool
	// and estimate how long a range takes (Estimate).
	Interval, Latency time.Duration
	// Margin is the time kept for committing before the deadline (default 5 s plus 25 ms per
	// file of the last chunk of apps).
	Margin time.Duration
	// ChunkApps is how many apps of a day are fetched before they are committed (default: about
	// 30 s of fetching at the API's pace, from 4 to 1,000).
	ChunkApps int

	leaseMu sync.Mutex
	unfreed string // token of this runner's last lease if releasing it failed
	// Lease tunes the dataset's lease, which every run holds while it works: one writer per
	// dataset at a time, whatever process it runs in (zero: the defaults of
	// snapshot.LeaseConfig).
	Lease snapshot.LeaseConfig
	// Publishers run after a run's commits, under its lease (see Publisher).
	Publishers []Publisher
}

// Options tune one run.
type Options struct {
	// Force fetches every app-day, even those already fetched in the current cycle.
	Force bool
	// Resume skips every app already delivered in a partition, however long ago (backfill);
	// by default only apps fetched in the current cycle (since 00:00 today in the zone) are
	// skipped, so that timer runs re-fetch the restatement window once a day.
	Resume bool
	// Holder names the run in the dataset's lease, for whoever finds it held (default: this
	// process, by host and PID).
	Holder string
	// WaitForLease waits for another writer's lease to be released or to expire (a person's
	// backfill), instead of returning at once with Summary.Busy (a timer, whose next invocation
	// comes soon).
	WaitForLease bool
}

// Summary tells what a run did; it is the timer handler's answer.
type Summary struct {
	Dataset    string             `json:"dataset"`
	Partitions []PartitionSummary `json:"partitions"`
	// Pending lists app-days left for the next invocation because the deadline was near.
	Pending []AppDay `json:"pending,omitempty"`
	// Failed lists app-days whose fetch failed; their partition got no new manifest.
	Failed []AppDayError `json:"failed,omitempty"`
	// Busy is set when another writer held the dataset's lease: the run did nothing.
	Busy *snapshot.HeldError `json:"busy,omitempty"`
}

// Partition statuses a run reports besides the manifest's own (complete, partial).
const (
	StatusSkipped = "skipped" // every app was already fetched in this cycle
	StatusFailed  = "failed"  // an app failed, or the store did
	StatusPending = "pending" // no app could start before the deadline
)

// PartitionSummary tells what happened to one partition.
type PartitionSummary struct {
	Date        calendar.Day `json:"date"`
	Status      string       `json:"status"` // complete, partial, skipped, failed or pending
	Apps        []string     `json:"apps,omitempty"`
	Rows        int64        `json:"rows"`
	Written     int          `json:"files_written"`
	Unchanged   int          `json:"files_unchanged"`
	Deleted     int          `json:"files_deleted"`
	ManifestKey string       `json:"manifest,omitempty"`
}

// AppDay names one app on one day.
type AppDay struct {
	Date calendar.Day `json:"date"`
	App  string       `json:"app"`
}

// AppDayError is a failed app-day.
type AppDayError struct {
	AppDay
	Error string `json:"error"`
}

// ErrDeadline is wrapped by a run's error when it stopped early to finish before the deadline.
var ErrDeadline = errors.New("stopped before the deadline")

// OnlyPending reports whether a run's error says no more than that app-days were left for the
// next invocation because the deadline came (ErrDeadline): nothing failed, nothing was lost.
func OnlyPending(err error) bool {
	if err == nil {
		return false
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !OnlyPending(e) {
				return false
			}
		}
		return true
	}
	return errors.Is(err, ErrDeadline) && !errors.Is(err, ErrStore) && !errors.Is(err, ErrLocal) &&
		!errors.Is(err, ErrPublish) && !errors.Is(err, snapshot.ErrLeaseLost)
}

// Committed reports whether the run committed any partition (complete or partial): it made
// progress.
func (s *Summary) Committed() bool {
	for _, p := range s.Partitions {
		if p.Status == snapshot.StatusComplete || p.Status == snapshot.StatusPartial {
			return true
		}
	}
	return false
}

// ErrStore is wrapped by a run's error when the snapshot store failed while committing a
// partition (the partition keeps its previous manifest or an interim one; see snapshot.Commit).
var ErrStore = errors.New("snapshot store")

// ErrLocal is wrapped by failures of the function's own machinery, such as temporary files.
var ErrLocal = errors.New("local failure")

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Dataset is the name of the dataset the runner produces.
func (r *Runner) Dataset() string { return r.Source.Schema().Dataset }

// Limits are the days the runner's API may be asked for at now, in the runner's zone.
func (r *Runner) Limits() plan.Limits { return plan.LimitsAt(r.now(), r.Zone, r.Source.Earliest) }

// CycleLimits are the limits of the current cycle of timer runs: up to the cycle's newest day,
// which before the day settles is the day before yesterday.
func (r *Runner) CycleLimits() plan.Limits {
	lim := r.Limits()
	if _, latest := plan.CycleAt(r.now(), r.Zone, r.DaySettles); latest.Before(lim.Latest) {
		lim.Latest = latest
	}
	return lim
}

// Run fetches and commits every day of w, newest first. Each day's apps are fetched in parallel
// and committed together; a day with a failed app gets no new manifest. The error lists what
// failed or was left pending; the summary says what was done.
//
// With a deadline on ctx, fetches run under a deadline earlier by the commit margin, and commits
// under ctx itself: the margin is kept for committing what was fetched, whatever the fetches
// (pacing waits, retries, slow answers) do with their time. A day's commit runs while the next
// day is fetched, so that the API's pacing never waits for the store.
func (r *Runner) Run(ctx context.Context, w plan.Window, opt Options) (*Summary, error) {
	sum := &Summary{Dataset: r.Dataset()}
	if done := r.nothingToDo(ctx, w, opt); done != nil {
		return done, nil // every app-day is delivered: no lease, no write
	}
	var out *Summary
	err := r.hold(ctx, opt, func(ctx context.Context, lease *snapshot.Lease, conf confirmed) error {
		var err error
		out, err = r.run(ctx, w, opt, lease.Check, conf, sum)
		return err
	})
	var late *lateForLease
	switch {
	case errors.As(err, &sum.Busy):
		return sum, err
	case errors.As(err, &late):
		sum.leave(w.Days, w.Apps) // out of time before anything could start
		return sum, fmt.Errorf("%w: %d app-day(s) left for the next invocation: %w", ErrDeadline, len(sum.Pending), late.err)
	case out == nil:
		return sum, err
	}
	return out, err
}

// lateForLease is hold's error when ctx ended before the lease was taken: nothing started.
type lateForLease struct{ err error }

func (e *lateForLease) Error() string   { return ErrDeadline.Error() + ": " + e.err.Error() }
func (e *lateForLease) Unwrap() []error { return []error{ErrDeadline, e.err} }

// hold runs work holding the dataset's lease: it takes the lease (a *snapshot.HeldError when
// another writer holds it and opt does not wait; an error wrapping ErrDeadline when ctx ends
// first; ErrStore for the store's failures), makes the API client wait out the pacing the last
// holder handed over (the rate limit is per account), renews the lease while work runs (work's
// ctx ends if the lease is lost), and releases it after, handing this client's own pacing over.
// When ctx ends before the lease is taken, the error wraps ErrDeadline and work never runs.
func (r *Runner) hold(ctx context.Context, opt Options, work func(ctx context.Context, lease *snapshot.Lease, conf confirmed) error) error {
	lease, err := r.acquire(ctx, opt)
	var held *snapshot.HeldError
	switch {
	case errors.As(err, &held):
		return err
	case err != nil && ctx.Err() != nil:
		return &lateForLease{err}
	case err != nil:
		return fmt.Errorf("%w: lease: %w", ErrStore, err)
	}
	pacer, _ := r.API.(handOver)
	if prev := lease.Previous(); pacer != nil && prev != nil {
		pacer.NotBefore(prev.NextCall) // the last writer's calls count against the same account
	}
	ctx, stop := lease.Keep(ctx)
	defer func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		var next map[string]time.Time
		if pacer != nil {
			next = pacer.NextCalls()
		}
		err := lease.Release(rctx, next)
		r.leaseMu.Lock()
		r.unfreed = ""
		if err != nil && !errors.Is(err, snapshot.ErrLeaseLost) {
			r.unfreed = lease.Record().Token // this process may take it back at once
			r.logger().WarnContext(ctx, "cannot release the dataset's lease; it expires on its own", "error", err)
		}
		r.leaseMu.Unlock()
	}()
	// The confirmations the last holder handed on (app-days found unchanged this cycle) are
	// handed on again with the release, with those this holder adds, whatever the work is.
	rec := lease.Record()
	conf := confirmedSince(&rec, r.cycle())
	defer func() { lease.Confirm(conf) }()
	return work(ctx, lease, conf)
}

// run does Run's work under the lease; guard tells whether the lease still holds, conf which
// app-days this cycle found unchanged (and gets those this run finds).
func (r *Runner) run(ctx context.Context, w plan.Window, opt Options, guard func() error, conf confirmed, sum *Summary) (*Summary, error) {
	cycleStart := r.cycleStart(opt)
	fetchCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		fetchCtx, cancel = context.WithDeadline(ctx, dl.Add(-r.margin()))
		defer cancel()
	}
	var errs []error
	var inFlight *commitInFlight
	var days committed
	for i, day := range w.Days {
		apps, skip, ok := r.appsToFetch(ctx, fetchCtx, day, w.Apps, opt.Force, cycleStart, conf)
		if !ok {
			sum.leave(w.Days[i:], w.Apps) // out of time before this day could start
			break
		}
		if skip != nil {
			sum.Partitions = append(sum.Partitions, *skip)
			continue
		}
		// A day of many apps is fetched and committed in chunks: each commit runs while the next
		// chunk is fetched, and the last one, which the margin must hold, stays small.
		for c := 0; c < len(apps); c += r.chunkSize() {
			chunk := apps[c:min(c+r.chunkSize(), len(apps))]
			if fetchCtx.Err() != nil {
				sum.leave([]calendar.Day{day}, apps[c:])
				break
			}
			results := r.fetchDay(fetchCtx, day, chunk, r.spoolFiles)
			errs = append(errs, inFlight.finish(sum, &days, conf))
			inFlight = r.startCommit(ctx, day, results, guard)
		}
	}
	errs = append(errs, inFlight.finish(sum, &days, conf))
	if guard() == nil {
		errs = append(errs, r.publish(ctx, days))
	}
	// Newest first, as days are worked through.
	slices.SortStableFunc(sum.Pending, func(a, b AppDay) int {
		return cmp.Or(b.Date.Compare(a.Date), plan.CompareApps(a.App, b.App))
	})
	if len(sum.Pending) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d app-day(s) left for the next invocation (first: %s app %s)", ErrDeadline, len(sum.Pending), sum.Pending[0].Date, sum.Pending[0].App))
	}
	if cause := context.Cause(ctx); errors.Is(cause, snapshot.ErrLeaseLost) {
		errs = append(errs, cause)
	}
	return sum, errors.Join(errs...)
}

// handOver is an API client that can hand its pacing over to the next writer (tcloud.Client):
// rate limits are per account, so the next holder of the lease waits for the last one's calls.
type handOver interface {
	NextCalls() map[string]time.Time
	NotBefore(map[string]time.Time)
}

// acquire takes the dataset's lease, waiting for another writer's with opt.WaitForLease.
func (r *Runner) acquire(ctx context.Context, opt Options) (*snapshot.Lease, error) {
	cfg := r.Lease
	r.leaseMu.Lock()
	cfg.Previous = r.unfreed
	r.leaseMu.Unlock()
	for {
		lease, err := snapshot.AcquireLease(ctx, r.Store, r.Prefix, r.Dataset(), holder(opt.Holder), cfg)
		var held *snapshot.HeldError
		if !opt.WaitForLease || !errors.As(err, &held) {
			return lease, err
		}
		wait := min(max(time.Until(held.ExpiresAt), time.Second), 10*time.Second)
		r.logger().InfoContext(ctx, "waiting for the dataset's lease", "holder", held.Holder, "lease_expires_at", held.ExpiresAt, "retry_in", wait.Round(time.Second))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the lease: %w", ctx.Err())
		case <-time.After(wait):
		}
	}
}

// holder names a run in a lease: name, or this process.
func holder(name string) string {
	if name != "" {
		return name
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("tcusage pid %d on %s", os.Getpid(), host)
}

// cycleStart is when the current cycle of timer runs began: app-days fetched since are done. A
// resuming run (backfill) counts every delivered app-day as done.
func (r *Runner) cycleStart(opt Options) time.Time {
	if opt.Resume {
		return time.Time{}
	}
	return r.cycle()
}

// cycle is when the current cycle of timer runs began.
func (r *Runner) cycle() time.Time {
	start, _ := plan.CycleAt(r.now(), r.Zone, r.DaySettles)
	return start
}

// nothingToDo returns the summary of a run with nothing to do (every day's apps delivered in
// this cycle, by the manifests), and nil when there is work, or when it cannot tell. Idle timer
// invocations end here, reading a manifest per day and writing nothing.
func (r *Runner) nothingToDo(ctx context.Context, w plan.Window, opt Options) *Summary {
	if opt.Force {
		return nil
	}
	sum := &Summary{Dataset: r.Dataset()}
	rec, err := snapshot.ReadLease(ctx, r.Store, r.Prefix, r.Dataset())
	if err != nil {
		return nil // cannot tell: the run reads it again under the lease
	}
	conf := confirmedSince(rec, r.cycle())
	for _, day := range w.Days {
		_, skip, ok := r.appsToFetch(ctx, ctx, day, w.Apps, false, r.cycleStart(opt), conf)
		if !ok || skip == nil {
			return nil
		}
		sum.Partitions = append(sum.Partitions, *skip)
	}
	return sum
}

// appsToFetch decides which apps of day the run fetches: all of them when forced, else those not
// delivered since cycleStart according to the day's manifest, nor found unchanged this cycle
// (conf). skip is the day's summary when there is nothing to do; ok is false when the run is out
// of time before the day could start.
func (r *Runner) appsToFetch(ctx, fetchCtx context.Context, day calendar.Day, apps []string, force bool, cycleStart time.Time, conf confirmed) (_ []string, skip *PartitionSummary, ok bool) {
	if fetchCtx.Err() != nil {
		return nil, nil, false
	}
	prev, err := snapshot.ReadProgress(fetchCtx, r.Store, r.Prefix, r.Dataset(), day)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		prev = nil
	case err != nil && fetchCtx.Err() != nil:
		return nil, nil, false
	case err != nil:
		r.logger().WarnContext(ctx, "previous manifest unreadable; fetching every app", "date", day, "error", err)
		prev = nil
	}
	if force || prev == nil {
		return apps, nil, true
	}
	var out []string
	delivered := prev.Delivered()
	for _, a := range apps {
		t, ok := prev.FetchedAt[a]
		fresh := ok && !t.Before(cycleStart) || conf.has(day, a)
		if !fresh || !delivered[a] {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		key, _ := snapshot.ManifestKey(r.Prefix, r.Dataset(), day)
		return nil, &PartitionSummary{Date: day, Status: StatusSkipped, ManifestKey: key}, true
	}
	return out, nil, true
}

// leave records the apps of days not started as pending: out of time, they are the next
// invocation's work.
func (s *Summary) leave(days []calendar.Day, apps []string) {
	for _, d := range days {
		for _, a := range apps {
			s.Pending = append(s.Pending, AppDay{Date: d, App: a})
		}
	}
}

// chunkSize is how many apps of a day are fetched before they are committed: about 30 s of
// fetching at the API's pace, at least 4 and at most 1,000 apps (ChunkApps when set).
func (r *Runner) chunkSize() int {
	if r.ChunkApps > 0 {
		return r.ChunkApps
	}
	if r.Interval <= 0 {
		return 1000
	}
	return min(max(int(30*time.Second/r.Interval), 4), 1000)
}

// margin is the time kept before the deadline to commit: Margin, or by default 5 s, plus 25 ms
// for each file the last chunk writes (a PUT of about 200 ms, eight at a time), plus 1 ms for
// each object of a whole partition (listing it, 1,000 keys a page, and the manifest that names
// them all grow with the day, not the chunk: 4 s for 2,000 apps in two formats).
func (r *Runner) margin() time.Duration {
	if r.Margin > 0 {
		return r.Margin
	}
	formats := max(1, len(r.Formats))
	files := min(r.chunkSize(), max(len(r.Apps), 1)) * formats
	return 5*time.Second + time.Duration(files)*25*time.Millisecond + time.Duration(len(r.Apps)*formats)*time.Millisecond
}

// Estimate is how long n app-days take at the API's pacing, with the margin to commit.
func (r *Runner) Estimate(n int) time.Duration {
	return time.Duration(n)*r.Interval + r.Latency + r.margin()
}

// tempSweeper is a store that can remove the temporary files a killed process left (file).
type tempSweeper interface {
	SweepTemp(ctx context.Context, olderThan time.Duration, now time.Time) (int, error)
}

// Sweep removes what runs killed before their clean-up (kill -9, an SCF timeout) left behind,
// once it is older than age, so that no live run still uses it: spools and ESS sort runs in
// TempDir, and the store's own temporary files. Failures are logged; a sweep never stops a run.
func (r *Runner) Sweep(ctx context.Context, age time.Duration) {
	log := r.logger()
	now := time.Now() // file times are wall-clock times, whatever clock dates come from
	if n, err := snapshot.SweepTemp(r.TempDir, age, now); err != nil || n > 0 {
		log.InfoContext(ctx, "swept leftover temporary files", "removed", n, "error", err)
	}
	if s, ok := r.Store.(tempSweeper); ok {
		if n, err := s.SweepTemp(ctx, age, now); err != nil || n > 0 {
			log.InfoContext(ctx, "swept leftover temporary files in the store", "removed", n, "error", err)
		}
	}
}
