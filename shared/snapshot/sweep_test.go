package snapshot_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// newSpoolFile returns the one spool file in dir that is not in known.
func newSpoolFile(t *testing.T, dir string, known []string) string {
	t.Helper()
	all, err := filepath.Glob(filepath.Join(dir, snapshot.SpoolPattern))
	require.NoError(t, err)
	var fresh []string
	for _, p := range all {
		if !slices.Contains(known, p) {
			fresh = append(fresh, p)
		}
	}
	require.Len(t, fresh, 1)
	return fresh[0]
}

func makeOld(t *testing.T, path string, now time.Time) {
	t.Helper()
	require.NoError(t, os.Chtimes(path, now.Add(-time.Hour), now.Add(-time.Hour)))
}

// TestSweepTempRemovesOnlyOldProjectLeftovers lays out what a kill -9 leaves in the temp
// directory (spools from NewSpool, ESS sort runs) next to what must survive: a concurrent run's
// spool still being written, other programs' files, look-alike names, a directory, a link, and
// files below the directory.
func TestSweepTempRemovesOnlyOldProjectLeftovers(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "tmp")
	require.NoError(t, os.Mkdir(dir, 0o755))
	now := time.Now()

	oldSpool, err := snapshot.NewSpool(dir)
	require.NoError(t, err)
	_, err = oldSpool.Write([]byte("killed before Remove"))
	require.NoError(t, err)
	require.NoError(t, oldSpool.Close())
	oldSpoolPath := newSpoolFile(t, dir, nil)
	makeOld(t, oldSpoolPath, now)

	live, err := snapshot.NewSpool(dir) // a concurrent run's, still being written
	require.NoError(t, err)
	livePath := newSpoolFile(t, dir, []string{oldSpoolPath})
	_, err = live.Write([]byte("first half "))
	require.NoError(t, err)

	createTemp := func(pattern string, old bool) string {
		f, err := os.CreateTemp(dir, pattern)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		if old {
			makeOld(t, f.Name(), now)
		}
		return f.Name()
	}
	oldRun := createTemp(snapshot.ESSRunPattern, true)
	freshRun := createTemp(snapshot.ESSRunPattern, false)

	write := func(name string) string {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
		makeOld(t, p, now)
		return p
	}
	foreign := []string{
		write("tcusage-spool-abc"),
		write("tcusage-spool-"),
		write("tcusage-spool-12.run"),
		write("tcusage-ess-12.runx"),
		write("tcusage-ess-12.run.bak"),
		write("tcusage-ess-.run"),
		write("xtcusage-spool-12"),
		write("other-123"),
		write("sub/tcusage-spool-5"), // only the directory itself is swept
		createTemp("other-*", true),
	}
	spoolDir := filepath.Join(dir, "tcusage-spool-12")
	require.NoError(t, os.Mkdir(spoolDir, 0o755))
	makeOld(t, spoolDir, now)
	outside := filepath.Join(base, "tcusage-spool-99")
	require.NoError(t, os.WriteFile(outside, []byte("x"), 0o644))
	makeOld(t, outside, now)
	link := filepath.Join(dir, "tcusage-spool-77")
	require.NoError(t, os.Symlink(outside, link))
	dirLink := filepath.Join(dir, "linkdir")
	require.NoError(t, os.Symlink(base, dirLink))

	n, err := snapshot.SweepTemp(dir, 15*time.Minute, now)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.NoFileExists(t, oldSpoolPath)
	assert.NoFileExists(t, oldRun)
	assert.FileExists(t, livePath)
	assert.FileExists(t, freshRun)
	for _, p := range foreign {
		assert.FileExists(t, p, "not a tcusage leftover")
	}
	assert.DirExists(t, spoolDir)
	assert.FileExists(t, outside, "a link's target is not touched")
	_, err = os.Lstat(link)
	assert.NoError(t, err, "a link named like a spool is not a spool")

	// The concurrent run's spool is intact and can be finished and read.
	_, err = live.Write([]byte("second half"))
	require.NoError(t, err)
	require.NoError(t, live.Close())
	r, err := live.Open()
	require.NoError(t, err)
	got, err := io.ReadAll(r)
	require.NoError(t, err)
	r.Close()
	assert.Equal(t, "first half second half", string(got))
	require.NoError(t, live.Remove())
}

func TestSweepTempDefaultsToTheTempDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TMPDIR", dir)
	sp, err := snapshot.NewSpool("")
	require.NoError(t, err)
	require.NoError(t, sp.Close())
	path := newSpoolFile(t, dir, nil)
	n, err := snapshot.SweepTemp("", time.Minute, time.Now().Add(time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.NoFileExists(t, path)

	n, err = snapshot.SweepTemp(filepath.Join(dir, "missing"), time.Minute, time.Now())
	assert.NoError(t, err, "nothing to sweep where there is no directory")
	assert.Zero(t, n)
}

// TestESSRunPatternIsTheOneSourceUses keeps SweepTemp in step with shared/source's external
// sort, which creates its run files itself: some non-test file of shared/source must name
// ESSRunPattern (the literal, or the constant).
func TestESSRunPatternIsTheOneSourceUses(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "source", "*.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	found := false
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		text := string(src)
		if strings.Contains(text, strconv.Quote(snapshot.ESSRunPattern)) || strings.Contains(text, "snapshot.ESSRunPattern") {
			found = true
		}
	}
	assert.True(t, found, "shared/source must create its ESS sort runs with snapshot.ESSRunPattern (%q)", snapshot.ESSRunPattern)
}
