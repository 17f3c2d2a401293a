// Package snapshottest is the conformance suite every snapshot.Store backend passes: store
// semantics, the partition layout, manifest contents and hashes, reruns, unchanged-content
// skipping, crashes at every step of a commit, hostile keys, wrong credentials and concurrent use.
package snapshottest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// WireRequest is a request a backend's server received, for backends that can observe them.
type WireRequest struct {
	Method string
	Key    string
	Header http.Header
	Status int
}

// Env is one fresh backend for one subtest.
type Env struct {
	Store snapshot.Store
	// Prefix is a key prefix no other subtest uses (backends may share a bucket).
	Prefix string
	// Wire returns the requests received since the Env was made; nil when not observable.
	Wire func() []WireRequest
	// BadCredentials returns a store on the same data with a wrong secret; nil when the backend
	// has no credentials.
	BadCredentials func() snapshot.Store
	// Tagged is true when the backend gives entity tags (ObjectInfo.ETag), which readers use to
	// tell an object unchanged without reading it (snapshot.ManifestTag).
	Tagged bool
}

// Run runs the suite; newEnv is called once per subtest.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	t.Run("StoreBasics", func(t *testing.T) { testStoreBasics(t, newEnv(t)) })
	t.Run("ListPaging", func(t *testing.T) { testListPaging(t, newEnv(t)) })
	t.Run("HostileKeys", func(t *testing.T) { testHostileKeys(t, newEnv(t)) })
	t.Run("CommitLayoutAndManifest", func(t *testing.T) { testCommitLayout(t, newEnv(t)) })
	t.Run("RerunReplacesPartition", func(t *testing.T) { testRerun(t, newEnv(t)) })
	t.Run("IdenticalContentNotRewritten", func(t *testing.T) { testIdentical(t, newEnv(t)) })
	t.Run("MergeAppByApp", func(t *testing.T) { testMerge(t, newEnv(t)) })
	t.Run("CrashAtEachStep", func(t *testing.T) {
		for _, merge := range []bool{false, true} {
			t.Run(fmt.Sprintf("merge=%v", merge), func(t *testing.T) { testCrash(t, newEnv, merge) })
		}
	})
	t.Run("WrongCredentials", func(t *testing.T) { testWrongCredentials(t, newEnv(t)) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, newEnv(t)) })
	t.Run("PutIfAbsent", func(t *testing.T) { testIfAbsent(t, newEnv(t)) })
	t.Run("Lease", func(t *testing.T) { testLease(t, newEnv(t)) })
	t.Run("LeaseRace", func(t *testing.T) { testLeaseRace(t, newEnv(t)) })
}

// key joins the env prefix and a name.
func key(e Env, name string) string {
	if e.Prefix == "" {
		return name
	}
	return e.Prefix + "/" + name
}

func put(t *testing.T, st snapshot.Store, k, body string) {
	t.Helper()
	require.NoError(t, st.Put(t.Context(), k, strings.NewReader(body), snapshot.PutOptions{Size: int64(len(body)), ContentType: "text/plain"}))
}

func get(t *testing.T, st snapshot.Store, k string) string {
	t.Helper()
	b, err := snapshot.ReadObject(t.Context(), st, k)
	require.NoError(t, err)
	return string(b)
}

