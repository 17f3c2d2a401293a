package snapshot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// Temporary files the project creates with os.CreateTemp, which replaces the "*" with a random
// decimal number. A process killed with SIGKILL leaves them behind; SweepTemp removes them.
const (
	// SpoolPattern names NewSpool's files.
	SpoolPattern = "tcusage-spool-*"
	// ESSRunPattern names the sorted runs of the ESS external sort (shared/source).
	ESSRunPattern = "tcusage-ess-*.run"
)

// tempPatterns are the patterns SweepTemp owns.
var tempPatterns = []string{SpoolPattern, ESSRunPattern}

// isProjectTemp reports whether name is one os.CreateTemp makes from one of tempPatterns: the
// pattern's text around "*", and between them a non-empty run of decimal digits.
func isProjectTemp(name string) bool {
	for _, p := range tempPatterns {
		before, after, _ := strings.Cut(p, "*")
		mid, ok := strings.CutPrefix(name, before)
		if !ok {
			continue
		}
		mid, ok = strings.CutSuffix(mid, after)
		if !ok || mid == "" || len(mid) > 20 {
			continue
		}
		if strings.Trim(mid, "0123456789") == "" {
			return true
		}
	}
	return false
}

// SweepTemp removes the temporary files that runs killed before their clean-up (kill -9, an
// SCF timeout) left in dir (os.TempDir() when empty): spool files (SpoolPattern) and ESS sort
// runs (ESSRunPattern). It returns how many it removed. A file is removed only if
//
//   - it sits directly in dir (os.CreateTemp puts them nowhere else) and is a regular file
//     whose name is exactly one those patterns produce; directories, symbolic links (and their
//     targets) and every other file are left alone, and
//   - it was last modified more than olderThan before now, so that a concurrent run's files
//     (a spool is written as data arrives) are not disturbed. Callers pass at least the longest
//     time a run may last, e.g. the function's timeout.
//
// Access goes through an os.Root on dir. A missing dir has nothing to sweep; a file that
// vanishes meanwhile or that this user may not remove (another user's, in a shared /tmp) is
// skipped; other failures are joined into the error while the sweep goes on.
func SweepTemp(dir string, olderThan time.Duration, now time.Time) (int, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep temp files: %w", err)
	}
	defer root.Close()
	entries, err := fs.ReadDir(root.FS(), ".")
	if err != nil {
		return 0, fmt.Errorf("sweep temp files: %w", err)
	}
	cutoff := now.Add(-olderThan)
	removed := 0
	var errs []error
	skip := func(err error) bool {
		return errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !isProjectTemp(e.Name()) {
			continue
		}
		info, err := root.Lstat(e.Name())
		if err != nil {
			if !skip(err) {
				errs = append(errs, err)
			}
			continue
		}
		if !info.Mode().IsRegular() || !info.ModTime().Before(cutoff) {
			continue
		}
		if err := root.Remove(e.Name()); err != nil {
			if !skip(err) {
				errs = append(errs, err)
			}
			continue
		}
		removed++
	}
	if err := errors.Join(errs...); err != nil {
		return removed, fmt.Errorf("sweep temp files: %w", err)
	}
	return removed, nil
}
