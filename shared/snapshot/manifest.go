package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/usage"
)

// ManifestSchemaVersion is the schema_version written into every manifest. It changes only when
// a reader would misread the new shape.
const ManifestSchemaVersion = 1

// Partition statuses.
const (
	StatusComplete = "complete" // every expected app is in
	StatusPartial  = "partial"  // some apps are still pending (apps_pending)
)

// Manifest describes one partition: what produced it, which window it covers and which files to
// read. Field order is the JSON order.
type Manifest struct {
	SchemaVersion  int          `json:"schema_version"`
	Dataset        string       `json:"dataset"`
	DatasetVersion string       `json:"dataset_version"`
	Date           calendar.Day `json:"date"`
	Origin         Origin       `json:"source"`
	Window         Window       `json:"window"`
	GeneratedAt    time.Time    `json:"generated_at"`
	Status         string       `json:"status"`
	AppsPending    []string     `json:"apps_pending,omitempty"`
	Apps           []string     `json:"apps"`
	// FetchedAt records when each app's data was fetched from the API. It comes before Files, so
	// that ReadProgress finds a day's progress in the first part of a large manifest.
	FetchedAt map[string]time.Time `json:"fetched_at,omitempty"`
	Files     []FileEntry          `json:"files"`
	// AppActions names, per app, the API action that produced its data (the source's action can
	// differ between apps of a day filled over several runs, e.g. after a fallback).
	AppActions map[string]string `json:"app_actions,omitempty"`
	// AppRequestIDs holds, per app, the API request IDs of its data; RequestIDs is their union.
	AppRequestIDs map[string][]string `json:"app_request_ids,omitempty"`
	RequestIDs    []string            `json:"request_ids"`
	// WindowsSent records, per action, the time window its requests named, exactly as sent, and
	// the readings of the documents it rests on (see SentWindow).
	WindowsSent map[string][]SentWindow `json:"windows_sent,omitempty"`
	// Totals holds optional sums over the partition (e.g. "rows", "minutes").
	Totals map[string]float64 `json:"totals,omitempty"`

	// Quality, checks and restatements (docs/guarantees.md#quality-checks-restatements-and-the-newest-day).

	// Quality is the worst status of Checks: "ok", "warn" or "fail" (usage.CheckOK, ...). A day
	// whose checks failed is still delivered, and marked here. Empty when no check was made
	// (manifests written before checks were recorded).
	Quality string `json:"quality,omitempty"`
	// Checks are the quality checks of the apps' data, made while it was written, per app (in app
	// order); a carried-over app keeps its own.
	Checks []usage.Check `json:"checks,omitempty"`
	// Changes are the day's restatements, oldest first: every delivery that replaced or removed
	// files an earlier manifest listed, with what changed. Each is also in the dataset's change
	// log (Change.Key).
	Changes []Change `json:"changes,omitempty"`
	// Replacing, in a partial manifest only, keeps the entries of files that a delivery is
	// replacing and has not finished (an interim manifest, or apps pending again), so that the
	// delivery completing them still records what changed. Readers ignore it.
	Replacing []FileEntry `json:"replacing,omitempty"`
}

// Origin names the API call that produced the data.
type Origin struct {
	Service    string `json:"service"`
	Action     string `json:"action"`
	APIVersion string `json:"api_version"`
	// Details holds free-form facts, e.g. {"fallback_from": "DescribeTrtcInteractiveTime"}. A
	// key ending in "/<app>" is a fact about that app alone (e.g. "points_outside_day/1400000001":
	// "1"); it stays while the app's files are carried over by a later delivery of other apps.
	Details map[string]string `json:"details,omitempty"`
}

// Window is the time range the partition covers, in the configured zone and in UTC (RFC 3339).
type Window struct {
	TimeZone   string `json:"time_zone"`
	StartLocal string `json:"start_local"`
	EndLocal   string `json:"end_local"`
	StartUTC   string `json:"start_utc"`
	EndUTC     string `json:"end_utc"`
}

// NewWindow describes [start, end) in loc.
func NewWindow(loc *time.Location, start, end time.Time) Window {
	return Window{
		TimeZone:   loc.String(),
		StartLocal: start.In(loc).Format(time.RFC3339),
		EndLocal:   end.In(loc).Format(time.RFC3339),
		StartUTC:   start.UTC().Format(time.RFC3339),
		EndUTC:     end.UTC().Format(time.RFC3339),
	}
}

// FileEntry describes one data file of a partition.
type FileEntry struct {
	Key    string       `json:"key"`
	App    string       `json:"app"`
	Format usage.Format `json:"format"`
	Rows   int64        `json:"rows"`
	// Measures are the sums of the file's measure columns (usage.Column.Measure), computed while
	// it was written; the files of one app in different formats have the same. Restatements
	// compare them without reading a file again.
	Measures map[string]float64 `json:"measures,omitempty"`
	// Columns are the file's columns, in order (JSON keys and the CSV header).
	Columns     []string `json:"columns,omitempty"`
	Bytes       int64    `json:"bytes"`
	SHA256      string   `json:"sha256"`
	ContentType string   `json:"content_type"`
	// Unchanged is true when byte-identical content was already in place and was not rewritten.
	Unchanged bool `json:"unchanged"`
}

// Encode returns the manifest as indented JSON with a final newline.
func (m *Manifest) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return buf.Bytes(), nil
}

// ErrBadManifest is wrapped by errors about a manifest that cannot be decoded.
var ErrBadManifest = errors.New("bad manifest")

