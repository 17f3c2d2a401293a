package file_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
