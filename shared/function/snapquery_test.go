package function_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/query"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/usage"
)

// queryAnswer is the JSON answer of a query, numbers kept as written.
type queryAnswer struct {
	Dataset    string            `json:"dataset"`
	Group      string            `json:"group"`
	Top        int               `json:"top"`
	By         string            `json:"by"`
	Measures   []string          `json:"measures"`
	Days       []query.DaySource `json:"days"`
	Rows       []map[string]any  `json:"rows"`
	RequestIDs []string          `json:"request_ids"`
}

func decodeAnswer(t *testing.T, r scfevent.HTTPResponse) queryAnswer {
	t.Helper()
	require.Equal(t, 200, r.StatusCode, r.Body)
	dec := json.NewDecoder(strings.NewReader(r.Body))
	dec.UseNumber()
	var a queryAnswer
	require.NoError(t, dec.Decode(&a))
	return a
}

// deliver runs the function's timer over from..to (at most 31 days).
func deliver(t *testing.T, fn *function.Function, from, to string) {
	t.Helper()
	_, err := invoke(t, fn, timerEvent(`{"from":"`+from+`","to":"`+to+`"}`))
	require.NoError(t, err)
}

// storedRows reads, from the manifests of from..to, every row of the apps' JSON Lines files, as
// the reference an answer is compared with: per day, in app order.
func storedRows(t *testing.T, fn *function.Function, from, to string, apps []string) []map[string]any {
	t.Helper()
	store, prefix := fn.Store()
	f, err := calendar.Parse(from)
	require.NoError(t, err)
	l, err := calendar.Parse(to)
	require.NoError(t, err)
	var out []map[string]any
	for _, d := range calendar.Days(f, l) {
		m, err := snapshot.FindManifest(context.Background(), store, prefix, fn.Runner.Dataset(), d)
		require.NoError(t, err)
		for _, app := range apps {
			for _, e := range m.Files {
				if e.App != app || e.Format != usage.JSONL {
					continue
				}
				b, err := snapshot.ReadObject(context.Background(), store, e.Key)
				require.NoError(t, err)
				for _, row := range jsonLines(t, b) {
					row["_app"] = app
					row["_date"] = d.String()
					out = append(out, row)
				}
			}
		}
	}
	return out
}

// apiCalls counts the API calls the emulator answered, leaving out those it refused for the rate
// limit: under a loaded test machine a scaled 15 ms window can refuse a call, which the client
// retries; what a test counts is the app-days fetched.
func apiCalls(e *testEnv) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Code != emulator.CodeFreqOverLimit && r.Code != emulator.CodeRequestLimitExceeded {
			n++
		}
	}
	return n
}

// A query over committed days is answered from the stored files: not one API call, every day
// from its snapshot with the manifest's generated_at, rows exactly as stored, in both formats,
// and so are sums.
func TestQueryOverCommittedDaysMakesNoAPICall(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	for _, spec := range []function.Spec{function.TelCall, function.Room, function.TRTC, function.ESS} {
		t.Run(spec.Name, func(t *testing.T) {
			fn := e.build(spec)
			deliver(t, fn, "2024-05-03", "2024-05-09")
			before := apiCalls(e)
			store, prefix := fn.Store()
			for _, q := range []url.Values{
				{"from": {"2024-05-03"}, "to": {"2024-05-09"}},
				{"from": {"2024-05-03"}, "to": {"2024-05-09"}, "format": {"csv"}, "app": {fn.Runner.Apps[0]}},
				{"from": {"2024-05-03"}, "to": {"2024-05-09"}, "group": {"day"}},
				{"from": {"2024-05-03"}, "to": {"2024-05-09"}, "group": {"app"}, "format": {"csv"}},
			} {
				r := httpAnswer(t, fn, urlEvent(q, auth()))
				require.Equal(t, 200, r.StatusCode, r.Body)
				assert.Equal(t, "7", r.Headers[query.HeaderSnapshotDays], q.Encode())
				assert.Empty(t, r.Headers[query.HeaderLiveDays], q.Encode())
				if q.Get("format") == "csv" {
					continue
				}
				a := decodeAnswer(t, r)
				require.Len(t, a.Days, 7)
				for _, d := range a.Days {
					m, err := snapshot.FindManifest(context.Background(), store, prefix, spec.Name, d.Date)
					require.NoError(t, err)
					assert.Equal(t, query.SourceSnapshot, d.Source)
					require.NotNil(t, d.GeneratedAt)
					assert.True(t, m.GeneratedAt.Equal(*d.GeneratedAt), "%s: generated_at is the manifest's", d.Date)
					assert.Equal(t, m.DatasetVersion, d.DatasetVersion)
				}
				assert.Empty(t, a.RequestIDs, "no API request behind the answer")
				if q.Get("group") == "" {
					want := storedRows(t, fn, "2024-05-03", "2024-05-09", fn.Runner.Apps)
					require.Len(t, a.Rows, len(want))
					for i := range want {
						delete(want[i], "_app")
						delete(want[i], "_date")
					}
					assert.Equal(t, want, a.Rows, "the rows as stored")
				}
			}
			assert.Equal(t, before, apiCalls(e), "no API call for days in the snapshots")
		})
	}
}

