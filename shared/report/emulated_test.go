package report_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// emulatedTimeScale shortens the emulator's rate-limit windows 1000 times, as the demo does.
const emulatedTimeScale = 0.001

// emulatedDays runs the four functions against the embedded emulator, the way `tcusage demo`
// does, for the days ending yesterday (Beijing time, from the tests' clock, calendartest: room
// usage only serves the last 90 days), writing snapshots into dir. It returns the days, oldest
// first.
func emulatedDays(t *testing.T, dir string, days int) []string {
	t.Helper()
	return emulatedDaysIn(t, dir, days, "")
}

// emulatedDaysIn is emulatedDays writing the given TCUSAGE_FORMAT (empty: the default).
func emulatedDaysIn(t *testing.T, dir string, days int, format string) []string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clock := calendartest.Clock(calendartest.Now())
	ready, done := make(chan string, 1), make(chan error, 1)
	go func() {
		done <- emulator.ListenAndServe(ctx, "127.0.0.1:0", emulator.Config{TimeScale: emulatedTimeScale, Now: clock}, func(a string) { ready <- a })
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("emulator: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("emulator not listening after 10 s")
	}
	last := calendar.Of(clock(), calendar.Zone).Add(-1)
	first := last.Add(1 - days)
	from, to := first.String(), last.String()
	env := emulatedEnv(addr, dir)
	if format != "" {
		env = withEnv(env, "TCUSAGE_FORMAT", format)
	}
	msg, _ := json.Marshal(plan.Override{From: from, To: to})
	ev := scfevent.Event{Timer: &scfevent.Timer{Type: "Timer", TriggerName: "report-test", Time: clock().UTC().Truncate(time.Second), Message: string(msg)}}
	var wg sync.WaitGroup
	errs := make([]error, len(function.All()))
	for i, spec := range function.All() {
		fn, err := function.New(spec, env, function.Options{Home: t.TempDir(), TempDir: t.TempDir(), Now: clock})
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _, errs[i] = fn.Handle(ctx, ev) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v", function.All()[i].Name, err)
		}
	}
	var out []string
	for _, d := range calendar.Days(first, last) {
		out = append(out, d.String())
	}
	return out
}

// emulatedEnv points the functions at the emulator with its test credentials and demo apps.
func emulatedEnv(addr, dir string) func(string) string {
	pace := func(d time.Duration) string {
		return fmt.Sprintf("%dus", int64(float64(d.Microseconds())*emulatedTimeScale*1.05)+1)
	}
	env := map[string]string{
		"TCUSAGE_SINK":             "file://" + dir,
		"TCUSAGE_RESTATE_DAYS":     "0",
		"TCUSAGE_API_ENDPOINT":     addr,
		"TENCENTCLOUD_SECRET_ID":   emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY":  emulator.TestSecretKey,
		"TCUSAGE_SDK_APP_IDS":      "1400000001,1400000002,1400000003",
		"TCUSAGE_ESS_APP_ID":       "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS": "org_alpha,org_beta,org_gamma",
		"TCUSAGE_API_RATE": strings.Join([]string{
			"DescribeTrtcRoomUsage=1/" + pace(15*time.Second),
			"DescribeTrtcUsage=1/" + pace(200*time.Millisecond),
			"DescribeTelCallInfo=1/" + pace(50*time.Millisecond),
			"DescribeTrtcInteractiveTime=1/" + pace(50*time.Millisecond),
			"ChannelDescribeBillUsageDetail=1/" + pace(50*time.Millisecond),
		}, ","),
	}
	return func(k string) string { return env[k] }
}

// withEnv returns env with k set to v.
func withEnv(env func(string) string, k, v string) func(string) string {
	return func(name string) string {
		if name == k {
			return v
		}
		return env(name)
	}
}

// figureKey names a figure shown on a page, as its data- attributes do.
type figureKey struct {
	Dataset, App, Metric, SubCustomer, QuotaType, Room, Tile string
}

// delivered marks in independentTotals' answer an app whose file the day's manifest lists: the
// page may show zeros for it even when its file has no rows (an idle app-day).
func delivered(ds, app string) figureKey {
	return figureKey{Dataset: ds, App: app, Metric: "(delivered)"}
}

