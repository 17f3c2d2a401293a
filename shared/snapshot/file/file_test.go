package file_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/snapshot/snapshottest"
)

func newStore(t *testing.T, dir string) *file.Store {
	t.Helper()
	st, err := file.New(dir)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	for _, prefix := range []string{"", "exports/daily"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			snapshottest.Run(t, func(t *testing.T) snapshottest.Env {
				return snapshottest.Env{Store: newStore(t, t.TempDir()), Prefix: prefix}
			})
		})
	}
}

func TestKeysStayInsideRoot(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	require.NoError(t, os.MkdirAll(outside, 0o755))
	st := newStore(t, root)
	// A symbolic link inside the root that points out of it must not be followed.
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "link")))
	err := st.Put(t.Context(), "link/x", strings.NewReader("x"), snapshot.PutOptions{})
	require.Error(t, err)
	_, err = os.Stat(filepath.Join(outside, "x"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "nothing written outside the root")

	put := func(k string) error {
		return st.Put(t.Context(), k, strings.NewReader("x"), snapshot.PutOptions{})
	}
	assert.ErrorIs(t, put(".tmp-x"), snapshot.ErrInvalidKey, "temp-file names are reserved")
	assert.ErrorIs(t, put("../x"), snapshot.ErrInvalidKey)
}

func TestPutIsAtomicAndLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	st := newStore(t, dir)
	ctx := t.Context()
	require.NoError(t, st.Put(ctx, "a/b/c.jsonl", strings.NewReader("one"), snapshot.PutOptions{}))
	// A failed Put (digest mismatch) keeps the old content and cleans up its temp file.
	bad := snapshot.Bytes([]byte("nope")).MD5()
	err := st.Put(ctx, "a/b/c.jsonl", strings.NewReader("two"), snapshot.PutOptions{ContentMD5: bad[:]})
	require.ErrorIs(t, err, snapshot.ErrBadDigest)
	got, err := os.ReadFile(filepath.Join(dir, "a", "b", "c.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, "one", string(got))
	entries, err := os.ReadDir(filepath.Join(dir, "a", "b"))
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "c.jsonl", entries[0].Name())

	// A leftover temp file from a crash is not listed.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "b", ".tmp-c.jsonl-XYZ"), []byte("partial"), 0o644))
	objs, err := st.List(ctx, "a/")
	require.NoError(t, err)
	require.Len(t, objs, 1)
	assert.Equal(t, "a/b/c.jsonl", objs[0].Key)
}

func TestGetOfDirectoryOrThroughFileIsNotExist(t *testing.T) {
	st := newStore(t, t.TempDir())
	ctx := t.Context()
	require.NoError(t, st.Put(ctx, "d/f", strings.NewReader("x"), snapshot.PutOptions{}))
	_, err := st.Get(ctx, "d")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = st.Head(ctx, "d/f/g")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.NoError(t, st.Delete(ctx, "d/f/g"))
	assert.Error(t, st.Delete(ctx, "d"), "a directory is not an object")
}

func TestRelativeDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	st := newStore(t, "snapshots")
	require.NoError(t, st.Put(t.Context(), "k", strings.NewReader("x"), snapshot.PutOptions{}))
	b, err := os.ReadFile(filepath.Join("snapshots", "k"))
	require.NoError(t, err)
	assert.Equal(t, "x", string(b))
}

// oldTime sets a file's times to age before now, as a leftover from an earlier run would have.
func oldTime(t *testing.T, path string, now time.Time, age time.Duration) {
	t.Helper()
	require.NoError(t, os.Chtimes(path, now.Add(-age), now.Add(-age)))
}

// tempSuffix is what Put appends after the key's name: rand.Text()'s 26 base32 characters.
const tempSuffix = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