// CSV answers from the stored CSV files are the files' rows under one header; JSON answers
// re-encoded from CSV (a function that stores only CSV) are the JSON Lines a JSON Lines file
// would hold, value for value.
func TestQueryAnswersEitherFormatFromEitherStoredFormat(t *testing.T) {
	t.Parallel()
	both := newTestEnv(t, emulator.Config{})
	fnBoth := both.build(function.ESS)
	deliver(t, fnBoth, "2024-05-07", "2024-05-09")
	for _, only := range []string{"csv", "jsonl"} {
		t.Run(only, func(t *testing.T) {
			e := newTestEnv(t, emulator.Config{})
			e.vars["TCUSAGE_FORMAT"] = only
			fn := e.build(function.ESS)
			deliver(t, fn, "2024-05-07", "2024-05-09")
			calls := apiCalls(e)
			for _, format := range []string{"json", "csv"} {
				q := url.Values{"from": {"2024-05-07"}, "to": {"2024-05-09"}, "format": {format}}
				got := httpAnswer(t, fn, urlEvent(q, auth()))
				want := httpAnswer(t, fnBoth, urlEvent(q, auth()))
				require.Equal(t, 200, got.StatusCode, got.Body)
				require.Equal(t, 200, want.StatusCode, want.Body)
				if format == "json" {
					var g, w map[string]any
					require.NoError(t, json.Unmarshal([]byte(got.Body), &g))
					require.NoError(t, json.Unmarshal([]byte(want.Body), &w))
					assert.Equal(t, w["rows"], g["rows"], "JSON rows from %s files", only)
				} else {
					assert.Equal(t, want.Body, got.Body, "CSV from %s files", only)
				}
			}
			assert.Equal(t, calls, apiCalls(e))
		})
	}
}

// A deployment that writes only Parquet answers grouped queries from its Parquet files (room
// usage, decimal figures, every group) or its manifests (telcall), with the same sums as one
// that writes JSON Lines and without an API call; rows, which the text formats hold as the API
// gave them, are fetched live, saying why. A changed Parquet file is caught like any other.
func TestParquetOnlyDeploymentsAnswerGroupsFromTheLake(t *testing.T) {
	t.Parallel()
	for _, spec := range []function.Spec{function.Room, function.TelCall} {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			text := newTestEnv(t, emulator.Config{Rooms: 25})
			fnText := text.build(spec)
			e := newTestEnv(t, emulator.Config{Rooms: 25})
			e.vars["TCUSAGE_FORMAT"] = "parquet"
			var logs logBuffer
			fn, err := function.New(spec, func(k string) string { return e.vars[k] }, function.Options{
				Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Logger: debugLogger(&logs),
			})
			require.NoError(t, err)
			from, to := "2024-05-07", "2024-05-09"
			deliver(t, fnText, from, to)
			deliver(t, fn, from, to)
			groups := []url.Values{{"group": {"day"}}, {"group": {"app"}}}
			if spec.Name == "roomusage" {
				groups = append(groups, url.Values{"group": {"room"}}, url.Values{"group": {"room"}, "top": {"4"}, "by": {"total"}})
			}
			calls := apiCalls(e)
			for _, g := range groups {
				q := url.Values{"from": {from}, "to": {to}}
				for k, v := range g {
					q[k] = v
				}
				got := httpAnswer(t, fn, urlEvent(q, auth()))
				require.Equal(t, 200, got.StatusCode, got.Body)
				assert.Equal(t, "3", got.Headers[query.HeaderSnapshotDays], q.Encode())
				assert.Equal(t, decodeAnswerOrCSV(t, httpAnswer(t, fnText, urlEvent(q, auth()))), decodeAnswerOrCSV(t, got), q.Encode())
			}
			assert.Equal(t, calls, apiCalls(e), "grouped answers from the Parquet snapshots")

			r := httpAnswer(t, fn, urlEvent(url.Values{"date": {to}}, auth()))
			require.Equal(t, 200, r.StatusCode, r.Body)
			a := decodeAnswer(t, r)
			assert.Equal(t, query.SourceLive, a.Days[0].Source)
			assert.Contains(t, a.Days[0].Reason, "no JSON Lines or CSV file")
			if spec.Name != "roomusage" {
				return
			}
			// Change one byte in the middle of an app's Parquet file: group=room fetches the day live.
			m := manifest(t, e.dir, "roomusage", "2024-05-08")
			for _, f := range m.Files {
				if f.App != "1400000001" {
					continue
				}
				path := filepath.Join(e.dir, filepath.FromSlash(f.Key))
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				b[len(b)/2] ^= 0x01
				require.NoError(t, os.WriteFile(path, b, 0o644))
			}
			r = httpAnswer(t, fn, urlEvent(url.Values{"from": {from}, "to": {to}, "group": {"room"}}, auth()))
			require.Equal(t, 200, r.StatusCode, r.Body)
			assert.Equal(t, "2024-05-08", r.Headers[query.HeaderLiveDays])
			assert.Equal(t, decodeAnswerOrCSV(t, httpAnswer(t, fnText, urlEvent(url.Values{"from": {from}, "to": {to}, "group": {"room"}}, auth()))), decodeAnswerOrCSV(t, r))
			warned := logs.records(t, "a stored file does not match its manifest; the day is fetched live instead")
			require.NotEmpty(t, warned)
			assert.Contains(t, warned[0]["error"], "app=1400000001/part-00000.parquet")
		})
	}
}

