package snapshot

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/usage"
)

// commitInput is a checked CommitRequest: its partition and the data files to deliver.
type commitInput struct {
	req              CommitRequest
	dir, manifestKey string
	changesDir       string
	writes           []plannedWrite
	// scope holds the apps this delivery covers (Apps and the apps of Files).
	scope map[string]bool
}

// plannedWrite is one data file of the request with its manifest entry.
type plannedWrite struct {
	entry   FileEntry
	content Content
	md5     [16]byte
}

// commitState is what the store holds of a partition, as far as planning needs it.
type commitState struct {
	prev *Manifest
	// prevExists is true when an object is at the manifest key, even an undecodable one (prev nil).
	prevExists bool
	listing    []ObjectInfo
	// present holds, for every object a plan could keep (see presenceChecks), whether it is in
	// place with the size its manifest entry records.
	present map[string]bool
}

// commitPlan is everything a commit does, decided without touching the store.
type commitPlan struct {
	dir, manifestKey string
	manifest         *Manifest
	// interim replaces the previous manifest before anything it lists changes; nil when nothing it
	// lists changes. removePrev deletes an undecodable previous manifest instead.
	interim    *Manifest
	removePrev bool
	write      []plannedWrite
	stale      []string
	// unchanged and carried are the data keys kept in place: byte-identical files of this
	// delivery, and files of other apps carried over (Merge).
	unchanged, carried []string
	// rewritten lists keys the previous manifest lists with the same content but that are missing
	// or have another size; lostApps the carried-over apps whose files are gone (now pending).
	rewritten, lostApps []string
	// guard is the request's Guard.
	guard func() error
	// keep is true when the manifest in place already describes this delivery: nothing is
	// written (manifest is then the previous one).
	keep bool
	// change is the restatement the delivery makes (also the manifest's last Change), recorded
	// in the change log under changesDir before the manifest lands; nil when none.
	change     *Change
	changesDir string
}

// prepareCommit checks every input before anything touches the store.
func prepareCommit(prefix string, req CommitRequest) (*commitInput, error) {
	dir, err := PartitionDir(prefix, req.Dataset, req.Day)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	if req.GeneratedAt.IsZero() {
		return nil, fmt.Errorf("commit %s: GeneratedAt is not set", dir)
	}
	changesDir, err := ChangesDir(prefix, req.Dataset)
	if err != nil {
		return nil, fmt.Errorf("commit: %w", err)
	}
	in := &commitInput{req: req, dir: dir, manifestKey: dir + ManifestName, changesDir: changesDir, scope: map[string]bool{}}
	for _, a := range req.Apps {
		if err := ValidApp(a); err != nil {
			return nil, fmt.Errorf("commit %s: %w", dir, err)
		}
		in.scope[a] = true
	}
	for _, a := range req.ExpectedApps {
		if err := ValidApp(a); err != nil {
			return nil, fmt.Errorf("commit %s: expected apps: %w", dir, err)
		}
	}
	seen := map[string]bool{}
	for i, f := range req.Files {
		key, err := dataKeyIn(dir, f.App, f.Format)
		switch {
		case err != nil:
			return nil, fmt.Errorf("commit %s: file %d: %w", dir, i, err)
		case f.Content == nil:
			return nil, fmt.Errorf("commit %s: file %s has no content", dir, key)
		case f.Rows < 0:
			return nil, fmt.Errorf("commit %s: file %s: negative rows %d", dir, key, f.Rows)
		case seen[key]:
			return nil, fmt.Errorf("commit %s: file %s given twice", dir, key)
		}
		seen[key] = true
		in.scope[f.App] = true
		sum := f.Content.SHA256()
		in.writes = append(in.writes, plannedWrite{
			entry: FileEntry{
				Key: key, App: f.App, Format: f.Format, Rows: f.Rows, Measures: maps.Clone(f.Measures), Columns: f.Columns, Bytes: f.Content.Size(),
				SHA256: hex.EncodeToString(sum[:]), ContentType: f.Format.ContentType(),
			},
			content: f.Content,
			md5:     f.Content.MD5(),
		})
	}
	for _, c := range req.Checks {
		if err := usage.ValidCheck(c); err != nil {
			return nil, fmt.Errorf("commit %s: %w", dir, err)
		}
		if c.App != "" && !in.scope[c.App] {
			return nil, fmt.Errorf("commit %s: check %s names app %q, which the delivery does not cover", dir, c.Name, c.App)
		}
	}
	return in, nil
}

