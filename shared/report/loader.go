package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// loader reads days from the store: manifests, and figures that reuse a stored summary.json
// while its fingerprint matches the manifest. It remembers the summaries it had to compute, so
// that Publish can store them for the next run.
type loader struct {
	store   snapshot.Store
	prefix  string
	workers int

	mu       sync.Mutex
	computed map[string]*Summary
	tags     map[string]string // "<date>/<dataset>": the manifest's tag, taken before reading it
}

func newLoader(store snapshot.Store, prefix string, workers int) *loader {
	return &loader{store: store, prefix: prefix, workers: workers, computed: map[string]*Summary{}, tags: map[string]string{}}
}

// manifests reads the day's manifest of every dataset, of its newest version that has one (a day
// delivered before a dataset's version changed keeps its older one); datasets without one are
// absent.
func (l *loader) manifests(ctx context.Context, date calendar.Day) (map[string]*snapshot.Manifest, error) {
	return l.read(ctx, date, false)
}

// pageManifests is manifests for the day a page is rendered of: it also remembers each
// manifest's tag, taken before the manifest is read (so that a manifest replaced meanwhile
// leaves a tag that no longer matches, never the other way round), which stamp records in the
// page's summary.
func (l *loader) pageManifests(ctx context.Context, date calendar.Day) (map[string]*snapshot.Manifest, error) {
	return l.read(ctx, date, true)
}

func (l *loader) read(ctx context.Context, date calendar.Day, tags bool) (map[string]*snapshot.Manifest, error) {
	out := map[string]*snapshot.Manifest{}
	for _, ds := range Datasets() {
		var tag string
		if tags {
			// No tag when the HEAD fails (none yet, or a role that may not): the read decides.
			tag, _ = snapshot.ManifestTag(ctx, l.store, l.prefix, ds, date)
		}
		m, err := snapshot.FindManifest(ctx, l.store, l.prefix, ds, date)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("report %s: %w", date, err)
		}
		out[ds] = m
		if tag != "" {
			l.mu.Lock()
			l.tags[date.String()+"/"+ds] = tag
			l.mu.Unlock()
		}
	}
	return out, nil
}

// stamp records in s the tags of the manifests its datasets' figures were read from.
func (l *loader) stamp(s *Summary) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s.Manifests = nil
	for _, f := range s.Datasets {
		if tag := l.tags[s.Date+"/"+f.Dataset]; tag != "" {
			if s.Manifests == nil {
				s.Manifests = map[string]string{}
			}
			s.Manifests[f.Dataset] = tag
		}
	}
}

// stored reads a day's summary.json; a missing or unreadable one is nil (it is only a cache).
func (l *loader) stored(ctx context.Context, date calendar.Day) *Summary {
	key, err := SummaryKey(l.prefix, date)
	if err != nil {
		return nil
	}
	b, err := snapshot.ReadObject(ctx, l.store, key)
	if err != nil {
		return nil
	}
	var s Summary
	if json.NewDecoder(bytes.NewReader(b)).Decode(&s) != nil || s.SchemaVersion != SummaryVersion || s.Date != date.String() {
		return nil
	}
	return &s
}

// storedHead reads the head of a day's summary.json (see Summary): its members before the
// figures, which are not read. Nil when there is none or it does not decode.
func (l *loader) storedHead(ctx context.Context, date calendar.Day) *Summary {
	key, err := SummaryKey(l.prefix, date)
	if err != nil {
		return nil
	}
	rc, err := l.store.Get(ctx, key)
	if err != nil {
		return nil
	}
	defer rc.Close()
	s, err := readHead(json.NewDecoder(rc))
	if err != nil || s.SchemaVersion != SummaryVersion || s.Date != date.String() {
		return nil
	}
	return s
}

// readHead decodes a summary's members until "datasets".
func readHead(dec *json.Decoder) (*Summary, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("summary: not a JSON object (%v)", err)
	}
	s := &Summary{}
	head := map[string]any{"schema_version": &s.SchemaVersion, "date": &s.Date, "rendered": &s.Rendered, "manifests": &s.Manifests}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		if name == "datasets" {
			return s, nil
		}
		v, ok := head[name]
		if !ok {
			v = new(json.RawMessage)
		}
		if err := dec.Decode(v); err != nil {
			return nil, fmt.Errorf("summary: %s: %w", name, err)
		}
	}
	return s, nil
}

// summary returns a day's figures for every dataset with a manifest, from the stored summary
// where it is current and from the data otherwise.
func (l *loader) summary(ctx context.Context, date calendar.Day) (*Summary, error) {
	ms, err := l.manifests(ctx, date)
	if err != nil {
		return nil, err
	}
	cached := l.stored(ctx, date)
	s := &Summary{SchemaVersion: SummaryVersion, Date: date.String()}
	recomputed := false
	for _, ds := range Datasets() {
		m := ms[ds]
		if m == nil {
			continue
		}
		if c := cached.Dataset(ds); c != nil && c.Fingerprint == fingerprint(m) {
			f := *c
			f.Status, f.AppsPending, f.GeneratedAt = m.Status, m.AppsPending, m.GeneratedAt
			s.Datasets = append(s.Datasets, f)
			continue
		}
		f, _, err := figuresOf(ctx, l.store, l.prefix, m, nil)
		if err != nil {
			return nil, err
		}
		if f != nil {
			s.Datasets = append(s.Datasets, *f)
		}
		recomputed = true
	}
	if recomputed {
		l.mu.Lock()
		l.computed[date.String()] = s
		l.mu.Unlock()
	}
	return s, nil
}

// summaries returns the figures of each date, in order, reading a few days at a time.
func (l *loader) summaries(ctx context.Context, dates []calendar.Day) ([]*Summary, error) {
	out := make([]*Summary, len(dates))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(l.workers)
	for i, d := range dates {
		g.Go(func() error {
			s, err := l.summary(ctx, d)
			out[i] = s
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// storedMany reads the stored summaries of dates (nil where there is none), a few at a time.
func (l *loader) storedMany(ctx context.Context, dates []calendar.Day) []*Summary {
	out := make([]*Summary, len(dates))
	var g errgroup.Group
	g.SetLimit(l.workers)
	for i, d := range dates {
		g.Go(func() error {
			out[i] = l.stored(ctx, d)
			return nil
		})
	}
	_ = g.Wait()
	return out
}

// dateRange returns the n days ending with last, oldest first.
func dateRange(last calendar.Day, n int) []calendar.Day {
	if n <= 0 {
		return nil
	}
	return calendar.Days(last.Add(1-n), last)
}
