package snapshot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/usage"
)

// File is one encoded data file given to Commit: the rows of one app in one format.
type File struct {
	App    string
	Format usage.Format
	Rows   int64
	// Columns are the file's columns, recorded in the manifest (optional).
	Columns []string
	// Measures are the sums of the file's measure columns (optional; see FileEntry.Measures).
	Measures map[string]float64
	Content  Content
}

// CommitRequest describes one delivery of a partition (one dataset, one day).
type CommitRequest struct {
	Dataset string
	// Day is the partition's day.
	Day    calendar.Day
	Origin Origin
	Window Window
	// GeneratedAt is the time of this delivery, from the caller's clock. Required.
	GeneratedAt time.Time
	RequestIDs  []string
	Totals      map[string]float64
	Files       []File
	// Apps lists the apps this delivery covers, including apps that produced no file. The apps
	// of Files are always included.
	Apps []string
	// Merge replaces only the apps in Apps: files of other apps are carried over from the previous
	// manifest (after checking they are present). Without Merge the whole partition is replaced.
	Merge bool
	// ExpectedApps, when set, lists every app the partition should hold; until all of them are
	// covered the status is "partial" with apps_pending.
	ExpectedApps []string
	// FetchedAt records when each app's data was fetched; it is kept in the manifest (carried
	// over for merged apps), so that a later run can tell what is already done.
	FetchedAt map[string]time.Time
	// AppRequestIDs and AppActions record, per app, the API request IDs and the action that
	// produced its data; they are carried over for merged apps like FetchedAt, so that a day
	// filled app by app keeps the provenance of every app. When AppRequestIDs is set, the
	// manifest's request_ids are the union over all apps.
	AppRequestIDs map[string][]string
	AppActions    map[string]string
	// AppWindows records, per app, the time window its requests named, as sent (SentWindow,
	// Apps unset); carried over for merged apps, and grouped by action in the manifest's
	// windows_sent.
	AppWindows map[string]SentWindow
	// Logger receives progress at debug level and anomalies at warn level; nil discards.
	Logger *slog.Logger
	// Checks are the quality checks of the delivered apps' data (each naming an app of the
	// delivery, or none for the day); they replace those apps' earlier checks.
	Checks []usage.Check
	// Guard, when set, is asked before each step that changes what readers see (the interim
	// manifest, the data, the manifest): an error stops the commit there. A writer holding the
	// dataset's lease passes Lease.Check, so that it stops once the lease is lost.
	Guard func() error
}

// Result tells what a Commit did.
type Result struct {
	Manifest    *Manifest
	ManifestKey string
	// Written lists the data keys uploaded, Unchanged those found byte-identical and kept,
	// Carried those kept from other apps (Merge), Deleted the stale keys removed.
	Written, Unchanged, Carried, Deleted []string
	// Invalidated is true when the previous manifest was replaced by an interim one (or removed)
	// before data changed.
	Invalidated bool
	// Kept is true when the partition already held exactly this delivery (every file
	// byte-identical, the same apps, checks and provenance but for fetch times and request IDs):
	// nothing was written, and the manifest in place (Manifest) stays as it was.
	Kept bool
	// Change is the restatement this commit recorded (also the manifest's last Change), nil when
	// no file an earlier manifest listed was replaced or removed.
	Change *Change
}

// parallelism is how many data objects a commit checks, writes or deletes at once.
const parallelism = 8

// Commit delivers one partition following the protocol in the package documentation: unchanged
// files are kept, changed files are written, stale files are deleted and the manifest lands last.
// Commit is idempotent; after a failure, running it again completes the partition. It assumes a
// single writer per partition at a time.
//
// It reads the partition's state (the previous manifest and the listing, which also tells which
// listed objects are in place), decides everything with planCommit, which touches no store, and
// then applies the plan.
func Commit(ctx context.Context, store Store, prefix string, req CommitRequest) (*Result, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in, err := prepareCommit(prefix, req)
	if err != nil {
		return nil, err
	}
	log = log.With("partition", in.dir)
	st, err := readState(ctx, store, in, log)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", in.dir, err)
	}
	p := planCommit(in, st)
	for _, k := range p.rewritten {
		log.Warn("file listed in the manifest is missing or has another size; rewriting", "key", k)
	}
	for _, a := range p.lostApps {
		log.Warn("carried-over app has missing or altered files; marking it pending", "app", a)
	}
	return applyCommit(ctx, store, p, log)
}