func keysOf(objs []snapshot.ObjectInfo) []string {
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

func testStoreBasics(t *testing.T, e Env) {
	ctx := t.Context()
	st := e.Store
	k := key(e, "basics/a b/x.txt")

	_, err := st.Get(ctx, k)
	assert.ErrorIs(t, err, fs.ErrNotExist, "get missing")
	_, err = st.Head(ctx, k)
	assert.ErrorIs(t, err, fs.ErrNotExist, "head missing")
	assert.NoError(t, st.Delete(ctx, k), "delete missing")

	put(t, st, k, "hello")
	assert.Equal(t, "hello", get(t, st, k))
	info, err := st.Head(ctx, k)
	require.NoError(t, err)
	assert.Equal(t, k, info.Key)
	assert.Equal(t, int64(5), info.Size)

	put(t, st, k, "replaced body")
	assert.Equal(t, "replaced body", get(t, st, k))
	checkTags(t, e, k, info)

	// Size and MD5 left for the store to find.
	k0 := key(e, "basics/empty")
	require.NoError(t, st.Put(ctx, k0, bytes.NewReader(nil), snapshot.PutOptions{}))
	assert.Equal(t, "", get(t, st, k0))
	info, err = st.Head(ctx, k0)
	require.NoError(t, err)
	assert.Equal(t, int64(0), info.Size)

	// A wrong Content-MD5 is refused and leaves the old object.
	bad := snapshot.Bytes([]byte("other")).MD5()
	err = st.Put(ctx, k, strings.NewReader("tampered"), snapshot.PutOptions{Size: 8, ContentMD5: bad[:]})
	assert.ErrorIs(t, err, snapshot.ErrBadDigest)
	assert.Equal(t, "replaced body", get(t, st, k))

	// List: prefix boundaries, sorting, no directories.
	for _, n := range []string{"basics/list/b", "basics/list/a/1", "basics/listing", "basics/list/a/0"} {
		put(t, st, key(e, n), n)
	}
	objs, err := st.List(ctx, key(e, "basics/list/"))
	require.NoError(t, err)
	assert.Equal(t, []string{key(e, "basics/list/a/0"), key(e, "basics/list/a/1"), key(e, "basics/list/b")}, keysOf(objs))
	objs, err = st.List(ctx, key(e, "basics/list"))
	require.NoError(t, err)
	assert.Equal(t, []string{key(e, "basics/list/a/0"), key(e, "basics/list/a/1"), key(e, "basics/list/b"), key(e, "basics/listing")}, keysOf(objs))
	for _, o := range objs {
		assert.Equal(t, int64(len(strings.TrimPrefix(o.Key, e.Prefix+"/"))), o.Size, o.Key)
	}
	objs, err = st.List(ctx, key(e, "basics/none/"))
	require.NoError(t, err)
	assert.Empty(t, objs)

	require.NoError(t, st.Delete(ctx, k))
	_, err = st.Get(ctx, k)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	checkWireMD5(t, e)
}

// checkTags asserts that a tagged store's tag changed with the object under k (before: its
// Head before the change), and that Head and List give the same tag; an untagged store gives none.
func checkTags(t *testing.T, e Env, k string, before snapshot.ObjectInfo) {
	t.Helper()
	after, err := e.Store.Head(t.Context(), k)
	require.NoError(t, err)
	objs, err := e.Store.List(t.Context(), k)
	require.NoError(t, err)
	require.Len(t, objs, 1)
	if !e.Tagged {
		assert.Empty(t, before.ETag+after.ETag+objs[0].ETag, "an untagged store gives no tags")
		return
	}
	assert.NotEmpty(t, before.ETag)
	assert.NotEqual(t, before.ETag, after.ETag, "another body, another tag")
	assert.Equal(t, after.ETag, objs[0].ETag, "Head and List give the same tag")
}

// checkWireMD5 asserts every PUT that reached the server carried a well-formed Content-MD5.
func checkWireMD5(t *testing.T, e Env) {
	t.Helper()
	if e.Wire == nil {
		return
	}
	n := 0
	for _, r := range e.Wire() {
		if r.Method != http.MethodPut {
			continue
		}
		n++
		sum, err := base64.StdEncoding.DecodeString(r.Header.Get("Content-Md5"))
		assert.NoError(t, err, r.Key)
		assert.Len(t, sum, 16, "Content-MD5 of PUT %s", r.Key)
	}
	assert.Positive(t, n, "no PUT observed")
}

func testListPaging(t *testing.T, e Env) {
	var want []string
	for i := range 11 {
		k := key(e, fmt.Sprintf("paging/%02d", i))
		put(t, e.Store, k, "x")
		want = append(want, k)
	}
	objs, err := e.Store.List(t.Context(), key(e, "paging/"))
	require.NoError(t, err)
	assert.Equal(t, want, keysOf(objs))
}

func testHostileKeys(t *testing.T, e Env) {
	ctx := t.Context()
	for _, k := range []string{"", "../escape", "a/../../escape", "/abs", "a//b", "a/./b", "a/", `a\b`, "a\x00b", "a\nb", "\xff"} {
		err := e.Store.Put(ctx, k, strings.NewReader("x"), snapshot.PutOptions{})
		assert.ErrorIs(t, err, snapshot.ErrInvalidKey, "put %q", k)
		_, err = e.Store.Get(ctx, k)
		assert.ErrorIs(t, err, snapshot.ErrInvalidKey, "get %q", k)
		_, err = e.Store.Head(ctx, k)
		assert.ErrorIs(t, err, snapshot.ErrInvalidKey, "head %q", k)
		assert.ErrorIs(t, e.Store.Delete(ctx, k), snapshot.ErrInvalidKey, "delete %q", k)
	}
	_, err := e.Store.List(ctx, "../")
	assert.ErrorIs(t, err, snapshot.ErrInvalidKey)

	jan2 := calendar.Date(2024, time.January, 2)
	for _, tc := range []struct {
		dataset string
		date    calendar.Day
		app     string
		part    string
	}{
		{"usage", jan2, "../x", "app"},
		{"usage", jan2, "a/b", "app"},
		{"usage", jan2, "", "app"},
		{"usage", jan2, "a\x00", "app"},
		{"usage", jan2, strings.Repeat("a", 65), "app"},
		{"Usage", jan2, "a", "dataset"},
		{"us/age", jan2, "a", "dataset"},
		{"usage", calendar.Day{}, "a", "day"},
	} {
		_, err := snapshot.DataKey(e.Prefix, tc.dataset, tc.date, tc.app, usage.JSONL)
		require.ErrorIs(t, err, snapshot.ErrInvalidKey, "%+v", tc)
		assert.Contains(t, err.Error(), tc.part, "%+v", tc)
	}
	_, err = snapshot.DataKey(e.Prefix, "usage", jan2, "a", "xml")
	assert.ErrorContains(t, err, "format")

	// A commit with one hostile part writes nothing.
	req := request(jan2, 1, "good", "../bad")
	_, err = snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.ErrorIs(t, err, snapshot.ErrInvalidKey)
	objs, err := e.Store.List(ctx, key(e, ""))
	require.NoError(t, err)
	assert.Empty(t, objs)
}

// Test data: deterministic content per (app, format, version).

func body(app string, f usage.Format, version int) []byte {
	if f == usage.CSV {
		return fmt.Appendf(nil, "app,version,minutes\n%s,%d,%d\n", app, version, 10*version)
	}
	return fmt.Appendf(nil, "{\"app\":%q,\"version\":%d,\"minutes\":%d}\n", app, version, 10*version)
}

var clockBase = time.Date(2024, 1, 3, 1, 0, 0, 0, time.UTC)

func request(date calendar.Day, version int, apps ...string) snapshot.CommitRequest {
	req := snapshot.CommitRequest{
		Dataset:     "trtc_room_usage",
		Day:         date,
		Origin:      snapshot.Origin{Service: "trtc", Action: "DescribeTrtcRoomUsage", APIVersion: "2019-07-22", Details: map[string]string{"fallback": "none"}},
		Window:      snapshot.NewWindow(calendar.Zone, date.Start(), date.End()),
		GeneratedAt: clockBase.Add(time.Duration(version) * time.Hour),
		RequestIDs:  []string{fmt.Sprintf("req-%d", version)},
		Apps:        apps,
	}
	for _, a := range apps {
		for _, f := range []usage.Format{usage.JSONL, usage.CSV} {
			req.Files = append(req.Files, snapshot.File{App: a, Format: f, Rows: 1, Content: snapshot.Bytes(body(a, f, version))})
		}
	}
	return req
}

// withVersion replaces the content of app's files with another version.
func withVersion(req snapshot.CommitRequest, app string, version int) snapshot.CommitRequest {
	files := slices.Clone(req.Files)
	for i, f := range files {
		if f.App == app {
			files[i].Content = snapshot.Bytes(body(app, f.Format, version))
		}
	}
	req.Files = files
	return req
}

func dataKeys(t *testing.T, e Env, date calendar.Day, apps ...string) []string {
	t.Helper()
	var out []string
	for _, a := range apps {
		for _, f := range []usage.Format{usage.CSV, usage.JSONL} {
			k, err := snapshot.DataKey(e.Prefix, "trtc_room_usage", date, a, f)
			require.NoError(t, err)
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

// partitionKeys lists the partition's objects (manifest included).
func partitionKeys(t *testing.T, e Env, date calendar.Day) []string {
	t.Helper()
	dir, err := snapshot.PartitionDir(e.Prefix, "trtc_room_usage", date)
	require.NoError(t, err)
	objs, err := e.Store.List(t.Context(), dir)
	require.NoError(t, err)
	return keysOf(objs)
}

// requireSound asserts the invariant: no manifest, or one whose files are all in place.
func requireSound(t *testing.T, e Env, date calendar.Day) *snapshot.VerifyReport {
	t.Helper()
	rep, err := snapshot.Verify(t.Context(), e.Store, e.Prefix, "trtc_room_usage", date)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	require.True(t, rep.OK(), "manifest points at missing or different bytes: %v", rep.Problems)
	return rep
}

func testCommitLayout(t *testing.T, e Env) {
	ctx := t.Context()
	date := calendar.Date(2024, 1, 2)
	req := request(date, 1, "1400000001", "ORG_abc-9")
	req.Totals = map[string]float64{"minutes": 20}
	res, err := snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.NoError(t, err)

	mkey, err := snapshot.ManifestKey(e.Prefix, "trtc_room_usage", date)
	require.NoError(t, err)
	assert.Equal(t, mkey, res.ManifestKey)
	wantPrefix := "trtc_room_usage/v1/dt=2024-01-02/"
	if e.Prefix != "" {
		wantPrefix = e.Prefix + "/" + wantPrefix
	}
	assert.Equal(t, wantPrefix+"_manifest.json", mkey)
	want := dataKeys(t, e, date, "1400000001", "ORG_abc-9")
	assert.Equal(t, wantPrefix+"app=1400000001/part-00000.csv", want[0])
	assert.Equal(t, append([]string{mkey}, want...), partitionKeys(t, e, date))
	assert.ElementsMatch(t, want, res.Written)

	m, err := snapshot.ReadManifest(ctx, e.Store, e.Prefix, "trtc_room_usage", date)
	require.NoError(t, err)
	assert.Equal(t, res.Manifest, m)
	assert.Equal(t, snapshot.ManifestSchemaVersion, m.SchemaVersion)
	assert.Equal(t, "trtc_room_usage", m.Dataset)
	assert.Equal(t, "v1", m.DatasetVersion)
	assert.Equal(t, date, m.Date)
	assert.Equal(t, req.Origin, m.Origin)
	assert.Equal(t, "2024-01-02T00:00:00+08:00", m.Window.StartLocal)
	assert.Equal(t, "2024-01-02T16:00:00Z", m.Window.EndUTC)
	assert.Equal(t, clockBase.Add(time.Hour), m.GeneratedAt)
	assert.Equal(t, snapshot.StatusComplete, m.Status)
	assert.Empty(t, m.AppsPending)
	assert.Equal(t, []string{"1400000001", "ORG_abc-9"}, m.Apps)
	assert.Equal(t, []string{"req-1"}, m.RequestIDs)
	assert.Equal(t, map[string]float64{"minutes": 20}, m.Totals)
	require.Len(t, m.Files, 4)
	for i, f := range m.Files {
		assert.Equal(t, want[i], f.Key)
		b := get(t, e.Store, f.Key)
		sum := sha256.Sum256([]byte(b))
		assert.Equal(t, hex.EncodeToString(sum[:]), f.SHA256, f.Key)
		assert.Equal(t, int64(len(b)), f.Bytes, f.Key)
		assert.Equal(t, string(body(f.App, f.Format, 1)), b, f.Key)
		assert.Equal(t, int64(1), f.Rows)
		assert.Equal(t, f.Format.ContentType(), f.ContentType)
		assert.False(t, f.Unchanged)
	}
	assert.Equal(t, "application/x-ndjson", m.Files[1].ContentType)
	assert.Equal(t, "text/csv; charset=utf-8", m.Files[0].ContentType)

	// The manifest's JSON field order is part of the contract.
	raw := get(t, e.Store, mkey)
	order := []string{`"schema_version"`, `"dataset"`, `"dataset_version"`, `"date"`, `"source"`, `"window"`, `"generated_at"`, `"status"`, `"apps"`, `"files"`, `"request_ids"`, `"totals"`}
	last := -1
	for _, f := range order {
		i := strings.Index(raw, f)
		require.Greater(t, i, last, "field %s out of order in %s", f, raw)
		last = i
	}

	rep := requireSound(t, e, date)
	require.NotNil(t, rep)
	assert.Empty(t, rep.Unlisted)
	parts, err := snapshot.ListPartitions(ctx, e.Store, e.Prefix, "trtc_room_usage")
	require.NoError(t, err)
	assert.Equal(t, []snapshot.PartitionInfo{{Date: date, Version: "v1", HasManifest: true, Objects: 5}}, parts)

	if e.Wire != nil {
		types := map[string]string{}
		for _, r := range e.Wire() {
			if r.Method == http.MethodPut && r.Status/100 == 2 {
				types[r.Key] = r.Header.Get("Content-Type")
			}
		}
		assert.Equal(t, "text/csv; charset=utf-8", types[want[0]])
		assert.Equal(t, "application/x-ndjson", types[want[1]])
		assert.Equal(t, "application/json", types[mkey])
		checkWireMD5(t, e)
	}
}

func testRerun(t *testing.T, e Env) {
	ctx := t.Context()
	date := calendar.Date(2024, 2, 29)
	_, err := snapshot.Commit(ctx, e.Store, e.Prefix, request(date, 1, "a", "b"))
	require.NoError(t, err)

	// Leave an orphan as an interrupted run would.
	orphan := dataKeys(t, e, date, "zz")[0]
	put(t, e.Store, orphan, "orphan")

	req := withVersion(request(date, 2, "a", "c"), "c", 1)
	res, err := snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.NoError(t, err)
	mkey, _ := snapshot.ManifestKey(e.Prefix, "trtc_room_usage", date)
	assert.Equal(t, append([]string{mkey}, dataKeys(t, e, date, "a", "c")...), partitionKeys(t, e, date))
	assert.ElementsMatch(t, append(dataKeys(t, e, date, "b"), orphan), res.Deleted)
	assert.ElementsMatch(t, dataKeys(t, e, date, "a", "c"), res.Written)
	assert.True(t, res.Invalidated)
	m := requireSound(t, e, date).Manifest
	assert.Equal(t, []string{"a", "c"}, m.Apps)
	assert.Equal(t, []string{"req-2"}, m.RequestIDs)
	assert.Equal(t, string(body("a", usage.JSONL, 2)), get(t, e.Store, dataKeys(t, e, date, "a")[1]))

	// An unlisted object outside the app layout is left alone.
	dir, _ := snapshot.PartitionDir(e.Prefix, "trtc_room_usage", date)
	put(t, e.Store, dir+"README", "kept")
	_, err = snapshot.Commit(ctx, e.Store, e.Prefix, request(date, 3, "a"))
	require.NoError(t, err)
	assert.Equal(t, "kept", get(t, e.Store, dir+"README"))
}

func testIdentical(t *testing.T, e Env) {
	ctx := t.Context()
	date := calendar.Date(2024, 3, 1)
	_, err := snapshot.Commit(ctx, e.Store, e.Prefix, request(date, 1, "a", "b"))
	require.NoError(t, err)
	var before int
	if e.Wire != nil {
		before = len(e.Wire())
	}

	req := request(date, 1, "a", "b")
	req.GeneratedAt = req.GeneratedAt.Add(time.Hour)
	req = withVersion(req, "b", 5)
	res, err := snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.NoError(t, err)
	assert.ElementsMatch(t, dataKeys(t, e, date, "a"), res.Unchanged)
	assert.ElementsMatch(t, dataKeys(t, e, date, "b"), res.Written)
	for _, f := range res.Manifest.Files {
		assert.Equal(t, f.App == "a", f.Unchanged, f.Key)
	}
	if e.Wire != nil {
		var puts []string
		for _, r := range e.Wire()[before:] {
			if r.Method == http.MethodPut {
				puts = append(puts, r.Key)
			}
		}
		// Interim manifest (b's files change), b's two files, the change log entry, the final
		// manifest: nothing for a.
		mkey, _ := snapshot.ManifestKey(e.Prefix, "trtc_room_usage", date)
		ckey, _ := snapshot.ChangeKey(e.Prefix, "trtc_room_usage", date, 1)
		assert.ElementsMatch(t, append(dataKeys(t, e, date, "b"), mkey, ckey, mkey), puts)
	}
	// The restatement is recorded: b's two files, from version 1 to version 5.
	require.NotNil(t, res.Change)
	assert.Equal(t, 1, res.Change.Seq)
	require.Len(t, res.Change.Files, 2)
	for _, f := range res.Change.Files {
		assert.Equal(t, "b", f.App)
		assert.Equal(t, sha(body("b", f.Format, 1)), f.PreviousSHA256)
		assert.Equal(t, sha(body("b", f.Format, 5)), f.SHA256)
	}
	assert.Equal(t, []snapshot.Change{*res.Change}, res.Manifest.Changes)
	logged, err := snapshot.ReadChanges(ctx, e.Store, e.Prefix, "trtc_room_usage", date)
	require.NoError(t, err)
	require.Len(t, logged, 1)
	assert.Equal(t, *res.Change, logged[0].Change)
	assert.Equal(t, res.ManifestKey, logged[0].Manifest)
	mkey, _ := snapshot.ManifestKey(e.Prefix, "trtc_room_usage", date)
	manifestBefore := get(t, e.Store, mkey)

	// All identical, fetched again later: nothing at all is written, the manifest stays as it is.
	if e.Wire != nil {
		before = len(e.Wire())
	}
	again := req
	again.GeneratedAt = again.GeneratedAt.Add(time.Hour)
	again.RequestIDs = []string{"req-again"}
	res, err = snapshot.Commit(ctx, e.Store, e.Prefix, again)
	require.NoError(t, err)
	assert.True(t, res.Kept)
	assert.Empty(t, res.Written)
	assert.False(t, res.Invalidated)
	assert.Nil(t, res.Change)
	assert.Len(t, res.Unchanged, 4)
	assert.Equal(t, manifestBefore, get(t, e.Store, mkey), "the manifest is byte-identical")
	if e.Wire != nil {
		for _, r := range e.Wire()[before:] {
			assert.NotContains(t, []string{http.MethodPut, http.MethodDelete, http.MethodPost}, r.Method, "%s %s", r.Method, r.Key)
		}
	}
	requireSound(t, e, date)

	// A file that vanished behind the manifest's back is written again: no restatement.
	gone := dataKeys(t, e, date, "a")[0]
	require.NoError(t, e.Store.Delete(ctx, gone))
	res, err = snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.NoError(t, err)
	assert.Equal(t, []string{gone}, res.Written)
	assert.False(t, res.Kept)
	assert.Nil(t, res.Change)
	assert.Len(t, res.Manifest.Changes, 1)
	requireSound(t, e, date)
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func testMerge(t *testing.T, e Env) {
	ctx := t.Context()
	date := calendar.Date(2024, 4, 30)
	expected := []string{"a", "b", "c"}
	step := func(version int, apps ...string) *snapshot.Result {
		t.Helper()
		req := request(date, version, apps...)
		req.Merge = true
		req.ExpectedApps = expected
		res, err := snapshot.Commit(ctx, e.Store, e.Prefix, req)
		require.NoError(t, err)
		requireSound(t, e, date)
		return res
	}
	res := step(1, "a")
	assert.Equal(t, snapshot.StatusPartial, res.Manifest.Status)
	assert.Equal(t, []string{"b", "c"}, res.Manifest.AppsPending)
	assert.Equal(t, []string{"a"}, res.Manifest.Apps)

	res = step(1, "b")
	assert.Equal(t, []string{"c"}, res.Manifest.AppsPending)
	assert.ElementsMatch(t, dataKeys(t, e, date, "a"), res.Carried)
	assert.Empty(t, res.Deleted)

	res = step(1, "c")
	assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status)
	assert.Empty(t, res.Manifest.AppsPending)
	assert.Equal(t, expected, res.Manifest.Apps)
	assert.Len(t, res.Manifest.Files, 6)

	// Redoing one app replaces only it.
	res = step(2, "a")
	assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status)
	assert.ElementsMatch(t, dataKeys(t, e, date, "a"), res.Written)
	assert.ElementsMatch(t, dataKeys(t, e, date, "b", "c"), res.Carried)
	mkey, _ := snapshot.ManifestKey(e.Prefix, "trtc_room_usage", date)
	assert.Equal(t, append([]string{mkey}, dataKeys(t, e, date, "a", "b", "c")...), partitionKeys(t, e, date))

	// A carried app whose file vanished becomes pending again rather than being listed.
	require.NoError(t, e.Store.Delete(ctx, dataKeys(t, e, date, "c")[1]))
	res = step(2, "b")
	assert.Equal(t, snapshot.StatusPartial, res.Manifest.Status)
	assert.Equal(t, []string{"c"}, res.Manifest.AppsPending)
	assert.Equal(t, []string{"a", "b"}, res.Manifest.Apps)

	// An app that is covered but produced no file.
	res = step(3, "c")
	assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status)
	req := request(date, 4)
	req.Apps, req.Merge, req.ExpectedApps = []string{"c"}, true, expected
	res, err := snapshot.Commit(ctx, e.Store, e.Prefix, req)
	require.NoError(t, err)
	assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status)
	assert.ElementsMatch(t, dataKeys(t, e, date, "c"), res.Deleted)
	assert.Len(t, res.Manifest.Files, 4)
	requireSound(t, e, date)
}

// errCrash is what the crashing store returns once it has "crashed".
var errCrash = errors.New("simulated crash")

// crashStore fails every mutating call from the failAt-th one on (counting from 0).
type crashStore struct {
	snapshot.Store
	mu      sync.Mutex
	n       int
	failAt  int
	crashed bool
}

func (c *crashStore) step() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n >= c.failAt {
		c.crashed = true
		return errCrash
	}
	c.n++
	return nil
}

