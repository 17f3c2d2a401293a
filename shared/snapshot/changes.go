package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/usage"
)

// A restatement is a delivery that replaces or removes files an earlier manifest of the day
// listed. What it changed is recorded twice: in the manifest (Manifest.Changes, every
// restatement of the day) and in the dataset's change log, one object per restatement, created
// only if absent and never rewritten:
//
//	<prefix>/<dataset>/_changes/<yyyymmdd>-<seq>.json
//
// seq counts the day's restatements from 1 (six digits, so keys sort by it). A delivery that
// changes nothing writes nothing at all, neither data, nor manifest, nor change.

// ChangesDirName is the folder, below a dataset's, that holds its change log.
const ChangesDirName = "_changes"

// Change is one restatement of a day: which files changed and how the measures moved.
type Change struct {
	// Seq numbers the day's restatements from 1.
	Seq int `json:"seq"`
	// Key is the change log object that records it.
	Key string `json:"key"`
	// GeneratedAt is the restating delivery's time (its manifest's generated_at).
	GeneratedAt time.Time `json:"generated_at"`
	// Files are the files replaced (SHA256 set) or removed (SHA256 empty: an app no longer
	// expected), in key order.
	Files []FileChange `json:"files"`
	// Measures are the measure sums that moved: per app, then (App empty) the day's total before
	// the restatement and after it (the total before, plus what the restated apps moved by).
	// Rounded to a millionth. Missing when the replaced files recorded no measures.
	Measures []MeasureChange `json:"measures,omitempty"`
}

// FileChange is one file of a restatement.
type FileChange struct {
	Key            string       `json:"key"`
	App            string       `json:"app"`
	Format         usage.Format `json:"format"`
	PreviousSHA256 string       `json:"previous_sha256"`
	SHA256         string       `json:"sha256,omitempty"`
	RowsBefore     int64        `json:"rows_before"`
	RowsAfter      int64        `json:"rows_after"`
}

// MeasureChange is one measure's sum before and after a restatement, for an app or (App empty)
// for the day.
type MeasureChange struct {
	App     string  `json:"app,omitempty"`
	Measure string  `json:"measure"`
	Before  float64 `json:"before"`
	After   float64 `json:"after"`
}

// ChangeRecord is a change log object: the Change with the partition it belongs to.
type ChangeRecord struct {
	SchemaVersion  int          `json:"schema_version"`
	Dataset        string       `json:"dataset"`
	DatasetVersion string       `json:"dataset_version"`
	Date           calendar.Day `json:"date"`
	// Manifest is the key of the partition's manifest.
	Manifest string `json:"manifest"`
	Change
}

// ChangesDir returns the key prefix, ending in a slash, of a dataset's change log:
// <prefix>/<dataset>/_changes/.
func ChangesDir(prefix, dataset string) (string, error) {
	return DatasetKey(prefix, dataset, ChangesDirName+"/")
}

// ChangeKey returns the key of the day's seq-th restatement in the change log.
func ChangeKey(prefix, dataset string, day calendar.Day, seq int) (string, error) {
	dir, err := ChangesDir(prefix, dataset)
	if err != nil {
		return "", err
	}
	if day.IsZero() || seq < 1 {
		return "", fmt.Errorf("%w: change %d of day %q", ErrInvalidKey, seq, day)
	}
	return changeKeyIn(dir, day, seq), nil
}

func changeKeyIn(dir string, day calendar.Day, seq int) string {
	return fmt.Sprintf("%s%s-%06d.json", dir, strings.ReplaceAll(day.String(), "-", ""), seq)
}

// seqOfChangeKey returns the seq a change log key of day names.
func seqOfChangeKey(dir string, day calendar.Day, key string) (int, bool) {
	rest, ok := strings.CutPrefix(key, dir+strings.ReplaceAll(day.String(), "-", "")+"-")
	if !ok || !strings.HasSuffix(rest, ".json") {
		return 0, false
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, ".json"))
	return n, err == nil && n > 0
}

// ReadChanges returns a dataset's change log, in key order (day, then seq); with day set, only
// that day's.
func ReadChanges(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) ([]ChangeRecord, error) {
	dir, err := ChangesDir(prefix, dataset)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	list := dir
	if !day.IsZero() {
		list += strings.ReplaceAll(day.String(), "-", "") + "-"
	}
	objs, err := store.List(ctx, list)
	if err != nil {
		return nil, fmt.Errorf("read changes: %w", err)
	}
	var out []ChangeRecord
	for _, o := range objs {
		b, err := ReadObject(ctx, store, o.Key)
		if err != nil {
			return nil, fmt.Errorf("read changes: %w", err)
		}
		var rec ChangeRecord
		if err := json.Unmarshal(b, &rec); err != nil {
			return nil, fmt.Errorf("read changes: %s: %w", o.Key, err)
		}
		out = append(out, rec)
	}
	return out, nil
}

// diffDelivery returns the restatement a plan makes: files of before (the previous manifest's,
// with the entries it was replacing) that are written with other content, or that the new
// manifest no longer lists while their app is not pending (removed: stale, or already gone),
// and how the apps' measures moved. nil when no such file.
func diffDelivery(before map[string]FileEntry, written, final []FileEntry, pending map[string]bool) *Change {
	var files []FileChange
	apps := map[string]bool{}
	for _, w := range written {
		if b, ok := before[w.Key]; ok && !sameContent(b, w) {
			files = append(files, FileChange{Key: w.Key, App: w.App, Format: w.Format, PreviousSHA256: b.SHA256, SHA256: w.SHA256, RowsBefore: b.Rows, RowsAfter: w.Rows})
			apps[w.App] = true
		}
	}
	listed := map[string]bool{}
	for _, e := range final {
		listed[e.Key] = true
	}
	for k, b := range before {
		if !listed[k] && !pending[b.App] {
			files = append(files, FileChange{Key: k, App: b.App, Format: b.Format, PreviousSHA256: b.SHA256, RowsBefore: b.Rows})
			apps[b.App] = true
		}
	}
	if len(files) == 0 {
		return nil
	}
	slices.SortFunc(files, func(a, b FileChange) int { return strings.Compare(a.Key, b.Key) })
	return &Change{Files: files, Measures: measureChanges(before, final, apps)}
}

