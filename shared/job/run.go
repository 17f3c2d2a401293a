package job

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// Runner walks the one data path every function shares: plan → fetch → rows → encode → store →
// manifest. Only the Source differs between functions.
type Runner struct {
	Source source.Source
	API    source.Caller
	Store  snapshot.Store
	Prefix string
	// Apps are the configured apps; a partition is complete when all of them are in.
	Apps    []string
	Formats []string
	Zone    *time.Location
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives progress (default: discard).
	Logger *slog.Logger
	// TempDir holds encoded files until they are committed (default os.TempDir()).
	TempDir string
	// Workers is how many app-days are fetched at once (default: enough to keep the action's pacing
	// busy, ceil(Latency/interval)+1, from 4 to 16); the client's pacing keeps
	// the calls within each action's rate limit.
	Workers int
	// Interval is the API time one app-day uses at the action's pacing (the interval between
	// calls × the calls it needs), and Latency a typical answer time. With them a run schedules
	// app-days as the pacing will let them through, and does not start one that could not finish
	// before the deadline.
	Interval, Latency time.Duration
	// Margin is the time kept for committing before the deadline (default 5 s plus 200 ms per
	// file a day of every configured app writes).
	Margin time.Duration

	mu       sync.Mutex
	nextSlot time.Time // when the pacing lets the next app-day start
}

// RunOptions tune one run.
type RunOptions struct {
	// Force fetches every app-day, even those already fetched in the current cycle.
	Force bool
	// Resume skips every app already delivered in a partition, however long ago (backfill);
	// by default only apps fetched in the current cycle (since 00:00 today in the zone) are
	// skipped, so that timer runs re-fetch the restatement window once a day.
	Resume bool
}

// Summary tells what a run did; it is the timer handler's answer.
type Summary struct {
	Dataset    string             `json:"dataset"`
	Partitions []PartitionSummary `json:"partitions"`
	// Pending lists app-days left for the next invocation because the deadline was near.
	Pending []AppDay `json:"pending,omitempty"`
	// Failed lists app-days whose fetch failed; their partition got no new manifest.
	Failed []AppDayError `json:"failed,omitempty"`
}

// PartitionSummary tells what happened to one partition.
type PartitionSummary struct {
	Date        string   `json:"date"`
	Status      string   `json:"status"` // complete, partial, skipped (already fetched this cycle), failed
	Apps        []string `json:"apps,omitempty"`
	Rows        int64    `json:"rows"`
	Written     int      `json:"files_written"`
	Unchanged   int      `json:"files_unchanged"`
	Deleted     int      `json:"files_deleted"`
	ManifestKey string   `json:"manifest,omitempty"`
}

// AppDay names one app on one day.
type AppDay struct {
	Date string `json:"date"`
	App  string `json:"app"`
}

// AppDayError is a failed app-day.
type AppDayError struct {
	AppDay
	Error string `json:"error"`
}

// ErrDeadline is wrapped by a run's error when it stopped early to finish before the deadline.
var ErrDeadline = errors.New("stopped before the deadline")

// ErrStore is wrapped by a run's error when the snapshot store failed while committing a
// partition (the partition keeps its previous manifest or an interim one; see snapshot.Commit).
var ErrStore = errors.New("snapshot store")

// errLocal marks failures of the function's own machinery, such as temporary files.
var errLocal = errors.New("local failure")

// fetched is one app-day's output.
type fetched struct {
	unit   AppDay
	res    source.Result
	files  []*encodedFile
	err    error
	queued bool // not started: the deadline was too near
}

type encodedFile struct {
	format string
	spool  *snapshot.Spool
	mem    *cappedBuffer
}

// errAnswerTooLarge is returned by an in-memory file (HTTP answers) that would outgrow what an
// SCF response can carry; the fetch stops there instead of holding the whole answer.
var errAnswerTooLarge = errors.New("answer too large for an SCF response")

