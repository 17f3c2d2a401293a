package usage

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
)

func num(s string) Value { return Value{Text: s, Number: true} }

func TestTallySumsMeasuresExactly(t *testing.T) {
	tests := []struct {
		name    string
		schema  Schema
		columns []string
		rows    []Row
		want    map[string]float64
		checks  []Check
	}{{
		name: "decimal seconds sum to the millisecond, whatever floating point would do", schema: TRTCUsageSchema,
		columns: TRTCUsageSchema.Names(),
		rows: []Row{
			{Str("d"), num("1"), Str("t"), Str("5m"), Str("audio"), num("0.1")},
			{Str("d"), num("1"), Str("t"), Str("5m"), Str("sd"), num("0.2")},
			{Str("d"), num("1"), Str("t"), Str("5m"), Str("hd"), num("1e3")},
		},
		want:   map[string]float64{"seconds": 1000.3},
		checks: []Check{{Name: CheckNonNegative, App: "a", Status: CheckOK}},
	}, {
		name: "a negative value where the API never gives one fails, naming the first", schema: TelCallSchema,
		columns: TelCallSchema.Names(),
		rows: []Row{
			{Str("d"), num("1"), num("5"), num("0"), num("0"), num("0"), num("0"), num("2")},
			{Str("d"), num("1"), num("-3"), num("0"), num("0"), num("0"), num("0"), num("1")},
		},
		want: map[string]float64{"outbound_minutes": 2, "inbound_minutes": 0, "voip_minutes": 0, "asr_offline_minutes": 0, "asr_realtime_minutes": 0, "seats_used": 3},
		checks: []Check{{Name: CheckNonNegative, App: "a", Status: CheckFail,
			Detail: "outbound_minutes: 1 negative value(s), first -3 in row 2"}},
	}, {
		name: "refunds may be negative; no sign check is left to make", schema: ESSBillSchema,
		columns: ESSBillSchema.Names(),
		rows:    []Row{essRow(1, 3), essRow(2, -3), essRow(1, 4)},
		want:    map[string]float64{"use_count": 4},
	}, {
		name: "an open schema's further columns are measures; a missing figure adds nothing", schema: RoomUsageSchema,
		columns: append(RoomUsageSchema.Names(), "spatial_audio_seconds"),
		rows: []Row{
			{Str("d"), num("1"), Str("r1"), num("1.0000005"), num(""), num("0"), num("0"), num("0"), num("0"), num("7")},
			{Str("d"), num("1"), Str("r2"), num("2"), num("3.25"), num("0"), num("0"), num("0"), num("0"), num("")},
		},
		want: map[string]float64{"audio_seconds": 3.000001, "video_sd_seconds": 3.25, "video_hd_seconds": 0, "video_fullhd_seconds": 0,
			"video_2k_seconds": 0, "video_4k_seconds": 0, "spatial_audio_seconds": 7},
		checks: []Check{{Name: CheckNonNegative, App: "a", Status: CheckOK}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := NewTally(tt.schema, tt.columns)
			for _, r := range tt.rows {
				require.NoError(t, tl.WriteRow(r))
			}
			require.NoError(t, tl.Close())
			assert.Equal(t, tt.want, tl.Measures())
			assert.Equal(t, tt.checks, tl.Checks("a"))
		})
	}
}

func essRow(costType, use int64) Row {
	r := ESSRow("2024-01-02", ESSRecord{AppID: "x", ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{CostType: costType, UseCount: use, CostTime: 1}})
	return r
}

