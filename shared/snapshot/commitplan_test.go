package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/usage"
)

// The commit plan is decided from the request and the partition's state alone; these tables
// check each decision with no store at all.

var planDay = calendar.Date(2024, time.March, 3)

const planDir = "d/v1/dt=2024-03-03/"

func key(app string) string { return planDir + "app=" + app + "/part-00000.jsonl" }

// entry is the manifest entry of app's file holding content.
func entry(app, content string) FileEntry {
	sum := sha256.Sum256([]byte(content))
	return FileEntry{Key: key(app), App: app, Format: usage.JSONL, Rows: 1, Bytes: int64(len(content)),
		SHA256: hex.EncodeToString(sum[:]), ContentType: usage.JSONL.ContentType()}
}

// delivery is a request delivering each app's content (app -> content).
func delivery(merge bool, expected []string, files map[string]string) CommitRequest {
	req := CommitRequest{Dataset: "d", Day: planDay, GeneratedAt: time.Unix(100, 0), Merge: merge, ExpectedApps: expected,
		FetchedAt: map[string]time.Time{}, AppRequestIDs: map[string][]string{}}
	for app, content := range files {
		req.Files = append(req.Files, File{App: app, Format: usage.JSONL, Rows: 1, Content: Bytes([]byte(content))})
		req.Apps = append(req.Apps, app)
		req.FetchedAt[app] = time.Unix(100, 0)
		req.AppRequestIDs[app] = []string{"rid-" + app}
	}
	return req
}

// previous is a manifest holding one file per app (app -> content).
func previous(files map[string]string, pending ...string) *Manifest {
	m := &Manifest{SchemaVersion: ManifestSchemaVersion, Dataset: "d", DatasetVersion: Version("d"), Date: planDay, Status: StatusComplete,
		AppsPending: pending, FetchedAt: map[string]time.Time{}, AppRequestIDs: map[string][]string{}}
	for _, app := range slices.Sorted(maps.Keys(files)) { // in key order, as a manifest lists them
		content := files[app]
		m.Apps = append(m.Apps, app)
		m.Files = append(m.Files, entry(app, content))
		m.FetchedAt[app] = time.Unix(50, 0)
		m.AppRequestIDs[app] = []string{"old-" + app}
	}
	if len(pending) > 0 {
		m.Status = StatusPartial
	}
	return m
}

func listing(keys ...string) []ObjectInfo {
	var out []ObjectInfo
	for _, k := range keys {
		out = append(out, ObjectInfo{Key: k})
	}
	return out
}

