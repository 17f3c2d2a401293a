package report

import (
	"bytes"
	"cmp"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// memStore is an in-memory snapshot.Store that records content types and counts reads. With
// tagged set, it gives entity tags as COS does for an object put whole (the body's MD5), and
// counts HEADs.
type memStore struct {
	mu     sync.Mutex
	objs   map[string][]byte
	types  map[string]string
	gets   map[string]int
	heads  int
	tagged bool
	tags   map[string]string // computed when put, as COS does
	// headDenied refuses HEADs outside the reports, as a run role without HeadObject there.
	headDenied bool
}

// info describes the object under key; s.mu is held.
func (s *memStore) info(key string) snapshot.ObjectInfo {
	o := snapshot.ObjectInfo{Key: key, Size: int64(len(s.objs[key]))}
	if s.tagged {
		if _, ok := s.tags[key]; !ok {
			sum := md5.Sum(s.objs[key])
			s.tags[key] = hex.EncodeToString(sum[:])
		}
		o.ETag = s.tags[key]
	}
	return o
}

func newMemStore() *memStore {
	return &memStore{objs: map[string][]byte{}, types: map[string]string{}, gets: map[string]int{}, tags: map[string]string{}}
}

func (s *memStore) Put(_ context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if err := snapshot.ValidKey(key); err != nil {
		return err
	}
	if _, err := body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[key]; ok && o.IfAbsent {
		return fmt.Errorf("put %s: %w", key, fs.ErrExist)
	}
	s.objs[key], s.types[key] = b, o.ContentType
	delete(s.tags, key)
	return nil
}

func (s *memStore) Get(_ context.Context, key string) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs[key]
	if !ok {
		return nil, fmt.Errorf("get %s: %w", key, fs.ErrNotExist)
	}
	s.gets[key]++
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (s *memStore) Head(_ context.Context, key string) (snapshot.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.headDenied && !strings.Contains(key, "/"+ReportsDir+"/") {
		return snapshot.ObjectInfo{}, fmt.Errorf("head %s: 403 AccessDenied", key)
	}
	if _, ok := s.objs[key]; !ok {
		return snapshot.ObjectInfo{}, fmt.Errorf("head %s: %w", key, fs.ErrNotExist)
	}
	s.heads++
	return s.info(key), nil
}

func (s *memStore) List(_ context.Context, prefix string) ([]snapshot.ObjectInfo, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []snapshot.ObjectInfo
	for k := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, s.info(k))
		}
	}
	slices.SortFunc(out, func(a, b snapshot.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

func (s *memStore) Delete(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
	delete(s.tags, key)
	return nil
}

// deletePrefix removes every object under prefix, as if that partition had never been written.
func (s *memStore) deletePrefix(t *testing.T, prefix string) {
	t.Helper()
	objs, err := s.List(context.Background(), prefix)
	if err != nil || len(objs) == 0 {
		t.Fatalf("nothing under %s (%v)", prefix, err)
	}
	for _, o := range objs {
		if err := s.Delete(context.Background(), o.Key); err != nil {
			t.Fatal(err)
		}
	}
}

func (s *memStore) object(t *testing.T, key string) string {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.objs[key]
	if !ok {
		t.Fatalf("no object %s", key)
	}
	return string(b)
}

// dayData is one dataset's day in a fixture: JSON Lines rows per app (or CSV text for apps
// in csv), and the apps still pending.
type dayData struct {
	rows    map[string][]string
	csv     map[string]string
	columns []string
	pending []string
	// version, when set, writes the partition under that dataset version instead of the current.
	version string
	// checks and changes go into the manifest as the commit would record them.
	checks  []usage.Check
	changes []snapshot.Change
	// measures, per app, go into the app's file entries (as the commit's tally records them).
	measures map[string]map[string]float64
}

// putDay writes a partition and its manifest the way the commit protocol leaves them.
func putDay(t testing.TB, st snapshot.Store, prefix, dataset, date string, d dayData) {
	t.Helper()
	ctx := context.Background()
	m := &snapshot.Manifest{
		SchemaVersion: snapshot.ManifestSchemaVersion, Dataset: dataset, DatasetVersion: cmp.Or(d.version, snapshot.Version(dataset)),
		Date: day(date), Origin: snapshot.Origin{Service: "svc", Action: "Describe" + dataset, APIVersion: "2020-01-01"},
		GeneratedAt: time.Date(2026, 3, 11, 1, 0, 0, 0, time.UTC), Status: snapshot.StatusComplete,
		AppsPending: d.pending, RequestIDs: []string{"req"}, Checks: d.checks, Changes: d.changes,
	}
	if len(d.pending) > 0 {
		m.Status = snapshot.StatusPartial
	}
	add := func(app string, f usage.Format, body string, rows int64) {
		dir, err := snapshot.PartitionDirAt(prefix, dataset, m.DatasetVersion, day(date))
		if err != nil {
			t.Fatal(err)
		}
		key := dir + "app=" + app + "/part-00000." + f.Ext()
		if err := st.Put(ctx, key, strings.NewReader(body), snapshot.PutOptions{ContentType: f.ContentType()}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		m.Files = append(m.Files, snapshot.FileEntry{Key: key, App: app, Format: f, Rows: rows, Columns: d.columns,
			Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), ContentType: f.ContentType(), Measures: d.measures[app]})
	}
	for app, rows := range d.rows {
		m.Apps = append(m.Apps, app)
		body := strings.Join(rows, "\n")
		if body != "" {
			body += "\n"
		}
		add(app, usage.JSONL, body, int64(len(rows)))
	}
	for app, text := range d.csv {
		m.Apps = append(m.Apps, app)
		add(app, usage.CSV, text, int64(strings.Count(text, "\n")-1))
	}
	slices.Sort(m.Apps)
	slices.SortFunc(m.Files, func(a, b snapshot.FileEntry) int { return strings.Compare(a.Key, b.Key) })
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := snapshot.ManifestKeyAt(prefix, dataset, m.DatasetVersion, day(date))
	if err := st.Put(ctx, key, bytes.NewReader(b), snapshot.PutOptions{ContentType: "application/json"}); err != nil {
		t.Fatal(err)
	}
}

// day parses a fixture's day.
func day(s string) calendar.Day {
	d, err := calendar.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// addDays moves a fixture's day by n days.
func addDays(date string, n int) string { return day(date).Add(n).String() }
