package snapshot

import (
	"crypto/sha256"
	"encoding/hex"
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
	m := &Manifest{SchemaVersion: ManifestSchemaVersion, Dataset: "d", Date: planDay, Status: StatusComplete,
		AppsPending: pending, FetchedAt: map[string]time.Time{}, AppRequestIDs: map[string][]string{}}
	for app, content := range files {
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
