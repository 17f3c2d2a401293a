package report

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name (rewritten with -update).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./shared/report -run %s -update to create it)", err, t.Name())
	}
	if got != string(want) {
		gotPath := filepath.Join(t.TempDir(), name)
		_ = os.WriteFile(gotPath, []byte(got), 0o644)
		t.Errorf("%s differs from the golden file; got is in %s (rerun with -update if the change is intended)", name, gotPath)
	}
}

func TestPublishGolden(t *testing.T) {
	st := fixture(t)
	p, err := Publish(context.Background(), st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"acme/usage/reports/dt=2026-03-10/index.html":   HTMLContentType,
		"acme/usage/reports/dt=2026-03-10/summary.json": JSONContentType,
		"acme/usage/reports/month=2026-03/index.html":   HTMLContentType,
		"acme/usage/reports/index.html":                 HTMLContentType,
	}
	for key, ct := range want {
		if !slices.Contains(p.Keys, key) {
			t.Errorf("Publish did not write %s (wrote %v)", key, p.Keys)
		}
		if st.types[key] != ct {
			t.Errorf("%s stored as %q, want %q", key, st.types[key], ct)
		}
	}
	if p.Keys[len(p.Keys)-1] != "acme/usage/reports/index.html" {
		t.Errorf("the index must be written last; order %v", p.Keys)
	}
	golden(t, "day.html.golden", st.object(t, "acme/usage/reports/dt=2026-03-10/index.html"))
	golden(t, "summary.json.golden", st.object(t, "acme/usage/reports/dt=2026-03-10/summary.json"))
	golden(t, "month.html.golden", st.object(t, "acme/usage/reports/month=2026-03/index.html"))
	golden(t, "index.html.golden", st.object(t, "acme/usage/reports/index.html"))
}