// independentTotals adds up the day's JSON Lines files in dir with code of its own (generic JSON
// decoding, no use of the package's readers), keyed like the page's data- attributes.
func independentTotals(t *testing.T, dir, date string) map[figureKey]float64 {
	t.Helper()
	want := map[figureKey]float64{}
	add := func(k figureKey, v float64) { want[k] += v }
	for _, ds := range report.Datasets() {
		var m struct {
			Files []struct{ Key, App, Format string }
		}
		b, err := os.ReadFile(filepath.Join(dir, ds, snapshot.Version(ds), "dt="+date, "_manifest.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, f := range m.Files {
			if f.Format == "jsonl" {
				want[delivered(ds, f.App)] = 0
				eachRow(t, filepath.Join(dir, f.Key), func(row map[string]any) { addRow(ds, f.App, row, add) })
			}
		}
	}
	return want
}

func eachRow(t *testing.T, path string, fn func(map[string]any)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var row map[string]any
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		fn(row)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
}

// roomClasses are the usage classes the report keeps room-usage columns under.
var roomClasses = map[string]string{"audio_seconds": "audio", "video_sd_seconds": "sd", "video_hd_seconds": "hd",
	"video_fullhd_seconds": "fullhd", "video_2k_seconds": "2k", "video_4k_seconds": "4k"}

// addRow adds one row's figures for the app and for the total (app "").
func addRow(ds, app string, row map[string]any, add func(figureKey, float64)) {
	num := func(k string) float64 { v, _ := row[k].(float64); return v }
	both := func(metric string, v float64) {
		add(figureKey{Dataset: ds, App: app, Metric: metric}, v)
		add(figureKey{Dataset: ds, Metric: metric}, v)
	}
	switch ds {
	case report.TRTC:
		both("seconds", num("seconds"))
		both("type:"+row["usage_type"].(string), num("seconds"))
		add(figureKey{Tile: ds}, num("seconds"))
	case report.Rooms:
		total := 0.0
		for k, v := range row {
			if f, ok := v.(float64); ok && k != "sdk_app_id" {
				both("col:"+roomClasses[k], f)
				total += f
			}
		}
		both("seconds", total)
		both("rooms", 1)
		add(figureKey{Tile: ds}, 1)
		add(figureKey{Dataset: ds, App: app, Room: row["room_id"].(string)}, total)
	case report.TelCall:
		for _, c := range []string{"outbound_minutes", "inbound_minutes", "voip_minutes", "asr_offline_minutes", "asr_realtime_minutes", "seats_used"} {
			both(c, num(c))
		}
		calls := num("outbound_minutes") + num("inbound_minutes") + num("voip_minutes")
		both("call_minutes", calls)
		add(figureKey{Tile: ds}, calls)
	case report.ESSBill:
		n := num("use_count")
		metric := "deducted"
		if num("cost_type") == 2 {
			metric, n = "refunded", -n
		}
		group := figureKey{Dataset: ds, SubCustomer: row["proxy_organization_open_id"].(string), QuotaType: row["quota_type"].(string)}
		for _, m := range []string{"deducted", "refunded"} { // a group shows both, zero or not
			group.Metric = m
			add(group, 0)
		}
		group.Metric = metric
		add(group, n)
		both(metric, n)
		both("records", 1)
		net := n
		if metric == "refunded" {
			net = -n
		}
		both("net", net)
		add(figureKey{Tile: ds}, net)
	}
}

// TestEmulatedDayMatchesTheData builds a report from a demo-like run and checks every figure
// against the independent sums of the day's files.
func TestEmulatedDayMatchesTheData(t *testing.T) {
	dir := t.TempDir()
	dates := emulatedDays(t, dir, 3)
	date := dates[len(dates)-1]
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	d, err := report.BuildDay(context.Background(), st, "", mustDay(date), calendartest.Now())
	if err != nil {
		t.Fatal(err)
	}
	want := independentTotals(t, dir, date)
	checked := 0
	for _, f := range d.Summary.Datasets {
		for _, a := range f.Apps {
			for metric, v := range a.Values {
				w, ok := want[figureKey{Dataset: f.Dataset, App: a.App, Metric: metric}]
				if !ok || !closeTo(v, w) {
					t.Errorf("%s app %s %s = %v, data says %v", f.Dataset, a.App, metric, v, w)
				}
				checked++
			}
		}
	}
	if d.Status != report.StateComplete || checked < 40 {
		t.Errorf("status %s, %d figures checked", d.Status, checked)
	}
	if d.TRTC == nil || len(d.TRTC.Curves) != 3 || d.Rooms == nil || len(d.Rooms.Top) != 20 || d.ESS == nil || d.Calls == nil {
		t.Errorf("sections missing: %+v", d)
	}
}

// A day delivered in Parquet only (TCUSAGE_FORMAT=parquet) is read from its Parquet files, with
// the same figures, curves and top rooms as the same day in JSON Lines.
func TestParquetOnlyDayMatchesJSONLines(t *testing.T) {
	dirs := map[string]string{"jsonl": t.TempDir(), "parquet": t.TempDir()}
	days := map[string]*report.Day{}
	for format, dir := range dirs {
		dates := emulatedDaysIn(t, dir, 1, format)
		st, err := file.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		d, err := report.BuildDay(context.Background(), st, "", mustDay(dates[0]), calendartest.Now())
		if err != nil {
			t.Fatalf("%s: %v", format, err)
		}
		for _, f := range d.Freshness {
			for _, l := range f.Files {
				if l.Format != format {
					t.Fatalf("%s day lists a %s file", format, l.Format)
				}
			}
		}
		days[format] = d
	}
	want, got := days["jsonl"], days["parquet"]
	if len(got.Summary.Datasets) != 4 || len(want.Summary.Datasets) != 4 {
		t.Fatalf("datasets: jsonl %d, parquet %d", len(want.Summary.Datasets), len(got.Summary.Datasets))
	}
	checked := 0
	for i, w := range want.Summary.Datasets {
		g := got.Summary.Datasets[i]
		if g.Dataset != w.Dataset || len(g.Apps) != len(w.Apps) || len(g.ESS) != len(w.ESS) {
			t.Fatalf("%s: %d apps and %d ESS groups from Parquet, %d and %d from JSON Lines", w.Dataset, len(g.Apps), len(g.ESS), len(w.Apps), len(w.ESS))
		}
		for j, a := range w.Apps {
			for metric, v := range a.Values {
				if gv, ok := g.Apps[j].Values[metric]; !ok || !closeTo(gv, v) {
					t.Errorf("%s app %s %s: %v from Parquet, %v from JSON Lines", w.Dataset, a.App, metric, gv, v)
				}
				checked++
			}
		}
		for j := range w.ESS {
			if g.ESS[j] != w.ESS[j] {
				t.Errorf("ESS group %d: %+v from Parquet, %+v from JSON Lines", j, g.ESS[j], w.ESS[j])
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d figures compared", checked)
	}
	if len(got.Rooms.Top) == 0 || len(got.Rooms.Top) != len(want.Rooms.Top) {
		t.Fatalf("top rooms: %d from Parquet, %d from JSON Lines", len(got.Rooms.Top), len(want.Rooms.Top))
	}
	for i := range want.Rooms.Top {
		if g, w := got.Rooms.Top[i], want.Rooms.Top[i]; g.Room != w.Room || !closeTo(g.Seconds, w.Seconds) {
			t.Errorf("top room %d: %s %v from Parquet, %s %v from JSON Lines", i, g.Room, g.Seconds, w.Room, w.Seconds)
		}
	}
	if len(got.TRTC.Curves) != len(want.TRTC.Curves) {
		t.Fatalf("curves: %d from Parquet, %d from JSON Lines", len(got.TRTC.Curves), len(want.TRTC.Curves))
	}
	for i := range want.TRTC.Curves {
		if g, w := got.TRTC.Curves[i], want.TRTC.Curves[i]; g.PeakAt != w.PeakAt || !closeTo(g.Peak, w.Peak) || !closeTo(g.Total, w.Total) {
			t.Errorf("curve of app %s: peak %v at %s from Parquet, %v at %s from JSON Lines", w.App, g.Peak, g.PeakAt, w.Peak, w.PeakAt)
		}
	}
}

// mustDay parses a day the test computed.
func mustDay(s string) calendar.Day {
	d, err := calendar.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

// closeTo reports whether two sums agree to rounding.
func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