func (c *crashStore) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.Store.Put(ctx, key, body, o)
}

func (c *crashStore) Delete(ctx context.Context, key string) error {
	if err := c.step(); err != nil {
		return err
	}
	return c.Store.Delete(ctx, key)
}

func testCrash(t *testing.T, newEnv func(*testing.T) Env, merge bool) {
	date := calendar.Date(2024, 5, 5)
	mk := func(version int, apps ...string) snapshot.CommitRequest {
		req := request(date, version, apps...)
		req.Merge = merge
		if merge {
			req.ExpectedApps = []string{"a", "b", "c", "d"}
		}
		return req
	}
	for failAt := 0; ; failAt++ {
		e := newEnv(t)
		ctx := t.Context()
		_, err := snapshot.Commit(ctx, e.Store, e.Prefix, mk(1, "a", "b", "c", "d"))
		require.NoError(t, err)
		// The second run changes a, keeps b, drops c (full mode) and rewrites d.
		next := withVersion(withVersion(mk(1, "a", "b", "d"), "a", 2), "d", 3)
		if merge {
			next = withVersion(withVersion(mk(1, "a", "d"), "a", 2), "d", 3)
		}
		cs := &crashStore{Store: e.Store, failAt: failAt}
		_, err = snapshot.Commit(ctx, cs, e.Prefix, next)
		if !cs.crashed {
			require.NoError(t, err)
			require.Greater(t, failAt, 2, "the commit should have several steps")
			return
		}
		require.ErrorIs(t, err, errCrash, "failAt=%d", failAt)
		requireSound(t, e, date)

		res, err := snapshot.Commit(ctx, e.Store, e.Prefix, next)
		require.NoError(t, err, "failAt=%d", failAt)
		rep := requireSound(t, e, date)
		require.NotNil(t, rep)
		assert.Empty(t, rep.Unlisted, "failAt=%d", failAt)
		assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status, "failAt=%d", failAt)
		wantApps := []string{"a", "b", "d"}
		if merge {
			wantApps = []string{"a", "b", "c", "d"}
		}
		assert.Equal(t, wantApps, res.Manifest.Apps, "failAt=%d", failAt)
		for _, f := range res.Manifest.Files {
			version := map[string]int{"a": 2, "d": 3}[f.App]
			if version == 0 {
				version = 1
			}
			assert.Equal(t, string(body(f.App, f.Format, version)), get(t, e.Store, f.Key), "failAt=%d", failAt)
		}
		checkCrashChange(t, e, date, res.Manifest, merge, failAt)
	}
}

