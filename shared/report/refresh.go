package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Commit is one dataset's day just committed, as Refresh is told of it.
type Commit struct {
	Day calendar.Day
	// Changed is true when the commit changed the day's data files (a first delivery, more apps,
	// a restatement); false when every file was found byte-identical.
	Changed bool
}

// FollowDays is how many days after a changed day have their pages rendered again: each of them
// compares itself with the day before and with the average of the 7 days before, so a changed
// day changes the figures of the 7 pages after it. Later pages show it only as one bar of their
// 30-day chart, which catches up when they are next rendered; the month pages and the index are
// rendered on every refresh.
const FollowDays = 7

// LeaseName is the name of the reports' lease: <prefix>/reports/_lease/ (see Refresh).
const LeaseName = ReportsDir

// Published says what Publish or Refresh did.
type Published struct {
	// Day is the page of the newest committed day that was rendered (nil when none was).
	Day *Day
	// Rendered lists the days whose pages were rendered, oldest first; Skipped the committed days
	// whose page already showed their manifests.
	Rendered, Skipped []calendar.Day
	// Keys lists every object written, in the order written; the index is last.
	Keys []string
}

// Refresh brings the reports up to date after commits (see Options.Refresh), with the default
// Options.
func Refresh(ctx context.Context, store snapshot.Store, prefix string, commits []Commit, now time.Time) (*Published, error) {
	return Options{}.Refresh(ctx, store, prefix, commits, now)
}

// Publish renders the report of date as if its data had just changed (see Refresh), with the
// default Options.
func Publish(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Published, error) {
	return Options{}.Publish(ctx, store, prefix, date, now)
}

// Publish renders the report of date as if its data had just changed: Refresh with one changed
// commit.
func (o Options) Publish(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Published, error) {
	return o.Refresh(ctx, store, prefix, []Commit{{Day: date, Changed: true}}, now)
}

// Refresh brings the reports up to date after commits, whichever dataset made them. It renders:
//
//   - each committed day whose data changed, or whose stored page does not show the day's
//     current manifests (of every dataset: an earlier refresh may have failed);
//   - the FollowDays days after each changed day that have a page;
//   - the day before a day whose page is new, when it has a page (its link to the next day);
//
// then the month-to-date page of each month it rendered a day of (through the newest day of the
// month with a page), and the index. A day's page is written after the summaries of other days it
// had to compute and its detail.json, and its own summary after the page, so that a summary marked
// Rendered always has its page.
//
// Reports span every dataset while each dataset's writer holds only its own lease, so two
// functions can refresh the same day at once. Refresh therefore holds a lease of its own,
// <prefix>/reports/_lease/ (snapshot.AcquireLease with LeaseName), from before it reads anything
// until its last write, waiting for another holder as long as ctx allows. Refreshes thus run one
// after the other, and each reads the manifests after the one before it wrote: the last refresh
// sees every commit that finished before it started, so the pages end up showing every dataset's
// last commit whatever the order in which functions finish.
func (o Options) Refresh(ctx context.Context, store snapshot.Store, prefix string, commits []Commit, now time.Time) (*Published, error) {
	o = o.withDefaults()
	if len(commits) == 0 {
		return &Published{}, nil
	}
	if behind, err := o.behind(ctx, store, prefix, commits); err != nil || !behind {
		var out *Published
		if err == nil {
			out = &Published{}
			for _, c := range commits {
				out.Skipped = append(out.Skipped, c.Day)
			}
		}
		return out, err // every page is current: no lease, no write
	}
	lease, err := o.acquire(ctx, store, prefix)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	kctx, stop := lease.Keep(ctx)
	defer func() {
		stop()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = lease.Release(rctx, nil) // on failure it expires on its own
	}()
	out, err := o.refresh(kctx, store, prefix, commits, now, lease.Check)
	if cause := context.Cause(kctx); err != nil && errors.Is(cause, snapshot.ErrLeaseLost) {
		err = fmt.Errorf("%w (%w)", err, cause)
	}
	return out, err
}