func TestPlanCommit(t *testing.T) {
	tests := []struct {
		name  string
		req   CommitRequest
		state commitState
		// want
		write, unchanged, carried, stale, rewritten, lost []string
		status                                            string
		pending, apps                                     []string
		interimFiles                                      []string // nil: no interim
		interimPending                                    []string
		removePrev                                        bool
	}{{
		name: "first delivery writes everything", req: delivery(false, nil, map[string]string{"a": "1", "b": "2"}),
		state: commitState{},
		write: []string{key("a"), key("b")}, status: StatusComplete, apps: []string{"a", "b"},
	}, {
		name: "byte-identical files in place are kept, nothing else changes",
		req:  delivery(false, nil, map[string]string{"a": "1"}),
		state: commitState{prev: previous(map[string]string{"a": "1"}), prevExists: true,
			listing: listing(key("a")), present: map[string]bool{key("a"): true}},
		unchanged: []string{key("a")}, status: StatusComplete, apps: []string{"a"},
	}, {
		name: "a listed file gone is rewritten, behind an interim manifest without it",
		req:  delivery(false, nil, map[string]string{"a": "1", "b": "2"}),
		state: commitState{prev: previous(map[string]string{"a": "1", "b": "2"}), prevExists: true,
			listing: listing(key("b")), present: map[string]bool{key("a"): false, key("b"): true}},
		write: []string{key("a")}, unchanged: []string{key("b")}, rewritten: []string{key("a")},
		status: StatusComplete, apps: []string{"a", "b"}, interimFiles: []string{key("b")}, interimPending: []string{"a"},
	}, {
		name: "changed content is written behind an interim manifest",
		req:  delivery(false, nil, map[string]string{"a": "new"}),
		state: commitState{prev: previous(map[string]string{"a": "old"}), prevExists: true,
			listing: listing(key("a")), present: map[string]bool{}},
		write: []string{key("a")}, status: StatusComplete, apps: []string{"a"}, interimFiles: []string{}, interimPending: []string{"a"},
	}, {
		name: "merging carries other apps whose files are in place",
		req:  delivery(true, []string{"a", "b", "c"}, map[string]string{"a": "1"}),
		state: commitState{prev: previous(map[string]string{"b": "2", "c": "3"}, "a"), prevExists: true,
			listing: listing(key("b"), key("c")), present: map[string]bool{key("b"): true, key("c"): false}},
		write: []string{key("a")}, carried: []string{key("b")}, lost: []string{"c"},
		status: StatusPartial, pending: []string{"c"}, apps: []string{"a", "b"},
	}, {
		name: "an app no longer expected is not carried and its files are stale",
		req:  delivery(true, []string{"a"}, map[string]string{"a": "1"}),
		state: commitState{prev: previous(map[string]string{"a": "1", "x": "9"}), prevExists: true,
			listing: listing(key("a"), key("x")), present: map[string]bool{key("a"): true}},
		unchanged: []string{key("a")}, stale: []string{key("x")}, status: StatusComplete, apps: []string{"a"},
		interimFiles: []string{key("a")}, interimPending: []string{"x"},
	}, {
		name: "orphans of replaced apps are stale; other apps' objects are left to their own delivery",
		req:  delivery(true, nil, map[string]string{"a": "1"}),
		state: commitState{listing: listing(planDir+"app=a/part-00000.csv", planDir+"app=z/part-00000.csv", planDir+"notes.txt"),
			present: map[string]bool{}},
		write: []string{key("a")}, stale: []string{planDir + "app=a/part-00000.csv"}, status: StatusComplete, apps: []string{"a"},
	}, {
		name:  "without merge, everything unlisted in the partition layout is stale",
		req:   delivery(false, nil, map[string]string{"a": "1"}),
		state: commitState{listing: listing(planDir+"app=z/part-00000.csv", planDir+"notes.txt"), present: map[string]bool{}},
		write: []string{key("a")}, stale: []string{planDir + "app=z/part-00000.csv"}, status: StatusComplete, apps: []string{"a"},
	}, {
		name:  "expected apps not covered are pending",
		req:   delivery(true, []string{"a", "b"}, map[string]string{"a": "1"}),
		state: commitState{present: map[string]bool{}},
		write: []string{key("a")}, status: StatusPartial, pending: []string{"b"}, apps: []string{"a"},
	}, {
		name:  "merging without an expected list keeps the previous pending apps pending",
		req:   delivery(true, nil, map[string]string{"a": "1"}),
		state: commitState{prev: previous(map[string]string{}, "a", "b"), prevExists: true, present: map[string]bool{}},
		write: []string{key("a")}, status: StatusPartial, pending: []string{"b"}, apps: []string{"a"},
	}, {
		name:  "an undecodable previous manifest is removed before data changes",
		req:   delivery(false, nil, map[string]string{"a": "1"}),
		state: commitState{prevExists: true, present: map[string]bool{}},
		write: []string{key("a")}, status: StatusComplete, apps: []string{"a"}, removePrev: true,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := prepareCommit("", tt.req)
			require.NoError(t, err)
			if tt.state.present == nil {
				tt.state.present = map[string]bool{}
			}
			p := planCommit(in, &tt.state)
			var written []string
			for _, w := range p.write {
				written = append(written, w.entry.Key)
			}
			assert.ElementsMatch(t, tt.write, written, "written")
			assert.ElementsMatch(t, tt.unchanged, p.unchanged, "unchanged")
			assert.ElementsMatch(t, tt.carried, p.carried, "carried")
			assert.ElementsMatch(t, tt.stale, p.stale, "stale")
			assert.ElementsMatch(t, tt.rewritten, p.rewritten, "rewritten")
			assert.ElementsMatch(t, tt.lost, p.lostApps, "lost apps")
			assert.Equal(t, tt.status, p.manifest.Status)
			assert.Equal(t, tt.pending, p.manifest.AppsPending, "pending")
			assert.Equal(t, tt.apps, p.manifest.Apps, "apps")
			assert.Equal(t, tt.removePrev, p.removePrev, "remove previous")
			var listed []string
			for _, e := range p.manifest.Files {
				listed = append(listed, e.Key)
			}
			assert.ElementsMatch(t, append(append(append([]string{}, tt.write...), tt.unchanged...), tt.carried...), listed, "the manifest lists exactly what is kept or written")
			if tt.interimFiles == nil {
				assert.Nil(t, p.interim, "no interim manifest")
				return
			}
			require.NotNil(t, p.interim)
			var kept []string
			for _, e := range p.interim.Files {
				kept = append(kept, e.Key)
			}
			assert.ElementsMatch(t, tt.interimFiles, kept, "the interim manifest lists only files left alone")
			assert.Equal(t, tt.interimPending, p.interim.AppsPending)
			assert.Equal(t, StatusPartial, p.interim.Status)
			for _, app := range tt.interimPending {
				assert.NotContains(t, p.interim.FetchedAt, app, "a pending app is not marked fetched")
				assert.NotContains(t, p.interim.AppRequestIDs, app)
			}
		})
	}
}

