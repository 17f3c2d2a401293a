package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"slices"
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
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// The reliability suite runs the four functions against the emulator and the COS test server
// with faults injected, and compares what they deliver with a fault-free run.

const cosPrefix = "exports/daily"

// fleet returns n SdkAppIds and n ESS sub-customers, and their comma-separated lists.
func fleet(n int) (apps []uint64, appList string, orgs []string, orgList string) {
	var ids []string
	for i := 1; i <= n; i++ {
		app := uint64(1400000500 + i)
		apps = append(apps, app)
		ids = append(ids, strconv.FormatUint(app, 10))
		orgs = append(orgs, fmt.Sprintf("org_%02d", i))
	}
	return apps, strings.Join(ids, ","), orgs, strings.Join(orgs, ",")
}

// world is one function's surroundings: an emulator and a store (a directory, or the COS test
// server reached through the real COS SDK).
type world struct {
	emu  *emulatortest.Server
	cos  *costest.Server // nil: file store
	dir  string
	vars map[string]string
}

func newWorld(t *testing.T, n int, faults emulator.FaultConfig, withCOS bool) *world {
	t.Helper()
	apps, appList, orgs, orgList := fleet(n)
	emu := emulatortest.NewServer(t, emulator.Config{
		Now: clock, TimeScale: 0.001, SDKAppIDs: apps,
		ESSApps: map[string][]string{"ess_app_demo": orgs}, Rooms: 40,
		Faults: faults, SlowDelay: 2 * time.Second,
	})
	w := &world{emu: emu, dir: t.TempDir(), vars: map[string]string{
		"TENCENTCLOUD_SECRET_ID":    emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY":   emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT":      emu.Addr,
		"TCUSAGE_API_RATE":          scaledRates,
		"TCUSAGE_SDK_APP_IDS":       appList,
		"TCUSAGE_ESS_APP_ID":        "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS":  orgList,
		"TCUSAGE_RESTATE_DAYS":      "1",
		"TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(),
	}}
	w.vars["TCUSAGE_SINK"] = "file://" + w.dir
	if faults.Rate > 0 {
		w.vars["TCUSAGE_API_TIMEOUT"] = "300ms" // a slow answer costs one attempt, not the run
	}
	if withCOS {
		w.cos = costest.New(t, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey})
		w.vars["TCUSAGE_SINK"] = w.cos.SinkURL(cosPrefix)
		w.vars["TCUSAGE_COS_ENDPOINT"] = w.cos.Endpoint
	}
	return w
}

// scaledRates paces the client like the emulator's limits at TimeScale 0.001 (each action's
// documented rate, a thousand times faster, with room): room usage's 15 ms window gets 40 ms,
// since under the race detector on a loaded machine a call can reach the emulator 20 ms later
// than it left, and the next one on time.
const scaledRates = "DescribeTelCallInfo=1/100us,DescribeTrtcInteractiveTime=1/100us,ChannelDescribeBillUsageDetail=1/100us," +
	"DescribeTrtcUsage=1/300us,DescribeTrtcRoomUsage=1/40ms"

// fastRetries keeps backoff short; four attempts make a call fail now and then at a 30% fault
// rate (0.3⁴ ≈ 0.8%), so that the failure path is exercised as well as the retry path.
var fastRetries = tcloud.RetryPolicy{MaxAttempts: 4, BaseDelay: 2 * time.Millisecond, MaxDelay: 20 * time.Millisecond}

func (w *world) build(t *testing.T, spec function.Spec) *function.Function {
	t.Helper()
	fn, err := function.New(spec, func(k string) string { return w.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Retry: fastRetries,
		Latency: 5 * time.Millisecond, Margin: time.Second,
	})
	require.NoError(t, err)
	return fn
}

