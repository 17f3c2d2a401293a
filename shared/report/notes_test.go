package report

import (
	"bytes"
	"context"
	"html"
	"strings"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// A day whose manifests record failed and warning checks, a restatement, and room usage above
// the app's TRTC total shows each on its page, escaped; checks that passed and measures a
// restatement left alone are not listed.
func TestDayShowsQualityWarningsAndRestatements(t *testing.T) {
	st := fixture(t)
	d := fixDate
	restatedAt := time.Date(2026, 3, 12, 2, 30, 0, 0, time.UTC) // 10:30 in China
	putDay(t, st, fixPrefix, TelCall, d, dayData{
		rows: map[string][]string{fixApp1: {telRow(d, fixApp1, 100, 50, 10, 5, 0, 7)}},
		checks: []usage.Check{
			{Name: usage.CheckNonNegative, App: fixApp1, Status: usage.CheckOK, Detail: "no negative value"},
			{Name: usage.CheckNonNegative, App: fixApp2, Status: usage.CheckFail, Detail: `outbound_minutes is -3 <b>`},
		},
		changes: []snapshot.Change{{Seq: 1, GeneratedAt: restatedAt, Measures: []snapshot.MeasureChange{
			{App: fixApp1, Measure: "outbound_minutes", Before: 90, After: 100},
			{App: fixApp1, Measure: "seats_used", Before: 7, After: 7},
			{Measure: "outbound_minutes", Before: 130, After: 140},
		}}},
	})
	// Room usage of app 1 above its TRTC total: recorded measures, compared across manifests.
	putDay(t, st, fixPrefix, TRTC, d, dayData{rows: map[string][]string{fixApp1: {trtcRow(d, fixApp1, "00:00", "audio", 300)}},
		measures: map[string]map[string]float64{fixApp1: {"seconds": 300}}})
	putDay(t, st, fixPrefix, Rooms, d, dayData{columns: roomColumns, rows: map[string][]string{fixApp1: {roomRow(d, fixApp1, "lobby", 600, 60, 0)}},
		measures: map[string]map[string]float64{fixApp1: {"audio_seconds": 600, "video_sd_seconds": 60}}})

	day, err := BuildDay(context.Background(), st, fixPrefix, day(d), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	want := []Warning{
		{Dataset: TelCall, App: fixApp2, Message: "failed " + usage.CheckNonNegative + `: outbound_minutes is -3 <b>`},
		{Dataset: Rooms, App: fixApp1, Message: usage.CheckRoomWithinTRTC + ": rooms 660 s exceed the app's TRTC total of 300 s"},
	}
	if len(day.Warnings) != len(want) {
		t.Fatalf("warnings %+v, want %+v", day.Warnings, want)
	}
	for i := range want {
		if day.Warnings[i] != want[i] {
			t.Errorf("warning %d: %+v, want %+v", i, day.Warnings[i], want[i])
		}
	}
	wantRestated := []Restatement{
		{Dataset: TelCall, Date: "2026-03-12 10:30:00", App: fixApp1, Metric: "outbound_minutes", Before: 90, After: 100, Unit: UnitMinute},
		{Dataset: TelCall, Date: "2026-03-12 10:30:00", App: "all apps", Metric: "outbound_minutes", Before: 130, After: 140, Unit: UnitMinute},
	}
	if len(day.Restatements) != len(wantRestated) {
		t.Fatalf("restatements %+v, want %+v", day.Restatements, wantRestated)
	}
	for i := range wantRestated {
		if day.Restatements[i] != wantRestated[i] {
			t.Errorf("restatement %d: %+v, want %+v", i, day.Restatements[i], wantRestated[i])
		}
	}

	var page bytes.Buffer
	if err := day.Render(&page); err != nil {
		t.Fatal(err)
	}
	p := page.String()
	for _, s := range []string{`id="warnings"`, `id="restatements"`, html.EscapeString(`outbound_minutes is -3 <b>`), "exceed the app&#39;s TRTC total", "2026-03-12 10:30:00"} {
		if !strings.Contains(p, s) {
			t.Errorf("the page lacks %q", s)
		}
	}
	if strings.Contains(p, "-3 <b>") {
		t.Error("a check's detail is not escaped")
	}
}

// A day whose checks all pass and that was never restated shows neither section.
func TestDayWithoutNotesShowsNoNoticeSections(t *testing.T) {
	day, err := BuildDay(context.Background(), fixture(t), fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := day.Render(&page); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(page.String(), `id="warnings"`) || strings.Contains(page.String(), `id="restatements"`) {
		t.Error("notice sections on a day without warnings or restatements")
	}
}