// Provenance follows the files: carried apps keep theirs, delivered apps get the request's, and
// the manifest's request IDs are the union.
func TestPlanCommitProvenance(t *testing.T) {
	in, err := prepareCommit("", delivery(true, nil, map[string]string{"a": "1"}))
	require.NoError(t, err)
	st := &commitState{prev: previous(map[string]string{"b": "2"}), prevExists: true, present: map[string]bool{key("b"): true}}
	m := planCommit(in, st).manifest
	assert.Equal(t, map[string][]string{"a": {"rid-a"}, "b": {"old-b"}}, m.AppRequestIDs)
	assert.Equal(t, []string{"old-b", "rid-a"}, m.RequestIDs)
	assert.Equal(t, time.Unix(100, 0).UTC(), m.FetchedAt["a"])
	assert.Equal(t, time.Unix(50, 0), m.FetchedAt["b"])
}

// Per-app source details ("<name>/<app>") follow their app: a carried app keeps its own, a
// re-delivered app gets only what the new delivery says, and run-wide details are the new ones.
func TestPlanCommitPerAppDetails(t *testing.T) {
	req := delivery(true, nil, map[string]string{"a": "1", "c": "3"})
	req.Origin.Details = map[string]string{"points_outside_day/a": "2", "fallback_from": "X"}
	in, err := prepareCommit("", req)
	require.NoError(t, err)
	prev := previous(map[string]string{"b": "2", "c": "3"})
	prev.Origin.Details = map[string]string{"points_outside_day/b": "1", "points_outside_day/c": "5", "fallback_from": "old"}
	st := &commitState{prev: prev, prevExists: true, present: map[string]bool{key("b"): true, key("c"): true}}
	m := planCommit(in, st).manifest
	assert.Equal(t, map[string]string{"points_outside_day/a": "2", "points_outside_day/b": "1", "fallback_from": "X"}, m.Origin.Details)
	assert.Equal(t, map[string]string{"points_outside_day/a": "2", "fallback_from": "X"}, req.Origin.Details, "the request is not changed")
}

// Only entries a plan could keep are checked in place.
func TestPresenceChecks(t *testing.T) {
	in, err := prepareCommit("", delivery(true, nil, map[string]string{"a": "1", "b": "changed"}))
	require.NoError(t, err)
	prev := previous(map[string]string{"a": "1", "b": "2", "c": "3"})
	var keys []string
	for _, e := range presenceChecks(in, prev) {
		keys = append(keys, e.Key)
	}
	assert.ElementsMatch(t, []string{key("a"), key("c")}, keys, "a: same content; c: carried; b: changed, rewritten anyway")
	assert.Empty(t, presenceChecks(in, nil))
}

// measured sets the measures of app's files in a request.
func measured(req CommitRequest, app string, m map[string]float64) CommitRequest {
	for i := range req.Files {
		if req.Files[i].App == app {
			req.Files[i].Measures = m
		}
	}
	return req
}

// prevMeasured sets the measures of app's entries in a manifest.
func prevMeasured(m *Manifest, app string, ms map[string]float64) *Manifest {
	for i := range m.Files {
		if m.Files[i].App == app {
			m.Files[i].Measures = ms
		}
	}
	return m
}

func sha(content string) string { return entry("x", content).SHA256 }

