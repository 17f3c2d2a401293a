package function_test

import (
	"context"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// The query benchmarks (docs/performance.md) answer from snapshots on the COS front over MinIO
// (TCUSAGE_TEST_MINIO_*; they skip without it), and compare with the live path for the same
// query. The snapshots are delivered once per MinIO (by the real runs, from the emulator) under
// benchPrefix and reused by later runs.
//
//	set -a; . /tmp/minio.env; set +a
//	go test -run '^$' -bench 'SnapshotQuery|LiveQuery' -benchmem -benchtime 20x ./shared/function/

const benchPrefix = "bench/snapquery-1"

// benchFleet is the apps of a benchmark: n SdkAppIds from 1400100001.
func benchFleet(n int) ([]uint64, string) {
	var apps []uint64
	var ids []string
	for i := 1; i <= n; i++ {
		apps = append(apps, uint64(1400100000+i))
		ids = append(ids, strconv.Itoa(1400100000+i))
	}
	return apps, strings.Join(ids, ",")
}

// benchFunction builds a function on the COS front over MinIO, with an emulator at scale.
func benchFunction(b *testing.B, spec function.Spec, apps int, emu emulator.Config, rates string) (*function.Function, *emulatortest.Server) {
	b.Helper()
	up, ok := costest.MinIOFromEnv()
	if !ok {
		b.Skip("the query benchmarks read snapshots on the COS front over MinIO: set TCUSAGE_TEST_MINIO_* (.ci/minio.sh start)")
	}
	ids, list := benchFleet(apps)
	emu.Now, emu.SDKAppIDs = clock, ids
	e := emulatortest.NewServer(b, emu)
	cs := costest.New(b, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey, Upstream: up})
	vars := map[string]string{
		"TENCENTCLOUD_SECRET_ID": emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT": e.Addr, "TCUSAGE_API_RATE": rates, "TCUSAGE_SDK_APP_IDS": list,
		"TCUSAGE_SINK": cs.SinkURL(benchPrefix), "TCUSAGE_COS_ENDPOINT": cs.Endpoint, "TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(),
	}
	fn, err := function.New(spec, func(k string) string { return vars[k] }, function.Options{
		Home: b.TempDir(), Now: clock, TempDir: b.TempDir(), Latency: 50 * time.Millisecond, Margin: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	return fn, e
}

// ensureDelivered delivers from..to unless its last day is already complete in the store.
func ensureDelivered(b *testing.B, fn *function.Function, from, to calendar.Day) {
	b.Helper()
	store, prefix := fn.Store()
	if m, err := snapshot.FindManifest(context.Background(), store, prefix, fn.Runner.Dataset(), from); err == nil && m.Status == snapshot.StatusComplete && len(m.Apps) == len(fn.Runner.Apps) {
		return
	}
	start := time.Now()
	days := calendar.Days(from, to)
	_, err := fn.Runner.Run(context.Background(), plan.Window{Days: days, Apps: fn.Runner.Apps}, export.Options{Resume: true, WaitForLease: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("delivered %s %s..%s (%d apps) in %s", fn.Runner.Dataset(), from, to, len(fn.Runner.Apps), time.Since(start).Round(time.Millisecond))
}

// peakHeap samples the live heap while f runs and returns its largest value above the heap
// before f.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var m runtime.MemStats
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(done)
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// benchQuery runs one HTTP query per iteration and reports its answer's size, the API calls it
// made, and the peak live heap while answering.
func benchQuery(b *testing.B, fn *function.Function, emu *emulatortest.Server, q url.Values, wantLive string) {
	b.Helper()
	ev := &scfevent.HTTPRequest{Method: "GET", Path: "/", Query: q, Header: map[string][]string{"Authorization": {"Bearer " + httpToken}}}
	calls := len(emu.Requests())
	var peak uint64
	var size int
	b.ReportAllocs()
	for b.Loop() {
		var r scfevent.HTTPResponse
		peak = max(peak, peakHeap(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
			defer cancel()
			r = fn.Query.Serve(ctx, ev)
		}))
		if r.StatusCode != 200 {
			b.Fatalf("%s: %d %.300s", q.Encode(), r.StatusCode, r.Body)
		}
		if got := r.Headers["X-Tcusage-Live-Days"]; got != wantLive {
			b.Fatalf("%s: live days %q, want %q", q.Encode(), got, wantLive)
		}
		size = len(r.Body)
	}
	b.ReportMetric(float64(len(emu.Requests())-calls)/float64(b.N), "api-calls/op")
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	b.ReportMetric(float64(size)/1e3, "answer-kB")
}

// BenchmarkSnapshotQuery: a 7-day, 3-app room-usage query and a 366-day, 200-app CCC query, read
// from snapshots on the COS front over MinIO.
func BenchmarkSnapshotQuery(b *testing.B) {
	last := calendar.Date(2024, 5, 9)
	b.Run("roomusage/7d-3apps", func(b *testing.B) {
		fn, emu := benchFunction(b, function.Room, 3, emulator.Config{TimeScale: 0.001}, "DescribeTrtcRoomUsage=1/18ms")
		ensureDelivered(b, fn, last.Add(-6), last)
		rng := url.Values{"from": {last.Add(-6).String()}, "to": {last.String()}}
		for _, c := range []struct{ name, params string }{
			{"rows-json", ""}, {"rows-csv", "format=csv"}, {"group=room-top=10", "group=room&top=10"}, {"group=day", "group=day"},
		} {
			b.Run(c.name, func(b *testing.B) { benchQuery(b, fn, emu, withParams(rng, c.params), "") })
		}
	})
	b.Run("telcall/366d-200apps", func(b *testing.B) {
		fn, emu := benchFunction(b, function.TelCall, 200, emulator.Config{TimeScale: 0.001}, "DescribeTelCallInfo=1/60us")
		for d := last.Add(-365); !d.After(last); d = d.Add(61) {
			end := d.Add(60)
			if end.After(last) {
				end = last
			}
			ensureDelivered(b, fn, d, end)
		}
		rng := url.Values{"from": {last.Add(-365).String()}, "to": {last.String()}}
		for _, c := range []struct{ name, params string }{
			{"group=day", "group=day"}, {"group=app", "group=app"}, {"group=app-top=10", "group=app&top=10&by=inbound_minutes"}, {"rows-csv", "format=csv"},
		} {
			b.Run(c.name, func(b *testing.B) { benchQuery(b, fn, emu, withParams(rng, c.params), "") })
		}
	})
}

// BenchmarkLiveQuery: the same queries fetched live. Room usage runs its documented one call per
// 15 s a thousand times faster (the emulator's time scale; the client paces at 18 ms); CCC at its
// documented 20 calls/s for one day of 200 apps (a query may fetch at most 31 days live, and 366
// days of 200 apps at 20/s would take an hour). The emulator answers after 30 ms.
func BenchmarkLiveQuery(b *testing.B) {
	last := calendar.Date(2024, 5, 9)
	b.Run("roomusage/7d-3apps-scaled-1000x", func(b *testing.B) {
		fn, emu := benchFunction(b, function.Room, 3, emulator.Config{TimeScale: 0.001, Latency: 30 * time.Millisecond}, "DescribeTrtcRoomUsage=1/18ms")
		rng := url.Values{"from": {last.Add(-6).String()}, "to": {last.String()}, "fresh": {"true"}}
		var live []string
		for _, d := range calendar.Days(last.Add(-6), last) {
			live = append(live, d.String())
		}
		for _, c := range []struct{ name, params string }{{"rows-json", ""}, {"group=room-top=10", "group=room&top=10"}} {
			b.Run(c.name, func(b *testing.B) { benchQuery(b, fn, emu, withParams(rng, c.params), strings.Join(live, ",")) })
		}
	})
	b.Run("telcall/1d-200apps-20-per-s", func(b *testing.B) {
		fn, emu := benchFunction(b, function.TelCall, 200, emulator.Config{Latency: 30 * time.Millisecond}, "")
		q := url.Values{"date": {last.String()}, "fresh": {"true"}, "group": {"app"}}
		benchQuery(b, fn, emu, q, last.String())
	})
}

func withParams(base url.Values, extra string) url.Values {
	out := url.Values{}
	for k, v := range base {
		out[k] = v
	}
	more, err := url.ParseQuery(extra)
	if err != nil {
		panic(fmt.Sprintf("%q: %v", extra, err))
	}
	for k, v := range more {
		out[k] = v
	}
	return out
}