// acquire takes the reports' lease, waiting for another holder until ctx ends.
func (o Options) acquire(ctx context.Context, store snapshot.Store, prefix string) (*snapshot.Lease, error) {
	wait := 100 * time.Millisecond
	for {
		lease, err := snapshot.AcquireLease(ctx, store, prefix, LeaseName, o.holder(), o.Lease)
		var held *snapshot.HeldError
		if !errors.As(err, &held) {
			return lease, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for the reports' lease (%w): %w", err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(wait*2, 2*time.Second)
	}
}

func (o Options) holder() string {
	if o.Holder != "" {
		return o.Holder
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("report pid %d on %s", os.Getpid(), host)
}

// refresh does Refresh's work under the lease; guard is asked before each write.
func (o Options) refresh(ctx context.Context, store snapshot.Store, prefix string, commits []Commit, now time.Time, guard func() error) (*Published, error) {
	found, err := reportPages(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	days, skipped, err := o.daysToRender(ctx, store, prefix, commits, found)
	if err != nil {
		return nil, err
	}
	out := &Published{Skipped: skipped}
	if len(days) == 0 {
		return out, nil // every committed day's page is current: nothing to write
	}
	w := &pageWriter{store: store, prefix: prefix, guard: guard, keys: &out.Keys}
	o.rendering = map[string]bool{}
	for _, day := range days {
		o.rendering[day.String()] = true
	}
	for _, day := range days {
		d, err := o.BuildDay(ctx, store, prefix, day, now)
		if err != nil {
			return out, err
		}
		if err := w.day(ctx, d); err != nil {
			return out, err
		}
		out.Rendered = append(out.Rendered, day)
		found.days[day.String()] = "rendered"
		if slices.ContainsFunc(commits, func(c Commit) bool { return c.Day.Compare(day) == 0 }) {
			out.Day = d // days are oldest first: the newest committed day is last
		}
	}
	if err := o.months(ctx, store, prefix, days, found, now, w); err != nil {
		return out, err
	}
	idx, err := o.BuildIndex(ctx, store, prefix, now)
	if err != nil {
		return out, err
	}
	return out, w.page(ctx, idx)
}

// daysToRender decides which day pages a refresh renders (see Refresh), oldest first, and which
// committed days it skips.
func (o Options) daysToRender(ctx context.Context, store snapshot.Store, prefix string, commits []Commit, found reportsFound) (render, skipped []calendar.Day, err error) {
	l := newLoader(store, prefix, o.Workers)
	add := func(d calendar.Day) {
		if !slices.ContainsFunc(render, func(r calendar.Day) bool { return r.Compare(d) == 0 }) {
			render = append(render, d)
		}
	}
	has := func(d calendar.Day) bool { return found.days[d.String()] != "" }
	for _, c := range commits {
		if !c.Changed {
			ok, err := l.current(ctx, c.Day)
			if err != nil {
				return nil, nil, err
			}
			if ok && has(c.Day) {
				skipped = append(skipped, c.Day)
				continue
			}
		}
		add(c.Day)
		if c.Changed {
			for k := 1; k <= FollowDays; k++ {
				if next := c.Day.Add(k); has(next) {
					add(next)
				}
			}
		}
	}
	for _, d := range slices.Clone(render) {
		if prev := d.Add(-1); !has(d) && has(prev) {
			add(prev)
		}
	}
	slices.SortFunc(render, calendar.Day.Compare)
	return render, skipped, nil
}

// behind reports whether any of commits calls for a render: a changed day, or a day whose page
// does not show its current manifests. It reads without the lease (a few small objects per day,
// several days at once), so that a run whose pages are current takes no lease and writes nothing.
func (o Options) behind(ctx context.Context, store snapshot.Store, prefix string, commits []Commit) (bool, error) {
	if slices.ContainsFunc(commits, func(c Commit) bool { return c.Changed }) {
		return true, nil
	}
	l := newLoader(store, prefix, o.Workers)
	stale := make([]bool, len(commits))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.Workers)
	for i, c := range commits {
		g.Go(func() error {
			ok, err := l.current(gctx, c.Day)
			stale[i] = !ok
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return false, err
	}
	return slices.Contains(stale, true), nil
}

// current reports whether date's stored page shows the day's current manifests: its summary
// was stored with the page (Rendered) from the very same manifests (same tags), or else from the
// same files, statuses and pending apps of every dataset.
func (l *loader) current(ctx context.Context, date calendar.Day) (bool, error) {
	head := l.storedHead(ctx, date)
	if head == nil {
		return false, nil
	}
	// A summary stored before the head held the tags has "rendered" after its figures, out of
	// the head's reach: it is read whole below.
	if head.Rendered {
		if same, err := l.sameTags(ctx, date, head.Manifests); same || err != nil {
			return same, err
		}
	}
	s := l.stored(ctx, date)
	if s == nil || !s.Rendered {
		return false, nil
	}
	ms, err := l.manifests(ctx, date)
	if err != nil {
		return false, err
	}
	for _, ds := range Datasets() {
		m, f := ms[ds], s.Dataset(ds)
		switch {
		case m == nil && f == nil:
			continue
		case m == nil || f == nil:
			return false, nil
		case f.Fingerprint != fingerprint(m) || f.Status != m.Status || !slices.Equal(f.AppsPending, m.AppsPending):
			return false, nil
		}
	}
	return true, nil
}

// sameTags reports whether every dataset's manifest of date is the one a page was built from,
// by the tags the page's summary recorded (one HEAD each, no manifest read: a manifest of tens
// of thousands of apps is megabytes). False when any differs, or the store has no tags.
func (l *loader) sameTags(ctx context.Context, date calendar.Day, recorded map[string]string) (bool, error) {
	if len(recorded) == 0 {
		return false, nil
	}
	for _, ds := range Datasets() {
		want, ok := recorded[ds]
		tag, err := snapshot.ManifestTag(ctx, l.store, l.prefix, ds, date)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !ok:
			continue
		case errors.Is(err, fs.ErrNotExist):
			return false, nil
		case err != nil:
			// Cannot tell (a run role whose policy predates HeadObject on the other datasets):
			// compare the manifests, which the reads that need them report errors of.
			return false, nil
		case !ok || tag == "" || tag != want:
			return false, nil
		}
	}
	return true, nil
}

// months renders the month-to-date page of every month of days, through the newest day of the
// month that has a page.
func (o Options) months(ctx context.Context, store snapshot.Store, prefix string, days []calendar.Day, found reportsFound, now time.Time, w *pageWriter) error {
	var months []string
	for _, d := range days {
		if m := d.String()[:7]; !slices.Contains(months, m) {
			months = append(months, m)
		}
	}
	for _, month := range months {
		through := ""
		for date := range found.days {
			if date[:7] == month && date > through {
				through = date
			}
		}
		m, err := o.BuildMonth(ctx, store, prefix, mustDay(through), now)
		if err != nil {
			return err
		}
		for _, s := range m.history {
			if err := w.summary(ctx, s); err != nil {
				return err
			}
		}
		if err := w.page(ctx, m); err != nil {
			return err
		}
	}
	return nil
}

// pageWriter stores pages and summaries, asking guard before each write and recording the keys.
type pageWriter struct {
	store  snapshot.Store
	prefix string
	guard  func() error
	keys   *[]string
}

func (w *pageWriter) put(ctx context.Context, key string, body []byte, contentType string) error {
	if err := w.guard(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := put(ctx, w.store, key, body, contentType); err != nil {
		return err
	}
	*w.keys = append(*w.keys, key)
	return nil
}

func (w *pageWriter) page(ctx context.Context, p Page) error {
	key, err := p.Key()
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	var buf bytes.Buffer
	if err := p.Render(&buf); err != nil {
		return err
	}
	return w.put(ctx, key, buf.Bytes(), HTMLContentType)
}

func (w *pageWriter) summary(ctx context.Context, s *Summary) error {
	day, err := calendar.Parse(s.Date)
	if err != nil {
		return fmt.Errorf("report: summary: %w", err)
	}
	key, err := SummaryKey(w.prefix, day)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("report: encode summary %s: %w", s.Date, err)
	}
	return w.put(ctx, key, append(b, '\n'), JSONContentType)
}

// detail stores what the day's page shows beyond its summary (detail.json).
func (w *pageWriter) detail(ctx context.Context, d *Day) error {
	if d.detail == nil {
		return nil
	}
	key, err := DetailKey(w.prefix, mustDay(d.Date))
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	b, err := json.Marshal(d.detail)
	if err != nil {
		return fmt.Errorf("report: encode detail %s: %w", d.Date, err)
	}
	return w.put(ctx, key, append(b, '\n'), JSONContentType)
}

// day stores a day's page: the other days' summaries it had to compute (not Rendered: their own
// pages were not rendered from them), its detail, the page, then its own summary, marked
// Rendered.
func (w *pageWriter) day(ctx context.Context, d *Day) error {
	for _, s := range d.history {
		s.Rendered = false
		if err := w.summary(ctx, s); err != nil {
			return err
		}
	}
	if err := w.detail(ctx, d); err != nil {
		return err
	}
	if err := w.page(ctx, d); err != nil {
		return err
	}
	d.Summary.Rendered = true
	return w.summary(ctx, d.Summary)
}

// mustDay parses a date already checked.
func mustDay(date string) calendar.Day {
	d, _ := calendar.Parse(date)
	return d
}