// DecodeManifest parses a manifest and checks its schema version.
func DecodeManifest(r io.Reader) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(r)
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadManifest, err)
	}
	if m.SchemaVersion != ManifestSchemaVersion {
		return nil, fmt.Errorf("%w: schema_version %d, want %d", ErrBadManifest, m.SchemaVersion, ManifestSchemaVersion)
	}
	return &m, nil
}

// ReadManifest reads the manifest of one partition of the dataset's current version (the one
// a run writes). A missing manifest is an error wrapping fs.ErrNotExist.
func ReadManifest(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) (*Manifest, error) {
	key, err := ManifestKey(prefix, dataset, day)
	if err != nil {
		return nil, err
	}
	return readManifestKey(ctx, store, key)
}

// ReadProgress reads what one partition's manifest (of the dataset's current version) says of
// its apps' progress: the Manifest with only SchemaVersion, Dataset, Date, GeneratedAt, Status,
// Apps, AppsPending and FetchedAt set. A manifest writes these before its files, so reading
// stops at "files" (the bulk of a manifest of thousands of apps, with the request IDs and checks
// after it): a timer that finds nothing to do, or a status over months, reads a small part of
// each. The part read must decode; the rest is left to the readers that use it (a commit
// reads the whole manifest again). A manifest written before FetchedAt moved up is read whole.
// A missing manifest is an error wrapping fs.ErrNotExist.
func ReadProgress(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) (*Manifest, error) {
	key, err := ManifestKey(prefix, dataset, day)
	if err != nil {
		return nil, err
	}
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer rc.Close()
	m, err := decodeProgress(json.NewDecoder(rc))
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", key, ErrBadManifest, err)
	}
	if m.SchemaVersion != ManifestSchemaVersion {
		return nil, fmt.Errorf("%s: %w: schema_version %d, want %d", key, ErrBadManifest, m.SchemaVersion, ManifestSchemaVersion)
	}
	return m, nil
}

// decodeProgress decodes a manifest's progress fields, member by member, until "files" once
// they are all in (fetched_at before files), or to the end.
func decodeProgress(dec *json.Decoder) (*Manifest, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object (%v)", err)
	}
	m := &Manifest{}
	progress := map[string]any{
		"schema_version": &m.SchemaVersion, "dataset": &m.Dataset, "date": &m.Date, "generated_at": &m.GeneratedAt,
		"status": &m.Status, "apps_pending": &m.AppsPending, "apps": &m.Apps, "fetched_at": &m.FetchedAt,
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		if name == "files" && (m.FetchedAt != nil || len(m.Apps) == 0) {
			return m, nil // the progress is in; the files are not read
		}
		v, ok := progress[name]
		if !ok {
			v = new(json.RawMessage) // another member (or the files of a manifest written before fetched_at moved up)
		}
		if err := dec.Decode(v); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	return m, nil
}

// FindManifest reads a day's manifest of the newest version of the dataset that has one (see
// Versions): what a reader of the day should read. Its DatasetVersion tells which it is. When no
// version has one, the error wraps fs.ErrNotExist.
func FindManifest(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) (*Manifest, error) {
	return NewestManifest(prefix, dataset, day, func(key string) (*Manifest, error) {
		return readManifestKey(ctx, store, key)
	})
}

// NewestManifest calls read with the day's manifest key of each version of dataset, newest first
// (see Versions), until one finds a manifest (returns an error not wrapping fs.ErrNotExist), and
// returns what it returned; when none does, the last error. It is how every reader finds the
// manifest a day's readers should read, whatever it reads of it.
func NewestManifest[T any](prefix, dataset string, day calendar.Day, read func(key string) (T, error)) (T, error) {
	var zero T
	err := fs.ErrNotExist
	for _, v := range Versions(dataset) {
		var key string
		if key, err = ManifestKeyAt(prefix, dataset, v, day); err != nil {
			return zero, err
		}
		out, rerr := read(key)
		if !errors.Is(rerr, fs.ErrNotExist) {
			return out, rerr
		}
		err = rerr
	}
	return zero, err
}

// ManifestTag returns the entity tag of the manifest FindManifest would read: the store's ETag
// of the object, which any change of the manifest changes. A reader that recorded the tag of the
// manifest it used (taken before reading it) knows, when the tag is the same, that it used the
// current one, from one HEAD and without reading it. The tag is empty on a store that has none
// (the file store): compare the manifests then. When no version has one, the error wraps
// fs.ErrNotExist.
func ManifestTag(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) (string, error) {
	return NewestManifest(prefix, dataset, day, func(key string) (string, error) {
		o, err := store.Head(ctx, key)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("manifest tag: %w", err)
		}
		return o.ETag, err
	})
}

func readManifestKey(ctx context.Context, store Store, key string) (*Manifest, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer rc.Close()
	m, err := DecodeManifest(rc)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return m, nil
}

// Delivered returns the apps whose data the manifest lists as delivered: in Apps and not
// pending. A set, so that fleets of thousands of apps are looked up in constant time.
func (m *Manifest) Delivered() map[string]bool {
	out := make(map[string]bool, len(m.Apps))
	for _, a := range m.Apps {
		out[a] = true
	}
	for _, a := range m.AppsPending {
		delete(out, a)
	}
	return out
}

// setOf returns the strings of list as a set.
func setOf(list []string) map[string]bool {
	out := make(map[string]bool, len(list))
	for _, s := range list {
		out[s] = true
	}
	return out
}