// A stored file changed after delivery is detected as it is read: the answer fetches that day
// live instead (its rows are the API's, as delivered), says so, and the log names the file,
// without a secret. Grouped answers (the merge of rooms included) do the same.
func TestTamperedStoredFileIsDetectedAndFetchedLive(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		query url.Values
	}{
		{"rows", url.Values{}},
		{"csv", url.Values{"format": {"csv"}}},
		{"group=app", url.Values{"group": {"app"}}},
		{"group=room", url.Values{"group": {"room"}, "top": {"5"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newTestEnv(t, emulator.Config{})
			var logs logBuffer
			fn, err := function.New(function.Room, func(k string) string { return e.vars[k] }, function.Options{
				Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Logger: debugLogger(&logs),
			})
			require.NoError(t, err)
			deliver(t, fn, "2024-05-07", "2024-05-09")
			q := url.Values{"from": {"2024-05-07"}, "to": {"2024-05-09"}}
			for k, v := range c.query {
				q[k] = v
			}
			clean := decodeAnswerOrCSV(t, httpAnswer(t, fn, urlEvent(q, auth())))

			// Change one figure of one app's files on 2024-05-08, both formats, keeping the size.
			m := manifest(t, e.dir, "roomusage", "2024-05-08")
			var changed string
			for _, f := range m.Files {
				if f.App != "1400000002" || f.Format == usage.Parquet {
					continue
				}
				path := filepath.Join(e.dir, filepath.FromSlash(f.Key))
				b, err := os.ReadFile(path)
				require.NoError(t, err)
				i := bytes.LastIndexAny(b, "123456789")
				require.Positive(t, i, "a figure to change in %s", f.Key)
				b[i] = map[byte]byte{'1': '2', '2': '3', '3': '4', '4': '5', '5': '6', '6': '7', '7': '8', '8': '9', '9': '1'}[b[i]]
				require.NoError(t, os.WriteFile(path, b, 0o644))
				changed = f.Key
			}
			calls := apiCalls(e)
			r := httpAnswer(t, fn, urlEvent(q, auth()))
			require.Equal(t, 200, r.StatusCode, r.Body)
			assert.Equal(t, "2024-05-08", r.Headers[query.HeaderLiveDays])
			assert.Equal(t, "2", r.Headers[query.HeaderSnapshotDays])
			assert.Equal(t, "no-store", r.Headers["Cache-Control"], "a live day is never cached")
			assert.Empty(t, r.Headers["ETag"])
			assert.Equal(t, calls+2, apiCalls(e), "the day's two apps fetched live, once")
			assert.Equal(t, clean, decodeAnswerOrCSV(t, r), "the answer is what was delivered, not the changed file")
			if q.Get("format") != "csv" {
				a := decodeAnswer(t, r)
				assert.Equal(t, query.SourceLive, a.Days[1].Source)
				assert.Contains(t, a.Days[1].Reason, "did not match its manifest")
			}
			warned := logs.records(t, "a stored file does not match its manifest; the day is fetched live instead")
			require.Len(t, warned, 1)
			assert.Equal(t, "2024-05-08", warned[0]["date"])
			assert.Contains(t, warned[0]["error"], "roomusage/v2/dt=2024-05-08/app=1400000002/part-00000.")
			assert.Contains(t, changed, "app=1400000002")
			assert.NotContains(t, logs.String(), emulator.TestSecretKey)
			assert.NotContains(t, logs.String(), httpToken)
		})
	}
}

// decodeAnswerOrCSV returns what an answer says, without where its days came from: the rows (or
// CSV records) and measures.
func decodeAnswerOrCSV(t *testing.T, r scfevent.HTTPResponse) any {
	t.Helper()
	require.Equal(t, 200, r.StatusCode, r.Body)
	if strings.HasPrefix(r.Headers["Content-Type"], "text/csv") {
		recs, err := csv.NewReader(strings.NewReader(r.Body)).ReadAll()
		require.NoError(t, err)
		return recs
	}
	a := decodeAnswer(t, r)
	return []any{a.Rows, a.Measures}
}

// ratOf parses a JSON number exactly.
func ratOf(t *testing.T, v any) *big.Rat {
	t.Helper()
	if v == nil {
		return new(big.Rat)
	}
	n, ok := v.(json.Number)
	require.True(t, ok, "%v (%T) is not a number", v, v)
	r, ok := new(big.Rat).SetString(n.String())
	require.True(t, ok, n)
	return r
}

// sums adds up rows per key: how many rows, and each measure.
type sums map[string]map[string]*big.Rat

func (s sums) add(t *testing.T, key string, row map[string]any, measures []string) {
	if s[key] == nil {
		s[key] = map[string]*big.Rat{"rows": new(big.Rat)}
	}
	s[key]["rows"].Add(s[key]["rows"], big.NewRat(1, 1))
	for _, m := range measures {
		if s[key][m] == nil {
			s[key][m] = new(big.Rat)
		}
		s[key][m].Add(s[key][m], ratOf(t, row[m]))
	}
}

