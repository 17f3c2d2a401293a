package query

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// Why a day is fetched live.
const (
	reasonFresh      = "fresh=true"
	reasonSave       = "save=true"
	reasonNoSnapshot = "no snapshot"
	reasonTampered   = "a stored file did not match its manifest"
)

// dayPlan is one day of a query and where its rows come from: the files of its snapshot, or a
// live fetch.
type dayPlan struct {
	date calendar.Day
	// manifest is what the answer uses of the day's manifest, of the newest dataset version that
	// has one (nil: none).
	manifest *dayManifest
	// files are, for a day read from its snapshot, the file read for each app, in the query's
	// app order.
	files []storedFile
	// live is set when the day is fetched from the API, and reason says why.
	live   bool
	reason string
	// answers are a live day's app-days once fetched, in the query's app order.
	answers export.Answers
}

// DaySource tells where one day of an answer came from.
type DaySource struct {
	Date calendar.Day `json:"date"`
	// Source is "snapshot" (the stored files, checked against the manifest) or "live" (the API).
	Source string `json:"source"`
	// GeneratedAt, DatasetVersion and Status are the snapshot's manifest's.
	GeneratedAt    *time.Time `json:"generated_at,omitempty"`
	DatasetVersion string     `json:"dataset_version,omitempty"`
	Status         string     `json:"status,omitempty"`
	// Reason says why a day was fetched live.
	Reason string `json:"reason,omitempty"`
}

// Day sources.
const (
	SourceSnapshot = "snapshot"
	SourceLive     = "live"
)

func (d *dayPlan) source() DaySource {
	if d.live {
		return DaySource{Date: d.date, Source: SourceLive, Reason: d.reason}
	}
	at := d.manifest.GeneratedAt.UTC()
	return DaySource{Date: d.date, Source: SourceSnapshot, GeneratedAt: &at, DatasetVersion: d.manifest.DatasetVersion, Status: d.manifest.Status}
}

// version is the dataset version of the day's rows: its manifest's, or the current one for a
// live day.
func (d *dayPlan) version(current string) string {
	if d.live || d.manifest == nil {
		return current
	}
	return d.manifest.DatasetVersion
}