// Restatements: what a delivery changes of what the day held is recorded, and a delivery that
// changes nothing keeps the manifest as it is.
func TestPlanCommitRestatement(t *testing.T) {
	secs := func(v float64) map[string]float64 { return map[string]float64{"seconds": v} }
	interim := previous(map[string]string{"b": "2"}, "a")
	interim.Replacing = []FileEntry{prevMeasured(previous(map[string]string{"a": "old"}), "a", secs(5)).Files[0]}
	tests := []struct {
		name     string
		req      CommitRequest
		prev     *Manifest
		present  []string
		keep     bool
		files    []FileChange
		measures []MeasureChange
		seq      int
		pending  []string
		replace  []string // keys the new manifest keeps in Replacing
	}{{
		name: "nothing changed: the manifest in place is kept",
		req:  delivery(true, nil, map[string]string{"a": "1", "b": "2"}), prev: previous(map[string]string{"a": "1", "b": "2"}),
		present: []string{key("a"), key("b")}, keep: true,
	}, {
		name:     "changed content is recorded with the previous hash, rows and measures, and the day's totals",
		req:      measured(delivery(true, nil, map[string]string{"a": "new", "b": "2"}), "a", secs(7)),
		prev:     prevMeasured(prevMeasured(previous(map[string]string{"a": "old", "b": "2"}), "a", secs(5)), "b", secs(10)),
		present:  []string{key("b")},
		files:    []FileChange{{Key: key("a"), App: "a", Format: usage.JSONL, PreviousSHA256: sha("old"), SHA256: sha("new"), RowsBefore: 1, RowsAfter: 1}},
		measures: []MeasureChange{{App: "a", Measure: "seconds", Before: 5, After: 7}, {Measure: "seconds", Before: 15, After: 17}},
		seq:      1,
	}, {
		name:     "an app no longer expected is removed, and the day's total drops by its measures",
		req:      delivery(true, []string{"a"}, map[string]string{"a": "1"}),
		prev:     prevMeasured(prevMeasured(previous(map[string]string{"a": "1", "x": "9"}), "a", secs(1)), "x", secs(4)),
		present:  []string{key("a"), key("x")},
		files:    []FileChange{{Key: key("x"), App: "x", Format: usage.JSONL, PreviousSHA256: sha("9"), RowsBefore: 1}},
		measures: []MeasureChange{{App: "x", Measure: "seconds", Before: 4, After: 0}, {Measure: "seconds", Before: 5, After: 1}},
		seq:      1,
	}, {
		name: "after an interrupted delivery, the files it was replacing are what changed",
		req:  measured(delivery(true, nil, map[string]string{"a": "new"}), "a", secs(6)), prev: interim, present: []string{key("b")},
		files:    []FileChange{{Key: key("a"), App: "a", Format: usage.JSONL, PreviousSHA256: sha("old"), SHA256: sha("new"), RowsBefore: 1, RowsAfter: 1}},
		measures: []MeasureChange{{App: "a", Measure: "seconds", Before: 5, After: 6}},
		seq:      1,
	}, {
		name: "a first delivery of a pending app restates nothing",
		req:  delivery(true, nil, map[string]string{"a": "1"}), prev: previous(map[string]string{"b": "2"}, "a"), present: []string{key("b")},
	}, {
		name: "measures missing before: files recorded, measures not guessed",
		req:  measured(delivery(true, nil, map[string]string{"a": "new"}), "a", secs(7)), prev: previous(map[string]string{"a": "old"}),
		files: []FileChange{{Key: key("a"), App: "a", Format: usage.JSONL, PreviousSHA256: sha("old"), SHA256: sha("new"), RowsBefore: 1, RowsAfter: 1}},
		seq:   1,
	}, {
		name: "seq follows the day's earlier restatements",
		req:  delivery(true, nil, map[string]string{"a": "new"}),
		prev: func() *Manifest {
			m := previous(map[string]string{"a": "old"})
			m.Changes = []Change{{Seq: 1}, {Seq: 2}}
			return m
		}(),
		files: []FileChange{{Key: key("a"), App: "a", Format: usage.JSONL, PreviousSHA256: sha("old"), SHA256: sha("new"), RowsBefore: 1, RowsAfter: 1}},
		seq:   3,
	}, {
		name: "a carried app whose file vanished is pending, its entries kept to compare with later",
		req:  delivery(true, []string{"a", "c"}, map[string]string{"a": "1"}), prev: previous(map[string]string{"a": "1", "c": "3"}),
		present: []string{key("a")}, pending: []string{"c"}, replace: []string{key("c")},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := prepareCommit("", tt.req)
			require.NoError(t, err)
			st := &commitState{prev: tt.prev, prevExists: true, present: map[string]bool{}}
			for _, k := range tt.present {
				st.present[k] = true
				st.listing = append(st.listing, ObjectInfo{Key: k, Size: 1})
			}
			p := planCommit(in, st)
			assert.Equal(t, tt.keep, p.keep, "keep")
			if tt.keep {
				assert.Same(t, tt.prev, p.manifest, "the previous manifest stays")
				assert.Empty(t, p.write)
				return
			}
			assert.Equal(t, tt.pending, p.manifest.AppsPending)
			var replacing []string
			for _, e := range p.manifest.Replacing {
				replacing = append(replacing, e.Key)
			}
			assert.Equal(t, tt.replace, replacing, "replacing")
			if tt.files == nil {
				assert.Nil(t, p.change)
				assert.Equal(t, tt.prev.Changes, p.manifest.Changes)
				return
			}
			require.NotNil(t, p.change)
			assert.Equal(t, tt.files, p.change.Files)
			assert.Equal(t, tt.measures, p.change.Measures)
			assert.Equal(t, tt.seq, p.change.Seq)
			assert.Equal(t, changeKeyIn("d/_changes/", planDay, tt.seq), p.change.Key)
			assert.Equal(t, time.Unix(100, 0).UTC(), p.change.GeneratedAt)
			require.NotEmpty(t, p.manifest.Changes)
			assert.Equal(t, *p.change, p.manifest.Changes[len(p.manifest.Changes)-1], "the manifest lists the change last")
			assert.Len(t, p.manifest.Changes, len(tt.prev.Changes)+1)
		})
	}
}

