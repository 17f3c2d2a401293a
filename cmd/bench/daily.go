package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scfevent"
)

const (
	defaultLatency = 30 * time.Millisecond
	// roomScale shortens the room-usage window (one call per 15 s) to 15 ms, in the emulator and in
	// the client's pacing alike; the other actions run at their real, documented limits.
	roomScale = 0.001
)

type dailyOptions struct {
	Apps, Dates int
	Latency     time.Duration
}

// fnResult is one function's part of a daily run.
type fnResult struct {
	Name        string        `json:"name"`
	Calls       int           `json:"calls"`
	Interval    time.Duration `json:"interval"`
	Bound       time.Duration `json:"bound"`
	Wall        time.Duration `json:"wall"`
	RateLimited int           `json:"rate_limited"`
	Err         string        `json:"error,omitempty"`
}

// dailyResult is a whole daily run.
type dailyResult struct {
	Apps      int           `json:"apps"`
	Dates     int           `json:"dates"`
	Latency   time.Duration `json:"latency"`
	Functions []fnResult    `json:"functions"`
	Bound     time.Duration `json:"bound"`
	Wall      time.Duration `json:"wall"`
	HeapPeak  uint64        `json:"heap_peak"`
	// PeakRSS is this process's VmHWM after the run (emulators included).
	PeakRSS int64 `json:"peak_rss"`
}

// daily runs all four functions in parallel, in process, for o.Apps apps over o.Dates dates,
// against emulators that answer after o.Latency and enforce the documented rate limits (room
// usage time-scaled), and compares the wall time with the lower bound the limits imply.
func daily(ctx context.Context, out io.Writer, o dailyOptions, asJSON bool) error {
	res, err := runDaily(ctx, o)
	if err != nil {
		return err
	}
	if asJSON {
		return json.NewEncoder(out).Encode(res)
	}
	fmt.Fprintf(out, "\n### Daily run: %d apps, %d date(s), all four functions in parallel, emulator latency %s\n\n", res.Apps, res.Dates, res.Latency)
	fmt.Fprintln(out, "| function | calls | pacing interval | bound (calls−1)×interval+latency | wall | wall ÷ bound | rate-limit answers |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|")
	for _, f := range res.Functions {
		fmt.Fprintf(out, "| %s | %d | %s | %s | %s | %.3f | %d |\n", f.Name, f.Calls, f.Interval, f.Bound.Round(time.Millisecond), f.Wall.Round(time.Millisecond), float64(f.Wall)/float64(f.Bound), f.RateLimited)
	}
	fmt.Fprintf(out, "| **all (max of the above)** | | | %s | %s | **%.3f** | |\n", res.Bound.Round(time.Millisecond), res.Wall.Round(time.Millisecond), float64(res.Wall)/float64(res.Bound))
	for _, f := range res.Functions {
		if f.Err != "" {
			return fmt.Errorf("%s failed: %s", f.Name, f.Err)
		}
	}
	return nil
}

func runDaily(ctx context.Context, o dailyOptions) (*dailyResult, error) {
	dir, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "tcusage-daily-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	setups, err := dailySetups(ctx, o, dir)
	if err != nil {
		return nil, err
	}
	yesterday := calendar.Of(time.Now(), calendar.Zone).Add(-1)
	payload := timerPayload(yesterday)
	if o.Dates > 1 {
		msg, _ := json.Marshal(map[string]string{"from": yesterday.Add(-(o.Dates - 1)).String(), "to": yesterday.String()})
		payload, _ = json.Marshal(scfevent.Timer{Type: "Timer", TriggerName: "bench", Time: time.Now().UTC(), Message: string(msg)})
	}
	res := &dailyResult{Apps: o.Apps, Dates: o.Dates, Latency: o.Latency, Functions: make([]fnResult, len(setups))}
	stopHeap := sampleHeap(&res.HeapPeak)
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range setups {
		wg.Go(func() {
			t0 := time.Now()
			_, err := s.fn.Handle(ctx, mustEvent(payload))
			r := fnResult{Name: s.spec.Name, Calls: s.calls, Interval: s.interval, Wall: time.Since(t0),
				Bound: time.Duration(s.calls-1)*s.interval + o.Latency}
			if err != nil {
				r.Err = err.Error()
			}
			res.Functions[i] = r
		})
	}
	wg.Wait()
	res.Wall = time.Since(start)
	stopHeap()
	res.PeakRSS, _ = vmHWM(os.Getpid())
	for i := range res.Functions {
		f := &res.Functions[i]
		res.Bound = max(res.Bound, f.Bound)
		for _, rq := range setups[i].em.Requests() {
			if ownAction(f.Name, rq.Action) && (rq.Code == emulator.CodeRequestLimitExceeded || rq.Code == emulator.CodeFreqOverLimit) {
				f.RateLimited++
			}
		}
	}
	return res, nil
}