// objects returns every object of a store under prefix: data keys (relative to prefix) → bytes,
// and manifests (relative key → manifest).
func objects(t *testing.T, store snapshot.Store, prefix string) (map[string][]byte, map[string]*snapshot.Manifest) {
	t.Helper()
	ctx := context.Background()
	lp := ""
	if prefix != "" {
		lp = prefix + "/"
	}
	infos, err := store.List(ctx, lp)
	require.NoError(t, err)
	data := map[string][]byte{}
	manifests := map[string]*snapshot.Manifest{}
	for _, o := range infos {
		rel := strings.TrimPrefix(o.Key, lp)
		if snapshot.IsLeaseKey(o.Key) || !strings.Contains(o.Key, "/dt=") || isReport(o.Key) {
			// Who held the lease when differs between runs, and so do the objects beside the
			// partitions (the newest day's pointer and the change log carry delivery times, the
			// table definitions the sink's location, the reports the time of each run); the data
			// must not.
			continue
		}
		b, err := snapshot.ReadObject(ctx, store, o.Key)
		require.NoError(t, err)
		if strings.HasSuffix(o.Key, "/"+snapshot.ManifestName) {
			m, err := snapshot.DecodeManifest(bytes.NewReader(b))
			require.NoError(t, err, o.Key)
			manifests[rel] = m
			continue
		}
		data[rel] = b
	}
	return data, manifests
}

// checkSound asserts that every manifest of the dataset's window dates is sound and lists only
// the reference bytes: a failed run may leave a partition without a manifest, or with an older
// or partial one, but never one that points at missing or different data.
func checkSound(t *testing.T, store snapshot.Store, prefix, dataset string, dates []calendar.Day, want map[string][]byte) {
	t.Helper()
	ctx := context.Background()
	for _, d := range dates {
		rep, err := snapshot.Verify(ctx, store, prefix, dataset, d)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		require.True(t, rep.OK(), "%s %s: %v", dataset, d, rep.Problems)
		for _, f := range rep.Manifest.Files {
			rel := strings.TrimPrefix(f.Key, prefix+"/")
			b, err := snapshot.ReadObject(ctx, store, f.Key)
			require.NoError(t, err)
			require.True(t, bytes.Equal(want[rel], b), "%s listed by a manifest differs from the fault-free run", rel)
		}
	}
}

// figures add up what the fault-injection runs did.
type figures struct {
	mu                                       sync.Mutex
	runs, failedRuns, calls, attempts, retry int64
	apiFaults, cosRequests, cosFaults        int64
	partitions, files, bytes                 int64
}