// A value that is not a number is refused: the sums would silently be wrong.
func TestTallyRefusesText(t *testing.T) {
	tl := NewTally(TRTCUsageSchema, TRTCUsageSchema.Names())
	err := tl.WriteRow(Row{Str("d"), num("1"), Str("t"), Str("5m"), Str("audio"), num("lots")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "seconds")
}

func TestParseMicros(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "12": 12_000_000, "-12.5": -12_500_000, "0.0000004": 0, "0.0000005": 1, "1.9999995": 2_000_000,
		"2.5e-3": 2500, "999999999999.999999": 999_999_999_999_999_999,
	} {
		got, _, err := parseMicros(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "NaN", "Inf", "1.2.3", "x"} {
		_, _, err := parseMicros(bad)
		assert.Error(t, err, bad)
	}
}

// Sums past int64's range of millionths fall back to floating point instead of wrapping.
func TestTallyOverflowFallsBackToFloat(t *testing.T) {
	tl := NewTally(TRTCUsageSchema, TRTCUsageSchema.Names())
	for range 20 {
		require.NoError(t, tl.WriteRow(Row{Str("d"), num("1"), Str("t"), Str("5m"), Str("audio"), num("999999999999")}))
	}
	assert.InDelta(t, 19999999999980.0, tl.Measures()["seconds"], 1)
}

// interactive builds a one-app DescribeTrtcInteractiveTime answer with points at the given
// times of day.
func interactive(t *testing.T, date string, keys ...string) TRTCRows {
	t.Helper()
	var pts []string
	for _, k := range keys {
		pts = append(pts, fmt.Sprintf(`{"TimeKey":%q,"AudioTime":1}`, k))
	}
	body := fmt.Sprintf(`{"Usages":[{"SdkAppId":"7","SdkAppIdTrtcTimeUsages":[%s]}]}`, strings.Join(pts, ","))
	var r tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	rows, err := TRTCInteractiveRows(date, 7, &r)
	require.NoError(t, err)
	return rows
}

func TestTrtcChecks(t *testing.T) {
	day := calendar.Date(2024, time.February, 29)
	all := make([]string, 0, 288)
	for i := range 288 {
		all = append(all, day.Start().Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"))
	}
	tests := []struct {
		name             string
		keys             []string
		coverage, status string
		outside          string
	}{
		{"a full series", all, "288 of 288 5-minute points", CheckOK, CheckOK},
		{"an idle app-day is a fact, not a flag", nil, "no points: an idle app-day", CheckOK, CheckOK},
		{"gaps are listed as ranges", append(append([]string{}, all[:12]...), all[14:]...),
			"286 of 288 5-minute points; gaps 01:00–01:10", CheckOK, CheckOK},
		{"a short day", []string{"2024-02-29 23:55:00", "2024-02-29 00:00:00"},
			"2 of 288 5-minute points; gaps 00:05–23:55", CheckOK, CheckOK},
		{"a point off the grid is implausible", []string{"2024-02-29 00:00:00", "2024-02-29 00:07:30"},
			"1 of 288 5-minute points; gaps 00:05–24:00; 1 point(s) off the 5-minute grid: 00:07:30", CheckWarn, CheckOK},
		{"a point of the day before is kept and flagged", []string{"2024-02-28 09:50:00", "2024-02-29 00:00:00"},
			"1 of 288 5-minute points; gaps 00:05–24:00", CheckOK, CheckWarn},
		{"a daily point", []string{"2024-02-29"}, "1 daily point(s), no 5-minute series", CheckOK, CheckOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checks := interactive(t, day.String(), tt.keys...).Checks("7")
			require.Len(t, checks, 2)
			assert.Equal(t, Check{Name: CheckSeriesCoverage, App: "7", Status: tt.status, Detail: tt.coverage}, checks[0])
			assert.Equal(t, CheckPointsOutsideDay, checks[1].Name)
			assert.Equal(t, tt.outside, checks[1].Status)
		})
	}
}

// Many gaps are listed: the first eight and the last four, with how many lie between.
func TestTrtcCoverageClipsLongGapLists(t *testing.T) {
	day := calendar.Date(2024, time.March, 1)
	var keys []string
	for i := 0; i < 288; i += 2 {
		keys = append(keys, day.Start().Add(time.Duration(i)*5*time.Minute).Format("2006-01-02 15:04:05"))
	}
	c := interactive(t, day.String(), keys...).Checks("7")[0]
	assert.Equal(t, CheckOK, c.Status)
	assert.True(t, strings.HasPrefix(c.Detail, "144 of 288 5-minute points; gaps 00:05–00:10, 00:15–00:20,"), c.Detail)
	assert.Contains(t, c.Detail, "00:35–00:40, 00:45–00:50, 00:55–01:00, 01:05–01:10, 01:15–01:20, … 132 more …, 23:25–23:30, ")
	assert.True(t, strings.HasSuffix(c.Detail, ", 23:55–24:00"), c.Detail)
}

func TestESSChecks(t *testing.T) {
	assert.Equal(t, []Check{
		{Name: CheckRowsMatchTotal, App: "o", Status: CheckOK, Detail: "Total 3, 3 rows"},
		{Name: CheckRefundSigns, App: "o", Status: CheckOK},
	}, ESSChecks("o", 3, 3, 0, ""))
	got := ESSChecks("o", 4, 3, 2, "flow f1")
	assert.Equal(t, CheckFail, got[0].Status)
	assert.Equal(t, CheckWarn, got[1].Status)
	assert.Contains(t, got[1].Detail, "2 record(s)")
	assert.True(t, ESSSignPlausible(ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{CostType: 2, UseCount: -1}}))
	assert.False(t, ESSSignPlausible(ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{CostType: 1, UseCount: -1}}))
	assert.False(t, ESSSignPlausible(ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{CostType: 2, UseCount: 1}}))
}

func TestRoomWithinTRTC(t *testing.T) {
	cc := CrossChecks()
	require.Len(t, cc, 1)
	require.Equal(t, "roomusage", cc[0].Dataset)
	require.Equal(t, "trtcusage", cc[0].Against)
	tests := []struct {
		name        string
		room, trtc  map[string]float64
		status      string
		applies     bool
		detailNames string
	}{
		{"within", map[string]float64{"audio_seconds": 10, "video_sd_seconds": 5.5}, map[string]float64{"seconds": 20}, CheckOK, true, "rooms 15.5 s, TRTC total 20 s"},
		{"equal within rounding", map[string]float64{"audio_seconds": 20.0005}, map[string]float64{"seconds": 20}, CheckOK, true, "rooms 20.0005 s, TRTC total 20 s"},
		{"exceeding", map[string]float64{"audio_seconds": 30}, map[string]float64{"seconds": 20}, CheckWarn, true, "rooms 30 s exceed the app's TRTC total of 20 s"},
		{"no TRTC measure recorded", map[string]float64{"audio_seconds": 1}, map[string]float64{}, "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := cc[0].Compare("a", tt.room, tt.trtc)
			require.Equal(t, tt.applies, ok)
			if ok {
				assert.Equal(t, Check{Name: CheckRoomWithinTRTC, App: "a", Status: tt.status, Detail: tt.detailNames}, c)
			}
		})
	}
}

func TestWorstAndValidCheck(t *testing.T) {
	assert.Equal(t, "", Worst(nil))
	assert.Equal(t, CheckOK, Worst([]Check{{Status: CheckOK}}))
	assert.Equal(t, CheckWarn, Worst([]Check{{Status: CheckOK}, {Status: CheckWarn}, {Status: CheckOK}}))
	assert.Equal(t, CheckFail, Worst([]Check{{Status: CheckFail}, {Status: CheckWarn}}))
	assert.NoError(t, ValidCheck(Check{Name: "x", Status: CheckWarn}))
	assert.Error(t, ValidCheck(Check{Name: "x", Status: "bad"}))
	assert.Error(t, ValidCheck(Check{Status: CheckOK}))
}