// cappedBuffer is a buffer that refuses to grow past limit bytes.
type cappedBuffer struct {
	bytes.Buffer
	limit int
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.Len()+len(p) > c.limit {
		return 0, errAnswerTooLarge
	}
	return c.Buffer.Write(p)
}

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

// Run fetches and commits every date of w, newest first. Each date's apps are fetched in
// parallel and committed together; a date with a failed app gets no new manifest. The error
// lists what failed or was left pending; the summary says what was done.
//
// With a deadline on ctx, fetches run under a deadline earlier by the commit margin, and commits
// under ctx itself: the margin is kept for committing what was fetched, whatever the fetches
// (pacing waits, retries, slow answers) do with their time.
func (r *Runner) Run(ctx context.Context, w Window, opt RunOptions) (*Summary, error) {
	log := r.logger()
	schema := r.Source.Schema()
	sum := &Summary{Dataset: schema.Dataset}
	cycleStart := startOfDay(r.now(), r.Zone)
	if opt.Resume {
		cycleStart = time.Time{}
	}
	fetchCtx := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		fetchCtx, cancel = context.WithDeadline(ctx, dl.Add(-r.margin()))
		defer cancel()
	}
	var errs []error
	// A date's commit runs while the next date is fetched, so that the API's pacing never waits
	// for the store. finish waits for the commit in flight (if any) and records it.
	var inFlight chan struct{}
	var flightPS PartitionSummary
	var flightSum *Summary // the commit's own pending and failed app-days, merged by finish
	var flightErr error
	finish := func() {
		if inFlight == nil {
			return
		}
		<-inFlight
		inFlight = nil
		sum.Partitions = append(sum.Partitions, flightPS)
		sum.Pending = append(sum.Pending, flightSum.Pending...)
		sum.Failed = append(sum.Failed, flightSum.Failed...)
		if flightErr != nil {
			errs = append(errs, flightErr)
		}
	}
	// leave records the apps of dates not started as pending: out of time, they are the next
	// invocation's work.
	leave := func(dates []string) {
		for _, d := range dates {
			for _, a := range w.Apps {
				sum.Pending = append(sum.Pending, AppDay{Date: d, App: a})
			}
		}
	}
	for i, date := range w.Dates {
		if fetchCtx.Err() != nil {
			leave(w.Dates[i:])
			break
		}
		apps := w.Apps
		prev, err := snapshot.ReadManifest(fetchCtx, r.Store, r.Prefix, schema.Dataset, date)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			prev = nil
		case err != nil && fetchCtx.Err() != nil:
			// Out of time before this date could start: it and the rest are left pending.
			leave(w.Dates[i:])
		case err != nil:
			log.WarnContext(ctx, "previous manifest unreadable; fetching every app", "date", date, "error", err)
			prev = nil
		}
		if err != nil && fetchCtx.Err() != nil {
			break
		}
		if !opt.Force && prev != nil {
			apps = pendingApps(prev, apps, cycleStart)
			if len(apps) == 0 {
				sum.Partitions = append(sum.Partitions, PartitionSummary{Date: date, Status: "skipped", ManifestKey: manifestKey(r, schema.Dataset, date)})
				continue
			}
		}
		results := r.fetchAll(fetchCtx, date, apps, r.Formats, false)
		finish()
		done := make(chan struct{})
		inFlight, flightSum = done, &Summary{}
		go func(part *Summary) {
			defer close(done)
			flightPS, flightErr = r.commitDate(ctx, date, results, part)
		}(flightSum)
	}
	finish()
	// Newest first, as dates are worked through.
	slices.SortStableFunc(sum.Pending, func(a, b AppDay) int {
		return cmp.Or(strings.Compare(b.Date, a.Date), compareApps(a.App, b.App))
	})
	if len(sum.Pending) > 0 {
		errs = append(errs, fmt.Errorf("%w: %d app-day(s) left for the next invocation (first: %s app %s)", ErrDeadline, len(sum.Pending), sum.Pending[0].Date, sum.Pending[0].App))
	}
	return sum, errors.Join(errs...)
}