// readState reads the previous manifest and the partition's listing, and from the listing (COS
// lists with strong consistency, like a HEAD) which objects a plan could keep are in place with
// their recorded size: one LIST request per thousand objects instead of a HEAD per object, which
// matters for a day of thousands of apps.
func readState(ctx context.Context, store Store, in *commitInput, log *slog.Logger) (*commitState, error) {
	st := &commitState{present: map[string]bool{}}
	var err error
	if st.prev, st.prevExists, err = readPrevious(ctx, store, in.manifestKey, log); err != nil {
		return nil, err
	}
	if st.listing, err = store.List(ctx, in.dir); err != nil {
		return nil, err
	}
	sizes := make(map[string]int64, len(st.listing))
	for _, o := range st.listing {
		sizes[o.Key] = o.Size
	}
	for _, e := range presenceChecks(in, st.prev) {
		size, ok := sizes[e.Key]
		st.present[e.Key] = ok && size == e.Bytes
	}
	return st, nil
}

// presenceChecks lists the previous manifest's entries that a plan could keep, so must be checked
// in place: files of this delivery with the same content as before, and with Merge the files of
// the apps to carry over (when their keys follow the layout).
func presenceChecks(in *commitInput, prev *Manifest) []FileEntry {
	if prev == nil {
		return nil
	}
	var out []FileEntry
	prevByKey := entriesByKey(prev)
	for _, w := range in.writes {
		if p, ok := prevByKey[w.entry.Key]; ok && sameContent(p, w.entry) {
			out = append(out, p)
		}
	}
	if in.req.Merge {
		byApp := entriesByApp(prev)
		for _, app := range carryCandidates(in, prev) {
			if layoutSound(in.dir, app, byApp[app]) {
				out = append(out, byApp[app]...)
			}
		}
	}
	return out
}

// planCommit decides a commit from its input and the partition's state: which files are
// unchanged, written, carried over or stale, which apps are pending, the new manifest, and the
// interim manifest that protects readers while data changes. It touches no store.
func planCommit(in *commitInput, st *commitState) *commitPlan {
	p := &commitPlan{dir: in.dir, manifestKey: in.manifestKey, guard: in.req.Guard}
	var final []FileEntry
	prevByKey := entriesByKey(st.prev)
	for _, w := range in.writes {
		if prev, ok := prevByKey[w.entry.Key]; ok && sameContent(prev, w.entry) {
			if st.present[w.entry.Key] {
				w.entry.Unchanged = true
				final = append(final, w.entry)
				p.unchanged = append(p.unchanged, w.entry.Key)
				continue
			}
			p.rewritten = append(p.rewritten, w.entry.Key)
		}
		p.write = append(p.write, w)
		final = append(final, w.entry)
	}
	meta := newAppMeta(in)
	pending := map[string]bool{}
	if in.req.Merge && st.prev != nil {
		final = append(final, p.carry(in, st, meta, pending)...)
	}
	p.stale = staleKeys(in, st.listing, final)
	for _, a := range pendingApps(in, st.prev, meta.covered) {
		pending[a] = true
	}
	p.manifest = buildManifest(in, final, meta, pending)
	p.restatement(in, st, final, pending)
	touched := map[string]bool{}
	for _, w := range p.write {
		touched[w.entry.Key] = true
	}
	for _, k := range p.stale {
		touched[k] = true
	}
	if st.prevExists && len(touched) > 0 {
		if st.prev == nil {
			p.removePrev = true
		} else {
			p.interim = interimManifest(st.prev, touched, in.req.GeneratedAt)
		}
	}
	if st.prev != nil && len(p.write) == 0 && len(p.stale) == 0 && p.interim == nil && sameDelivery(st.prev, p.manifest) {
		p.keep, p.manifest = true, st.prev
	}
	return p
}