// planDays reads the manifest of every day of q and decides where each day's rows come from: its
// snapshot when the manifest lists every app asked for as delivered (complete, or partial with
// other apps pending) and holds a file each in a format of prefer; otherwise the API. A store
// failure is an error (wrapping export.ErrStore).
func (h *Handler) planDays(ctx context.Context, q Query, prefer []usage.Format) ([]*dayPlan, error) {
	days := calendar.Days(q.From, q.To)
	out := make([]*dayPlan, len(days))
	for i, date := range days {
		out[i] = &dayPlan{date: date}
		if q.Live() {
			out[i].live, out[i].reason = true, reasonFresh
			if q.Save {
				out[i].reason = reasonSave
			}
		}
	}
	if q.Live() {
		return out, nil
	}
	// A manifest of hundreds of apps takes a megabyte or two while it is decoded: a few at once.
	err := forEach(ctx, len(days), min(h.readers(), manifestReaders), func(ctx context.Context, i int) error {
		return h.planDay(ctx, q, prefer, out[i])
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// manifestReaders is how many manifests a query reads at once.
const manifestReaders = 8

func (h *Handler) planDay(ctx context.Context, q Query, prefer []usage.Format, d *dayPlan) error {
	r := h.Runner
	m, err := findManifest(ctx, r.Store, r.Prefix, r.Dataset(), d.date)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.live, d.reason = true, reasonNoSnapshot
		return nil
	case errors.Is(err, snapshot.ErrBadManifest):
		h.logger().WarnContext(ctx, "manifest unreadable; the day is fetched live", "date", d.date, "error", err)
		d.live, d.reason = true, "manifest unreadable"
		return nil
	case err != nil:
		return fmt.Errorf("%w: %w", export.ErrStore, err)
	}
	d.manifest = m
	if m.Dataset != r.Dataset() || m.Date != d.date {
		d.live, d.reason = true, "manifest names another partition"
		return nil
	}
	for _, app := range q.Apps {
		switch {
		case slices.Contains(m.AppsPending, app):
			d.live, d.reason = true, fmt.Sprintf("app %s pending in the snapshot", app)
		case !slices.Contains(m.Apps, app):
			d.live, d.reason = true, fmt.Sprintf("app %s not in the snapshot", app)
		}
		if d.live {
			d.files = nil
			return nil
		}
		f, why := pickFile(r.Prefix, m, app, prefer, r.Source.Schema())
		if why != "" {
			d.live, d.reason, d.files = true, why, nil
			return nil
		}
		d.files = append(d.files, f)
	}
	shareColumns(d.files)
	// Only what the answer needs is kept: a year of days of hundreds of apps must fit.
	m.Apps, m.AppsPending, m.Files = nil, nil, nil
	return nil
}

// storedFile is a file a manifest lists, as a query keeps it: its key follows from the day's
// version, the app and the format (checked when it is picked).
type storedFile struct {
	app     string
	format  usage.Format
	bytes   int64
	sha256  [sha256.Size]byte
	columns []string
	// rows and sums are the manifest's count of the file's rows and its sums of the schema's
	// measures (in the order of Schema.Measures), when they are exact (see manifestSums); sums
	// is nil otherwise, and a grouped answer reads the file.
	rows int64
	sums []int64
}

// entry is the manifest entry the file is checked against as it is read.
func (f *storedFile) entry(prefix, dataset, version string, day calendar.Day) (snapshot.FileEntry, error) {
	key, err := snapshot.DataKeyAt(prefix, dataset, version, day, f.app, f.format)
	return snapshot.FileEntry{Key: key, App: f.app, Format: f.format, Bytes: f.bytes, SHA256: hex.EncodeToString(f.sha256[:]), Columns: f.columns}, err
}

// pickFile returns the file of app in the first format of prefer the manifest lists, or why the
// day is fetched live instead.
func pickFile(prefix string, m *dayManifest, app string, prefer []usage.Format, s usage.Schema) (storedFile, string) {
	for _, format := range prefer {
		for _, e := range m.Files {
			if e.App != app || e.Format != format {
				continue
			}
			want, err := snapshot.DataKeyAt(prefix, m.Dataset, m.DatasetVersion, m.Date, app, format)
			sum, herr := hex.DecodeString(e.SHA256)
			if err != nil || want != e.Key || herr != nil || len(sum) != sha256.Size {
				return storedFile{}, "the manifest lists a file that is not where the layout puts it"
			}
			f := storedFile{app: app, format: format, bytes: e.Bytes, columns: e.Columns, rows: e.Rows}
			f.sums = manifestSums(s, m.DatasetVersion, e)
			copy(f.sha256[:], sum)
			return f, ""
		}
	}
	return storedFile{}, "no JSON Lines or CSV file stored (TCUSAGE_FORMAT): rows are read from those, groups from Parquet too"
}

// maxExactSum bounds the sums manifestSums takes: an integer sum below it survives the
// manifest's float64 (and the tally's millionths, below 2^63) unchanged.
const maxExactSum = 1e12

// manifestSums returns the sums of the schema's measures that the manifest entry e records for
// its file, when they are exactly what reading the file would add up: every measure column of the
// file is an integer column of the schema with a recorded integral sum below maxExactSum.
// Otherwise (decimal figures, which the tally keeps to a millionth; a manifest written before
// columns or sums were recorded) it returns nil.
func manifestSums(s usage.Schema, version string, e snapshot.FileEntry) []int64 {
	if len(e.Columns) == 0 || e.Rows < 0 {
		return nil
	}
	measures := s.Measures()
	out := make([]int64, len(measures))
	for _, c := range e.Columns {
		name := usage.CurrentColumn(s.Dataset, version, c)
		if !s.IsMeasure(name) {
			continue
		}
		i := slices.Index(measures, name) // -1: a further column of an open schema (decimal)
		types, err := s.ColumnTypes([]string{name})
		v, ok := e.Measures[c]
		if i < 0 || err != nil || types[0] != usage.TypeInt64 || !ok || v != math.Trunc(v) || math.Abs(v) >= maxExactSum {
			return nil
		}
		out[i] = int64(v)
	}
	return out
}

// dayManifest is what a query reads of a manifest (snapshot.Manifest): the provenance and request
// IDs it does not use are skipped while decoding.
type dayManifest struct {
	SchemaVersion  int                  `json:"schema_version"`
	Dataset        string               `json:"dataset"`
	DatasetVersion string               `json:"dataset_version"`
	Date           calendar.Day         `json:"date"`
	GeneratedAt    time.Time            `json:"generated_at"`
	Status         string               `json:"status"`
	AppsPending    []string             `json:"apps_pending"`
	Apps           []string             `json:"apps"`
	Files          []snapshot.FileEntry `json:"files"`
}

// findManifest reads a day's manifest of the newest dataset version that has one, as
// snapshot.FindManifest does; none is an error wrapping fs.ErrNotExist, an undecodable one
// snapshot.ErrBadManifest.
func findManifest(ctx context.Context, store snapshot.Store, prefix, dataset string, day calendar.Day) (*dayManifest, error) {
	return snapshot.NewestManifest(prefix, dataset, day, func(key string) (*dayManifest, error) {
		rc, err := store.Get(ctx, key)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err != nil {
			return nil, fmt.Errorf("read manifest: %w", err)
		}
		defer rc.Close()
		var m dayManifest
		switch err := json.NewDecoder(rc).Decode(&m); {
		case err != nil:
			return nil, fmt.Errorf("%s: %w: %v", key, snapshot.ErrBadManifest, err)
		case m.SchemaVersion != snapshot.ManifestSchemaVersion:
			return nil, fmt.Errorf("%s: %w: schema_version %d, want %d", key, snapshot.ErrBadManifest, m.SchemaVersion, snapshot.ManifestSchemaVersion)
		}
		return &m, nil
	})
}

// liveDays returns the days fetched live.
func liveDays(days []*dayPlan) []*dayPlan {
	var out []*dayPlan
	for _, d := range days {
		if d.live {
			out = append(out, d)
		}
	}
	return out
}

// checkLive refuses a query whose live days cannot be fetched: more than plan.MaxDays of them,
// one before the API's first day (400 InvalidParameter), or more app-days than the API's pace
// allows before the function's timeout (400 RangeTooLarge).
func (h *Handler) checkLive(ctx context.Context, q Query, days []*dayPlan) *httpAnswer {
	live := liveDays(days)
	if len(live) == 0 {
		return nil
	}
	fromField, toField := "from", "to"
	if q.From == q.To {
		fromField, toField = "date", "date"
	}
	if n := len(live); n > plan.MaxDays {
		return invalid(&plan.InputError{Field: toField, Problem: fmt.Sprintf(
			"%d of the %d days asked for have no complete snapshot (%s) and would be fetched from the API, at most %d per query: ask for fewer days, or fill them first with tcusage backfill",
			n, len(days), dayRange(live), plan.MaxDays)})
	}
	lim := h.Runner.Limits()
	if first := live[0].date; !lim.Earliest.IsZero() && first.Before(lim.Earliest) {
		return invalid(&plan.InputError{Field: fromField, Problem: fmt.Sprintf(
			"%s has no complete snapshot and is before %s, the earliest day this API serves", first, lim.Earliest)})
	}
	toFetch := 0
	for _, d := range live {
		if d.answers == nil {
			toFetch++
		}
	}
	return h.checkTime(ctx, toFetch*len(q.Apps))
}

// dayRange names days briefly: one, a few, or the first and last.
func dayRange(days []*dayPlan) string {
	names := make([]string, 0, 3)
	for _, d := range days {
		if len(names) == 3 {
			return fmt.Sprintf("%s..%s", days[0].date, days[len(days)-1].date)
		}
		names = append(names, d.date.String())
	}
	return strings.Join(names, ", ")
}

// shareColumns makes files with the same columns share one list.
func shareColumns(files []storedFile) {
	lists := map[string][]string{}
	for i := range files {
		f := &files[i]
		k := strings.Join(f.columns, ",")
		if l, ok := lists[k]; ok {
			f.columns = l
		} else {
			lists[k] = f.columns
		}
	}
}