// pendingApps returns the apps of want not fetched since cycleStart according to m.
func pendingApps(m *snapshot.Manifest, want []string, cycleStart time.Time) []string {
	var out []string
	for _, a := range want {
		t, ok := m.FetchedAt[a]
		if !ok || t.Before(cycleStart) || !slices.Contains(m.Apps, a) || slices.Contains(m.AppsPending, a) {
			out = append(out, a)
		}
	}
	return out
}

func manifestKey(r *Runner, dataset, date string) string {
	k, _ := snapshot.ManifestKey(r.Prefix, dataset, date)
	return k
}

func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// fetchAll fetches the apps of one date with a pool of workers. Apps that cannot finish before
// the deadline are not started. In memory mode the files are kept in buffers, not spools.
func (r *Runner) fetchAll(ctx context.Context, date string, apps, formats []string, memory bool) []*fetched {
	out := make([]*fetched, len(apps))
	workers := r.workers()
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(apps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = r.fetchOne(ctx, AppDay{Date: date, App: apps[i]}, formats, memory)
			}
		}()
	}
	for i := range apps {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// workers returns Workers, or by default enough workers to keep the action's pacing busy while
// answers take Latency: ceil(Latency / interval between calls) + 1, at least 4 and at most 16
// (more goroutines waiting on one limiter buy nothing but contention).
func (r *Runner) workers() int {
	if r.Workers > 0 {
		return r.Workers
	}
	n := 4
	if every := r.Interval / time.Duration(max(1, r.Source.CallsPerApp())); every > 0 {
		n = max(n, int((r.Latency+every-1)/every)+1)
	}
	return min(n, 16)
}

// reserve books the next app-day slot at the API's pacing and reports whether the app-day can
// finish before ctx's deadline (for a run, the fetch deadline, which already keeps the margin to
// commit); a slot that cannot is not booked.
func (r *Runner) reserve(ctx context.Context) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now() // deadlines are wall-clock times, whatever clock dates come from
	if r.nextSlot.After(start) {
		start = r.nextSlot
	}
	if dl, ok := ctx.Deadline(); ok && start.Add(r.Interval+r.Latency).After(dl) {
		return false
	}
	r.nextSlot = start.Add(r.Interval)
	return true
}

// Estimate is how long n app-days take at the API's pacing, with the margin to commit.
func (r *Runner) Estimate(n int) time.Duration {
	return time.Duration(n)*r.Interval + r.Latency + r.margin()
}

func (r *Runner) fetchOne(ctx context.Context, u AppDay, formats []string, memory bool) *fetched {
	f := &fetched{unit: u}
	if ctx.Err() != nil || !r.reserve(ctx) {
		f.queued = true
		return f
	}
	start, last, _, err := DayBounds(u.Date, APIZone)
	if err != nil {
		f.err = err
		return f
	}
	open := func(columns []string) (usage.RowWriter, error) {
		var ws usage.MultiWriter
		for _, format := range formats {
			ef := &encodedFile{format: format}
			var sink interface {
				Write([]byte) (int, error)
			}
			if memory {
				ef.mem = &cappedBuffer{limit: MaxResponseBytes}
				sink = ef.mem
			} else {
				sp, err := snapshot.NewSpool(r.TempDir)
				if err != nil {
					return nil, fmt.Errorf("%w: spool: %w", errLocal, err)
				}
				ef.spool = sp
				sink = sp
			}
			f.files = append(f.files, ef)
			switch format {
			case FormatJSONL:
				ws = append(ws, usage.NewJSONLWriter(sink, columns))
			case FormatCSV:
				ws = append(ws, usage.NewCSVWriter(sink, columns))
			default:
				return nil, fmt.Errorf("unknown format %q", format)
			}
		}
		return closeAll{ws, f.files}, nil
	}
	f.res, f.err = r.Source.Fetch(ctx, r.API, source.Query{Date: u.Date, Start: start, Last: last, App: u.App, Open: open, TempDir: r.TempDir})
	if f.err != nil {
		f.discard()
		if outOfTime(ctx, f.err) {
			// Out of time (or cancelled) while waiting or calling: pending, not failed.
			f.err, f.queued = nil, true
		}
	}
	return f
}