// restatement records in the new manifest what the delivery changes of what the previous one
// listed (see diffDelivery): the day's changes so far plus this one, and the entries still being
// replaced for apps pending again.
func (p *commitPlan) restatement(in *commitInput, st *commitState, final []FileEntry, pending map[string]bool) {
	if st.prev == nil {
		return
	}
	before := beforeEntries(st.prev)
	written := make([]FileEntry, len(p.write))
	for i, w := range p.write {
		written[i] = w.entry
	}
	p.manifest.Changes = slices.Clone(st.prev.Changes)
	p.changesDir = in.changesDir
	if c := diffDelivery(before, written, final, pending); c != nil {
		c.Seq, c.GeneratedAt = nextSeq(st.prev), in.req.GeneratedAt.UTC()
		c.Key = changeKeyIn(in.changesDir, in.req.Day, c.Seq)
		p.manifest.Changes = append(p.manifest.Changes, *c)
		p.change = &p.manifest.Changes[len(p.manifest.Changes)-1]
	}
	listed := map[string]bool{}
	for _, e := range final {
		listed[e.Key] = true
	}
	for _, k := range slices.Sorted(maps.Keys(before)) {
		if e := before[k]; pending[e.App] && !listed[k] {
			p.manifest.Replacing = append(p.manifest.Replacing, e)
		}
	}
}

// beforeEntries are the files a delivery replaces, by key: the previous manifest's, and those an
// interrupted delivery was replacing (Replacing).
func beforeEntries(prev *Manifest) map[string]FileEntry {
	out := entriesByKey(prev)
	for _, e := range prev.Replacing {
		if _, ok := out[e.Key]; !ok {
			out[e.Key] = e
		}
	}
	return out
}

// changeRecord is the change log object of the plan's change.
func (p *commitPlan) changeRecord() ChangeRecord {
	m := p.manifest
	return ChangeRecord{SchemaVersion: ManifestSchemaVersion, Dataset: m.Dataset, DatasetVersion: m.DatasetVersion, Date: m.Date, Manifest: p.manifestKey, Change: *p.change}
}

// setChange replaces the plan's change (an interrupted delivery's record of it, or another seq).
func (p *commitPlan) setChange(c Change) { *p.change = c }

// sameDelivery reports whether next describes what prev does, but for when and by which requests
// it was fetched: the same files with the same content, apps, status, checks, changes and
// provenance. Such a delivery changes nothing, so writes nothing.
func sameDelivery(prev, next *Manifest) bool {
	norm := func(m *Manifest) []byte {
		c := *m
		c.GeneratedAt, c.FetchedAt, c.RequestIDs, c.AppRequestIDs = time.Time{}, nil, nil, nil
		c.Files = slices.Clone(m.Files)
		for i := range c.Files {
			c.Files[i].Unchanged = false
		}
		b, err := c.Encode()
		if err != nil {
			return nil
		}
		return b
	}
	a, b := norm(prev), norm(next)
	return a != nil && bytes.Equal(a, b)
}

// carry keeps the files of the previous manifest's other apps whose files are all in place; an
// app with missing or altered files becomes pending. It returns the carried entries.
func (p *commitPlan) carry(in *commitInput, st *commitState, meta *appMeta, pending map[string]bool) []FileEntry {
	var out []FileEntry
	byApp := entriesByApp(st.prev)
	for _, app := range carryCandidates(in, st.prev) {
		sound := layoutSound(in.dir, app, byApp[app])
		for _, e := range byApp[app] {
			sound = sound && st.present[e.Key]
		}
		if !sound {
			p.lostApps = append(p.lostApps, app)
			pending[app] = true
			continue
		}
		meta.carryFrom(st.prev, app)
		for _, e := range byApp[app] {
			e.Unchanged = true
			out = append(out, e)
			p.carried = append(p.carried, e.Key)
		}
	}
	return out
}

// carryCandidates are the previous manifest's apps that a Merge keeps unless their files are
// gone: not replaced by this delivery, valid, and still expected.
func carryCandidates(in *commitInput, prev *Manifest) []string {
	var out []string
	expected := setOf(in.req.ExpectedApps)
	for _, app := range prev.Apps {
		if in.scope[app] || ValidApp(app) != nil || len(expected) > 0 && !expected[app] {
			continue // replaced, invalid, or no longer expected (its files become stale)
		}
		out = append(out, app)
	}
	return out
}

