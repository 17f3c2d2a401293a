package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// event is one store operation a writer made, as the recording store saw it.
type event struct {
	actor      string
	kind       string // acquire, renew, release (lease generations), write (data, manifests)
	start, end time.Time
	expires    time.Time // of a lease generation
}

// journal collects the events of every writer.
type journal struct {
	mu     sync.Mutex
	events []event
}

func (j *journal) add(e event) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.events = append(j.events, e)
}

// recorder is a store that journals the writes of one writer.
type recorder struct {
	snapshot.Store
	actor string
	j     *journal
}

// isReport reports whether key is a report page or the reports' lease: those are written under
// the reports' own lease (report.Refresh), not the dataset's, and are left out of the journal.
func isReport(key string) bool {
	return strings.HasPrefix(key, report.ReportsDir+"/") || strings.Contains(key, "/"+report.ReportsDir+"/")
}

func (r recorder) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if isReport(key) {
		return r.Store.Put(ctx, key, body, o)
	}
	kind := "write"
	var expires time.Time
	if snapshot.IsLeaseKey(key) {
		b, _ := io.ReadAll(body)
		body = bytes.NewReader(b)
		var rec snapshot.LeaseRecord
		_ = json.Unmarshal(b, &rec)
		expires = rec.ExpiresAt
		switch {
		case rec.Released:
			kind = "release"
		case rec.AcquiredAt.Equal(rec.RenewedAt):
			kind = "acquire"
		default:
			kind = "renew"
		}
	}
	start := time.Now()
	err := r.Store.Put(ctx, key, body, o)
	if err == nil {
		r.j.add(event{actor: r.actor, kind: kind, start: start, end: time.Now(), expires: expires})
	}
	return err
}

func (r recorder) Delete(ctx context.Context, key string) error {
	start := time.Now()
	err := r.Store.Delete(ctx, key)
	if err == nil && !snapshot.IsLeaseKey(key) && !isReport(key) {
		r.j.add(event{actor: r.actor, kind: "write", start: start, end: time.Now()})
	}
	return err
}

// holdings turns the journal into each writer's spans of holding the lease, from its acquire to
// its release (or, for a writer that never released, its lease's last expiry), and checks that
// each write falls inside a span of its own writer. The spans come in order of their start.
func holdings(t *testing.T, events []event) []event {
	t.Helper()
	sort.Slice(events, func(a, b int) bool { return events[a].start.Before(events[b].start) })
	open := map[string]*event{}
	var spans []event
	for _, e := range events {
		switch e.kind {
		case "acquire":
			open[e.actor] = &event{actor: e.actor, start: e.start, end: e.expires}
		case "renew":
			require.Contains(t, open, e.actor, "%s renewed a lease it did not take", e.actor)
			open[e.actor].end = e.expires
		case "release":
			require.Contains(t, open, e.actor, "%s released a lease it did not take", e.actor)
			open[e.actor].end = e.end
			spans = append(spans, *open[e.actor])
			delete(open, e.actor)
		case "write":
			_, holding := open[e.actor]
			assert.True(t, holding, "%s wrote at %s without holding the lease", e.actor, e.start.Format(time.StampMicro))
		}
	}
	for _, s := range open { // never released (killed): held until it expired
		spans = append(spans, *s)
	}
	sort.Slice(spans, func(a, b int) bool { return spans[a].start.Before(spans[b].start) })
	return spans
}

// writersWorld is a room-usage fleet, an emulator enforcing the scaled rate limit, and a store
// (file, or the COS front over gofakes3 or MinIO).
type writersWorld struct {
	emu      *emulatortest.Server
	vars     map[string]string
	journal  journal
	apps     []string
	from, to string
}

func newWritersWorld(t *testing.T, withCOS bool) *writersWorld {
	// 0.004: a 60 ms window, paced at 120 ms; a loaded machine (the race detector, other test
	// binaries) can delay one call by tens of milliseconds, and the next on time would look early.
	return newWritersWorldAt(t, withCOS, 0.004)
}