// The sums of grouped answers are the sums of the stored rows, computed here independently
// (exact rationals from the JSON Lines files): per day, per app, per room (every room, and the
// top N by a measure and by the total), for every dataset with measures of its own.
func TestAggregationSumsEqualTheSumsOfTheRows(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{Rooms: 30})
	for _, spec := range []function.Spec{function.TelCall, function.Room, function.TRTC, function.ESS} {
		t.Run(spec.Name, func(t *testing.T) {
			fn := e.build(spec)
			from, to := "2024-05-01", "2024-05-09"
			deliver(t, fn, from, to)
			rows := storedRows(t, fn, from, to, fn.Runner.Apps)
			require.NotEmpty(t, rows)
			measures := fn.Runner.Source.Schema().Measures()
			groups := []string{"day", "app"}
			if spec.Name == "roomusage" {
				groups = append(groups, "room")
			}
			for _, g := range groups {
				want := sums{}
				for _, row := range rows {
					key := map[string]string{"day": row["_date"].(string), "app": row["_app"].(string)}[g]
					if g == "room" {
						key = row["_app"].(string) + "/" + row["room_id"].(string)
					}
					want.add(t, key, row, measures)
				}
				a := decodeAnswer(t, httpAnswer(t, fn, urlEvent(url.Values{"from": {from}, "to": {to}, "group": {g}}, auth())))
				assert.Equal(t, measures, a.Measures)
				require.Len(t, a.Rows, len(want), g)
				for _, row := range a.Rows {
					key := map[string]string{"day": fmt.Sprint(row["date"]), "app": fmt.Sprint(row["app"])}[g]
					if g == "room" {
						key = fmt.Sprint(row["app"]) + "/" + fmt.Sprint(row["room_id"])
					}
					require.Contains(t, want, key)
					for m, w := range want[key] {
						assert.Equal(t, 0, w.Cmp(ratOf(t, row[m])), "%s %s %s: got %v, want %s", g, key, m, row[m], w.RatString())
					}
				}
				checkTop(t, fn, from, to, g, want, measures)
			}
		})
	}
}

// checkTop checks top=N against the independent sums: the N largest groups by a measure (and by
// the total where the measures share a unit), largest first.
func checkTop(t *testing.T, fn *function.Function, from, to, g string, want sums, measures []string) {
	t.Helper()
	bys := []string{measures[len(measures)-1]}
	if fn.Spec.Name != "telcall" {
		bys = append(bys, "total")
	}
	for _, by := range bys {
		value := func(s map[string]*big.Rat) *big.Rat {
			if by != "total" {
				return s[by]
			}
			t := new(big.Rat)
			for _, m := range measures {
				t.Add(t, s[m])
			}
			return t
		}
		var keys []string
		for k := range want {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, func(a, b string) int { return value(want[b]).Cmp(value(want[a])) })
		n := min(3, len(keys))
		a := decodeAnswer(t, httpAnswer(t, fn, urlEvent(url.Values{"from": {from}, "to": {to}, "group": {g}, "top": {"3"}, "by": {by}}, auth())))
		require.Len(t, a.Rows, n)
		for i, row := range a.Rows {
			got := ratOf(t, row[by])
			assert.Equal(t, 0, value(want[keys[i]]).Cmp(got), "%s top %d by %s: got %s, want %s", g, i, by, got.RatString(), value(want[keys[i]]).RatString())
		}
	}
}

// Grouped answers by day or app of the datasets whose figures are integers (telcall, essbill) are
// summed from the manifests' exact per-file sums, reading no data file: the same answer as
// reading every row, and a year of them is a manifest per day. Decimal figures (room usage)
// are summed from the files.
func TestIntegerGroupsAreSummedFromTheManifests(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{Rooms: 20})
	for _, c := range []struct {
		spec       function.Spec
		readsFiles bool
	}{{function.TelCall, false}, {function.ESS, false}, {function.Room, true}} {
		t.Run(c.spec.Name, func(t *testing.T) {
			var reads atomic.Int64
			fn, err := function.New(c.spec, func(k string) string { return e.vars[k] }, function.Options{
				Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
				WrapStore: func(s snapshot.Store) snapshot.Store { return countingStore{Store: s, dataReads: &reads} },
			})
			require.NoError(t, err)
			from, to := "2024-05-03", "2024-05-09"
			deliver(t, fn, from, to)
			rows := storedRows(t, fn, from, to, fn.Runner.Apps)
			measures := fn.Runner.Source.Schema().Measures()
			for _, g := range []string{"day", "app"} {
				want := sums{}
				for _, row := range rows {
					want.add(t, map[string]string{"day": row["_date"].(string), "app": row["_app"].(string)}[g], row, measures)
				}
				reads.Store(0)
				calls := apiCalls(e)
				a := decodeAnswer(t, httpAnswer(t, fn, urlEvent(url.Values{"from": {from}, "to": {to}, "group": {g}}, auth())))
				assert.Equal(t, calls, apiCalls(e))
				if c.readsFiles {
					assert.Positive(t, reads.Load(), "decimal figures are summed from the files")
				} else {
					assert.Zero(t, reads.Load(), "integer figures are summed from the manifests")
				}
				require.Len(t, a.Rows, len(want))
				for _, row := range a.Rows {
					key := map[string]string{"day": fmt.Sprint(row["date"]), "app": fmt.Sprint(row["app"])}[g]
					for m, w := range want[key] {
						assert.Equal(t, 0, w.Cmp(ratOf(t, row[m])), "%s %s %s: got %v, want %s", g, key, m, row[m], w.RatString())
					}
				}
			}
		})
	}
}