// layoutSound reports whether every entry of app has the key the layout gives it.
func layoutSound(dir, app string, entries []FileEntry) bool {
	for _, e := range entries {
		if want, err := dataKeyIn(dir, app, e.Format); err != nil || want != e.Key {
			return false
		}
	}
	return true
}

// staleKeys lists the data objects (the app=<id>/ layout) in the partition that the new manifest
// does not list; with Merge only those of the apps being replaced or no longer expected.
func staleKeys(in *commitInput, listing []ObjectInfo, final []FileEntry) []string {
	keep := map[string]bool{}
	for _, e := range final {
		keep[e.Key] = true
	}
	expected := setOf(in.req.ExpectedApps)
	var stale []string
	for _, o := range listing {
		app, ok := appOfDataKey(in.dir, o.Key)
		if !ok || keep[o.Key] {
			continue
		}
		if in.req.Merge && !in.scope[app] && (len(expected) == 0 || expected[app]) {
			continue
		}
		stale = append(stale, o.Key)
	}
	return stale
}

// pendingApps are the apps still missing from the partition: expected apps not covered or, when
// merging without an expected list, the previous manifest's pending apps not covered now.
func pendingApps(in *commitInput, prev *Manifest, covered map[string]bool) []string {
	var out []string
	switch {
	case len(in.req.ExpectedApps) > 0:
		for _, a := range in.req.ExpectedApps {
			if !covered[a] {
				out = append(out, a)
			}
		}
	case in.req.Merge && prev != nil:
		for _, a := range prev.AppsPending {
			if !covered[a] && ValidApp(a) == nil {
				out = append(out, a)
			}
		}
	}
	return out
}

// appMeta is the per-app provenance of the new manifest: the apps covered and, per app, when it
// was fetched, its request IDs and the action used.
type appMeta struct {
	covered    map[string]bool
	fetchedAt  map[string]time.Time
	requestIDs map[string][]string
	actions    map[string]string
	details    map[string]string // carried per-app source details ("<name>/<app>")
	windows    map[string]appWindow
	checks     []usage.Check // carried apps' checks
}

// newAppMeta takes the provenance of the apps this delivery covers from the request.
func newAppMeta(in *commitInput) *appMeta {
	m := &appMeta{covered: maps.Clone(in.scope), fetchedAt: map[string]time.Time{}, requestIDs: map[string][]string{}, actions: map[string]string{},
		windows: requestWindows(in)}
	for a := range in.scope {
		if t, ok := in.req.FetchedAt[a]; ok {
			m.fetchedAt[a] = t.UTC()
		}
		if ids, ok := in.req.AppRequestIDs[a]; ok {
			m.requestIDs[a] = slices.Clone(ids)
		}
		if act, ok := in.req.AppActions[a]; ok {
			m.actions[a] = act
		}
	}
	return m
}

// carryFrom marks app covered, keeping its provenance from the previous manifest.
func (m *appMeta) carryFrom(prev *Manifest, app string) {
	m.covered[app] = true
	if t, ok := prev.FetchedAt[app]; ok {
		m.fetchedAt[app] = t
	}
	if ids, ok := prev.AppRequestIDs[app]; ok {
		m.requestIDs[app] = ids
	}
	if act, ok := prev.AppActions[app]; ok {
		m.actions[app] = act
	}
	if w, ok := windowOf(prev, app); ok {
		m.windows[app] = w
	}
	for _, c := range prev.Checks {
		if c.App == app {
			m.checks = append(m.checks, c)
		}
	}
	for k, v := range prev.Origin.Details {
		if strings.HasSuffix(k, "/"+app) {
			if m.details == nil {
				m.details = map[string]string{}
			}
			m.details[k] = v
		}
	}
}

