package snapshot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
)

// LatestName is the object, in a dataset's folder, that points at the dataset's newest complete
// day, for consumers that poll: <prefix>/<dataset>/_latest.json.
const LatestName = "_latest.json"

// Latest is the pointer to a dataset's newest complete day. It never moves back: a restatement
// or backfill of an older day leaves it, and days completing out of order move it only forward.
// A restatement of the day it points at updates generated_at (and quality), so that a poller
// comparing either sees the day changed. Days before it may still be partial (a day whose app
// failed, say): their own manifests say so.
type Latest struct {
	SchemaVersion  int          `json:"schema_version"`
	Dataset        string       `json:"dataset"`
	DatasetVersion string       `json:"dataset_version"`
	Date           calendar.Day `json:"date"`
	// Manifest is the key of the day's manifest.
	Manifest string `json:"manifest"`
	// GeneratedAt is the manifest's generated_at: when the day's data was last delivered.
	GeneratedAt time.Time `json:"generated_at"`
	// Quality is the manifest's quality (ok, warn or fail; empty when not checked).
	Quality string `json:"quality,omitempty"`
}

// LatestKey returns the key of a dataset's pointer to its newest complete day.
func LatestKey(prefix, dataset string) (string, error) {
	return DatasetKey(prefix, dataset, LatestName)
}

// ReadLatest reads a dataset's pointer to its newest complete day; nil when there is none yet.
func ReadLatest(ctx context.Context, store Store, prefix, dataset string) (*Latest, error) {
	key, err := LatestKey(prefix, dataset)
	if err != nil {
		return nil, fmt.Errorf("read latest: %w", err)
	}
	b, err := ReadObject(ctx, store, key)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read latest: %w", err)
	}
	var l Latest
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("read latest %s: %w", key, err)
	}
	return &l, nil
}

// AdvanceLatest moves a dataset's pointer to the newest complete day among manifests (those of a
// run's commits, in any order), when that day is newer than the one it points at, or is that day
// delivered again; it never moves the pointer back. One writer at a time: call it under the
// dataset's lease. It returns the pointer in force and whether it wrote it; a pointer that cannot
// be decoded is replaced.
func AdvanceLatest(ctx context.Context, store Store, prefix, dataset string, manifests []*Manifest) (*Latest, bool, error) {
	key, err := LatestKey(prefix, dataset)
	if err != nil {
		return nil, false, fmt.Errorf("advance latest: %w", err)
	}
	var next *Latest
	for _, m := range manifests {
		if m == nil || m.Status != StatusComplete || m.Dataset != dataset || m.DatasetVersion != Version(dataset) {
			continue
		}
		if next == nil || m.Date.After(next.Date) {
			mkey, err := ManifestKey(prefix, dataset, m.Date)
			if err != nil {
				return nil, false, fmt.Errorf("advance latest: %w", err)
			}
			next = &Latest{SchemaVersion: ManifestSchemaVersion, Dataset: dataset, DatasetVersion: m.DatasetVersion, Date: m.Date,
				Manifest: mkey, GeneratedAt: m.GeneratedAt.UTC(), Quality: m.Quality}
		}
	}
	cur, err := ReadLatest(ctx, store, prefix, dataset)
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) {
		cur, err = nil, nil // undecodable: replaced
	}
	if err != nil {
		return nil, false, err
	}
	if next == nil || cur != nil && (cur.Date.After(next.Date) || cur.same(next)) {
		return cur, false, nil
	}
	body, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return nil, false, fmt.Errorf("advance latest: %w", err)
	}
	body = append(body, '\n')
	sum := md5Of(body)
	if err := store.Put(ctx, key, bytes.NewReader(body), PutOptions{Size: int64(len(body)), ContentType: "application/json", ContentMD5: sum[:]}); err != nil {
		return nil, false, fmt.Errorf("advance latest: %w", err)
	}
	return next, true, nil
}

// same reports whether l and o point at the same delivery of the same day.
func (l *Latest) same(o *Latest) bool {
	return l.SchemaVersion == o.SchemaVersion && l.Dataset == o.Dataset && l.DatasetVersion == o.DatasetVersion &&
		l.Date.Compare(o.Date) == 0 && l.Manifest == o.Manifest && l.GeneratedAt.Equal(o.GeneratedAt) && l.Quality == o.Quality
}
