package snapshot_test

import (
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/usage"
)

// The version segment of a key is the dataset's own (its schema's), not one for all datasets.
func TestVersionPerDataset(t *testing.T) {
	day := calendar.Date(2024, 2, 29)
	for _, s := range usage.Schemas() {
		assert.Equal(t, s.Version, snapshot.Version(s.Dataset))
		assert.Equal(t, s.Versions(), snapshot.Versions(s.Dataset))
		k, err := snapshot.DataKey("p", s.Dataset, day, "1", usage.Parquet)
		require.NoError(t, err)
		assert.Equal(t, "p/"+s.Dataset+"/"+s.Version+"/dt=2024-02-29/app=1/part-00000.parquet", k)
	}
	assert.Equal(t, "v2", snapshot.Version("roomusage"))
	assert.Equal(t, []string{"v2", "v1"}, snapshot.Versions("roomusage"))
	assert.Equal(t, snapshot.DefaultVersion, snapshot.Version("no_schema"))
	for _, bad := range []string{"", "v0", "1", "v1/..", "V1", "v12345"} {
		_, err := snapshot.DatasetDirAt("p", "roomusage", bad)
		assert.ErrorIs(t, err, snapshot.ErrInvalidKey, "%q", bad)
	}
}

// A roomusage partition written as v1 before the rename stays readable: it is listed, verified
// against its manifest and found by readers, while new commits go to v2. A day present in both
// versions is read from v2.
func TestEarlierVersionStaysReadable(t *testing.T) {
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	ctx := t.Context()
	old, both, fresh := calendar.Date(2024, 3, 1), calendar.Date(2024, 3, 2), calendar.Date(2024, 3, 3)
	for _, d := range []calendar.Day{old, both} {
		putV1RoomDay(t, st, d)
	}
	for _, d := range []calendar.Day{both, fresh} {
		body := []byte(`{"date":"` + d.String() + `","audio_seconds":1}` + "\n")
		_, err := snapshot.Commit(ctx, st, "p", snapshot.CommitRequest{Dataset: "roomusage", Day: d, GeneratedAt: time.Unix(1, 0),
			Files: []snapshot.File{{App: "7", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes(body)}}})
		require.NoError(t, err)
	}

	parts, err := snapshot.ListPartitions(ctx, st, "p", "roomusage")
	require.NoError(t, err)
	var got []string
	for _, p := range parts {
		assert.True(t, p.HasManifest)
		got = append(got, p.Date.String()+" "+p.Version)
		rep, err := snapshot.VerifyAt(ctx, st, "p", "roomusage", p.Version, p.Date)
		require.NoError(t, err)
		assert.True(t, rep.OK(), "%s %s: %v", p.Version, p.Date, rep.Problems)
		assert.Equal(t, p.Version, rep.Manifest.DatasetVersion)
	}
	assert.Equal(t, []string{"2024-03-01 v1", "2024-03-02 v2", "2024-03-02 v1", "2024-03-03 v2"}, got)

	for d, want := range map[calendar.Day]string{old: "v1", both: "v2", fresh: "v2"} {
		m, err := snapshot.FindManifest(ctx, st, "p", "roomusage", d)
		require.NoError(t, err)
		assert.Equal(t, want, m.DatasetVersion, d.String())
	}
	_, err = snapshot.FindManifest(ctx, st, "p", "roomusage", calendar.Date(2024, 3, 4))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	// What a run reads to decide what to fetch is the current version only.
	_, err = snapshot.ReadManifest(ctx, st, "p", "roomusage", old)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	_, err = snapshot.VerifyAt(ctx, st, "p", "roomusage", "v1", fresh)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a day written only as v2 has no v1 partition")
}

// putV1RoomDay writes a day the way a v1 build delivered it: v1 keys, v1 column names.
func putV1RoomDay(t *testing.T, st snapshot.Store, d calendar.Day) {
	t.Helper()
	dir, err := snapshot.PartitionDirAt("p", "roomusage", "v1", d)
	require.NoError(t, err)
	body := `{"date":"` + d.String() + `","audio":1,"2k":2}` + "\n"
	c := snapshot.Bytes([]byte(body))
	sum := c.SHA256()
	m := &snapshot.Manifest{SchemaVersion: snapshot.ManifestSchemaVersion, Dataset: "roomusage", DatasetVersion: "v1", Date: d,
		Status: snapshot.StatusComplete, Apps: []string{"7"}, RequestIDs: []string{},
		Files: []snapshot.FileEntry{{Key: dir + "app=7/part-00000.jsonl", App: "7", Format: usage.JSONL, Rows: 1,
			Bytes: c.Size(), SHA256: hexOf(sum[:]), ContentType: usage.JSONL.ContentType()}}}
	require.NoError(t, st.Put(t.Context(), m.Files[0].Key, strings.NewReader(body), snapshot.PutOptions{}))
	b, err := m.Encode()
	require.NoError(t, err)
	require.NoError(t, st.Put(t.Context(), dir+snapshot.ManifestName, strings.NewReader(string(b)), snapshot.PutOptions{}))
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}