// buildManifest assembles the new manifest; its request IDs are the union over all apps when the
// request gives them per app.
func buildManifest(in *commitInput, final []FileEntry, meta *appMeta, pending map[string]bool) *Manifest {
	req := in.req
	status := StatusComplete
	if len(pending) > 0 {
		status = StatusPartial
	}
	slices.SortFunc(final, func(a, b FileEntry) int { return strings.Compare(a.Key, b.Key) })
	m := &Manifest{
		SchemaVersion: ManifestSchemaVersion, Dataset: req.Dataset, DatasetVersion: Version(req.Dataset), Date: req.Day,
		Origin: req.Origin, Window: req.Window, GeneratedAt: req.GeneratedAt.UTC(), Status: status,
		AppsPending: sortedKeys(pending), Apps: nonNil(sortedKeys(meta.covered)), Files: final,
		RequestIDs: nonNil(req.RequestIDs), Totals: req.Totals, WindowsSent: windowsSent(meta.windows),
	}
	if m.Files == nil {
		m.Files = []FileEntry{}
	}
	if len(meta.details) > 0 {
		m.Origin.Details = maps.Clone(req.Origin.Details)
		if m.Origin.Details == nil {
			m.Origin.Details = map[string]string{}
		}
		for k, v := range meta.details {
			if _, ok := m.Origin.Details[k]; !ok {
				m.Origin.Details[k] = v
			}
		}
	}
	m.Checks = append(slices.Clone(req.Checks), meta.checks...)
	slices.SortStableFunc(m.Checks, func(a, b usage.Check) int { return strings.Compare(a.App, b.App) })
	m.Quality = usage.Worst(m.Checks)
	if len(meta.fetchedAt) > 0 {
		m.FetchedAt = meta.fetchedAt
	}
	if len(meta.actions) > 0 {
		m.AppActions = meta.actions
	}
	if len(meta.requestIDs) > 0 {
		m.AppRequestIDs = meta.requestIDs
		var all []string
		for _, ids := range meta.requestIDs {
			all = append(all, ids...)
		}
		slices.Sort(all)
		m.RequestIDs = slices.Compact(all)
	}
	return m
}

// interimManifest is prev without the files in touched, their apps moved to apps_pending and the
// status partial; nil when prev lists none of them (it can stay).
func interimManifest(prev *Manifest, touched map[string]bool, now time.Time) *Manifest {
	interim := *prev
	interim.Files = []FileEntry{}
	lost := map[string]bool{}
	for _, e := range prev.Files {
		if touched[e.Key] {
			lost[e.App] = true
			continue
		}
		interim.Files = append(interim.Files, e)
	}
	if len(lost) == 0 {
		return nil
	}
	pending := map[string]bool{}
	for _, a := range prev.AppsPending {
		pending[a] = true
	}
	var apps []string
	for _, a := range prev.Apps {
		if !lost[a] {
			apps = append(apps, a)
		}
	}
	for a := range lost {
		pending[a] = true
	}
	for _, e := range prev.Files {
		if touched[e.Key] && !slices.ContainsFunc(prev.Replacing, func(r FileEntry) bool { return r.Key == e.Key }) {
			interim.Replacing = append(slices.Clip(interim.Replacing), e)
		}
	}
	interim.Checks = slices.DeleteFunc(slices.Clone(prev.Checks), func(c usage.Check) bool { return lost[c.App] })
	interim.Quality = usage.Worst(interim.Checks)
	interim.FetchedAt = withoutApps(prev.FetchedAt, lost)
	interim.AppRequestIDs = withoutApps(prev.AppRequestIDs, lost)
	interim.AppActions = withoutApps(prev.AppActions, lost)
	interim.Apps = nonNil(apps)
	interim.AppsPending = sortedKeys(pending)
	interim.Status = StatusPartial
	interim.GeneratedAt = now.UTC()
	return &interim
}

// withoutApps returns a copy of m without the apps in lost (nil stays nil).
func withoutApps[V any](m map[string]V, lost map[string]bool) map[string]V {
	if len(m) == 0 {
		return m
	}
	out := maps.Clone(m)
	for a := range lost {
		delete(out, a)
	}
	return out
}

func entriesByKey(m *Manifest) map[string]FileEntry {
	out := map[string]FileEntry{}
	if m != nil {
		for _, e := range m.Files {
			out[e.Key] = e
		}
	}
	return out
}

func entriesByApp(m *Manifest) map[string][]FileEntry {
	out := map[string][]FileEntry{}
	for _, e := range m.Files {
		out[e.App] = append(out[e.App], e)
	}
	return out
}

func sameContent(a, b FileEntry) bool { return a.SHA256 == b.SHA256 && a.Bytes == b.Bytes }