// countingStore counts the reads of data files (not manifests, not leases).
type countingStore struct {
	snapshot.Store
	dataReads *atomic.Int64
}

func (c countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if !strings.HasSuffix(key, snapshot.ManifestName) && !snapshot.IsLeaseKey(key) {
		c.dataReads.Add(1)
	}
	return c.Store.Get(ctx, key)
}

// An answer made only of complete snapshots has an ETag from the manifests' hashes; a matching
// If-None-Match answers 304 without reading a data file; caches must revalidate it at once while
// its days may still be restated, after an hour once they are settled; a restatement that changes
// a day changes the tag, one that finds the same data does not; a live or partial day makes the
// answer no-store, without a tag.
func TestSnapshotAnswersCarryAnETagAndAnswer304(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	var reads atomic.Int64
	fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
		WrapStore: func(s snapshot.Store) snapshot.Store { return countingStore{Store: s, dataReads: &reads} },
	})
	require.NoError(t, err)
	deliver(t, fn, "2024-05-01", "2024-05-09")
	get := func(q url.Values, ifNoneMatch string) scfevent.HTTPResponse {
		h := auth()
		if ifNoneMatch != "" {
			h["if-none-match"] = ifNoneMatch
		}
		return httpAnswer(t, fn, urlEvent(q, h))
	}
	// TCUSAGE_RESTATE_DAYS=1 and yesterday is 2024-05-09: days before 2024-05-08 are settled.
	recent := url.Values{"from": {"2024-05-05"}, "to": {"2024-05-09"}}
	settled := url.Values{"from": {"2024-05-01"}, "to": {"2024-05-07"}, "group": {"app"}}
	r := get(recent, "")
	require.Equal(t, 200, r.StatusCode)
	tag := r.Headers["ETag"]
	require.Regexp(t, `^"[0-9a-f]{32}"$`, tag)
	assert.Equal(t, "max-age=0, must-revalidate", r.Headers["Cache-Control"])
	assert.Equal(t, "Authorization", r.Headers["Vary"])
	assert.Equal(t, tag, get(recent, "").Headers["ETag"], "the same answer, the same tag")

	before := reads.Load()
	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		nm := get(recent, inm)
		assert.Equal(t, 304, nm.StatusCode, inm)
		assert.Empty(t, nm.Body)
		assert.Equal(t, tag, nm.Headers["ETag"])
		assert.Equal(t, "max-age=0, must-revalidate", nm.Headers["Cache-Control"])
	}
	assert.Equal(t, before, reads.Load(), "a 304 reads manifests only")
	assert.Equal(t, 200, get(recent, `"0123"`).StatusCode, "another tag")

	s := get(settled, "")
	assert.Equal(t, "max-age=3600, must-revalidate", s.Headers["Cache-Control"], "settled days")
	assert.NotEqual(t, tag, s.Headers["ETag"])
	for _, other := range []url.Values{
		{"from": {"2024-05-05"}, "to": {"2024-05-09"}, "format": {"csv"}},
		{"from": {"2024-05-05"}, "to": {"2024-05-09"}, "app": {"1400000001"}},
		{"from": {"2024-05-05"}, "to": {"2024-05-09"}, "group": {"day"}},
		{"from": {"2024-05-05"}, "to": {"2024-05-08"}},
	} {
		assert.NotEqual(t, tag, get(other, "").Headers["ETag"], "parameters change the tag: %s", other.Encode())
		assert.Equal(t, 200, get(other, tag).StatusCode)
	}

	// A forced rerun that finds the same data writes nothing: the answer, and its tag, stay.
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09","force":true}`))
	require.NoError(t, err)
	assert.Equal(t, 304, get(recent, tag).StatusCode, "an unchanged restatement keeps the tag")
	// A restatement that changes the day's delivery (here its files: Parquet as well) is new:
	// the old tag no longer matches.
	e.vars["TCUSAGE_FORMAT"] = "all"
	restater, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir(), Now: clock, TempDir: t.TempDir()})
	require.NoError(t, err)
	_, err = invoke(t, restater, timerEvent(`{"date":"2024-05-09","force":true}`))
	require.NoError(t, err)
	r2 := get(recent, tag)
	assert.Equal(t, 200, r2.StatusCode, "the restated day changed the answer's tag")
	assert.NotEqual(t, tag, r2.Headers["ETag"])

	// A day still partial in the snapshot (another app pending) is answered from it for the app
	// delivered, but never cached; a live day neither.
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-04-30","apps":["1400000001"]}`))
	require.NoError(t, err)
	m := manifest(t, e.dir, "telcall", "2024-04-30")
	require.Equal(t, snapshot.StatusPartial, m.Status)
	calls := apiCalls(e)
	p := get(url.Values{"from": {"2024-04-30"}, "to": {"2024-05-02"}, "app": {"1400000001"}}, "")
	require.Equal(t, 200, p.StatusCode, p.Body)
	assert.Equal(t, calls, apiCalls(e), "the delivered app of a partial day comes from the snapshot")
	assert.Equal(t, "no-store", p.Headers["Cache-Control"])
	assert.Empty(t, p.Headers["ETag"])
	l := get(url.Values{"from": {"2024-04-29"}, "to": {"2024-05-02"}}, "*")
	require.Equal(t, 200, l.StatusCode, "no tag to match: the answer has a live day")
	assert.Equal(t, "no-store", l.Headers["Cache-Control"])
	assert.Empty(t, l.Headers["ETag"])
	assert.Equal(t, "2024-04-29,2024-04-30", l.Headers[query.HeaderLiveDays], "the missing day, and the partial day whose other app is pending")
}

