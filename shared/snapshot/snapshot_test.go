package snapshot_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"io"
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

func TestSpool(t *testing.T) {
	dir := t.TempDir()
	sp, err := snapshot.NewSpool(dir)
	require.NoError(t, err)
	_, err = sp.Open()
	assert.Error(t, err, "open before close")

	var want bytes.Buffer
	for i := range 1000 {
		line := strings.Repeat("x", i%37) + "\n"
		want.WriteString(line)
		_, err := io.WriteString(sp, line)
		require.NoError(t, err)
	}
	require.NoError(t, sp.Close())
	_, err = sp.Write([]byte("late"))
	assert.Error(t, err, "write after close")

	assert.Equal(t, int64(want.Len()), sp.Size())
	assert.Equal(t, sha256.Sum256(want.Bytes()), sp.SHA256())
	assert.Equal(t, md5.Sum(want.Bytes()), sp.MD5())
	for range 2 { // reopenable
		r, err := sp.Open()
		require.NoError(t, err)
		got, err := io.ReadAll(r)
		require.NoError(t, err)
		assert.Equal(t, want.Bytes(), got)
		_, err = r.Seek(0, io.SeekStart)
		require.NoError(t, err)
		require.NoError(t, r.Close())
	}
	require.NoError(t, sp.Remove())
	_, err = sp.Open()
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

func TestLayout(t *testing.T) {
	k, err := snapshot.DataKey("/exports/", "trtc_room_usage", calendar.Date(2024, 2, 29), "1400000001", usage.CSV)
	require.NoError(t, err)
	assert.Equal(t, "exports/trtc_room_usage/v1/dt=2024-02-29/app=1400000001/part-00000.csv", k)
	k, err = snapshot.ManifestKey("", "ess_bill", jan1)
	require.NoError(t, err)
	assert.Equal(t, "ess_bill/v1/dt=2024-01-01/_manifest.json", k)

	for _, tc := range []struct {
		prefix, dataset string
		date            calendar.Day
		app             string
		format          usage.Format
		want            string
	}{
		{"a/../b", "d", jan1, "x", usage.JSONL, "prefix"},
		{"", "d-x", jan1, "x", usage.JSONL, "dataset"},
		{"", "d", calendar.Day{}, "x", usage.JSONL, "day"},
		{"", "d", jan1, "x y", usage.JSONL, "app"},
		{"", "d", jan1, "..", usage.JSONL, "app"},
		{"", "d", jan1, "x", "JSONL", "format"},
	} {
		_, err := snapshot.DataKey(tc.prefix, tc.dataset, tc.date, tc.app, tc.format)
		require.ErrorIs(t, err, snapshot.ErrInvalidKey, "%+v", tc)
		assert.ErrorContains(t, err, tc.want)
	}
}

func TestValidKey(t *testing.T) {
	for k, ok := range map[string]bool{
		"a":                           true,
		"a/b c/d.jsonl":               true,
		"dt=2024-01-01/app=x/_m.json": true,
		"é/ü":                         true,
		"":                            false,
		"/a":                          false,
		"a/":                          false,
		"a//b":                        false,
		"..":                          false,
		"a/./b":                       false,
		`a\b`:                         false,
		"a\tb":                        false,
		"a\u0085b":                    false,
		strings.Repeat("k", 851):      false,
	} {
		err := snapshot.ValidKey(k)
		if ok {
			assert.NoError(t, err, "%q", k)
		} else {
			assert.ErrorIs(t, err, snapshot.ErrInvalidKey, "%q", k)
		}
	}
}

func TestManifestRoundTripAndSchemaCheck(t *testing.T) {
	m := &snapshot.Manifest{
		SchemaVersion: snapshot.ManifestSchemaVersion, Dataset: "d", DatasetVersion: "v1", Date: jan1,
		Window:      snapshot.NewWindow(time.FixedZone("CST", 8*3600), time.Date(2023, 12, 31, 16, 0, 0, 0, time.UTC), time.Date(2024, 1, 1, 16, 0, 0, 0, time.UTC)),
		GeneratedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Status: snapshot.StatusComplete,
		Apps: []string{}, Files: []snapshot.FileEntry{}, RequestIDs: []string{},
	}
	assert.Equal(t, "2024-01-01T00:00:00+08:00", m.Window.StartLocal)
	assert.Equal(t, "2023-12-31T16:00:00Z", m.Window.StartUTC)
	b, err := m.Encode()
	require.NoError(t, err)
	got, err := snapshot.DecodeManifest(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, m, got)

	_, err = snapshot.DecodeManifest(strings.NewReader(`{"schema_version": 2}`))
	assert.ErrorIs(t, err, snapshot.ErrBadManifest)
	_, err = snapshot.DecodeManifest(strings.NewReader(`{`))
	assert.ErrorIs(t, err, snapshot.ErrBadManifest)
}

// ReadProgress reads of a stored manifest exactly the progress ReadManifest gives, and nothing
// of the rest; bad and missing manifests are told apart as ReadManifest tells them.
func TestReadProgress(t *testing.T) {
	ctx := t.Context()
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	fetched := time.Date(2024, 1, 2, 1, 0, 0, 0, time.UTC)
	m := &snapshot.Manifest{
		SchemaVersion: snapshot.ManifestSchemaVersion, Dataset: "d", DatasetVersion: "v1", Date: jan1,
		GeneratedAt: fetched.Add(time.Minute), Status: snapshot.StatusPartial,
		Apps: []string{"1", "2", "3"}, AppsPending: []string{"3"},
		Files:      []snapshot.FileEntry{{Key: "d/v1/dt=2024-01-01/app=1/part-00000.jsonl", App: "1", Format: usage.JSONL, Rows: 4}},
		FetchedAt:  map[string]time.Time{"1": fetched, "2": fetched.Add(time.Second)},
		RequestIDs: []string{"rid-1"}, Checks: []usage.Check{{Name: "x", App: "1", Status: usage.CheckOK}},
	}
	b, err := m.Encode()
	require.NoError(t, err)
	key, err := snapshot.ManifestKey("", "d", jan1)
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, key, bytes.NewReader(b), snapshot.PutOptions{}))

	full, err := snapshot.ReadManifest(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	got, err := snapshot.ReadProgress(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	assert.Equal(t, &snapshot.Manifest{
		SchemaVersion: full.SchemaVersion, Dataset: full.Dataset, Date: full.Date, GeneratedAt: full.GeneratedAt,
		Status: full.Status, Apps: full.Apps, AppsPending: full.AppsPending, FetchedAt: full.FetchedAt,
	}, got)
	assert.Equal(t, map[string]bool{"1": true, "2": true}, got.Delivered(), "pending apps are not delivered")

	// The progress comes before the files, and reading stops there: a manifest cut inside its
	// files still tells the progress (a commit reads it whole and finds it undecodable).
	cut := bytes.Index(b, []byte(`"files"`))
	require.Positive(t, cut)
	assert.Less(t, bytes.Index(b, []byte(`"fetched_at"`)), cut, "fetched_at is written before the files")
	require.NoError(t, st.Put(ctx, key, bytes.NewReader(append(b[:cut:cut], `"files": [{"key": `...)), snapshot.PutOptions{}))
	got, err = snapshot.ReadProgress(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	assert.Equal(t, full.FetchedAt, got.FetchedAt)
	_, err = snapshot.ReadManifest(ctx, st, "", "d", jan1)
	assert.ErrorIs(t, err, snapshot.ErrBadManifest)

	// A manifest written with fetched_at after the files (before it moved up) is read to the end.
	old := `{"schema_version": 1, "dataset": "d", "date": "2024-01-01", "status": "complete", "apps": ["1"],
		"files": [{"key": "k", "app": "1"}], "fetched_at": {"1": "2024-01-02T01:00:00Z"}, "request_ids": []}`
	require.NoError(t, st.Put(ctx, key, strings.NewReader(old), snapshot.PutOptions{}))
	got, err = snapshot.ReadProgress(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	assert.Equal(t, map[string]time.Time{"1": fetched}, got.FetchedAt)
	assert.Equal(t, []string{"1"}, got.Apps)

	_, err = snapshot.ReadProgress(ctx, st, "", "d", jan1.Add(1))
	assert.ErrorIs(t, err, fs.ErrNotExist)
	for _, bad := range []string{`{"schema_version": 2}`, `{"apps": [1]}`, `{`, `[]`, `{"schema_version": 1, "apps": ["1"], "files": [`} {
		require.NoError(t, st.Put(ctx, key, strings.NewReader(bad), snapshot.PutOptions{}))
		_, err = snapshot.ReadProgress(ctx, st, "", "d", jan1)
		assert.ErrorIs(t, err, snapshot.ErrBadManifest, bad)
		assert.ErrorContains(t, err, key)
	}
}

func TestCommitReplacesUndecodableManifest(t *testing.T) {
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	ctx := t.Context()
	mkey, _ := snapshot.ManifestKey("", "d", jan1)
	require.NoError(t, st.Put(ctx, mkey, strings.NewReader("not json"), snapshot.PutOptions{}))
	_, err = snapshot.ReadManifest(ctx, st, "", "d", jan1)
	require.ErrorIs(t, err, snapshot.ErrBadManifest)

	req := snapshot.CommitRequest{Dataset: "d", Day: jan1, GeneratedAt: time.Unix(1, 0),
		Files: []snapshot.File{{App: "a", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes([]byte("{}\n"))}}}
	res, err := snapshot.Commit(ctx, st, "", req)
	require.NoError(t, err)
	assert.True(t, res.Invalidated)
	rep, err := snapshot.Verify(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
}

func TestCommitRejectsBadRequests(t *testing.T) {
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	content := snapshot.Bytes([]byte("x"))
	base := snapshot.CommitRequest{Dataset: "d", Day: jan1, GeneratedAt: time.Unix(1, 0)}
	for _, tc := range []struct {
		name string
		edit func(*snapshot.CommitRequest)
		want string
	}{
		{"no clock", func(r *snapshot.CommitRequest) { r.GeneratedAt = time.Time{} }, "GeneratedAt"},
		{"bad app in Apps", func(r *snapshot.CommitRequest) { r.Apps = []string{"a/b"} }, `app "a/b"`},
		{"bad expected app", func(r *snapshot.CommitRequest) { r.ExpectedApps = []string{""} }, "expected apps"},
		{"no content", func(r *snapshot.CommitRequest) { r.Files = []snapshot.File{{App: "a", Format: usage.CSV}} }, "no content"},
		{"negative rows", func(r *snapshot.CommitRequest) {
			r.Files = []snapshot.File{{App: "a", Format: usage.CSV, Rows: -1, Content: content}}
		}, "negative rows"},
		{"duplicate", func(r *snapshot.CommitRequest) {
			f := snapshot.File{App: "a", Format: usage.CSV, Content: content}
			r.Files = []snapshot.File{f, f}
		}, "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.edit(&r)
			_, err := snapshot.Commit(t.Context(), st, "", r)
			assert.ErrorContains(t, err, tc.want)
			objs, err := st.List(t.Context(), "")
			require.NoError(t, err)
			assert.Empty(t, objs, "nothing written")
		})
	}
}

func TestVerifyReportsProblems(t *testing.T) {
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	defer st.Close()
	ctx := t.Context()
	_, err = snapshot.Verify(ctx, st, "", "d", jan1)
	require.ErrorIs(t, err, fs.ErrNotExist)

	req := snapshot.CommitRequest{Dataset: "d", Day: jan1, GeneratedAt: time.Unix(1, 0), Files: []snapshot.File{
		{App: "a", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes([]byte("{\"a\":1}\n"))},
		{App: "b", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes([]byte("{\"b\":1}\n"))},
	}}
	res, err := snapshot.Commit(ctx, st, "", req)
	require.NoError(t, err)
	ka, kb := res.Manifest.Files[0].Key, res.Manifest.Files[1].Key
	require.NoError(t, st.Put(ctx, ka, strings.NewReader("{\"a\":2}\n"), snapshot.PutOptions{})) // same size, other bytes
	require.NoError(t, st.Delete(ctx, kb))
	orphan, _ := snapshot.DataKey("", "d", jan1, "c", usage.CSV)
	require.NoError(t, st.Put(ctx, orphan, strings.NewReader("c"), snapshot.PutOptions{}))

	rep, err := snapshot.Verify(ctx, st, "", "d", jan1)
	require.NoError(t, err)
	assert.False(t, rep.OK())
	require.Len(t, rep.Problems, 2, rep.Problems)
	assert.Contains(t, rep.Problems[0], "sha256")
	assert.Contains(t, rep.Problems[1], "missing")
	assert.Equal(t, []string{orphan}, rep.Unlisted)

	parts, err := snapshot.ListPartitions(ctx, st, "", "d")
	require.NoError(t, err)
	assert.Equal(t, []snapshot.PartitionInfo{{Date: jan1, Version: "v1", HasManifest: true, Objects: 3}}, parts)

	// A day without a manifest (an interrupted first delivery) is listed as such, in date order,
	// and a dataset never written lists nothing, without an error.
	jan2 := jan1.Add(1)
	orphan2, _ := snapshot.DataKey("", "d", jan2, "a", usage.JSONL)
	require.NoError(t, st.Put(ctx, orphan2, strings.NewReader("{}\n"), snapshot.PutOptions{}))
	parts, err = snapshot.ListPartitions(ctx, st, "", "d")
	require.NoError(t, err)
	assert.Equal(t, []snapshot.PartitionInfo{{Date: jan1, Version: "v1", HasManifest: true, Objects: 3}, {Date: jan2, Version: "v1", Objects: 1}}, parts)
	parts, err = snapshot.ListPartitions(ctx, st, "", "never")
	require.NoError(t, err)
	assert.Empty(t, parts)
}

var jan1 = calendar.Date(2024, time.January, 1)