// dailySetup is one function of the daily run with the emulator it calls and the calls it needs.
type dailySetup struct {
	spec     function.Spec
	fn       *function.Function
	em       *emulator.Emulator
	interval time.Duration
	calls    int
}

// dailySetups serves two emulators for o.Apps apps (real time, and room usage's scaled one) and
// builds the four functions against them, writing into dir.
func dailySetups(ctx context.Context, o dailyOptions, dir string) ([]dailySetup, error) {
	apps := make([]uint64, o.Apps)
	ids := make([]string, o.Apps)
	orgs := make([]string, o.Apps)
	for i := range apps {
		apps[i] = 1400000001 + uint64(i)
		ids[i] = strconv.FormatUint(apps[i], 10)
		orgs[i] = fmt.Sprintf("org_%04d", i)
	}
	cfg := emulator.Config{SDKAppIDs: apps, ESSApps: map[string][]string{"ess_app_bench": orgs}, Latency: o.Latency}
	real := emulator.New(cfg)
	roomCfg := cfg
	roomCfg.TimeScale = roomScale
	scaled := emulator.New(roomCfg)
	realAddr, err := serve(ctx, real)
	if err != nil {
		return nil, err
	}
	roomAddr, err := serve(ctx, scaled)
	if err != nil {
		return nil, err
	}
	roomEvery := time.Duration(float64(15*time.Second) * roomScale)
	// The client paces room usage 20% slower than the scaled limit: at 15 ms, scheduling jitter of a
	// millisecond would otherwise make calls arrive early (at the real 15 s, 5% is plenty).
	clientRoomEvery := time.Duration(float64(roomEvery) * 1.2)
	env := map[string]string{
		"TENCENTCLOUD_SECRET_ID": emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_SDK_APP_IDS": strings.Join(ids, ","), "TCUSAGE_ESS_APP_ID": "ess_app_bench",
		"TCUSAGE_ESS_ORG_OPEN_IDS": strings.Join(orgs, ","), "TCUSAGE_SINK": "file://" + dir + "/store",
	}
	setups := []dailySetup{
		{spec: function.TelCall, em: real, interval: 50 * time.Millisecond},
		{spec: function.TRTC, em: real, interval: 50 * time.Millisecond},
		{spec: function.Room, em: scaled, interval: roomEvery},
		{spec: function.ESS, em: real, interval: 50 * time.Millisecond}, // one page per sub-customer-day
	}
	for i := range setups {
		s := &setups[i]
		s.calls = o.Apps * o.Dates
		e := map[string]string{"TCUSAGE_API_ENDPOINT": realAddr}
		if s.spec.Name == function.Room.Name {
			e["TCUSAGE_API_ENDPOINT"] = roomAddr
			e["TCUSAGE_API_RATE"] = fmt.Sprintf("DescribeTrtcRoomUsage=1/%dus", clientRoomEvery.Microseconds())
		}
		getenv := func(k string) string {
			if v, ok := e[k]; ok {
				return v
			}
			return env[k]
		}
		if s.fn, err = function.New(s.spec, getenv, function.Options{Home: dir, TempDir: dir, Latency: o.Latency, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			return nil, err
		}
	}
	return setups, nil
}

// ownAction reports whether a call of action belongs to function name.
func ownAction(name, action string) bool {
	switch name {
	case function.TelCall.Name:
		return action == "DescribeTelCallInfo"
	case function.TRTC.Name:
		return action == "DescribeTrtcInteractiveTime" || action == "DescribeTrtcUsage"
	case function.Room.Name:
		return action == "DescribeTrtcRoomUsage"
	}
	return action == "ChannelDescribeBillUsageDetail"
}

func mustEvent(payload []byte) scfevent.Event {
	var ev scfevent.Event
	if err := json.Unmarshal(payload, &ev); err != nil {
		panic(fmt.Sprintf("bench: timer payload: %v", err)) // built above; cannot fail
	}
	return ev
}

// serve serves h on a loopback port until ctx ends.
func serve(ctx context.Context, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	go func() { <-ctx.Done(); _ = srv.Close() }()
	return ln.Addr().String(), nil
}

// sampleHeap records the peak of the Go heap (live and not yet collected objects) every
// millisecond until the returned function is called.
func sampleHeap(peak *uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			*peak = max(*peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}