// fresh=true fetches every day live, even days in the snapshots.
func TestFreshForcesLive(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	deliver(t, fn, "2024-05-08", "2024-05-09")
	calls := apiCalls(e)
	r := httpAnswer(t, fn, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "fresh": {"true"}}, auth()))
	a := decodeAnswer(t, r)
	assert.Equal(t, calls+4, apiCalls(e), "two days of two apps, live")
	for _, d := range a.Days {
		assert.Equal(t, query.SourceLive, d.Source)
		assert.Equal(t, "fresh=true", d.Reason)
	}
	assert.Len(t, a.RequestIDs, 4)
	assert.Equal(t, "no-store", r.Headers["Cache-Control"])
	want := storedRows(t, fn, "2024-05-08", "2024-05-09", fn.Runner.Apps)
	for i := range want {
		delete(want[i], "_app")
		delete(want[i], "_date")
	}
	assert.Equal(t, want, a.Rows, "the same rows as delivered")
	// fresh=true fetches live, so the API's limits hold.
	r = httpAnswer(t, fn, urlEvent(url.Values{"from": {"2024-04-01"}, "to": {"2024-05-09"}, "fresh": {"true"}}, auth()))
	assert.Equal(t, 400, r.StatusCode)
}

// A query needing a live day holds the dataset's lease while it calls the API: when another
// writer holds it, the answer is 409 DatasetBusy with Retry-After, and no call is made; days in
// the snapshots are still answered.
func TestLiveQueryWhileTheLeaseIsHeld(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	deliver(t, fn, "2024-05-08", "2024-05-08")
	store, prefix := fn.Store()
	_, err := snapshot.AcquireLease(context.Background(), store, prefix, "telcall", "a long backfill", snapshot.LeaseConfig{})
	require.NoError(t, err)
	calls := apiCalls(e)
	r := httpAnswer(t, fn, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}}, auth()))
	require.Equal(t, 409, r.StatusCode, r.Body)
	var ea errorAnswer
	require.NoError(t, json.Unmarshal([]byte(r.Body), &ea))
	assert.Equal(t, "DatasetBusy", ea.Error.Code)
	assert.Contains(t, ea.Error.Message, "a long backfill")
	assert.Contains(t, ea.Error.Message, "2024-05-09 has no complete snapshot")
	assert.NotEmpty(t, r.Headers["Retry-After"])
	assert.Equal(t, calls, apiCalls(e), "no API call without the lease")

	r = httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-08"}}, auth()))
	assert.Equal(t, 200, r.StatusCode, "a day in the snapshot needs no lease")
	r = httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-08"}, "fresh": {"true"}}, auth()))
	assert.Equal(t, 409, r.StatusCode)
	assert.Contains(t, r.Body, "or ask without fresh=true")
}

// A range served from snapshots may be a whole year, longer than the 31 days a query may fetch
// live; with a day to fetch past those, or days before the API's window without a snapshot, the
// answer says which parameter is at fault.
func TestAYearFromSnapshots(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_SDK_APP_IDS"] = "1400000001"
	e.vars["TCUSAGE_API_RATE"] = "DescribeTelCallInfo=1/200us" // the emulator's limit, scaled
	fn := e.build(function.TelCall)
	store, prefix := fn.Store()
	last := calendar.Date(2024, 5, 9)
	first := last.Add(-365)
	for d := first; !d.After(last); d = d.Add(31) {
		end := d.Add(30)
		if end.After(last) {
			end = last
		}
		deliver(t, fn, d.String(), end.String())
	}
	calls := apiCalls(e)
	q := url.Values{"from": {first.String()}, "to": {last.String()}, "group": {"day"}}
	a := decodeAnswer(t, httpAnswer(t, fn, urlEvent(q, auth())))
	assert.Len(t, a.Rows, 366)
	assert.Len(t, a.Days, 366)
	q.Del("group")
	a = decodeAnswer(t, httpAnswer(t, fn, urlEvent(q, auth())))
	assert.Len(t, a.Rows, 366, "one row per app-day")
	assert.Equal(t, calls, apiCalls(e))

	q = url.Values{"from": {first.Add(-1).String()}, "to": {last.String()}}
	r := httpAnswer(t, fn, urlEvent(q, auth()))
	require.Equal(t, 400, r.StatusCode, "367 days")
	assert.Contains(t, r.Body, `"field":"to"`)

	// Drop 32 manifests: 32 days to fetch live are more than a query may.
	for d := first; d.Before(first.Add(32)); d = d.Add(1) {
		key, err := snapshot.ManifestKey(prefix, "telcall", d)
		require.NoError(t, err)
		require.NoError(t, store.Delete(context.Background(), key))
	}
	r = httpAnswer(t, fn, urlEvent(url.Values{"from": {first.String()}, "to": {last.String()}}, auth()))
	require.Equal(t, 400, r.StatusCode, r.Body)
	assert.Contains(t, r.Body, "32 of the 366 days asked for have no complete snapshot")
	assert.Equal(t, calls, apiCalls(e))
	r = httpAnswer(t, fn, urlEvent(url.Values{"from": {first.Add(1).String()}, "to": {last.String()}, "group": {"app"}}, auth()))
	a = decodeAnswer(t, r)
	assert.Equal(t, calls+31, apiCalls(e), "31 days fetched live, the rest from the snapshots")
	assert.Equal(t, "334", r.Headers[query.HeaderSnapshotDays])
}