// outOfTime reports whether err means the run ran out of time rather than that the fetch
// failed: ctx is done, or the client refused to wait or retry past ctx's deadline (it says so
// before the deadline comes). A single attempt timing out is a failure, not this.
func outOfTime(ctx context.Context, err error) bool {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return true
	}
	_, hasDeadline := ctx.Deadline()
	return hasDeadline && errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, tcloud.ErrAttemptTimeout)
}

// closeAll closes the row writers, then the spools under them.
type closeAll struct {
	usage.MultiWriter
	files []*encodedFile
}

func (c closeAll) Close() error {
	err := c.MultiWriter.Close()
	for _, f := range c.files {
		if f.spool != nil {
			err = errors.Join(err, f.spool.Close())
		}
	}
	return err
}

func (f *fetched) discard() {
	for _, ef := range f.files {
		if ef.spool != nil {
			ef.spool.Remove()
		}
	}
	f.files = nil
}

// commitDate commits the fetched apps of one date, unless any of them failed; it records the
// date's pending and failed app-days in part.
func (r *Runner) commitDate(ctx context.Context, date string, results []*fetched, part *Summary) (PartitionSummary, error) {
	defer func() {
		for _, f := range results {
			f.discard()
		}
	}()
	ps := PartitionSummary{Date: date}
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
	if len(failed) > 0 {
		ps.Status = "failed"
		return ps, errors.Join(failed...)
	}
	if len(done) == 0 {
		ps.Status = "pending"
		return ps, nil
	}
	schema := r.Source.Schema()
	start, _, end, _ := DayBounds(date, APIZone)
	now := r.now()
	req := snapshot.CommitRequest{
		Dataset:       schema.Dataset,
		Date:          date,
		Window:        snapshot.NewWindow(APIZone, start, end),
		GeneratedAt:   now.UTC(),
		Merge:         true,
		ExpectedApps:  r.Apps,
		FetchedAt:     map[string]time.Time{},
		AppRequestIDs: map[string][]string{},
		AppActions:    map[string]string{},
		Logger:        r.logger(),
	}
	details := map[string]string{}
	for _, f := range done {
		req.Apps = append(req.Apps, f.unit.App)
		req.FetchedAt[f.unit.App] = now.UTC()
		req.AppRequestIDs[f.unit.App] = f.res.RequestIDs
		req.AppActions[f.unit.App] = f.res.Action.Name
		req.RequestIDs = append(req.RequestIDs, f.res.RequestIDs...)
		ps.Rows += f.res.Rows
		a := f.res.Action
		req.Origin = snapshot.Origin{Service: a.Service, Action: a.Name, APIVersion: a.Version}
		for k, v := range f.res.Details {
			details[k] = v
		}
		for _, ef := range f.files {
			req.Files = append(req.Files, snapshot.File{App: f.unit.App, Format: snapshot.Format(ef.format), Rows: f.res.Rows, Columns: f.res.Columns, Content: ef.spool})
		}
	}
	if len(details) > 0 {
		req.Origin.Details = details
	}
	res, err := snapshot.Commit(ctx, r.Store, r.Prefix, req)
	if err != nil {
		ps.Status = "failed"
		return ps, fmt.Errorf("%s: %w: %w", date, ErrStore, err)
	}
	ps.Status = res.Manifest.Status
	ps.Apps = req.Apps
	ps.Written, ps.Unchanged, ps.Deleted = len(res.Written), len(res.Unchanged), len(res.Deleted)
	ps.ManifestKey = res.ManifestKey
	r.logger().InfoContext(ctx, "partition committed", "dataset", schema.Dataset, "date", date, "status", ps.Status,
		"apps", len(req.Apps), "rows", ps.Rows, "written", ps.Written, "unchanged", ps.Unchanged, "deleted", ps.Deleted)
	return ps, nil
}