// applyCommit carries out a plan: the previous manifest is invalidated if anything it lists is
// about to change, the changed data files are written and the stale ones deleted (several at
// once), and the new manifest is written last.
func applyCommit(ctx context.Context, store Store, p *commitPlan, log *slog.Logger) (*Result, error) {
	res := &Result{ManifestKey: p.manifestKey, Unchanged: p.unchanged, Carried: p.carried}
	if p.keep {
		res.Manifest, res.Kept = p.manifest, true
		log.Debug("partition unchanged; nothing written", "unchanged", len(res.Unchanged), "carried", len(res.Carried))
		return res, nil
	}
	if _, err := p.manifest.Encode(); err != nil {
		return nil, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	guard := p.guard
	if guard == nil {
		guard = func() error { return nil }
	}
	if err := guard(); err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	if err := invalidate(ctx, store, p); err != nil {
		return res, fmt.Errorf("commit %s: invalidate manifest: %w", p.dir, err)
	}
	res.Invalidated = p.removePrev || p.interim != nil
	// The order of writes does not matter: nothing lists them until the manifest lands.
	if err := each(ctx, p.write, func(ctx context.Context, w plannedWrite) error {
		if err := putContent(ctx, store, w.entry.Key, w.content, w.entry.ContentType, w.md5); err != nil {
			return err
		}
		log.Debug("wrote data file", "key", w.entry.Key, "bytes", w.entry.Bytes)
		return nil
	}); err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	for _, w := range p.write {
		res.Written = append(res.Written, w.entry.Key)
	}
	if err := each(ctx, p.stale, func(ctx context.Context, k string) error {
		if err := store.Delete(ctx, k); err != nil {
			return fmt.Errorf("delete stale: %w", err)
		}
		log.Debug("deleted stale file", "key", k)
		return nil
	}); err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	res.Deleted = append(res.Deleted, p.stale...)
	if err := guard(); err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	if p.change != nil {
		// The change log entry lands before the manifest that lists it, created only if absent.
		if err := writeChange(ctx, store, p); err != nil {
			return res, fmt.Errorf("commit %s: %w", p.dir, err)
		}
		res.Change = p.change
		log.Info("restated: files changed since the last delivery", "change", p.change.Key, "files", len(p.change.Files))
	}
	body, err := p.manifest.Encode()
	if err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	if err := putContent(ctx, store, p.manifestKey, Bytes(body), "application/json", md5Of(body)); err != nil {
		return res, fmt.Errorf("commit %s: %w", p.dir, err)
	}
	res.Manifest = p.manifest
	log.Debug("committed partition", "status", p.manifest.Status, "written", len(res.Written),
		"unchanged", len(res.Unchanged), "carried", len(res.Carried), "deleted", len(res.Deleted))
	return res, nil
}

// invalidate replaces the previous manifest by the plan's interim one, or deletes an undecodable
// one, before any object it may list changes.
func invalidate(ctx context.Context, store Store, p *commitPlan) error {
	switch {
	case p.removePrev:
		return store.Delete(ctx, p.manifestKey)
	case p.interim != nil:
		body, err := p.interim.Encode()
		if err != nil {
			return err
		}
		return putContent(ctx, store, p.manifestKey, Bytes(body), "application/json", md5Of(body))
	}
	return nil
}

// each runs fn on every item, parallelism at a time, and returns the first error.
func each[T any](ctx context.Context, items []T, fn func(context.Context, T) error) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for _, it := range items {
		g.Go(func() error { return fn(gctx, it) })
	}
	return g.Wait()
}

// readPrevious returns the previous manifest. exists is true when an object is at the manifest key,
// even one that cannot be decoded (m is then nil and the object is treated as invalid).
func readPrevious(ctx context.Context, store Store, mkey string, log *slog.Logger) (m *Manifest, exists bool, err error) {
	m, err = readManifestKey(ctx, store, mkey)
	switch {
	case err == nil:
		return m, true, nil
	case errors.Is(err, fs.ErrNotExist):
		return nil, false, nil
	case errors.Is(err, ErrBadManifest):
		log.Warn("previous manifest cannot be decoded; it will be replaced", "key", mkey, "err", err)
		return nil, true, nil
	}
	return nil, false, err
}

func putContent(ctx context.Context, store Store, key string, c Content, contentType string, sum [16]byte) error {
	r, err := c.Open()
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	defer r.Close()
	return store.Put(ctx, key, r, PutOptions{Size: c.Size(), ContentType: contentType, ContentMD5: sum[:]})
}

func md5Of(b []byte) [16]byte { return Bytes(b).MD5() }

func sortedKeys(m map[string]bool) []string {
	if len(m) == 0 {
		return nil
	}
	return slices.Sorted(maps.Keys(m))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