// newWritersWorldAt makes a world whose emulator runs room usage's 15 s window at scale.
func newWritersWorldAt(t *testing.T, withCOS bool, scale float64) *writersWorld {
	var apps []uint64
	w := &writersWorld{from: "2024-05-07", to: "2024-05-09"}
	for i := range 6 {
		apps = append(apps, 1400000700+uint64(i))
		w.apps = append(w.apps, strconv.Itoa(1400000700+i))
	}
	// Room usage's window of 15 s becomes 15 s × scale (60 ms at 0.004); the clients pace at twice
	// that, so that a loaded test machine's scheduling jitter cannot bring two calls within it.
	w.emu = emulatortest.NewServer(t, emulator.Config{Now: clock, TimeScale: scale, SDKAppIDs: apps, Rooms: 20})
	pace := time.Duration(float64(15*time.Second) * scale * 2)
	w.vars = map[string]string{
		"TENCENTCLOUD_SECRET_ID": emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT": w.emu.Addr, "TCUSAGE_API_RATE": "DescribeTrtcRoomUsage=1/" + pace.String(),
		"TCUSAGE_SDK_APP_IDS": strings.Join(w.apps, ","), "TCUSAGE_RESTATE_DAYS": "2",
		"TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(), "TCUSAGE_LEASE_TTL": "3s", "TCUSAGE_SINK": "file://" + t.TempDir(),
	}
	if withCOS {
		up, _ := costest.MinIOFromEnv() // nil: gofakes3 in process
		cs := costest.New(t, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey, Upstream: up})
		w.vars["TCUSAGE_SINK"], w.vars["TCUSAGE_COS_ENDPOINT"] = cs.SinkURL("writers"), cs.Endpoint
	}
	return w
}

// writer builds one writer: its own function instance, API client and pacing, as a separate SCF
// instance or process has, writing through the journal.
func (w *writersWorld) writer(t *testing.T, actor string) *function.Function {
	fn, err := function.New(function.Room, func(k string) string { return w.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Latency: 5 * time.Millisecond, Margin: time.Second,
		WrapStore: func(s snapshot.Store) snapshot.Store { return recorder{Store: s, actor: actor, j: &w.journal} },
	})
	require.NoError(t, err)
	return fn
}

// Several writers on one dataset at once: two timer invocations, a backfill and an HTTP save,
// each with its own API client, while a killed holder's lease is still to expire. Exactly one
// writes at a time; the emulator never sees room-usage calls faster than its limit from all of
// them together; the final snapshot is byte-identical to one uninterrupted run.
func TestConcurrentWritersOneAtATime(t *testing.T) {
	for _, store := range []string{"file", "cos"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			w := newWritersWorld(t, store == "cos")
			ctx := context.Background()
			// A holder killed mid-run: it took the lease and will never renew or release it.
			dead, prefix := w.writer(t, "killed").Store()
			_, err := snapshot.AcquireLease(ctx, dead, prefix, "roomusage", "killed holder", snapshot.LeaseConfig{TTL: 3 * time.Second})
			require.NoError(t, err)

			var wg sync.WaitGroup
			timer := func(actor string) {
				defer wg.Done()
				fn := w.writer(t, actor)
				// A work timer keeps firing until the day is done. The bound is only against a
				// hang: how long the other writers hold the lease depends on the machine's load.
				for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
					out, err := invoke(t, fn, timerEvent(`{"from":"`+w.from+`","to":"`+w.to+`"}`))
					require.NoError(t, err, actor)
					var sum export.Summary
					require.NoError(t, json.Unmarshal(out, &sum))
					if sum.Busy == nil {
						return
					}
					time.Sleep(300 * time.Millisecond)
				}
				t.Errorf("%s: the lease never came free", actor)
			}
			wg.Add(4)
			go timer("timer A")
			go timer("timer B")
			go func() { // a backfill waits for the lease
				defer wg.Done()
				fn := w.writer(t, "backfill")
				from, _ := calendar.Parse(w.from)
				to, _ := calendar.Parse(w.to)
				_, err := fn.Runner.Run(ctx, plan.Window{Days: calendar.Days(from, to), Apps: w.apps}, export.Options{Resume: true, WaitForLease: true, Holder: "backfill"})
				assert.NoError(t, err)
			}()
			go func() { // an HTTP save is refused while another writer works
				defer wg.Done()
				r := httpAnswer(t, w.writer(t, "HTTP save"), urlEvent(url.Values{"from": {w.from}, "to": {w.to}, "save": {"true"}}, auth()))
				assert.Contains(t, []int{200, 409}, r.StatusCode, r.Body)
			}()
			wg.Wait()

			spans := holdings(t, w.journal.events)
			require.NotEmpty(t, spans)
			for i := 1; i < len(spans); i++ {
				assert.False(t, spans[i].start.Before(spans[i-1].end), "%s took the lease while %s held it", spans[i].actor, spans[i-1].actor)
			}
			for _, rq := range w.emu.Requests() {
				assert.NotEqual(t, emulator.CodeFreqOverLimit, rq.Code, "a call faster than one per (scaled) 15 s across the writers")
			}
			w.compareWithOneRun(t)
		})
	}
}

