package snapshot

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/usage"
)

// DefaultVersion is the version segment of a dataset that has no schema in package usage.
const DefaultVersion = "v1"

// Version returns the version segment of a dataset's keys: its schema's Version, or
// DefaultVersion for a dataset package usage does not know. New partitions are written there.
func Version(dataset string) string {
	if s, ok := usage.Lookup(dataset); ok {
		return s.Version
	}
	return DefaultVersion
}

// Versions returns the versions of a dataset whose partitions readers read, newest first: the
// current one, then the schema's earlier ones.
func Versions(dataset string) []string {
	if s, ok := usage.Lookup(dataset); ok {
		return s.Versions()
	}
	return []string{DefaultVersion}
}

// ManifestName is the object name of a partition's manifest.
const ManifestName = "_manifest.json"

var (
	datasetRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)
	versionRE = regexp.MustCompile(`^v[1-9][0-9]{0,3}$`)
	appRE     = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
)

// ValidDataset reports whether name is a dataset name: 1 to 64 of [a-z0-9_].
func ValidDataset(name string) error {
	if !datasetRE.MatchString(name) {
		return fmt.Errorf("%w: dataset %q (want 1-64 of [a-z0-9_])", ErrInvalidKey, name)
	}
	return nil
}

// ValidApp reports whether id is an app ID usable in a key: 1 to 64 of [A-Za-z0-9_-].
func ValidApp(id string) error {
	if !appRE.MatchString(id) {
		return fmt.Errorf("%w: app %q (want 1-64 of [A-Za-z0-9_-])", ErrInvalidKey, id)
	}
	return nil
}

// CleanPrefix trims leading and trailing slashes from a key prefix and checks what is left
// with ValidKey. The empty prefix is allowed.
func CleanPrefix(prefix string) (string, error) {
	p := strings.Trim(prefix, "/")
	if p == "" {
		return "", nil
	}
	if err := ValidKey(p); err != nil {
		return "", fmt.Errorf("prefix: %w", err)
	}
	return p, nil
}

// DatasetKey returns the key <prefix>/<dataset>/<rest>: where the objects beside a dataset's
// versions live (its lease, change log, newest-day pointer, table definitions). rest is
// appended as given (a name, or a folder ending in a slash).
func DatasetKey(prefix, dataset, rest string) (string, error) {
	p, err := CleanPrefix(prefix)
	if err != nil {
		return "", err
	}
	if err := ValidDataset(dataset); err != nil {
		return "", err
	}
	if p != "" {
		p += "/"
	}
	return p + dataset + "/" + rest, nil
}

// DatasetDir returns the key prefix, ending in a slash, under which every partition of dataset's
// current version lives: <prefix>/<dataset>/<version>/.
func DatasetDir(prefix, dataset string) (string, error) {
	return DatasetDirAt(prefix, dataset, Version(dataset))
}

// DatasetDirAt is DatasetDir for a given version (v1, v2, ...).
func DatasetDirAt(prefix, dataset, version string) (string, error) {
	dir, err := DatasetKey(prefix, dataset, version+"/")
	if err != nil {
		return "", err
	}
	if !versionRE.MatchString(version) {
		return "", fmt.Errorf("%w: version %q (want v1, v2, ...)", ErrInvalidKey, version)
	}
	return dir, nil
}

// PartitionDir returns the key prefix, ending in a slash, of one day's partition of dataset's
// current version: <prefix>/<dataset>/<version>/dt=YYYY-MM-DD/.
func PartitionDir(prefix, dataset string, day calendar.Day) (string, error) {
	return PartitionDirAt(prefix, dataset, Version(dataset), day)
}

// PartitionDirAt is PartitionDir for a given version.
func PartitionDirAt(prefix, dataset, version string, day calendar.Day) (string, error) {
	dir, err := DatasetDirAt(prefix, dataset, version)
	if err != nil {
		return "", err
	}
	if day.IsZero() {
		return "", fmt.Errorf("%w: no day", ErrInvalidKey)
	}
	return dir + "dt=" + day.String() + "/", nil
}

// ManifestKey returns the key of a partition's manifest (current version):
// <partition>/_manifest.json.
func ManifestKey(prefix, dataset string, day calendar.Day) (string, error) {
	return ManifestKeyAt(prefix, dataset, Version(dataset), day)
}

// ManifestKeyAt is ManifestKey for a given version.
func ManifestKeyAt(prefix, dataset, version string, day calendar.Day) (string, error) {
	dir, err := PartitionDirAt(prefix, dataset, version, day)
	if err != nil {
		return "", err
	}
	return dir + ManifestName, nil
}

// DataKey returns the key of one app's data file in a partition:
// <partition>/app=<id>/part-00000.<format>.
func DataKey(prefix, dataset string, day calendar.Day, app string, f usage.Format) (string, error) {
	dir, err := PartitionDir(prefix, dataset, day)
	if err != nil {
		return "", err
	}
	return dataKeyIn(dir, app, f)
}

// DataKeyAt is DataKey for a given version: where a partition of that version keeps an app's
// file.
func DataKeyAt(prefix, dataset, version string, day calendar.Day, app string, f usage.Format) (string, error) {
	dir, err := PartitionDirAt(prefix, dataset, version, day)
	if err != nil {
		return "", err
	}
	return dataKeyIn(dir, app, f)
}

func dataKeyIn(partitionDir, app string, f usage.Format) (string, error) {
	if err := ValidApp(app); err != nil {
		return "", err
	}
	if err := f.Valid(); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalidKey, err)
	}
	return partitionDir + "app=" + app + "/part-00000." + f.Ext(), nil
}

// appOfDataKey returns the app of a key below partitionDir in the app=<id>/ layout, and false for
// any other key (the manifest, foreign objects).
func appOfDataKey(partitionDir, key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, partitionDir+"app=")
	if !ok {
		return "", false
	}
	app, _, ok := strings.Cut(rest, "/")
	if !ok || ValidApp(app) != nil {
		return "", false
	}
	return app, true
}