// TestSweepTempRemovesOnlyOldOwnLeftovers lays out what a kill -9 leaves in a store next to
// what must survive: a concurrent run's fresh temp file, objects, files that merely look alike,
// and symbolic links (inside the root and out of it).
func TestSweepTempRemovesOnlyOldOwnLeftovers(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	st := newStore(t, dir)
	ctx := t.Context()
	now := time.Now()
	const age = 15 * time.Minute
	write := func(rel string, old bool) string {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
		if old {
			oldTime(t, p, now, time.Hour)
		}
		return rel
	}
	require.NoError(t, st.Put(ctx, "telcall/v1/dt=2026-11-24/_manifest.json", strings.NewReader("{}"), snapshot.PutOptions{}))
	oldTime(t, filepath.Join(dir, "telcall", "v1", "dt=2026-11-24", "_manifest.json"), now, time.Hour)

	gone := []string{
		write(".tmp-k-"+tempSuffix, true),
		write("telcall/v1/dt=2026-11-24/.tmp-_manifest.json-"+tempSuffix, true),
		write("telcall/v1/dt=2026-11-24/app=1/.tmp-part-00000.csv-"+strings.Repeat("7", 26), true),
	}
	kept := []string{
		"telcall/v1/dt=2026-11-24/_manifest.json",
		write("telcall/v1/dt=2026-11-24/.tmp-part-00000.jsonl-"+tempSuffix, false), // a concurrent run's
		write(".tmp-notes", true),                                                  // not Put's naming
		write(".tmp-k-abcdefghijklmnopqrstuvwxyz", true),                           // wrong alphabet
		write(".tmp-k-"+tempSuffix[:25], true),                                     // wrong length
		write(".tmp--"+tempSuffix, true),                                           // no key name
		write("x.tmp-k-"+tempSuffix, true),                                         // does not start with .tmp-
		write("telcall/v1/dt=2026-11-23/part.csv", true),                           // an old object
	}
	// A directory named like a temp file is not a temp file.
	tmpDir := filepath.Join(dir, ".tmp-d-"+tempSuffix)
	require.NoError(t, os.Mkdir(tmpDir, 0o755))
	oldTime(t, tmpDir, now, time.Hour)
	// Old temp files outside the root, reached by a directory link and by a file link.
	require.NoError(t, os.MkdirAll(outside, 0o755))
	outTemp := filepath.Join(outside, ".tmp-k-"+tempSuffix)
	require.NoError(t, os.WriteFile(outTemp, []byte("x"), 0o644))
	oldTime(t, outTemp, now, time.Hour)
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))
	fileLink := filepath.Join(dir, ".tmp-l-"+tempSuffix)
	require.NoError(t, os.Symlink(outTemp, fileLink))

	n, err := st.SweepTemp(ctx, age, now)
	require.NoError(t, err)
	assert.Equal(t, len(gone), n)
	for _, rel := range gone {
		assert.NoFileExists(t, filepath.Join(dir, filepath.FromSlash(rel)), "old leftover %s", rel)
	}
	for _, rel := range kept {
		assert.FileExists(t, filepath.Join(dir, filepath.FromSlash(rel)), "%s is not an old leftover", rel)
	}
	assert.DirExists(t, tmpDir)
	assert.FileExists(t, outTemp, "links out of the root are not followed")
	_, err = os.Lstat(fileLink)
	assert.NoError(t, err, "a link is not a temp file")

	// The listing is unchanged by the sweep.
	objs, err := st.List(ctx, "")
	require.NoError(t, err)
	assert.Len(t, objs, 3, "the two objects and x.tmp-..., which is a key like any other")
}

// blockingReader hands out its data only after release is closed, and reports when a Put has
// started reading (its temp file exists by then).
type blockingReader struct {
	*strings.Reader
	started chan struct{}
	release chan struct{}
	once    bool
}

func (b *blockingReader) Read(p []byte) (int, error) {
	if !b.once {
		b.once = true
		close(b.started)
		<-b.release
	}
	return b.Reader.Read(p)
}

// TestSweepTempRecognisesPutsOwnTempFiles holds a real Put half-way: its temp file is kept while
// fresh, and recognised as the store's own once it is older than the sweep's age.
func TestSweepTempRecognisesPutsOwnTempFiles(t *testing.T) {
	for _, tc := range []struct {
		name    string
		later   time.Duration // how far after the Put started the sweep runs
		removed int
	}{
		{"fresh: a concurrent run's", 0, 0},
		{"older than the age: a dead run's", 2 * time.Hour, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			st := newStore(t, dir)
			body := &blockingReader{Reader: strings.NewReader("data"), started: make(chan struct{}), release: make(chan struct{})}
			done := make(chan error, 1)
			go func() {
				done <- st.Put(t.Context(), "a/b.csv", body, snapshot.PutOptions{})
			}()
			<-body.started
			entries, err := os.ReadDir(filepath.Join(dir, "a"))
			require.NoError(t, err)
			require.Len(t, entries, 1)
			require.True(t, strings.HasPrefix(entries[0].Name(), ".tmp-b.csv-"), entries[0].Name())

			n, err := st.SweepTemp(t.Context(), time.Hour, time.Now().Add(tc.later))
			require.NoError(t, err)
			assert.Equal(t, tc.removed, n)
			close(body.release)
			err = <-done
			if tc.removed == 0 {
				require.NoError(t, err, "the concurrent Put completes")
				got, err := os.ReadFile(filepath.Join(dir, "a", "b.csv"))
				require.NoError(t, err)
				assert.Equal(t, "data", string(got))
			} else {
				assert.Error(t, err, "the swept file was the Put's own")
			}
		})
	}
}

func TestSweepTempStopsWithItsContext(t *testing.T) {
	st := newStore(t, t.TempDir())
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := st.SweepTemp(ctx, time.Hour, time.Now())
	assert.ErrorIs(t, err, context.Canceled)
}