func TestFaultInjectionDailyRunMatchesFaultFreeRun(t *testing.T) {
	const apps = 20
	var total figures
	t.Run("functions", func(t *testing.T) {
		for i, spec := range function.All() {
			t.Run(spec.Name, func(t *testing.T) {
				t.Parallel()
				// The reference: the same day without faults, into a directory.
				ref := newWorld(t, apps, emulator.FaultConfig{}, false)
				refFn := ref.build(t, spec)
				_, err := invoke(t, refFn, timerEvent(""))
				require.NoError(t, err)
				refStore, refPrefix := refFn.Store()
				want, wantManifests := objects(t, refStore, refPrefix)
				require.NotEmpty(t, want)

				// The faulty world: 30% of API calls fail in every way the emulator knows, 20% of
				// COS requests answer 503 SlowDown or are reset.
				w := newWorld(t, apps, emulator.FaultConfig{Rate: 0.3, Kinds: emulator.AllFaultKinds(), Seed: int64(i + 1)}, true)
				seed := uint64(100 * i)
				inject := func() { // fresh seeds each time, so that a rerun does not meet the same faults
					seed++
					w.cos.Inject(costest.Fault{Kind: costest.SlowDown, Rate: 0.1, Seed: seed})
					w.cos.Inject(costest.Fault{Kind: costest.Reset, Rate: 0.1, Seed: seed + 50})
				}
				// Make sure the first run fails, both on the API side and on the store side: one
				// call fails every attempt, and the first manifest write is reset every time the
				// COS SDK tries it.
				w.emu.FailNext(spec.Source(refFn.Config).Action().Name, fastRetries.MaxAttempts, emulator.FaultInternalError)
				w.cos.Inject(costest.Fault{Kind: costest.Reset, Next: 3, Match: func(r costest.Request) bool {
					return r.Method == "PUT" && strings.HasSuffix(r.Key, "/"+snapshot.ManifestName)
				}})
				inject()
				fn := w.build(t, spec)
				store, prefix := fn.Store()
				dataset := fn.Runner.Dataset()
				dates := []calendar.Day{calendar.Date(2024, 5, 8), calendar.Date(2024, 5, 9)}

				runs, failed, cosRequests := 0, 0, 0
				for {
					runs++
					start, before := time.Now(), len(w.cos.Requests())
					_, err := invoke(t, fn, timerEvent(""))
					cosRequests += len(w.cos.Requests()) - before
					t.Logf("run %d: %s: %v", runs, time.Since(start), err != nil)
					if err == nil {
						break
					}
					failed++
					// Loud: the handler fails (so SCF retries) and says what and where.
					assert.Contains(t, err.Error(), dataset)
					require.Less(t, runs, 20, "still failing after %d runs: %v", runs, err)
					w.cos.ClearFaults()
					checkSound(t, store, prefix, dataset, dates, want)
					inject()
				}
				require.Greater(t, failed, 0, "the forced faults must fail the first run")
				w.cos.ClearFaults()
				checkSound(t, store, prefix, dataset, dates, want)

				got, gotManifests := objects(t, store, prefix)
				require.Equal(t, keys(want), keys(got), "the same data objects, no more, no fewer")
				var compared int64
				for k, b := range want {
					require.True(t, bytes.Equal(b, got[k]), "%s differs from the fault-free run", k)
					compared += int64(len(b))
				}
				require.Equal(t, keys(wantManifests), keys(gotManifests))
				for k, m := range wantManifests {
					g := gotManifests[k]
					assert.Equal(t, snapshot.StatusComplete, g.Status, k)
					assert.Equal(t, m.Apps, g.Apps, k)
					assert.Equal(t, fileHashes(m, refPrefix), fileHashes(g, prefix), k)
				}

				st := fn.Client.Stats()
				apiFaults := 0
				for _, r := range w.emu.Requests() {
					if r.Fault != "" {
						apiFaults++
					}
				}
				assert.Positive(t, st.Retries)
				assert.Positive(t, w.cos.FaultCount())
				fmt.Printf("fault injection %-9s runs=%d failed_runs=%d api_calls=%d attempts=%d retries=%d api_faults=%d cos_requests=%d cos_faults=%d partitions_complete=%d files=%d bytes_compared=%d\n",
					spec.Name, runs, failed, st.Calls, st.Attempts, st.Retries, apiFaults, cosRequests, w.cos.FaultCount(), len(gotManifests), len(got), compared)
				total.mu.Lock()
				defer total.mu.Unlock()
				total.runs += int64(runs)
				total.failedRuns += int64(failed)
				total.calls += st.Calls
				total.attempts += st.Attempts
				total.retry += st.Retries
				total.apiFaults += int64(apiFaults)
				total.cosRequests += int64(cosRequests)
				total.cosFaults += int64(w.cos.FaultCount())
				total.partitions += int64(len(gotManifests))
				total.files += int64(len(got))
				total.bytes += compared
			})
		}
	})
	if !t.Failed() {
		fmt.Printf("fault injection total: %d apps, 4 functions, runs=%d failed_runs=%d api_calls=%d attempts=%d retries=%d api_faults=%d cos_requests=%d cos_faults=%d partitions_complete=%d files=%d bytes_compared=%d, all byte-identical\n",
			apps, total.runs, total.failedRuns, total.calls, total.attempts, total.retry, total.apiFaults, total.cosRequests, total.cosFaults, total.partitions, total.files, total.bytes)
	}
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// fileHashes returns a manifest's files as "relative key sha256 bytes rows" lines.
func fileHashes(m *snapshot.Manifest, prefix string) []string {
	var out []string
	for _, f := range m.Files {
		k := f.Key
		if prefix != "" {
			k = strings.TrimPrefix(k, prefix+"/")
		}
		out = append(out, fmt.Sprintf("%s %s %d %d", k, f.SHA256, f.Bytes, f.Rows))
	}
	slices.Sort(out)
	return out
}

// TestThreeForcedRerunsAreIdentical reruns the same two days three times with save=true (which
// forces a refetch of every app) through the COS backend: the keys, the data bytes and the
// manifests stay the same, and no object appears, disappears or is written again: an unchanged
// restatement writes nothing but the dataset's lease (the pointer to the newest day and the table
// definitions included).
func TestThreeForcedRerunsAreIdentical(t *testing.T) {
	for _, spec := range function.All() {
		t.Run(spec.Name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, 3, emulator.FaultConfig{}, true)
			fn := w.build(t, spec)
			store, prefix := fn.Store()
			_, err := invoke(t, fn, timerEvent(""))
			require.NoError(t, err)
			firstData, firstManifests := objects(t, store, prefix)
			require.NotEmpty(t, firstData)
			calls := len(w.emu.Requests())
			firstRequests := len(w.cos.Requests())
			pagePuts := func() (n int) {
				for _, r := range w.cos.Requests() {
					if r.Method == "PUT" && isReport(r.Key) && !snapshot.IsLeaseKey(r.Key) {
						n++
					}
				}
				return n
			}
			firstPages := pagePuts()
			for i := range 3 {
				r := httpAnswer(t, fn, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "save": {"true"}}, auth()))
				require.Equal(t, 200, r.StatusCode, r.Body)
				data, manifests := objects(t, store, prefix)
				require.Equal(t, keys(firstData), keys(data), "rerun %d: the same keys", i+1)
				for k, b := range firstData {
					require.True(t, bytes.Equal(b, data[k]), "rerun %d: %s changed", i+1, k)
				}
				require.Equal(t, keys(firstManifests), keys(manifests))
				for k, m := range manifests {
					assert.Equal(t, fileHashes(firstManifests[k], prefix), fileHashes(m, prefix), k)
					assert.Equal(t, firstManifests[k], m, "rerun %d: the manifest %s is as it was", i+1, k)
				}
			}
			assert.Greater(t, len(w.emu.Requests()), calls, "the reruns did fetch again")
			// The reruns wrote nothing but lease generations: no data, manifest, change, pointer or
			// table definition.
			for _, r := range w.cos.Requests()[firstRequests:] {
				if (r.Method == "PUT" || r.Method == "DELETE" || r.Method == "POST") && !snapshot.IsLeaseKey(r.Key) {
					t.Errorf("a rerun over unchanged data wrote: %s %s", r.Method, r.Key)
				}
			}
			require.Positive(t, firstPages, "the first run rendered the reports")
			assert.Equal(t, firstPages, pagePuts(), "reruns over unchanged data leave the reports alone")
		})
	}
}