func TestTemplatesParse(t *testing.T) {
	tmpl, err := pages()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"day", "month", "index"} {
		if tmpl.Lookup(name) == nil {
			t.Errorf("no template %q", name)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestFiguresAreSumsOfTheRows(t *testing.T) {
	d, err := BuildDay(context.Background(), fixture(t), fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want float64
	}{
		{"trtc app 1 seconds", d.TRTC.Trend.Rows[0].Value, wantTrtcApp1},
		{"trtc total seconds", d.TRTC.Trend.Total.Value, wantTrtcApp1},
		{"trtc audio seconds", valueOf(d.Summary.Dataset(TRTC), "", "type:audio"), 900},
		{"rooms", valueOf(d.Summary.Dataset(Rooms), "", MetricRooms), wantRooms},
		{"room seconds", d.Rooms.Trend.Total.Value, wantRoomSecs},
		{"call minutes (JSONL + CSV)", d.Calls.Trend.Total.Value, wantCallMins},
		{"seats", valueOf(d.Summary.Dataset(TelCall), "", MetricSeats), wantSeats},
		{"asr real-time (CSV)", valueOf(d.Summary.Dataset(TelCall), fixApp2, "asr_realtime_minutes"), 8},
		{"ess deducted", d.ESS.Total.Deducted, wantDeducted},
		{"ess refunded", d.ESS.Total.Refunded, wantRefunded},
		{"ess net", d.ESS.Trend.Total.Value, wantDeducted - wantRefunded},
		// The day before had app 1 at 800 s, app 2 at 60 s; the 7-day average is over the day before
		// and two days before (800 and 1600 s), eight days before is outside it.
		{"trtc app 1 vs day before", d.TRTC.Trend.Rows[0].VsPrev.Base, 800},
		{"trtc app 1 vs 7-day avg", d.TRTC.Trend.Rows[0].VsAvg.Base, 1200},
		{"call minutes day before", d.Calls.Trend.Total.VsPrev.Base, 80 + 40 + 50 + 10},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if r := d.TRTC.Trend.Rows[1]; r.App != fixApp2 || r.Has {
		t.Errorf("pending app 2 shown as %+v, want a row without figures", r)
	}
	if d.Status != StateLate || d.Freshness[0].State != StateLate || !slices.Equal(d.Freshness[0].Pending, []string{fixApp2}) {
		t.Errorf("status %s, trtc freshness %+v; want late with app 2 pending", d.Status, d.Freshness[0])
	}
	if top := d.Rooms.Top; len(top) != 4 || top[0].Room != "big" || top[1].Room != hostileRoom || !near(top[0].Parts["sd"], 1.5) {
		t.Errorf("top rooms %+v", top)
	}
	curve := d.TRTC.Curves[0]
	if curve.App != fixApp1 || curve.Peak != 600 || curve.PeakAt != "12:30" || !near(curve.Total, wantTrtcApp1) {
		t.Errorf("curve of app 1: total %v, peak %v at %s", curve.Total, curve.Peak, curve.PeakAt)
	}
}

func TestNotLateBeforeTheDeadline(t *testing.T) {
	d, err := BuildDay(context.Background(), fixture(t), fixPrefix, day(fixDate), fixNow.Add(-3*3600e9))
	if err != nil {
		t.Fatal(err)
	}
	if d.Status != StatePartial || d.Freshness[0].State != StatePartial {
		t.Errorf("status %s, trtc %s; want partial 11 hours after the day", d.Status, d.Freshness[0].State)
	}
}

func TestDataFromDataIsEscaped(t *testing.T) {
	st := fixture(t)
	d, err := BuildDay(context.Background(), st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	d.Warnings = []Warning{{Dataset: Rooms, App: fixApp1, Message: `<script>warn()</script>`}}
	var buf bytes.Buffer
	if err := d.Render(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, raw := range []string{"<script", "<img", "<b>企业"} {
		if strings.Contains(page, raw) {
			t.Errorf("page contains %q unescaped", raw)
		}
	}
	for _, esc := range []string{"&lt;script&gt;alert(&#34;room&#34;)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "a&amp;b", "&lt;script&gt;warn()&lt;/script&gt;"} {
		if !strings.Contains(page, esc) {
			t.Errorf("page lacks the escaped %q", esc)
		}
	}
	for _, external := range []string{"http://", "https://", "<script", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("page references %q: it must be self-contained", external)
		}
	}
}

func TestTopRoomsHeapStaysBounded(t *testing.T) {
	const n, rooms = 10, 200_000
	top := newTopRooms(n)
	rng := rand.New(rand.NewPCG(1, 2))
	all := make([]float64, rooms)
	parts := []float64{0}
	for i := range rooms {
		all[i] = math.Floor(rng.Float64() * 1e6)
		parts[0] = all[i]
		top.offer(fixApp1, "r"+strconv.Itoa(i), all[i], []string{"audio"}, parts)
		if len(top.h) > n || cap(top.h) != n {
			t.Fatalf("after %d rooms the heap holds %d (capacity %d), want at most %d", i+1, len(top.h), cap(top.h), n)
		}
	}
	slices.Sort(all)
	slices.Reverse(all)
	got := top.rooms()
	for i := range n {
		if got[i].Seconds != all[i] {
			t.Fatalf("top[%d] = %v, want %v", i, got[i].Seconds, all[i])
		}
	}
	if top.seen != rooms {
		t.Errorf("seen %d rooms, want %d", top.seen, rooms)
	}
}

func TestLargeRoomDayStreams(t *testing.T) {
	const rooms = 100_000
	st := newMemStore()
	rows := make([]string, rooms)
	for i := range rooms {
		rows[i] = roomRow(fixDate, fixApp1, "room-"+strconv.Itoa(i), float64(i%977), float64(i%13), 0)
	}
	putDay(t, st, fixPrefix, Rooms, fixDate, dayData{columns: roomColumns, rows: map[string][]string{fixApp1: rows}})
	d, err := Options{TopRooms: 5, TrendDays: 2}.BuildDay(context.Background(), st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Rooms.Top) != 5 || d.Rooms.RoomsSeen != rooms || valueOf(d.Summary.Dataset(Rooms), "", MetricRooms) != rooms {
		t.Fatalf("top %d of %d rooms", len(d.Rooms.Top), d.Rooms.RoomsSeen)
	}
	if got := d.Rooms.Top[0]; got.Seconds != 976+12 {
		t.Errorf("largest room %+v, want 988 s", got)
	}
}

// A room-usage day delivered before v2 (v1 column names, under roomusage/v1/) is still read, and
// its figures add up with v2 days under the same usage classes.
func TestRoomUsageV1DayIsRead(t *testing.T) {
	st := fixture(t)
	v1 := addDays(fixDate, -1)
	st.deletePrefix(t, fixPrefix+"/"+Rooms+"/"+snapshot.Version(Rooms)+"/dt="+v1+"/")
	v1Row := `{"date":%q,"sdk_app_id":%s,"room_id":"old","audio":700,"sd":20,"hd":0,"fullhd":0,"2k":3,"4k":0}`
	putDay(t, st, fixPrefix, Rooms, v1, dayData{version: "v1", columns: []string{"date", "sdk_app_id", "room_id", "audio", "sd", "hd", "fullhd", "2k", "4k"},
		rows: map[string][]string{fixApp1: {fmt.Sprintf(v1Row, v1, fixApp1)}}})
	d, err := BuildDay(context.Background(), st, fixPrefix, day(v1), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	f := d.Summary.Dataset(Rooms)
	if got := valueOf(f, "", "col:audio") + valueOf(f, "", "col:sd") + valueOf(f, "", "col:2k"); got != 723 || valueOf(f, "", MetricRooms) != 1 {
		t.Errorf("v1 day: audio+sd+2k = %v s over %v rooms, want 723 s over 1", got, valueOf(f, "", MetricRooms))
	}
	d, err = BuildDay(context.Background(), st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Rooms.Trend.Total.VsPrev.Base; got != 723 {
		t.Errorf("the v1 day before shows %v s in the v2 day's trend, want 723", got)
	}
}

func TestMismatchedFileIsRefused(t *testing.T) {
	st := fixture(t)
	key, _ := snapshot.DataKey(fixPrefix, TelCall, day(fixDate), fixApp1, usage.JSONL)
	body := strings.Replace(st.object(t, key), `"outbound_minutes":100`, `"outbound_minutes":900`, 1)
	st.objs[key] = []byte(body)
	_, err := BuildDay(context.Background(), st, fixPrefix, day(fixDate), fixNow)
	if !errors.Is(err, ErrDataMismatch) {
		t.Fatalf("BuildDay over a changed file: %v, want ErrDataMismatch", err)
	}
}

func TestStoredSummariesAreReused(t *testing.T) {
	st := fixture(t)
	ctx := context.Background()
	if _, err := Publish(ctx, st, fixPrefix, day(fixDate), fixNow); err != nil {
		t.Fatal(err)
	}
	past, _ := snapshot.DataKey(fixPrefix, Rooms, day(addDays(fixDate, -1)), fixApp1, usage.JSONL)
	before := st.gets[past]
	d, err := BuildDay(ctx, st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if st.gets[past] != before || len(d.history) != 0 {
		t.Errorf("a past day's data was read again (%d reads before, %d after) though its summary is stored", before, st.gets[past])
	}
	// A restated past day (new files) is recomputed.
	putDay(t, st, fixPrefix, Rooms, addDays(fixDate, -1), dayData{columns: roomColumns, rows: map[string][]string{
		fixApp1: {roomRow(addDays(fixDate, -1), fixApp1, "lobby", 5000, 0, 0)},
	}})
	d, err = BuildDay(ctx, st, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Rooms.Trend.Total.VsPrev.Base; got != 5000 {
		t.Errorf("restated day before shows %v s, want 5000", got)
	}
}

func TestFormatting(t *testing.T) {
	cases := [][2]string{
		{formatNumber(1234567.891, 1), "1,234,567.9"},
		{formatNumber(-1234, 0), "−1,234"},
		{formatCount(999), "999"},
		{formatMinutes(90), "1.5"},
		{formatMinutes(6000), "100"},
		{formatMinutes(7_384_321), "123,072"},
		{formatBytes(1536), "1.5 KiB"},
		{compact(2500), "2.5k"},
		{Change{Valid: true, Ratio: 0.1234}.Text(), "+12.3 %"},
		{Change{Valid: true, Ratio: -0.04}.Text(), "−4.0 %"},
		{Change{Valid: true, Ratio: math.Inf(1)}.Text(), "new"},
		{Change{}.Text(), "–"},
	}
	for _, c := range cases {
		if got, want := c[0], c[1]; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if got := relativeLink("p/reports/dt=2026-03-10/index.html", "p/telcall/v1/dt=2026-03-10/_manifest.json"); got != "../../telcall/v1/dt=2026-03-10/_manifest.json" {
		t.Errorf("relative link %q", got)
	}
}

func TestDayWithoutData(t *testing.T) {
	st := newMemStore()
	p, err := Publish(context.Background(), st, "", day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if p.Day.Status != StateWaiting || p.Day.TRTC != nil || len(p.Day.Tiles) != 0 {
		t.Errorf("empty store: status %s, sections %+v", p.Day.Status, p.Day)
	}
	if page := st.object(t, "reports/dt=2026-03-10/index.html"); !strings.Contains(page, "No data for this day") {
		t.Error("the empty day's page does not say so")
	}
	if idx := st.object(t, "reports/index.html"); !strings.Contains(idx, `href="dt=2026-03-10/index.html"`) {
		t.Error("the index does not link the day")
	}
}