// Days older than the API's window are still answered from their snapshots (here a room-usage
// window of 90 days that moved on), and a day there without one is refused naming the field.
func TestDaysBeforeTheAPIWindowComeFromSnapshots(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.Room)
	deliver(t, fn, "2024-05-08", "2024-05-09")
	later, err := function.New(function.Room, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), TempDir: t.TempDir(), Now: func() time.Time { return clock().AddDate(0, 0, 120) },
	})
	require.NoError(t, err)
	require.True(t, later.Runner.Limits().Earliest.After(calendar.Date(2024, 5, 9)), "the days left the API's window")
	calls := apiCalls(e)
	a := decodeAnswer(t, httpAnswer(t, later, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "group": {"app"}}, auth())))
	assert.Len(t, a.Rows, 2)
	assert.Equal(t, calls, apiCalls(e))
	for q, field := range map[string]url.Values{
		"date": {"date": {"2024-05-07"}},
		"from": {"from": {"2024-05-07"}, "to": {"2024-05-09"}},
	} {
		r := httpAnswer(t, later, urlEvent(field, auth()))
		require.Equal(t, 400, r.StatusCode)
		var ea errorAnswer
		require.NoError(t, json.Unmarshal([]byte(r.Body), &ea))
		assert.Equal(t, q, ea.Error.Field)
		assert.Contains(t, ea.Error.Message, "2024-05-07 has no complete snapshot and is before")
	}
}

// Days written under roomusage v1 (before its columns were renamed) are read with days of v2:
// sums add v1's `audio` to v2's `audio_seconds`, and the days say their version.
func TestEarlierVersionDaysAddUp(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{Rooms: 10})
	fn := e.build(function.Room)
	deliver(t, fn, "2024-05-08", "2024-05-09")
	q := url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "group": {"room"}}
	want := decodeAnswer(t, httpAnswer(t, fn, urlEvent(q, auth())))
	rewriteAsV1(t, e.dir, "2024-05-08")
	got := decodeAnswer(t, httpAnswer(t, fn, urlEvent(q, auth())))
	assert.Equal(t, "v1", got.Days[0].DatasetVersion)
	assert.Equal(t, "v2", got.Days[1].DatasetVersion)
	assert.Equal(t, want.Rows, got.Rows)
	assert.Equal(t, want.Measures, got.Measures)
}

// rewriteAsV1 moves a day's room-usage partition to v1 with v1's column names, as a v1 build
// wrote it.
func rewriteAsV1(t *testing.T, dir, date string) {
	t.Helper()
	v1 := map[string]string{"audio_seconds": "audio", "video_sd_seconds": "sd", "video_hd_seconds": "hd",
		"video_fullhd_seconds": "fullhd", "video_2k_seconds": "2k", "video_4k_seconds": "4k"}
	m := manifest(t, dir, "roomusage", date)
	rows := map[string][]usage.Row{}
	for _, f := range m.Files {
		if f.Format == usage.JSONL {
			rows[f.App] = jsonlRows(t, filepath.Join(dir, filepath.FromSlash(f.Key)), f.Columns)
		}
	}
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "roomusage", "v2", "dt="+date)))
	m.DatasetVersion = "v1"
	var files []snapshot.FileEntry
	for _, f := range m.Files {
		if f.Format == usage.Parquet {
			continue
		}
		f.Key = strings.Replace(f.Key, "/v2/", "/v1/", 1)
		f.Columns = renamed(f.Columns, v1)
		var b bytes.Buffer
		w, err := usage.NewWriter(f.Format, &b, usage.RoomUsageSchema, f.Columns)
		require.NoError(t, err)
		for _, row := range rows[f.App] {
			require.NoError(t, w.WriteRow(row))
		}
		require.NoError(t, w.Close())
		sum := sha256.Sum256(b.Bytes())
		f.Bytes, f.SHA256 = int64(b.Len()), hex.EncodeToString(sum[:])
		path := filepath.Join(dir, filepath.FromSlash(f.Key))
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, b.Bytes(), 0o644))
		files = append(files, f)
	}
	m.Files = files
	b, err := m.Encode()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "roomusage", "v1", "dt="+date, snapshot.ManifestName), b, 0o644))
}

func renamed(cols []string, names map[string]string) []string {
	out := slices.Clone(cols)
	for i, c := range out {
		if n, ok := names[c]; ok {
			out[i] = n
		}
	}
	return out
}

// jsonLines decodes a JSON Lines body into one object a line, numbers kept as written.
func jsonLines(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var m map[string]any
		require.NoError(t, dec.Decode(&m))
		out = append(out, m)
	}
	return out
}