// checkCrashChange: wherever the first attempt stopped, the completed delivery records the one
// restatement it made (a and d replaced, c removed unless merging), and the change log holds
// exactly that record.
func checkCrashChange(t *testing.T, e Env, date calendar.Day, m *snapshot.Manifest, merge bool, failAt int) {
	t.Helper()
	require.Len(t, m.Changes, 1, "failAt=%d", failAt)
	c := m.Changes[0]
	want := map[string][2]int{"a": {1, 2}, "d": {1, 3}}
	if !merge {
		want["c"] = [2]int{1, 0}
	}
	got := map[string][2]int{}
	for _, f := range c.Files {
		v := [2]int{}
		for version := 1; version <= 3; version++ {
			if sha(body(f.App, f.Format, version)) == f.PreviousSHA256 {
				v[0] = version
			}
			if sha(body(f.App, f.Format, version)) == f.SHA256 {
				v[1] = version
			}
		}
		got[f.App] = v
	}
	assert.Equal(t, want, got, "failAt=%d", failAt)
	assert.Len(t, c.Files, 2*len(want), "failAt=%d", failAt)
	logged, err := snapshot.ReadChanges(t.Context(), e.Store, e.Prefix, "trtc_room_usage", date)
	require.NoError(t, err)
	require.Len(t, logged, 1, "failAt=%d: one change log entry, the one the manifest lists", failAt)
	assert.Equal(t, c, logged[0].Change, "failAt=%d", failAt)
	assert.Empty(t, m.Replacing, "failAt=%d", failAt)
}