// Anything but fetch times and request IDs makes a delivery differ from the manifest in place.
func TestSameDelivery(t *testing.T) {
	base := previous(map[string]string{"a": "1"})
	base.Checks = []usage.Check{{Name: "c", App: "a", Status: usage.CheckOK}}
	same := func(edit func(m *Manifest)) bool {
		next := *base
		next.Files = slices.Clone(base.Files)
		next.Checks = slices.Clone(base.Checks)
		edit(&next)
		return sameDelivery(base, &next)
	}
	assert.True(t, same(func(m *Manifest) {
		m.GeneratedAt, m.FetchedAt, m.RequestIDs = time.Unix(999, 0), map[string]time.Time{"a": time.Unix(999, 0)}, []string{"x"}
		m.AppRequestIDs = map[string][]string{"a": {"x"}}
		m.Files[0].Unchanged = true
	}))
	assert.False(t, same(func(m *Manifest) { m.Checks[0].Status = usage.CheckWarn }), "a check")
	assert.False(t, same(func(m *Manifest) { m.Files[0].Measures = map[string]float64{"s": 1} }), "measures recorded for the first time")
	assert.False(t, same(func(m *Manifest) { m.AppActions = map[string]string{"a": "Other"} }), "the action")
	assert.False(t, same(func(m *Manifest) { m.Status = StatusPartial; m.AppsPending = []string{"b"} }), "the status")
}

// Checks follow their app like the other per-app facts, and the day's quality is the worst.
func TestPlanCommitChecks(t *testing.T) {
	req := delivery(true, nil, map[string]string{"a": "1"})
	req.Checks = []usage.Check{{Name: "n", App: "a", Status: usage.CheckWarn, Detail: "new"}}
	in, err := prepareCommit("", req)
	require.NoError(t, err)
	prev := previous(map[string]string{"a": "1", "b": "2"})
	prev.Checks = []usage.Check{{Name: "n", App: "a", Status: usage.CheckFail}, {Name: "n", App: "b", Status: usage.CheckOK}}
	st := &commitState{prev: prev, prevExists: true, present: map[string]bool{key("a"): true, key("b"): true}}
	m := planCommit(in, st).manifest
	assert.Equal(t, []usage.Check{{Name: "n", App: "a", Status: usage.CheckWarn, Detail: "new"}, {Name: "n", App: "b", Status: usage.CheckOK}}, m.Checks)
	assert.Equal(t, usage.CheckWarn, m.Quality)

	// An interim manifest drops the checks of the apps it moves to pending.
	interim := interimManifest(prev, map[string]bool{key("a"): true}, time.Unix(200, 0))
	assert.Equal(t, []usage.Check{{Name: "n", App: "b", Status: usage.CheckOK}}, interim.Checks)
	assert.Equal(t, usage.CheckOK, interim.Quality)
	assert.Equal(t, []FileEntry{prev.Files[0]}, interim.Replacing)

	// A check must be valid and about an app the delivery covers.
	for _, bad := range []usage.Check{{Name: "n", App: "zz", Status: usage.CheckOK}, {Name: "n", App: "a", Status: "great"}, {App: "a", Status: usage.CheckOK}} {
		req.Checks = []usage.Check{bad}
		_, err := prepareCommit("", req)
		assert.Error(t, err, "%+v", bad)
	}
}
