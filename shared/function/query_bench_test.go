package function_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
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

// benchWorld is a function on the COS front over MinIO, its emulator, and the environment that
// builds it (for tcusage query in a process of its own).
type benchWorld struct {
	fn   *function.Function
	emu  *emulatortest.Server
	vars map[string]string
}

// benchFunction builds a function on the COS front over MinIO, with an emulator at scale.
func benchFunction(b *testing.B, spec function.Spec, apps int, emu emulator.Config, rates string) (*function.Function, *emulatortest.Server) {
	w := newBenchWorld(b, spec, apps, emu, rates)
	return w.fn, w.emu
}

func newBenchWorld(b *testing.B, spec function.Spec, apps int, emu emulator.Config, rates string) *benchWorld {
	return newBenchWorldAt(b, spec, apps, emu, rates, clock)
}

// newBenchWorldAt is newBenchWorld on the clock now (tcusage query in a process of its own runs
// on the real clock).
func newBenchWorldAt(b *testing.B, spec function.Spec, apps int, emu emulator.Config, rates string, now func() time.Time) *benchWorld {
	b.Helper()
	up, ok := costest.MinIOFromEnv()
	if !ok {
		b.Skip("the query benchmarks read snapshots on the COS front over MinIO: set TCUSAGE_TEST_MINIO_* (.ci/minio.sh start)")
	}
	ids, list := benchFleet(apps)
	emu.Now, emu.SDKAppIDs = now, ids
	e := emulatortest.NewServer(b, emu)
	cs := costest.New(b, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey, Upstream: up})
	vars := map[string]string{
		"TENCENTCLOUD_SECRET_ID": emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT": e.Addr, "TCUSAGE_API_RATE": rates, "TCUSAGE_SDK_APP_IDS": list,
		"TCUSAGE_SINK": cs.SinkURL(benchPrefix), "TCUSAGE_COS_ENDPOINT": cs.Endpoint, "TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(),
	}
	fn, err := function.New(spec, func(k string) string { return vars[k] }, function.Options{
		Home: b.TempDir(), Now: now, TempDir: b.TempDir(), Latency: 50 * time.Millisecond, Margin: 5 * time.Second,
	})
	if err != nil {
		b.Fatal(err)
	}
	return &benchWorld{fn: fn, emu: e, vars: vars}
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
			{"group=day", "group=day"}, {"group=app", "group=app"}, {"group=app-top=10", "group=app&top=10&by=inbound_minutes"},
		} {
			b.Run(c.name, func(b *testing.B) { benchQuery(b, fn, emu, withParams(rng, c.params), "") })
		}
		// The year's rows are more than a response may carry: refused from the manifests' sizes.
		b.Run("rows-csv-refused", func(b *testing.B) {
			ev := &scfevent.HTTPRequest{Method: "GET", Path: "/", Query: withParams(rng, "format=csv"), Header: map[string][]string{"Authorization": {"Bearer " + httpToken}}}
			for b.Loop() {
				if r := fn.Query.Serve(context.Background(), ev); r.StatusCode != 413 {
					b.Fatalf("rows of a year: %d %.300s, want 413", r.StatusCode, r.Body)
				}
			}
		})
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

// BenchmarkQueryProcess runs the same queries as BenchmarkSnapshotQuery and BenchmarkLiveQuery
// with tcusage query, in a process of its own, so that its peak RSS is the query's alone (the COS
// front and the emulator run in the benchmark's process): what an SCF instance would need.
// Wall time includes the process's start (about 10 ms).
func BenchmarkQueryProcess(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "tcusage")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/tcusage").CombinedOutput(); err != nil {
		b.Fatalf("build tcusage: %v\n%s", err, out)
	}
	last := calendar.Date(2024, 5, 9)
	year := []string{"--from", last.Add(-365).String(), "--to", last.String()}
	b.Run("roomusage/7d-3apps", func(b *testing.B) {
		// Room usage serves the last 90 days: the days are the real week before today.
		w := newBenchWorldAt(b, function.Room, 3, emulator.Config{TimeScale: 0.001, Latency: 30 * time.Millisecond}, "DescribeTrtcRoomUsage=1/18ms", time.Now)
		last := w.fn.Runner.Limits().Latest
		week := []string{"--from", last.Add(-6).String(), "--to", last.String()}
		ensureDelivered(b, w.fn, last.Add(-6), last)
		for _, c := range []struct {
			name string
			args []string
		}{
			{"snapshot/rows-json", week}, {"snapshot/group=room-top=10", append(slices.Clone(week), "--group", "room", "--top", "10")},
			{"live-scaled-1000x/rows-json", append(slices.Clone(week), "--fresh")},
			{"live-scaled-1000x/group=room-top=10", append(slices.Clone(week), "--fresh", "--group", "room", "--top", "10")},
		} {
			b.Run(c.name, func(b *testing.B) { benchProcess(b, bin, w, "roomusage", c.args) })
		}
	})
	b.Run("telcall/366d-200apps", func(b *testing.B) {
		w := newBenchWorld(b, function.TelCall, 200, emulator.Config{Latency: 30 * time.Millisecond}, "")
		for _, c := range []struct {
			name string
			args []string
		}{
			{"snapshot/group=day", append(slices.Clone(year), "--group", "day")},
			{"snapshot/group=app", append(slices.Clone(year), "--group", "app")},
			{"live-1d-20-per-s/group=app", []string{"--date", last.String(), "--fresh", "--group", "app"}},
		} {
			b.Run(c.name, func(b *testing.B) { benchProcess(b, bin, w, "telcall", c.args) })
		}
	})
}

// benchProcess runs tcusage query once per iteration and reports its wall time, its CPU time and
// its peak RSS (VmHWM, read while it runs: the rusage of a child started by vfork counts the
// parent's pages too).
func benchProcess(b *testing.B, bin string, w *benchWorld, fn string, args []string) {
	env := os.Environ()
	for k, v := range w.vars {
		env = append(env, k+"="+v)
	}
	var rss int64
	var cpu time.Duration
	for b.Loop() {
		cmd := exec.Command(bin, append([]string{"query", fn}, args...)...)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = io.Discard, &stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		done := make(chan struct{})
		peak := make(chan int64, 1)
		go func() { peak <- watchHWM(cmd.Process.Pid, done) }()
		err := cmd.Wait()
		close(done)
		if err != nil {
			b.Fatalf("tcusage query %v: %v\n%s", args, err, stderr.String())
		}
		rss = max(rss, <-peak)
		cpu += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	b.ReportMetric(float64(rss)/1e6, "peak-RSS-MB")
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-ms/op")
}

// watchHWM polls a process's VmHWM until done and returns the last value read, in bytes.
func watchHWM(pid int, done <-chan struct{}) int64 {
	var last int64
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
			for line := range strings.SplitSeq(string(b), "\n") {
				if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
					kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
					last = max(last, kb*1024)
				}
			}
		}
		select {
		case <-done:
			return last
		case <-t.C:
		}
	}
}
