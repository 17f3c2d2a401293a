package snapshot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
)

// VerifyReport is the outcome of Verify for one partition.
type VerifyReport struct {
	Manifest *Manifest
	// Problems lists every way the partition differs from its manifest; empty when it is sound.
	Problems []string
	// Unlisted holds data objects in the partition that the manifest does not list (left by an
	// interrupted delivery; the next one removes them).
	Unlisted []string
}

// OK reports whether the partition matches its manifest.
func (r *VerifyReport) OK() bool { return len(r.Problems) == 0 }

// Verify reads a partition's manifest (the dataset's current version) and checks that every file
// it lists is in place with the recorded size and SHA-256, and that keys follow the layout. A
// missing manifest is an error wrapping fs.ErrNotExist; store failures are errors; mismatches are
// reported as Problems.
func Verify(ctx context.Context, store Store, prefix, dataset string, day calendar.Day) (*VerifyReport, error) {
	return VerifyAt(ctx, store, prefix, dataset, Version(dataset), day)
}

// VerifyAt is Verify for a partition of a given version, current or earlier.
func VerifyAt(ctx context.Context, store Store, prefix, dataset, version string, day calendar.Day) (*VerifyReport, error) {
	dir, err := PartitionDirAt(prefix, dataset, version, day)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	m, err := readManifestKey(ctx, store, dir+ManifestName)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	rep := &VerifyReport{Manifest: m}
	addf := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }
	if m.Dataset != dataset || m.Date != day || m.DatasetVersion != version {
		addf("manifest names dataset %q version %q date %q", m.Dataset, m.DatasetVersion, m.Date)
	}
	switch m.Status {
	case StatusComplete:
		if len(m.AppsPending) > 0 {
			addf("status complete with apps pending %v", m.AppsPending)
		}
	case StatusPartial:
	default:
		addf("unknown status %q", m.Status)
	}
	listed := map[string]bool{}
	for _, e := range m.Files {
		listed[e.Key] = true
		want, err := dataKeyIn(dir, e.App, e.Format)
		if err != nil || want != e.Key {
			addf("%s: key does not match app %q format %q", e.Key, e.App, e.Format)
			continue
		}
		size, sum, err := hashObject(ctx, store, e.Key)
		if errors.Is(err, fs.ErrNotExist) {
			addf("%s: missing", e.Key)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", dir, err)
		}
		if size != e.Bytes {
			addf("%s: %d bytes, manifest says %d", e.Key, size, e.Bytes)
		}
		if sum != e.SHA256 {
			addf("%s: sha256 %s, manifest says %s", e.Key, sum, e.SHA256)
		}
	}
	objs, err := store.List(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	for _, o := range objs {
		if _, ok := appOfDataKey(dir, o.Key); ok && !listed[o.Key] {
			rep.Unlisted = append(rep.Unlisted, o.Key)
		}
	}
	return rep, nil
}

func hashObject(ctx context.Context, store Store, key string) (int64, string, error) {
	rc, err := store.Get(ctx, key)
	if err != nil {
		return 0, "", err
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", key, err)
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// PartitionInfo summarises one stored partition of a dataset.
type PartitionInfo struct {
	Date calendar.Day
	// Version is the dataset version the partition was written under.
	Version string
	// HasManifest is true when the partition has a manifest (complete or partial).
	HasManifest bool
	// Objects counts the objects under the partition, manifest included.
	Objects int
}

// ListPartitions returns the partitions of a dataset found in the store, under every version
// readers read (see Versions), sorted by date and, within a date, newest version first; with or
// without a manifest (a partition without one was interrupted before its first delivery ended).
func ListPartitions(ctx context.Context, store Store, prefix, dataset string) ([]PartitionInfo, error) {
	var out []PartitionInfo
	for _, v := range Versions(dataset) {
		parts, err := listPartitionsAt(ctx, store, prefix, dataset, v)
		if err != nil {
			return nil, err
		}
		out = append(out, parts...)
	}
	order := Versions(dataset)
	slices.SortStableFunc(out, func(a, b PartitionInfo) int {
		return cmp.Or(a.Date.Compare(b.Date), slices.Index(order, a.Version)-slices.Index(order, b.Version))
	})
	return out, nil
}

func listPartitionsAt(ctx context.Context, store Store, prefix, dataset, version string) ([]PartitionInfo, error) {
	dir, err := DatasetDirAt(prefix, dataset, version)
	if err != nil {
		return nil, fmt.Errorf("list partitions: %w", err)
	}
	objs, err := store.List(ctx, dir+"dt=")
	if err != nil {
		return nil, fmt.Errorf("list partitions %s: %w", dir, err)
	}
	var out []PartitionInfo
	for _, o := range objs {
		rest := strings.TrimPrefix(o.Key, dir+"dt=")
		dt, name, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		day, err := calendar.Parse(dt)
		if err != nil {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Date != day {
			out = append(out, PartitionInfo{Date: day, Version: version})
		}
		p := &out[len(out)-1]
		p.Objects++
		if name == ManifestName {
			p.HasManifest = true
		}
	}
	return out, nil
}
