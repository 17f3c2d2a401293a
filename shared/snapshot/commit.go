package snapshot

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// File is one encoded data file given to Commit: the rows of one app in one format.
type File struct {
	App    string
	Format Format
	Rows   int64
	// Columns are the file's columns, recorded in the manifest (optional).
	Columns []string
	Content Content
}

// CommitRequest describes one delivery of a partition (one dataset, one day).
type CommitRequest struct {
	Dataset string
	// Date is the partition's day, YYYY-MM-DD, in the configured zone.
	Date   string
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
	// Logger receives progress at debug level and anomalies at warn level; nil discards.
	Logger *slog.Logger
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
}

type plannedWrite struct {
	entry   FileEntry
	content Content
	md5     [16]byte
}

// parallelism is how many data objects a commit writes or deletes at once.
const parallelism = 8

// Commit delivers one partition following the protocol in the package documentation: unchanged
// files are kept, changed files are written, stale files are deleted and the manifest lands last.
// Commit is idempotent; after a failure, running it again completes the partition. It assumes a
// single writer per partition at a time.
func Commit(ctx context.Context, store Store, prefix string, req CommitRequest) (*Result, error) {
	log := req.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir, err := PartitionDir(prefix, req.Dataset, req.Date)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if req.GeneratedAt.IsZero() {
		return nil, errors.New("commit: GeneratedAt is not set")
	}
	log = log.With("partition", dir)
	mkey := dir + ManifestName

	// Check every input before touching the store.
	scope := map[string]bool{}
	for _, a := range req.Apps {
		if err := ValidApp(a); err != nil {
			return nil, fmt.Errorf("commit %s: %w", dir, err)
		}
		scope[a] = true
	}
	for _, a := range req.ExpectedApps {
		if err := ValidApp(a); err != nil {
			return nil, fmt.Errorf("commit %s: expected apps: %w", dir, err)
		}
	}
	var writes []plannedWrite
	seen := map[string]bool{}
	for i, f := range req.Files {
		key, err := dataKeyIn(dir, f.App, f.Format)
		if err != nil {
			return nil, fmt.Errorf("commit %s: file %d: %w", dir, i, err)
		}
		if f.Content == nil {
			return nil, fmt.Errorf("commit %s: file %s has no content", dir, key)
		}
		if f.Rows < 0 {
			return nil, fmt.Errorf("commit %s: file %s: negative rows %d", dir, key, f.Rows)
		}
		if seen[key] {
			return nil, fmt.Errorf("commit %s: file %s given twice", dir, key)
		}
		seen[key] = true
		scope[f.App] = true
		sum := f.Content.SHA256()
		writes = append(writes, plannedWrite{
			entry: FileEntry{
				Key: key, App: f.App, Format: f.Format, Rows: f.Rows, Columns: f.Columns, Bytes: f.Content.Size(),
				SHA256: hex.EncodeToString(sum[:]), ContentType: f.Format.ContentType(),
			},
			content: f.Content,
			md5:     f.Content.MD5(),
		})
	}

	// Read the previous state.
	prev, prevExists, err := readPrevious(ctx, store, mkey, log)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", dir, err)
	}
	listing, err := store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", dir, err)
	}
	prevByKey := map[string]FileEntry{}
	if prev != nil {
		for _, e := range prev.Files {
			prevByKey[e.Key] = e
		}
	}

	res := &Result{ManifestKey: mkey}
	var final []FileEntry
	pending := map[string]bool{}

	// Keep byte-identical files that are really in place (checked with HEADs, several at once).
	present := make([]bool, len(writes))
	hg, hctx := errgroup.WithContext(ctx)
	hg.SetLimit(parallelism)
	for i, w := range writes {
		p, ok := prevByKey[w.entry.Key]
		if !ok || p.SHA256 != w.entry.SHA256 || p.Bytes != w.entry.Bytes {
			continue
		}
		hg.Go(func() error {
			ok, err := presentWithSize(hctx, store, w.entry.Key, w.entry.Bytes)
			present[i] = ok
			if err == nil && !ok {
				log.Warn("file listed in the manifest is missing or has another size; rewriting", "key", w.entry.Key)
			}
			return err
		})
	}
	if err := hg.Wait(); err != nil {
		return nil, fmt.Errorf("commit %s: %w", dir, err)
	}
	toWrite := writes[:0]
	for i, w := range writes {
		if present[i] {
			w.entry.Unchanged = true
			final = append(final, w.entry)
			res.Unchanged = append(res.Unchanged, w.entry.Key)
			continue
		}
		toWrite = append(toWrite, w)
		final = append(final, w.entry)
	}

	// Carry over the other apps when merging.
	covered := maps.Clone(scope)
	expected := map[string]bool{}
	for _, a := range req.ExpectedApps {
		expected[a] = true
	}
	fetchedAt := map[string]time.Time{}
	for a, t := range req.FetchedAt {
		if scope[a] {
			fetchedAt[a] = t.UTC()
		}
	}
	appIDs := map[string][]string{}
	for a, ids := range req.AppRequestIDs {
		if scope[a] {
			appIDs[a] = slices.Clone(ids)
		}
	}
	appActions := map[string]string{}
	for a, act := range req.AppActions {
		if scope[a] {
			appActions[a] = act
		}
	}
	if req.Merge && prev != nil {
		byApp := map[string][]FileEntry{}
		for _, e := range prev.Files {
			byApp[e.App] = append(byApp[e.App], e)
		}
		// Check every carried-over app's files (HEADs, several at once), then decide in order.
		var carry []string
		for _, app := range prev.Apps {
			if scope[app] || ValidApp(app) != nil || len(expected) > 0 && !expected[app] {
				continue // replaced, invalid, or no longer expected (its files become stale)
			}
			carry = append(carry, app)
		}
		sound := make([]bool, len(carry))
		cg, cctx := errgroup.WithContext(ctx)
		cg.SetLimit(parallelism)
		for i, app := range carry {
			sound[i] = true
			for _, e := range byApp[app] {
				if want, err := dataKeyIn(dir, app, e.Format); err != nil || want != e.Key {
					sound[i] = false
					break
				}
			}
			if !sound[i] {
				continue
			}
			var mu sync.Mutex
			for _, e := range byApp[app] {
				cg.Go(func() error {
					present, err := presentWithSize(cctx, store, e.Key, e.Bytes)
					if err == nil && !present {
						mu.Lock()
						sound[i] = false
						mu.Unlock()
					}
					return err
				})
			}
		}
		if err := cg.Wait(); err != nil {
			return nil, fmt.Errorf("commit %s: %w", dir, err)
		}
		for i, app := range carry {
			ok := sound[i]
			if !ok {
				log.Warn("carried-over app has missing or altered files; marking it pending", "app", app)
				pending[app] = true
				continue
			}
			covered[app] = true
			if t, ok := prev.FetchedAt[app]; ok {
				fetchedAt[app] = t
			}
			if ids, ok := prev.AppRequestIDs[app]; ok {
				appIDs[app] = ids
			}
			if act, ok := prev.AppActions[app]; ok {
				appActions[app] = act
			}
			for _, e := range byApp[app] {
				e.Unchanged = true
				final = append(final, e)
				res.Carried = append(res.Carried, e.Key)
			}
		}
	}

	// Stale data objects: everything in the app=<id>/ layout that the new manifest does not list,
	// restricted to the replaced apps when merging.
	keep := map[string]bool{}
	for _, e := range final {
		keep[e.Key] = true
	}
	var stale []string
	for _, o := range listing {
		app, ok := appOfDataKey(dir, o.Key)
		if !ok || keep[o.Key] {
			continue
		}
		if req.Merge && !scope[app] && (len(expected) == 0 || expected[app]) {
			continue
		}
		stale = append(stale, o.Key)
	}

	// Pending apps and status.
	switch {
	case len(req.ExpectedApps) > 0:
		for _, a := range req.ExpectedApps {
			if !covered[a] {
				pending[a] = true
			}
		}
	case req.Merge && prev != nil:
		for _, a := range prev.AppsPending {
			if !covered[a] && ValidApp(a) == nil {
				pending[a] = true
			}
		}
	}
	status := StatusComplete
	if len(pending) > 0 {
		status = StatusPartial
	}
	slices.SortFunc(final, func(a, b FileEntry) int { return strings.Compare(a.Key, b.Key) })
	m := &Manifest{
		SchemaVersion:  ManifestSchemaVersion,
		Dataset:        req.Dataset,
		DatasetVersion: DatasetVersion,
		Date:           req.Date,
		Origin:         req.Origin,
		Window:         req.Window,
		GeneratedAt:    req.GeneratedAt.UTC(),
		Status:         status,
		AppsPending:    sortedKeys(pending),
		Apps:           nonNil(sortedKeys(covered)),
		Files:          final,
		FetchedAt:      fetchedAt,
		AppActions:     appActions,
		AppRequestIDs:  appIDs,
		RequestIDs:     nonNil(req.RequestIDs),
		Totals:         req.Totals,
	}
	if m.Files == nil {
		m.Files = []FileEntry{}
	}
	if len(m.FetchedAt) == 0 {
		m.FetchedAt = nil
	}
	if len(m.AppActions) == 0 {
		m.AppActions = nil
	}
	if len(m.AppRequestIDs) == 0 {
		m.AppRequestIDs = nil
	} else {
		var all []string
		for _, ids := range m.AppRequestIDs {
			all = append(all, ids...)
		}
		slices.Sort(all)
		m.RequestIDs = slices.Compact(all)
	}
	body, err := m.Encode()
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", dir, err)
	}

	// Step 1: invalidate the previous manifest if it lists anything about to change.
	touched := map[string]bool{}
	for _, w := range toWrite {
		touched[w.entry.Key] = true
	}
	for _, k := range stale {
		touched[k] = true
	}
	if prevExists && len(touched) > 0 {
		done, err := invalidate(ctx, store, mkey, prev, touched, req.GeneratedAt)
		if err != nil {
			return res, fmt.Errorf("commit %s: invalidate manifest: %w", dir, err)
		}
		res.Invalidated = done
	}

	// Step 2: write changed data, several files at once (the order does not matter: nothing
	// lists them until the manifest lands).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for _, w := range toWrite {
		g.Go(func() error {
			if err := putContent(gctx, store, w.entry.Key, w.content, w.entry.ContentType, w.md5); err != nil {
				return err
			}
			log.Debug("wrote data file", "key", w.entry.Key, "bytes", w.entry.Bytes)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, fmt.Errorf("commit %s: %w", dir, err)
	}
	for _, w := range toWrite {
		res.Written = append(res.Written, w.entry.Key)
	}

	// Step 3: delete stale data.
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(parallelism)
	for _, k := range stale {
		g.Go(func() error {
			if err := store.Delete(gctx, k); err != nil {
				return fmt.Errorf("delete stale: %w", err)
			}
			log.Debug("deleted stale file", "key", k)
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return res, fmt.Errorf("commit %s: %w", dir, err)
	}
	res.Deleted = append(res.Deleted, stale...)

	// Step 4: the manifest, last.
	if err := putContent(ctx, store, mkey, Bytes(body), "application/json", md5Of(body)); err != nil {
		return res, fmt.Errorf("commit %s: %w", dir, err)
	}
	res.Manifest = m
	log.Debug("committed partition", "status", status, "written", len(res.Written),
		"unchanged", len(res.Unchanged), "carried", len(res.Carried), "deleted", len(res.Deleted))
	return res, nil
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

// invalidate replaces the previous manifest by an interim one that lists only files not in
// touched, moving apps that lose files to apps_pending; an undecodable manifest is deleted.
// It reports whether the store was changed.
func invalidate(ctx context.Context, store Store, mkey string, prev *Manifest, touched map[string]bool, now time.Time) (bool, error) {
	if prev == nil {
		return true, store.Delete(ctx, mkey)
	}
	interim := *prev
	interim.Files = nil
	lost := map[string]bool{}
	for _, e := range prev.Files {
		if touched[e.Key] {
			lost[e.App] = true
			continue
		}
		interim.Files = append(interim.Files, e)
	}
	if len(lost) == 0 {
		return false, nil
	}
	pending := map[string]bool{}
	for _, a := range prev.AppsPending {
		pending[a] = true
	}
	var apps []string
	for _, a := range prev.Apps {
		if lost[a] {
			pending[a] = true
			continue
		}
		apps = append(apps, a)
	}
	for a := range lost {
		pending[a] = true
	}
	if len(prev.FetchedAt) > 0 {
		interim.FetchedAt = maps.Clone(prev.FetchedAt)
		for a := range lost {
			delete(interim.FetchedAt, a)
		}
	}
	if len(prev.AppRequestIDs) > 0 {
		interim.AppRequestIDs = maps.Clone(prev.AppRequestIDs)
		for a := range lost {
			delete(interim.AppRequestIDs, a)
		}
	}
	if len(prev.AppActions) > 0 {
		interim.AppActions = maps.Clone(prev.AppActions)
		for a := range lost {
			delete(interim.AppActions, a)
		}
	}
	interim.Apps = nonNil(apps)
	interim.AppsPending = sortedKeys(pending)
	interim.Status = StatusPartial
	interim.GeneratedAt = now.UTC()
	if interim.Files == nil {
		interim.Files = []FileEntry{}
	}
	body, err := interim.Encode()
	if err != nil {
		return false, err
	}
	if err := putContent(ctx, store, mkey, Bytes(body), "application/json", md5Of(body)); err != nil {
		return false, err
	}
	return true, nil
}

func presentWithSize(ctx context.Context, store Store, key string, size int64) (bool, error) {
	info, err := store.Head(ctx, key)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return info.Size == size, nil
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