// jsonlRows reads a JSON Lines file as rows of the given columns.
func jsonlRows(t *testing.T, path string, cols []string) []usage.Row {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []usage.Row
	for _, m := range jsonLines(t, b) {
		row := make(usage.Row, len(cols))
		for i, c := range cols {
			switch v := m[c].(type) {
			case nil:
				row[i] = usage.Value{Number: true}
			case json.Number:
				row[i] = usage.Value{Text: v.String(), Number: true}
			default:
				row[i] = usage.Str(fmt.Sprint(v))
			}
		}
		out = append(out, row)
	}
	return out
}

// The same queries against the COS front (MinIO when TCUSAGE_TEST_MINIO_* is set, gofakes3
// otherwise): committed days make no API call, and a tampered object is fetched live.
func TestSnapshotQueriesOnCOS(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	up, _ := costest.MinIOFromEnv()
	cs := costest.New(t, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey, Upstream: up})
	e.vars["TCUSAGE_SINK"], e.vars["TCUSAGE_COS_ENDPOINT"] = cs.SinkURL("snapquery-"+strings.ToLower(rand.Text()[:8])), cs.Endpoint
	fn := e.build(function.Room)
	deliver(t, fn, "2024-05-07", "2024-05-09")
	calls := apiCalls(e)
	q := url.Values{"from": {"2024-05-07"}, "to": {"2024-05-09"}, "group": {"room"}, "top": {"5"}}
	clean := httpAnswer(t, fn, urlEvent(q, auth()))
	require.Equal(t, 200, clean.StatusCode, clean.Body)
	assert.Equal(t, "3", clean.Headers[query.HeaderSnapshotDays])
	assert.Equal(t, calls, apiCalls(e))

	store, prefix := fn.Store()
	m, err := snapshot.FindManifest(context.Background(), store, prefix, "roomusage", calendar.Date(2024, 5, 9))
	require.NoError(t, err)
	for _, f := range m.Files {
		if f.App == "1400000001" && f.Format == usage.CSV {
			require.NoError(t, store.Put(context.Background(), f.Key, strings.NewReader("RoomId\nforged\n"), snapshot.PutOptions{}))
		}
	}
	r := httpAnswer(t, fn, urlEvent(q, auth()))
	require.Equal(t, 200, r.StatusCode, r.Body)
	assert.Equal(t, "2024-05-09", r.Headers[query.HeaderLiveDays])
	assert.Equal(t, calls+2, apiCalls(e))
	assert.Equal(t, decodeAnswerOrCSV(t, clean), decodeAnswerOrCSV(t, r))
}

// A live query shares the account's pacing with the timers: it takes the dataset's lease, waits
// out the pacing the last writer handed over, and hands its own over, so that timer runs and
// queries one after the other never call faster than the API's limit.
func TestLiveQueriesAndTimersShareThePacing(t *testing.T) {
	t.Parallel()
	w := newWritersWorldAt(t, false, 0.04) // a 600 ms window: longer than a hand-over takes
	w.vars["TCUSAGE_SDK_APP_IDS"] = w.apps[0]
	timer, http := w.writer(t, "timer"), w.writer(t, "HTTP")
	for i, date := range []string{"2024-05-09", "2024-05-08", "2024-05-07", "2024-05-06"} {
		if i%2 == 0 {
			_, err := invoke(t, timer, timerEvent(`{"date":"`+date+`"}`))
			require.NoError(t, err)
			continue
		}
		r := httpAnswer(t, http, urlEvent(url.Values{"date": {date}, "group": {"room"}, "top": {"3"}}, auth()))
		require.Equal(t, 200, r.StatusCode, r.Body)
		assert.Equal(t, date, r.Headers[query.HeaderLiveDays])
	}
	reqs := w.emu.Requests()
	require.Len(t, reqs, 4)
	for i, rq := range reqs {
		assert.Empty(t, rq.Code, "call %d was refused", i)
		if i > 0 {
			assert.GreaterOrEqual(t, rq.Time.Sub(reqs[i-1].Time), 600*time.Millisecond, "call %d came too soon after the other writer's", i)
		}
	}
	// Every live query held the lease, as the journal of store writes shows.
	var queryLeases int
	for _, e := range w.journal.events {
		if e.actor == "HTTP" && e.kind == "acquire" {
			queryLeases++
		}
	}
	assert.Equal(t, 2, queryLeases)
}

// save=true fetches and commits every day, then answers from what it committed: one call per
// app-day, fresh=true or not, and the days are the new snapshots.
func TestSaveAnswersFromWhatItCommitted(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	for i, extra := range []url.Values{{}, {"fresh": {"true"}}, {"group": {"app"}}} {
		q := url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "save": {"true"}}
		for k, v := range extra {
			q[k] = v
		}
		calls := apiCalls(e)
		a := decodeAnswer(t, httpAnswer(t, fn, urlEvent(q, auth())))
		assert.Equal(t, calls+4, apiCalls(e), "%d: two days of two apps, once", i)
		for _, d := range a.Days {
			assert.Equal(t, query.SourceSnapshot, d.Source)
			m := manifest(t, e.dir, "telcall", d.Date.String())
			assert.True(t, m.GeneratedAt.Equal(*d.GeneratedAt), "the snapshot just committed")
		}
		assert.Len(t, a.RequestIDs, 4, "the saved app-days' request IDs")
	}
}