// measureChanges compares the changed apps' measures before and after, and the day's totals.
func measureChanges(before map[string]FileEntry, final []FileEntry, changed map[string]bool) []MeasureChange {
	was, now := appMeasures(slices.Collect(maps.Values(before))), appMeasures(final)
	var out []MeasureChange
	delta := map[string]float64{}
	complete := true // every changed app recorded its measures before
	listed := map[string]bool{}
	for _, e := range final {
		listed[e.App] = true
	}
	for _, app := range slices.Sorted(maps.Keys(changed)) {
		b, ok := was[app]
		a, recorded := now[app]
		if !ok || listed[app] && !recorded {
			complete = false // no measures to compare
			continue
		}
		// a is nil when the app's files were removed: every measure is now 0.
		for _, m := range slices.Sorted(maps.Keys(union(b, a))) {
			if b[m] != a[m] {
				out = append(out, MeasureChange{App: app, Measure: m, Before: b[m], After: a[m]})
				delta[m] += a[m] - b[m]
			}
		}
	}
	for _, e := range before {
		if _, ok := was[e.App]; !ok {
			complete = false // the day's total before is unknown
		}
	}
	if !complete || len(delta) == 0 {
		return out
	}
	totals := map[string]float64{}
	for _, ms := range was {
		for m, v := range ms {
			totals[m] += v
		}
	}
	for _, m := range slices.Sorted(maps.Keys(delta)) {
		out = append(out, MeasureChange{Measure: m, Before: usage.RoundMeasure(totals[m]), After: usage.RoundMeasure(totals[m] + delta[m])})
	}
	return out
}

// appMeasures returns each app's measures: those of its first file (in key order) that has any.
// The files of an app in different formats hold the same rows, so the same sums.
func appMeasures(entries []FileEntry) map[string]map[string]float64 {
	entries = slices.Clone(entries)
	slices.SortFunc(entries, func(a, b FileEntry) int { return strings.Compare(a.Key, b.Key) })
	out := map[string]map[string]float64{}
	for _, e := range entries {
		if _, ok := out[e.App]; !ok && e.Measures != nil {
			out[e.App] = e.Measures
		}
	}
	return out
}

// AppMeasures returns, per app, the sums of the measures its files recorded (see
// FileEntry.Measures); apps whose files recorded none are missing.
func (m *Manifest) AppMeasures() map[string]map[string]float64 { return appMeasures(m.Files) }

func union(a, b map[string]float64) map[string]float64 {
	out := maps.Clone(a)
	if out == nil {
		out = map[string]float64{}
	}
	maps.Copy(out, b)
	return out
}

// nextSeq is the seq of a day's next restatement after those m records.
func nextSeq(m *Manifest) int {
	seq := 1
	if m != nil {
		for _, c := range m.Changes {
			seq = max(seq, c.Seq+1)
		}
	}
	return seq
}

// sameTransition reports whether two changes replace the same files by the same content.
func sameTransition(a, b *Change) bool {
	return slices.Equal(a.Files, b.Files)
}

// writeChange creates the plan's change log object, only if absent. An object already at its key
// is an interrupted delivery's: if it records the same transition, it is this one (taken as it
// is, so that the manifest and the log agree); otherwise the change takes the day's next free seq.
func writeChange(ctx context.Context, store Store, p *commitPlan) error {
	rec := p.changeRecord()
	err := putRecord(ctx, store, rec)
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	if old, rerr := readChangeRecord(ctx, store, rec.Key); rerr == nil && sameTransition(&old.Change, &rec.Change) {
		p.setChange(old.Change)
		return nil
	}
	objs, err := store.List(ctx, p.changesDir+strings.ReplaceAll(p.manifest.Date.String(), "-", "")+"-")
	if err != nil {
		return err
	}
	last := 0
	for _, o := range objs {
		if n, ok := seqOfChangeKey(p.changesDir, p.manifest.Date, o.Key); ok {
			last = max(last, n)
		}
	}
	if old, rerr := readChangeRecord(ctx, store, changeKeyIn(p.changesDir, p.manifest.Date, last)); last > 0 && rerr == nil && sameTransition(&old.Change, &rec.Change) {
		p.setChange(old.Change)
		return nil
	}
	c := rec.Change
	c.Seq, c.Key = last+1, changeKeyIn(p.changesDir, p.manifest.Date, last+1)
	p.setChange(c)
	return putRecord(ctx, store, p.changeRecord())
}

func readChangeRecord(ctx context.Context, store Store, key string) (*ChangeRecord, error) {
	b, err := ReadObject(ctx, store, key)
	if err != nil {
		return nil, err
	}
	var rec ChangeRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &rec, nil
}

func putRecord(ctx context.Context, store Store, rec ChangeRecord) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(rec); err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	body := buf.Bytes()
	sum := md5Of(body)
	err := store.Put(ctx, rec.Key, bytes.NewReader(body), PutOptions{Size: int64(len(body)), ContentType: "application/json", ContentMD5: sum[:], IfAbsent: true})
	if err != nil {
		return fmt.Errorf("change log %s: %w", rec.Key, err)
	}
	return nil
}