// compareWithOneRun checks the world's snapshot against one uninterrupted run into a fresh
// store: the same data, byte for byte, and manifests listing the same files.
func (w *writersWorld) compareWithOneRun(t *testing.T) {
	t.Helper()
	got, gotManifests := w.contents(t, w.writer(t, "reader"))
	ref := &writersWorld{emu: w.emu, vars: map[string]string{}, apps: w.apps, from: w.from, to: w.to}
	for k, v := range w.vars {
		ref.vars[k] = v
	}
	ref.vars["TCUSAGE_SINK"] = "file://" + t.TempDir()
	delete(ref.vars, "TCUSAGE_COS_ENDPOINT")
	one := ref.writer(t, "one run")
	_, err := invoke(t, one, timerEvent(`{"from":"`+w.from+`","to":"`+w.to+`"}`))
	require.NoError(t, err)
	want, wantManifests := ref.contents(t, one)
	assert.Equal(t, want, got, "the same data objects and bytes as one uninterrupted run")
	assert.Equal(t, wantManifests, gotManifests)
	assert.Len(t, gotManifests, 3)
}

// contents returns the data objects (by key below the prefix) and, per manifest, the files it
// lists with their hashes and its status.
func (w *writersWorld) contents(t *testing.T, fn *function.Function) (map[string]string, map[string][]string) {
	store, prefix := fn.Store()
	data, manifests := objects(t, store, prefix)
	out := map[string]string{}
	for k, b := range data {
		out[k] = string(b)
	}
	ms := map[string][]string{}
	for k, m := range manifests {
		list := []string{m.Status}
		for _, f := range m.Files {
			list = append(list, strings.TrimPrefix(f.Key, prefix+"/")+" "+f.SHA256)
		}
		slices.Sort(list[1:])
		ms[k] = list
	}
	return out, ms
}

// The rate limit is per account, not per process: a writer that takes the lease right after
// another released it waits out the last writer's pacing before its first call.
func TestPacingIsHandedOverWithTheLease(t *testing.T) {
	t.Parallel()
	w := newWritersWorldAt(t, false, 0.04) // a 600 ms window: longer than a run takes to hand over
	w.vars["TCUSAGE_SDK_APP_IDS"] = w.apps[0]
	first, second := w.writer(t, "first"), w.writer(t, "second")
	for i, fn := range []*function.Function{first, second, first, second} {
		_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-0`+strconv.Itoa(9-i)+`"}`))
		require.NoError(t, err)
	}
	reqs := w.emu.Requests()
	require.Len(t, reqs, 4)
	for i, rq := range reqs {
		assert.Empty(t, rq.Code, "call %d was refused", i)
		if i > 0 {
			assert.GreaterOrEqual(t, rq.Time.Sub(reqs[i-1].Time), 600*time.Millisecond, "call %d came too soon after the other writer's", i)
		}
	}
}
