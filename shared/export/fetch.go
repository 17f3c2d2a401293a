package export

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// fetched is one app-day's output.
type fetched struct {
	unit   AppDay
	res    source.Result
	files  []*encodedFile
	err    error
	queued bool // not started, or stopped: the deadline was too near
	// tally summed the rows' measures as they were written (the same for every format).
	tally *usage.Tally
}

// checks are the app-day's quality checks: the source's, then those every dataset gets.
func (f *fetched) checks() []usage.Check {
	out := slices.Clone(f.res.Checks)
	if f.tally != nil {
		out = append(out, f.tally.Checks(f.unit.App)...)
	}
	return out
}

// measures are the sums of the app-day's measure columns.
func (f *fetched) measures() map[string]float64 {
	if f.tally == nil {
		return nil
	}
	return f.tally.Measures()
}

// encodedFile is one format of an app-day's rows, spooled to a temporary file: to be committed
// by a run, or read by a query.
type encodedFile struct {
	format usage.Format
	w      io.Writer
	spool  *snapshot.Spool
}

// newFile makes the file one format of an app-day's rows is encoded into.
type newFile func(format usage.Format) (*encodedFile, error)

// spoolFiles encodes into temporary files, to be committed.
func (r *Runner) spoolFiles(format usage.Format) (*encodedFile, error) {
	sp, err := snapshot.NewSpool(r.TempDir)
	if err != nil {
		return nil, fmt.Errorf("%w: spool: %w", ErrLocal, err)
	}
	return &encodedFile{format: format, w: sp, spool: sp}, nil
}

// limitedSpools encodes into temporary files of at most limit bytes each (0: no limit).
func (r *Runner) limitedSpools(limit int64) newFile {
	return func(format usage.Format) (*encodedFile, error) {
		ef, err := r.spoolFiles(format)
		if err != nil || limit <= 0 {
			return ef, err
		}
		ef.w = &cappedWriter{w: ef.spool, left: limit}
		return ef, nil
	}
}

// ErrAnswerTooLarge is a query's fetch whose rows outgrew its limit: the fetch stops there
// instead of holding the whole answer.
var ErrAnswerTooLarge = errors.New("answer too large")

// cappedWriter refuses to write past a number of bytes.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		return 0, ErrAnswerTooLarge
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

// Answer is one app-day a query fetched live (Runner.Fetch): its rows in one format, in a
// temporary file.
type Answer struct {
	AppDay
	// Body holds the rows in the format asked for, closed (Open reads it); Answers.Remove
	// deletes it.
	Body   *snapshot.Spool
	Format usage.Format
	// Columns are the rows' columns, in order.
	Columns    []string
	Rows       int64
	RequestIDs []string
}

// Answers are the app-days of one live fetch.
type Answers []Answer

// Remove deletes the answers' temporary files.
func (as Answers) Remove() {
	for _, a := range as {
		if a.Body != nil {
			a.Body.Remove()
		}
	}
}

// FetchOptions tune a query's live fetch.
type FetchOptions struct {
	// Format is the one format the rows are encoded in.
	Format usage.Format
	// Limit bounds each app-day's rows, in bytes (ErrAnswerTooLarge past it); 0: no bound.
	Limit int64
	// Holder names the fetch in the dataset's lease (default: this process).
	Holder string
}

// Fetch fetches the apps of days live for a query, into temporary files, in the order of days
// then apps; nothing is stored. It holds the dataset's lease while it calls the API, as a run
// does, so that a query's calls and the timers' share the account's rate limit: it waits out the
// pacing the last holder handed over and hands its own over on release. When another writer
// holds the lease, the error is a *snapshot.HeldError and no call is made.
//
// It stops at the first app-day that fails (the error names it and wraps the cause) or cannot
// start or finish before ctx's deadline (ErrDeadline); it then returns no answers.
func (r *Runner) Fetch(ctx context.Context, days []calendar.Day, apps []string, o FetchOptions) (Answers, error) {
	var out Answers
	err := r.hold(ctx, Options{Holder: o.Holder}, func(ctx context.Context, _ *snapshot.Lease, _ confirmed) error {
		for _, day := range days {
			var failed error
			for _, f := range r.fetchDayIn(ctx, day, apps, []usage.Format{o.Format}, r.limitedSpools(o.Limit)) {
				switch {
				case failed != nil:
					f.discard()
				case f.queued:
					failed = fmt.Errorf("%w: %s app %s could not be fetched in time", ErrDeadline, f.unit.Date, f.unit.App)
					if cause := context.Cause(ctx); errors.Is(cause, snapshot.ErrLeaseLost) {
						failed = fmt.Errorf("%w: %w", ErrStore, cause)
					}
				case f.err != nil:
					f.discard()
					failed = fmt.Errorf("%s app %s: %w", f.unit.Date, f.unit.App, f.err)
				default:
					out = append(out, Answer{AppDay: f.unit, Body: f.files[0].spool, Format: o.Format, Columns: f.res.Columns, Rows: f.res.Rows, RequestIDs: f.res.RequestIDs})
				}
			}
			if failed != nil {
				return failed
			}
		}
		return nil
	})
	if err != nil {
		out.Remove()
		return nil, err
	}
	return out, nil
}

// fetchDay fetches the apps of day in every configured format.
func (r *Runner) fetchDay(ctx context.Context, day calendar.Day, apps []string, files newFile) []*fetched {
	return r.fetchDayIn(ctx, day, apps, r.Formats, files)
}

// fetchDayIn fetches the apps of day with a pool of workers, in the order of apps.
func (r *Runner) fetchDayIn(ctx context.Context, day calendar.Day, apps []string, formats []usage.Format, files newFile) []*fetched {
	out := make([]*fetched, len(apps))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(r.workers(), len(apps)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				out[i] = r.fetchOne(ctx, AppDay{Date: day, App: apps[i]}, formats, files)
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
	return min(n, MaxWorkers)
}

// MaxWorkers is the most app-days a Runner fetches at once by default.
const MaxWorkers = 16

// fetchOne fetches one app-day. A fetch that runs out of time is queued (pending), not failed;
// whatever it wrote is discarded.
func (r *Runner) fetchOne(ctx context.Context, u AppDay, formats []usage.Format, files newFile) *fetched {
	f := &fetched{unit: u}
	if ctx.Err() != nil {
		f.queued = true
		return f
	}
	open := func(columns []string) (usage.RowWriter, error) {
		var ws usage.MultiWriter
		for _, format := range formats {
			ef, err := files(format)
			if err != nil {
				return nil, err
			}
			f.files = append(f.files, ef)
			w, err := usage.NewWriter(format, ef.w, r.Source.Schema(), columns)
			if err != nil {
				return nil, err
			}
			ws = append(ws, w)
		}
		f.tally = usage.NewTally(r.Source.Schema(), columns)
		ws = append(ws, f.tally)
		return closeAll{ws, f.files}, nil
	}
	f.res, f.err = r.Source.Fetch(ctx, r.API, source.Query{Day: u.Date, App: u.App, Open: open, TempDir: r.TempDir})
	if f.err != nil {
		f.discard()
		if outOfTime(ctx, f.err) {
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

// discard removes the app-day's spools.
func (f *fetched) discard() {
	for _, ef := range f.files {
		if ef.spool != nil {
			ef.spool.Remove()
		}
	}
	f.files = nil
}