// TestDeadlineDuringAFetchLeavesNoPartition gives a run less time than one answer takes: it
// stops with a clear error, commits nothing for the day and writes no data object; the next run
// with enough time completes the day.
func TestDeadlineDuringAFetchLeavesNoPartition(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{Latency: 1500 * time.Millisecond})
	fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Latency: 5 * time.Millisecond, Margin: 100 * time.Millisecond,
	})
	require.NoError(t, err)
	run := func(timeout time.Duration) error {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		_, err := scf.Invoke(ctx, fn.Handle, []byte(timerEvent(`{"date":"2024-05-09"}`)))
		return err
	}
	// Already out of time: nothing starts, and the error says what is left.
	err = run(time.Nanosecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "telcall: stopped before the deadline: 2 app-day(s) left for the next invocation")

	err = run(700 * time.Millisecond)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "telcall: stopped before the deadline: 2 app-day(s) left for the next invocation")
	store, prefix := fn.Store()
	data, manifests := objects(t, store, prefix)
	assert.Empty(t, data, "no data object from an interrupted day")
	assert.Empty(t, manifests, "no manifest from an interrupted day")

	// The HTTP path answers 504 with a clear code, not a 502.
	r := httpAnswerWithin(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "save": {"true"}}, auth()), 700*time.Millisecond)
	assert.Equal(t, 504, r.StatusCode, r.Body)
	assert.Contains(t, r.Body, `"code":"Timeout"`)

	require.NoError(t, run(20*time.Second))
	m := manifest(t, e.dir, "telcall", "2024-05-09")
	assert.Equal(t, snapshot.StatusComplete, m.Status)
}

// TestHTTPRangeTooLargeForTheDeadline is refused before any call: 400 RangeTooLarge.
func TestHTTPRangeTooLargeForTheDeadline(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_API_RATE"] = "DescribeTrtcRoomUsage=1/1s"
	fn := e.build(function.Room)
	r := httpAnswerWithin(t, fn, urlEvent(url.Values{"from": {"2024-05-01"}, "to": {"2024-05-09"}}, auth()), 5*time.Second)
	require.Equal(t, 400, r.StatusCode, r.Body)
	assert.Contains(t, r.Body, `"code":"RangeTooLarge"`)
	assert.Empty(t, e.emu.Requests(), "refused before any API call")
}

func httpAnswerWithin(t *testing.T, fn *function.Function, event string, timeout time.Duration) scfevent.HTTPResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := scf.Invoke(ctx, fn.Handle, []byte(event))
	require.NoError(t, err)
	var r scfevent.HTTPResponse
	require.NoError(t, json.Unmarshal(out, &r))
	return r
}