func testWrongCredentials(t *testing.T, e Env) {
	if e.BadCredentials == nil {
		t.Skip("backend has no credentials")
	}
	ctx := t.Context()
	k := key(e, "creds/x")
	put(t, e.Store, k, "x")
	bad := e.BadCredentials()
	err := bad.Put(ctx, k, strings.NewReader("y"), snapshot.PutOptions{})
	assert.ErrorIs(t, err, fs.ErrPermission)
	_, err = bad.Get(ctx, k)
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.NotErrorIs(t, err, fs.ErrNotExist)
	_, err = bad.Head(ctx, k)
	assert.ErrorIs(t, err, fs.ErrPermission)
	_, err = bad.List(ctx, key(e, "creds/"))
	assert.ErrorIs(t, err, fs.ErrPermission)
	_, err = snapshot.ReadManifest(ctx, bad, e.Prefix, "trtc_room_usage", calendar.Date(2024, 1, 1))
	assert.ErrorIs(t, err, fs.ErrPermission, "a denied read must not look like a missing manifest")
	_, err = snapshot.Commit(ctx, bad, e.Prefix, request(calendar.Date(2024, 1, 1), 1, "a"))
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.Equal(t, "x", get(t, e.Store, k))
}

func testConcurrency(t *testing.T, e Env) {
	ctx := t.Context()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 6 {
		wg.Go(func() {
			for i := range 5 {
				k := key(e, fmt.Sprintf("conc/%d/%d", g, i))
				want := fmt.Sprintf("g%d i%d", g, i)
				if err := e.Store.Put(ctx, k, strings.NewReader(want), snapshot.PutOptions{}); err != nil {
					errs <- err
					return
				}
				rc, err := e.Store.Get(ctx, k)
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || string(got) != want {
					errs <- fmt.Errorf("get %s: %q, %v", k, got, err)
					return
				}
				if _, err := e.Store.List(ctx, key(e, "conc/")); err != nil {
					errs <- err
					return
				}
				if i%2 == 1 {
					if err := e.Store.Delete(ctx, k); err != nil {
						errs <- err
						return
					}
				}
			}
		})
		// Several partitions committed at the same time.
		wg.Go(func() {
			date := calendar.Date(2024, time.June, g+1)
			if _, err := snapshot.Commit(ctx, e.Store, e.Prefix, request(date, 1, "a", "b")); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	objs, err := e.Store.List(ctx, key(e, "conc/"))
	require.NoError(t, err)
	assert.Len(t, objs, 6*3)
	parts, err := snapshot.ListPartitions(ctx, e.Store, e.Prefix, "trtc_room_usage")
	require.NoError(t, err)
	assert.Len(t, parts, 6)
	for _, p := range parts {
		assert.True(t, p.HasManifest)
		requireSound(t, e, p.Date)
	}
}

// testIfAbsent: a Put with IfAbsent creates a missing object and refuses an existing one with
// fs.ErrExist, leaving it as it was; of many at once on a fresh key exactly one wins, and the
// object holds the winner's bytes.
func testIfAbsent(t *testing.T, e Env) {
	ctx := t.Context()
	k := key(e, "lease/0001.json")
	put := func(body string) error {
		return e.Store.Put(ctx, k, strings.NewReader(body), snapshot.PutOptions{IfAbsent: true, ContentType: "application/json"})
	}
	require.NoError(t, put("first"))
	err := put("second")
	require.ErrorIs(t, err, fs.ErrExist)
	assert.Equal(t, "first", get(t, e.Store, k))
	require.NoError(t, e.Store.Put(ctx, k, strings.NewReader("plain"), snapshot.PutOptions{}), "a plain Put still replaces")
	assert.Equal(t, "plain", get(t, e.Store, k))

	const racers = 8
	fresh := key(e, "lease/0002.json")
	errs := make([]error, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			errs[i] = e.Store.Put(ctx, fresh, strings.NewReader(fmt.Sprintf("racer %d", i)), snapshot.PutOptions{IfAbsent: true})
		})
	}
	wg.Wait()
	winners := 0
	winner := -1
	for i, err := range errs {
		if err == nil {
			winners++
			winner = i
			continue
		}
		assert.ErrorIs(t, err, fs.ErrExist, "racer %d", i)
	}
	require.Equal(t, 1, winners, "exactly one of %d racers creates the object", racers)
	assert.Equal(t, fmt.Sprintf("racer %d", winner), get(t, e.Store, fresh))
}

// leaseClock is a settable wall clock for lease tests.
type leaseClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *leaseClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *leaseClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testLease: one holder at a time; a held lease names its holder and expiry; release frees it at
// once; an expired lease is taken over and its old holder finds out on its next renewal; old
// generations are pruned.
func testLease(t *testing.T, e Env) {
	ctx := t.Context()
	clk := &leaseClock{t: time.Now()}
	cfg := snapshot.LeaseConfig{TTL: time.Minute, Skew: 5 * time.Second, Now: clk.now}
	const ds = "roomusage"
	a, err := snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "timer A", cfg)
	require.NoError(t, err)
	_, err = snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "backfill B", cfg)
	var held *snapshot.HeldError
	require.ErrorAs(t, err, &held)
	assert.ErrorIs(t, err, snapshot.ErrLeaseHeld)
	assert.Equal(t, "timer A", held.Holder)
	assert.Equal(t, a.Record().ExpiresAt, held.ExpiresAt)

	clk.advance(20 * time.Second)
	require.NoError(t, a.Renew(ctx))
	clk.advance(50 * time.Second) // without the renewal it would have expired 10 s ago (5 s past the skew)
	_, err = snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "backfill B", cfg)
	require.ErrorIs(t, err, snapshot.ErrLeaseHeld, "renewed, the lease holds")
	assert.ErrorIs(t, a.Check(), snapshot.ErrLeaseLost, "in its last third, a lease not renewed again must not start writes")
	require.NoError(t, a.Renew(ctx))
	require.NoError(t, a.Check())

	confirmed := map[string]snapshot.Confirmation{"2024-05-08": {At: clk.now().UTC().Truncate(time.Second), Apps: []string{"1400000001"}}}
	a.Confirm(confirmed)
	require.NoError(t, a.Release(ctx, nil))
	dir, err := snapshot.LeaseDir(e.Prefix, ds)
	require.NoError(t, err)
	objs, err := e.Store.List(ctx, dir)
	require.NoError(t, err)
	released := a.Record().Generation
	assert.Equal(t, []string{fmt.Sprintf("%s%020d.json", dir, released-1), fmt.Sprintf("%s%020d.json", dir, released)}, keysOf(objs),
		"a release returns with all but the last two generations pruned: no prune outlives it to change the store later")
	b, err := snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "backfill B", cfg)
	require.NoError(t, err, "released, the lease is free at once")
	assert.Equal(t, confirmed, b.Record().Confirmed, "the confirmations are handed over")

	clk.advance(time.Minute + 6*time.Second) // B stops renewing (killed): expired past the skew
	c, err := snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "timer C", cfg)
	require.NoError(t, err, "an expired lease is taken over")
	assert.ErrorIs(t, b.Renew(ctx), snapshot.ErrLeaseLost, "the old holder finds out")
	assert.ErrorIs(t, b.Check(), snapshot.ErrLeaseLost)
	require.NoError(t, c.Check())

	rec, err := snapshot.ReadLease(ctx, e.Store, e.Prefix, ds)
	require.NoError(t, err)
	assert.Equal(t, "timer C", rec.Holder)
	assert.Equal(t, c.Record().Generation, rec.Generation)
	assert.Equal(t, confirmed, rec.Confirmed, "a holder killed before its release still handed them on")
	objs, err = e.Store.List(ctx, dir)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(objs), 2, "older generations are pruned: %v", keysOf(objs))
	other, err := snapshot.ReadLease(ctx, e.Store, e.Prefix, "telcall")
	require.NoError(t, err)
	assert.Nil(t, other, "each dataset has its own lease")

	// A process whose release failed takes its own lease back at once; nobody else can.
	stranger := cfg
	stranger.Previous = "some other token"
	_, err = snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "timer D", stranger)
	require.ErrorIs(t, err, snapshot.ErrLeaseHeld)
	own := cfg
	own.Previous = c.Record().Token
	d, err := snapshot.AcquireLease(ctx, e.Store, e.Prefix, ds, "timer D", own)
	require.NoError(t, err, "the previous holder's own process knows it is done")
	assert.ErrorIs(t, c.Renew(ctx), snapshot.ErrLeaseLost)
	require.NoError(t, d.Check())
}

// testLeaseRace: many writers try to take a free lease, and an expired one, at the same moment:
// exactly one wins each time.
func testLeaseRace(t *testing.T, e Env) {
	ctx := t.Context()
	clk := &leaseClock{t: time.Now()}
	cfg := snapshot.LeaseConfig{TTL: time.Minute, Skew: time.Second, Now: clk.now}
	race := func() int {
		const racers = 8
		won := make([]bool, racers)
		var wg sync.WaitGroup
		for i := range racers {
			wg.Go(func() {
				_, err := snapshot.AcquireLease(ctx, e.Store, e.Prefix, "essbill", fmt.Sprintf("racer %d", i), cfg)
				if err == nil {
					won[i] = true
				} else {
					assert.ErrorIs(t, err, snapshot.ErrLeaseHeld)
				}
			})
		}
		wg.Wait()
		n := 0
		for _, w := range won {
			if w {
				n++
			}
		}
		return n
	}
	assert.Equal(t, 1, race(), "a free lease")
	clk.advance(2 * time.Minute)
	assert.Equal(t, 1, race(), "an expired lease")
}
