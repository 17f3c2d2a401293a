package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// simScenario is one function's fleet in the whole-day simulation.
type simScenario struct {
	Spec function.Spec
	Apps int
	// Restate overrides the deployed TCUSAGE_RESTATE_DAYS (-1: keep it).
	Restate int
	// Scale is real time per simulated time: 0.002 runs a 15 s pacing interval in 30 ms.
	Scale float64
}

// deployed is what deploy/<name>/serverless.yml says about a function: its timeout, memory,
// work timer and literal environment.
type deployed struct {
	Timeout  time.Duration
	MemoryMB int
	// Period and Offset place the work timer's firings: every Period, Offset into it.
	Period, Offset time.Duration
	Env            map[string]string
}

// readDeployed reads the function's deployment file.
func readDeployed(name string) (deployed, error) {
	b, err := os.ReadFile(filepath.Join("deploy", name, "serverless.yml"))
	if err != nil {
		return deployed{}, fmt.Errorf("%w (run from the repository root)", err)
	}
	var doc struct {
		Inputs struct {
			MemorySize  int `yaml:"memorySize"`
			Timeout     int `yaml:"timeout"`
			Environment struct {
				Variables map[string]string `yaml:"variables"`
			} `yaml:"environment"`
			Events []map[string]struct {
				Parameters struct {
					Name           string `yaml:"name"`
					CronExpression string `yaml:"cronExpression"`
				} `yaml:"parameters"`
			} `yaml:"events"`
		} `yaml:"inputs"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return deployed{}, fmt.Errorf("deploy/%s/serverless.yml: %w", name, err)
	}
	d := deployed{Timeout: time.Duration(doc.Inputs.Timeout) * time.Second, MemoryMB: doc.Inputs.MemorySize, Env: map[string]string{}}
	for k, v := range doc.Inputs.Environment.Variables {
		if !strings.Contains(v, "${") {
			d.Env[k] = v
		}
	}
	for _, ev := range doc.Inputs.Events {
		if t, ok := ev["timer"]; ok {
			if d.Period, d.Offset, err = parseCron(t.Parameters.CronExpression); err != nil {
				return deployed{}, fmt.Errorf("deploy/%s/serverless.yml: timer %s: %w", name, t.Parameters.Name, err)
			}
		}
	}
	if d.Period == 0 || d.Timeout == 0 || d.MemoryMB == 0 {
		return deployed{}, fmt.Errorf("deploy/%s/serverless.yml: want a timer, a timeout and a memory size", name)
	}
	return d, nil
}

// parseCron reads the SCF cron forms the deployment uses: "S * * * * * *" (every minute at
// second S) and "S */N * * * * *" (every N minutes at second S).
func parseCron(expr string) (period, offset time.Duration, err error) {
	f := strings.Fields(expr)
	if len(f) != 7 || strings.Join(f[2:], " ") != "* * * * *" {
		return 0, 0, fmt.Errorf("cron %q: only every-N-minutes forms are simulated", expr)
	}
	sec, err := strconv.Atoi(f[0])
	if err != nil || sec < 0 || sec > 59 {
		return 0, 0, fmt.Errorf("cron %q: second %q", expr, f[0])
	}
	minutes := 1
	if f[1] != "*" {
		n, ok := strings.CutPrefix(f[1], "*/")
		if minutes, err = strconv.Atoi(n); !ok || err != nil || minutes < 1 {
			return 0, 0, fmt.Errorf("cron %q: minute %q", expr, f[1])
		}
	}
	return time.Duration(minutes) * time.Minute, time.Duration(sec) * time.Second, nil
}

// warpClock is simulated time: it runs 1/scale times faster than the wall clock, and jumps
// ahead to the next timer firing when no invocation is running (nothing can happen meanwhile).
type warpClock struct {
	mu       sync.Mutex
	simBase  time.Time
	realBase time.Time
	scale    float64
}

func (w *warpClock) Now() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.simBase.Add(time.Duration(float64(time.Since(w.realBase)) / w.scale))
}

func (w *warpClock) jumpTo(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.simBase, w.realBase = t, time.Now()
}

// real converts a simulated duration to wall time.
func (w *warpClock) real(d time.Duration) time.Duration { return time.Duration(float64(d) * w.scale) }

// simInvocation is one simulated timer invocation.
type simInvocation struct {
	Start, End time.Time // simulated
	Wall       time.Duration
	Kind       string // work, idle (nothing to do), busy (lease held), error
	StoreOps   int64
}

// simResult is one scenario's simulated day.
type simResult struct {
	Name, Action     string
	Apps, WindowDays int
	Demand, Physical int // app-days the window asks for; calls the API allows in a day
	Delivered        int // app-days delivered in the day (manifest fetched_at in the cycle)
	LastDelivery     time.Duration
	Invocations      []simInvocation
	RateLimited      int
	MemoryMB         int
	Timeout, Period  time.Duration
	Scale            float64
	WallTotal        time.Duration
}

// simulate runs each scenario for one whole simulated day, from the moment the day before settles
// (the cycle's start) to the next, with the deployed timer, timeout and environment, against an
// emulator that enforces the documented limits at the same time scale.
func simulate(ctx context.Context, out io.Writer, scenarios []simScenario) error {
	fmt.Fprintln(out, "\n### Whole-day simulation: the deployed work timer and timeout, time-scaled")
	fmt.Fprintln(out, "\n| function | apps | window | app-days asked | API limit (calls/day) | delivered | ÷ min(asked, limit) | last delivery after settling | invocations: work / idle / busy / error | GB-s work | GB-s idle+busy (measured wall) | store ops per idle invocation (median) | rate-limit answers | scale | wall |")
	fmt.Fprintln(out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
	for _, sc := range scenarios {
		res, err := simulateDay(ctx, sc)
		if err != nil {
			return fmt.Errorf("%s: %w", sc.Spec.Name, err)
		}
		printSim(out, res)
	}
	return nil
}

func printSim(out io.Writer, r *simResult) {
	kinds := map[string]int{}
	var workGBs, idleGBs float64
	var idleOps []int64
	gb := float64(r.MemoryMB) / 1024
	for _, inv := range r.Invocations {
		kinds[inv.Kind]++
		if inv.Kind == "work" || inv.Kind == "error" {
			workGBs += inv.End.Sub(inv.Start).Seconds() * gb
		} else {
			idleGBs += inv.Wall.Seconds() * gb // their work does not scale: count wall time
			idleOps = append(idleOps, inv.StoreOps)
		}
	}
	target := min(r.Demand, r.Physical)
	// The median: the first invocation after the last delivery may also run a deferred publisher.
	opsPerIdle := "–"
	if len(idleOps) > 0 {
		slices.Sort(idleOps)
		opsPerIdle = fmt.Sprintf("%d (max %d)", idleOps[len(idleOps)/2], idleOps[len(idleOps)-1])
	}
	fmt.Fprintf(out, "| %s | %d | %d days | %d | %d | %d | **%.3f** | %s | %d / %d / %d / %d | %.0f | %.2f | %s | %d | %g | %s |\n",
		r.Name, r.Apps, r.WindowDays, r.Demand, r.Physical, r.Delivered, float64(r.Delivered)/float64(target),
		r.LastDelivery.Round(time.Minute), kinds["work"], kinds["idle"], kinds["busy"], kinds["error"], workGBs, idleGBs, opsPerIdle,
		r.RateLimited, r.Scale, r.WallTotal.Round(time.Second))
}

// simulateDay runs one scenario.
func simulateDay(ctx context.Context, sc simScenario) (*simResult, error) {
	dep, err := readDeployed(sc.Spec.Name)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(os.Getenv("BENCH_DIR"), "tcusage-sim-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	settles, err := time.Parse("15:04", dep.Env["TCUSAGE_DAY_SETTLES_AT"])
	if err != nil {
		return nil, fmt.Errorf("TCUSAGE_DAY_SETTLES_AT: %w", err)
	}
	today := calendar.Of(time.Now(), calendar.Zone)
	cycle := today.Start().Add(time.Duration(settles.Hour())*time.Hour + time.Duration(settles.Minute())*time.Minute)
	end := cycle.Add(simHours)
	clock := &warpClock{simBase: cycle, realBase: time.Now(), scale: sc.Scale}

	env, em, err := simEnvironment(ctx, sc, dep, dir, clock)
	if err != nil {
		return nil, err
	}
	action := sc.Spec.Source(function.Config{}).Action()
	window := 1 + restateOf(env)
	res := &simResult{Name: sc.Spec.Name, Action: action.Name, Apps: sc.Apps, WindowDays: window, Demand: sc.Apps * window,
		Physical: int(24 * time.Hour / action.Limit.Every()), MemoryMB: dep.MemoryMB, Timeout: dep.Timeout, Period: dep.Period, Scale: sc.Scale}

	started := time.Now()
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		running atomic.Int32
	)
	first := cycle.Truncate(dep.Period).Add(dep.Offset)
	if first.Before(cycle) {
		first = first.Add(dep.Period)
	}
	for f := first; f.Before(end); f = f.Add(dep.Period) {
		// Wait for the firing in simulated time, or jump to it as soon as nothing runs.
		for running.Load() > 0 && clock.Now().Before(f) {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(min(time.Millisecond, clock.real(f.Sub(clock.Now())))):
			}
		}
		if running.Load() == 0 && clock.Now().Before(f) {
			clock.jumpTo(f)
		}
		running.Add(1)
		wg.Go(func() {
			defer running.Add(-1)
			inv, err := simInvoke(ctx, sc.Spec, env, clock, dep, dir, f)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				inv.Kind = "error"
			}
			if simVerbose {
				fmt.Fprintf(os.Stderr, "%s %s %-5s wall %s ops %d %v\n", sc.Spec.Name, inv.Start.Format("15:04:05"), inv.Kind, inv.Wall.Round(time.Millisecond), inv.StoreOps, err)
			}
			res.Invocations = append(res.Invocations, inv)
		})
	}
	wg.Wait()
	res.WallTotal = time.Since(started)
	var prev time.Time
	for _, rq := range em.Requests() {
		if rq.Action != action.Name {
			continue
		}
		if rq.Code == emulator.CodeRequestLimitExceeded || rq.Code == emulator.CodeFreqOverLimit {
			res.RateLimited++
			if simVerbose {
				fmt.Fprintf(os.Stderr, "refused at %s, %s after the call before\n", rq.Time.Format("15:04:05.000"), rq.Time.Sub(prev))
			}
		}
		prev = rq.Time
	}
	res.Delivered, res.LastDelivery = delivered(em.Requests(), action.Name, cycle, end)
	return res, nil
}

// restateOf reads the restatement window the scenario runs with.
func restateOf(env func(string) string) int {
	n, _ := strconv.Atoi(env("TCUSAGE_RESTATE_DAYS"))
	return n
}

// simEnvironment starts the scenario's emulator (its limits at the scenario's time scale, its
// "today" on the simulated clock) and returns the function's environment: the deployed literal
// variables, the fleet, and the client's pacing at the same scale.
func simEnvironment(ctx context.Context, sc simScenario, dep deployed, dir string, clock *warpClock) (func(string) string, *emulator.Emulator, error) {
	apps := make([]uint64, sc.Apps)
	ids := make([]string, sc.Apps)
	orgs := make([]string, sc.Apps)
	for i := range apps {
		apps[i] = 1400000001 + uint64(i)
		ids[i] = strconv.FormatUint(apps[i], 10)
		orgs[i] = fmt.Sprintf("org_%05d", i)
	}
	em := emulator.New(emulator.Config{SDKAppIDs: apps, ESSApps: map[string][]string{"ess_app_sim": orgs},
		TimeScale: sc.Scale, Now: clock.Now, Latency: clock.real(100 * time.Millisecond)})
	addr, err := serve(ctx, em)
	if err != nil {
		return nil, nil, err
	}
	var rates []string
	for _, a := range tcapi.Actions() {
		// simSlack slower than the scaled limit: at a few milliseconds, scheduling jitter would
		// otherwise make calls arrive early (the deployed client paces at exactly the limit).
		rates = append(rates, fmt.Sprintf("%s=1/%dus", a.Name, int64(float64(tcloud.Pacing(a).Microseconds())*sc.Scale*simSlack)+1))
	}
	vars := map[string]string{}
	for k, v := range dep.Env {
		vars[k] = v
	}
	for k, v := range map[string]string{
		"TENCENTCLOUD_SECRET_ID": emulator.TestSecretID, "TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT": addr, "TCUSAGE_API_RATE": strings.Join(rates, ","),
		"TCUSAGE_SDK_APP_IDS": strings.Join(ids, ","), "TCUSAGE_ESS_APP_ID": "ess_app_sim",
		"TCUSAGE_ESS_ORG_OPEN_IDS": strings.Join(orgs, ","), "TCUSAGE_SINK": "file://" + filepath.Join(dir, "store"),
	} {
		vars[k] = v
	}
	if sc.Restate >= 0 {
		vars["TCUSAGE_RESTATE_DAYS"] = strconv.Itoa(sc.Restate)
	}
	return func(k string) string { return vars[k] }, em, nil
}

// countingStore counts a store's operations.
type countingStore struct {
	snapshot.Store
	ops *atomic.Int64
}

func (s countingStore) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	s.ops.Add(1)
	return s.Store.Put(ctx, key, body, o)
}

func (s countingStore) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	s.ops.Add(1)
	return s.Store.Get(ctx, key)
}

func (s countingStore) Head(ctx context.Context, key string) (snapshot.ObjectInfo, error) {
	s.ops.Add(1)
	return s.Store.Head(ctx, key)
}

func (s countingStore) List(ctx context.Context, prefix string) ([]snapshot.ObjectInfo, error) {
	s.ops.Add(1)
	return s.Store.List(ctx, prefix)
}

func (s countingStore) Delete(ctx context.Context, key string) error {
	s.ops.Add(1)
	return s.Store.Delete(ctx, key)
}

// simInvoke is one timer invocation at simulated time at, in a fresh instance (SCF may run
// overlapping invocations in separate instances; none shares pacing in memory with another),
// with the deployed timeout as its deadline.
func simInvoke(ctx context.Context, spec function.Spec, env func(string) string, clock *warpClock, dep deployed, dir string, at time.Time) (simInvocation, error) {
	var ops atomic.Int64
	fn, err := function.New(spec, env, function.Options{
		Home: dir, TempDir: dir, Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Latency:   clock.real(time.Second),
		Retry:     tcloud.RetryPolicy{BaseDelay: clock.real(time.Second), MaxDelay: clock.real(20 * time.Second)},
		WrapStore: func(s snapshot.Store) snapshot.Store { return countingStore{Store: s, ops: &ops} },
	})
	if err != nil {
		return simInvocation{}, err
	}
	// What the runner keeps in simulated seconds, in wall time: the commit margin, the chunk of
	// about 30 s of pace, and the lease's TTL.
	r := fn.Runner
	every := time.Duration(spec.Source(fn.Config).CallsPerApp()) * tcloud.Pacing(spec.Source(fn.Config).Action())
	r.ChunkApps = min(max(int(30*time.Second/every), 4), 1000)
	r.Margin = clock.real(r.Estimate(0) - r.Latency) // the runner's default margin, scaled
	r.Lease.TTL = clock.real(fn.Config.LeaseTTL)
	r.Interval, r.Latency = clock.real(every), clock.real(time.Second)

	ictx, cancel := context.WithTimeout(ctx, clock.real(dep.Timeout))
	defer cancel()
	start, wall := clock.Now(), time.Now()
	out, err := fn.Handle(ictx, scfevent.Event{Timer: &scfevent.Timer{Type: "Timer", TriggerName: "tcusage-work", Time: at.UTC()}})
	inv := simInvocation{Start: start, End: clock.Now(), Wall: time.Since(wall), StoreOps: ops.Load(), Kind: "work"}
	if sum, ok := out.(*export.Summary); ok && err == nil {
		switch {
		case sum.Busy != nil:
			inv.Kind = "busy"
		case allSkipped(sum):
			inv.Kind = "idle"
		}
	}
	return inv, err
}

func allSkipped(s *export.Summary) bool {
	for _, p := range s.Partitions {
		if p.Status != export.StatusSkipped {
			return false
		}
	}
	return len(s.Pending) == 0 && len(s.Failed) == 0
}

// delivered counts the app-days fetched in the cycle [cycle, end): the distinct requests of the
// action the emulator answered (a request with its paging fields left out names one app-day), and
// how long after the cycle began the last was answered. (Counting manifests would miss app-days
// re-fetched and found unchanged: those write nothing.)
func delivered(reqs []emulator.Request, action string, cycle, end time.Time) (int, time.Duration) {
	seen := map[string]bool{}
	var last time.Time
	for _, rq := range reqs {
		if rq.Action != action || rq.Code != "" || rq.Time.Before(cycle) || !rq.Time.Before(end) {
			continue
		}
		var body map[string]any
		if json.Unmarshal(rq.Body, &body) != nil {
			continue
		}
		delete(body, "Offset")
		delete(body, "Limit")
		key, _ := json.Marshal(body) // map keys are sorted: equal requests give equal keys
		seen[string(key)] = true
		last = maxTime(last, rq.Time)
	}
	if len(seen) == 0 {
		return 0, 0
	}
	return len(seen), last.Sub(cycle)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// simVerbose prints every invocation (-v); simSlack is the client's pacing over the scaled
// limit (-slack).
var (
	simVerbose bool
	simSlack   = 1.02
	simHours   = 24 * time.Hour
)

// simFlags parses `bench simulate` flags into scenarios.
func simFlags(args []string) ([]simScenario, error) {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	only := fs.String("only", "", "comma-separated functions to simulate (default: roomusage,essbill,telcall)")
	room := fs.Int("room-apps", 2000, "room usage: SdkAppIds")
	roomRestate := fs.Int("room-restate", 2, "room usage: TCUSAGE_RESTATE_DAYS (2 = a three-day window; -1 = as deployed)")
	ess := fs.Int("ess-orgs", 20000, "essbill: sub-customers")
	ccc := fs.Int("ccc-apps", 10000, "telcall: SdkAppIds")
	roomScale := fs.Float64("room-scale", 0.002, "room usage: wall time per simulated time")
	fastScale := fs.Float64("scale", 0.05, "telcall and essbill: wall time per simulated time")
	fs.BoolVar(&simVerbose, "v", false, "print every invocation on stderr")
	fs.DurationVar(&simHours, "length", simHours, "how much of the day to simulate (diagnosis; the table's ratio then covers that much)")
	fs.Float64Var(&simSlack, "slack", simSlack, "the client's pacing interval over the scaled limit (jitter allowance)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	all := []simScenario{
		{Spec: function.Room, Apps: *room, Restate: *roomRestate, Scale: *roomScale},
		{Spec: function.ESS, Apps: *ess, Restate: -1, Scale: *fastScale},
		{Spec: function.TelCall, Apps: *ccc, Restate: -1, Scale: *fastScale},
	}
	if *only == "" {
		return all, nil
	}
	var out []simScenario
	for _, name := range strings.Split(*only, ",") {
		found := false
		for _, sc := range all {
			if sc.Spec.Name == name {
				out, found = append(out, sc), true
			}
		}
		if !found {
			return nil, fmt.Errorf("-only: unknown function %q (roomusage, essbill or telcall)", name)
		}
	}
	return out, nil
}
