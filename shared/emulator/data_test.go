package emulator

import (
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// These tests hold for any date: days come from the business clock (frozen at the test's start
// where an answer depends on the time of day), and where a test needs a day of some kind (busy,
// idle, with many rooms) it looks for the latest such day rather than assuming one.

// frozen returns a business clock standing still at t (signatures keep the wall clock).
func frozen(t time.Time) func() time.Time { return func() time.Time { return t } }

// findDay returns the latest day on or before from (at most about five years back) for which ok
// holds.
func findDay(t *testing.T, from Date, ok func(Date) bool) Date {
	t.Helper()
	for d := from; from.DaysUntil(d) > -2000; d = d.AddDays(-1) {
		if ok(d) {
			return d
		}
	}
	require.FailNow(t, "no such day in the last 2000")
	return Date{}
}

// parseRoomCSV parses room-usage Data with encoding/csv.
func parseRoomCSV(t *testing.T, data string) []RoomUsage {
	t.Helper()
	require.True(t, strings.HasSuffix(data, "\n"), "trailing newline")
	recs, err := csv.NewReader(strings.NewReader(data)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, RoomCSVHeader(), recs[0])
	var out []RoomUsage
	for _, r := range recs[1:] {
		var v [6]uint64
		for j := range v {
			v[j], err = strconv.ParseUint(r[j+1], 10, 64)
			require.NoError(t, err)
		}
		out = append(out, RoomUsage{RoomID: r[0], Audio: v[0], SD: v[1], HD: v[2], FullHD: v[3], TwoK: v[4], FourK: v[5]})
	}
	return out
}

// interactiveSeconds returns the seconds of an interactive-time point.
func interactiveSeconds(p tcapi.SDKAppIDTRTCUsage) TRTCSeconds {
	return TRTCSeconds{AudioVideo: p.AudioVideoTime, Audio: p.AudioTime, SD: p.VideoTimeSd, HD: p.VideoTimeHd, FullHD: p.VideoTimeHdp}
}

// withoutUHD returns s without 2K and 4K, which DescribeTrtcInteractiveTime does not report.
func withoutUHD(s TRTCSeconds) TRTCSeconds {
	s.TwoK, s.FourK = 0, 0
	return s
}

func TestTelCallSums(t *testing.T) {
	now := calendartest.Now()
	s := newTestServer(t, Config{NoRateLimits: true, Now: frozen(now)})
	data := s.Data().AsOf(now)
	today := DateOf(now)
	from := today.AddDays(-10)
	var got tcapi.TelCallInfoResponse
	// Start at noon, end at 00:00:00 today: whole days from..today are covered, today so far.
	params := fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001,1400000002,1400000001]}`,
		from.Start().Add(12*time.Hour).Unix(), today.Start().Unix())
	require.NoError(t, callAPI(t, s, tcapi.DescribeTelCallInfo, params, &got))
	var want TelCallCounts
	for x := from; !today.Before(x); x = x.AddDays(1) {
		want = want.Add(data.TelCall(1400000001, x)).Add(data.TelCall(1400000002, x))
	}
	assert.Equal(t, TelCallCounts{
		TelCallOut: *got.TelCallOutCount, TelCallIn: *got.TelCallInCount, SeatUsed: *got.SeatUsedCount,
		VOIPCallIn: *got.VOIPCallInCount, AsrOffline: *got.AsrOfflineCount, AsrRealtime: *got.AsrRealtimeCount,
	}, want)
	assert.Positive(t, want.TelCallOut)
	// The past days are final; only today is partial.
	assert.Equal(t, s.Data().TelCall(1400000001, today.AddDays(-1)), data.TelCall(1400000001, today.AddDays(-1)))
}

func TestTrtcConsistency(t *testing.T) {
	now := calendartest.Now()
	s := newTestServer(t, Config{NoRateLimits: true, Now: frozen(now)})
	data := s.Data()
	app := uint64(1400000002)
	// A day on which the app is busy enough for every check to bite (most days are).
	d := findDay(t, DateOf(now).AddDays(-1), func(d Date) bool { return len(data.TRTC5Min(app, d)) > 100 })

	// 5-minute points are in order, on bucket starts within the day, and sum to the day, for one
	// app and for the total; the total's points are the union of the apps' points.
	slots := map[time.Time]bool{}
	for _, a := range data.Apps() {
		for _, p := range data.TRTC5Min(a, d) {
			slots[p.Start] = true
		}
	}
	for _, a := range []uint64{app, 0} {
		pts := data.TRTC5Min(a, d)
		var sum TRTCSeconds
		for i, p := range pts {
			assert.False(t, p.Start.Before(d.Start()) || !p.Start.Before(d.AddDays(1).Start()), "within the day")
			assert.Zero(t, p.Start.Sub(d.Start())%(5*time.Minute))
			if i > 0 {
				assert.True(t, pts[i-1].Start.Before(p.Start), "in time order")
			}
			sum = sum.Add(p.TRTCSeconds)
		}
		assert.Equal(t, data.TRTCDay(a, d), sum)
	}
	assert.Len(t, data.TRTC5Min(0, d), len(slots))
	var total TRTCSeconds
	for _, a := range data.Apps() {
		total = total.Add(data.TRTCDay(a, d))
	}
	assert.Equal(t, data.TRTCDay(0, d), total)

	// One day through the API: the 5-minute points of the data, counted by TotalNum.
	var one tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, d, d, app), &one))
	require.Len(t, one.Usages, 1)
	u := one.Usages[0]
	assert.Equal(t, strconv.FormatUint(app, 10), u.SDKAppID)
	want := data.TRTC5Min(app, d)
	require.Len(t, u.SDKAppIDTRTCTimeUsages, len(want))
	require.NotNil(t, u.TotalNum)
	assert.Equal(t, uint64(len(want)), *u.TotalNum)
	for i, p := range u.SDKAppIDTRTCTimeUsages {
		assert.Equal(t, want[i].Start.Format(time.DateTime), p.TimeKey)
		assert.Equal(t, withoutUHD(want[i].TRTCSeconds), interactiveSeconds(p))
	}

	// A range: one daily point per day with data; the total sums the apps.
	from := d.AddDays(-6)
	var week tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, from, d), &week))
	require.Len(t, week.Usages, 1)
	assert.Equal(t, "total", week.Usages[0].SDKAppID)
	daily := data.TRTCDaily(0, from, d)
	require.Len(t, week.Usages[0].SDKAppIDTRTCTimeUsages, len(daily))
	assert.Equal(t, uint64(len(daily)), *week.Usages[0].TotalNum)
	for i, p := range week.Usages[0].SDKAppIDTRTCTimeUsages {
		assert.Equal(t, DateOf(daily[i].Start).String(), p.TimeKey)
		assert.Equal(t, withoutUHD(data.TRTCDay(0, DateOf(daily[i].Start))), interactiveSeconds(p))
	}

	// DescribeTrtcUsage: the same points in minutes, with 2K and 4K.
	var usage tcapi.TRTCUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcUsage, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, from, d, app), &usage))
	assert.Equal(t, []string{"Audio", "SD", "HD", "FullHD", "2K", "4K"}, usage.UsageKey)
	appDaily := data.TRTCDaily(app, from, d)
	require.Len(t, usage.UsageList, len(appDaily))
	for i, p := range usage.UsageList {
		x := DateOf(appDaily[i].Start)
		assert.Equal(t, x.String()+" 00:00:00", p.TimeKey)
		assert.Equal(t, uint64(x.Start().Unix()), p.TimeStampKey)
		parsed, err := time.Parse(time.DateTime, p.TimeKey)
		require.NoError(t, err)
		assert.Equal(t, parsed.Unix()-8*3600, int64(p.TimeStampKey), "keys are UTC+8")
		w := data.TRTCDay(app, x)
		assert.Equal(t, w.UsageMinutes(), p.UsageValue)
		assert.InDelta(t, float64(w.Audio)/60, p.UsageValue[0], 0.005)
	}
	var usageDay tcapi.TRTCUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcUsage, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, d, d, app), &usageDay))
	require.Len(t, usageDay.UsageList, len(u.SDKAppIDTRTCTimeUsages))
	for i, p := range usageDay.UsageList {
		it := u.SDKAppIDTRTCTimeUsages[i]
		assert.Equal(t, it.TimeKey, p.TimeKey)
		assert.Equal(t, Minutes(it.AudioTime), p.UsageValue[0])
		assert.Equal(t, Minutes(it.VideoTimeHdp), p.UsageValue[3])
	}
	assert.Equal(t, 0.02, Minutes(1))
	assert.Equal(t, 1.5, Minutes(90))
}

// TestSparseSeries shows that 5-minute series are irregular, as the seed's two- and three-point
// examples are: idle days, short stretches, gaps, zero points, and never more than 288 points.
func TestSparseSeries(t *testing.T) {
	data := NewData(Config{})
	end := DateOf(calendartest.Now()).AddDays(-1)
	var idle, short, gapped, zeros int
	var idleDay, shortDay Date
	var idleApp, shortApp uint64
	for _, app := range []uint64{1400000001, 1400000002, 1400000003} {
		for d := end; end.DaysUntil(d) > -365; d = d.AddDays(-1) {
			pts := data.TRTC5Min(app, d)
			require.LessOrEqual(t, len(pts), slotsPerDay)
			switch {
			case len(pts) == 0:
				idle++
				idleDay, idleApp = d, app
			case len(pts) <= 12:
				short++
				shortDay, shortApp = d, app
			case len(pts) < slotsPerDay:
				gapped++
			}
			for _, p := range pts {
				if p.TRTCSeconds == (TRTCSeconds{}) {
					zeros++
				}
			}
			if d.dayNumber()%10 == 0 {
				assert.Equal(t, pts, NewData(Config{}).TRTC5Min(app, d), "a hash of app and day")
			}
		}
	}
	assert.Positive(t, idle, "idle app-days")
	assert.Positive(t, short, "short app-days")
	assert.Greater(t, gapped, 365, "most days have gaps")
	assert.Positive(t, zeros, "points with zeros")

	// Through the API: TotalNum counts the points; an idle day answers an empty list.
	s := newTestServer(t, Config{NoRateLimits: true})
	for _, c := range []struct {
		app uint64
		day Date
	}{{idleApp, idleDay}, {shortApp, shortDay}} {
		raw, err := send(t, sdkClient(t, s, "ap-guangzhou", testCred(), nil), tcapi.DescribeTrtcInteractiveTime,
			fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, c.day, c.day, c.app))
		require.NoError(t, err)
		n := len(data.TRTC5Min(c.app, c.day))
		var r tcapi.TRTCInteractiveTimeResponse
		require.NoError(t, json.Unmarshal(raw, &r))
		require.NotNil(t, r.Usages[0].TotalNum)
		assert.Equal(t, uint64(n), *r.Usages[0].TotalNum)
		assert.Len(t, r.Usages[0].SDKAppIDTRTCTimeUsages, n)
		if n == 0 {
			assert.Contains(t, string(raw), `"SdkAppIdTrtcTimeUsages":[]`, "an empty list, not null")
		}
		var usage tcapi.TRTCUsageResponse
		require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcUsage, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, c.day, c.day, c.app), &usage))
		assert.Len(t, usage.UsageList, n)
	}
}

func TestTruncatedSeriesFault(t *testing.T) {
	s := newTestServer(t, Config{NoRateLimits: true})
	app := uint64(1400000001)
	d := findDay(t, yesterday(), func(d Date) bool { return len(s.Data().TRTC5Min(app, d)) > 100 })
	params := fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, d, d, app)
	n := len(s.Data().TRTC5Min(app, d))
	s.FailNext(tcapi.DescribeTrtcInteractiveTime.Name, 1, FaultTruncatedSeries)
	var cut, whole tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, params, &cut))
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, params, &whole))
	assert.Equal(t, uint64(n), *cut.Usages[0].TotalNum, "TotalNum still counts every point")
	assert.Len(t, cut.Usages[0].SDKAppIDTRTCTimeUsages, n/2)
	assert.Equal(t, uint64(n), *whole.Usages[0].TotalNum)
	assert.Len(t, whole.Usages[0].SDKAppIDTRTCTimeUsages, n, "the next call is whole")
	assert.Equal(t, FaultTruncatedSeries, s.Requests()[0].Fault)
}

func TestRoomUsage(t *testing.T) {
	s := newTestServer(t, Config{NoRateLimits: true, Rooms: 500})
	data := s.Data()
	app := uint64(1400000003)
	// A day with many rooms, rooms active on both sides of the midnight before it, and within the
	// data window.
	before := func(d Date) []RoomUsage {
		return data.RoomsBetween(app, d.Start().Add(-2*time.Hour), d.Start())
	}
	d := findDay(t, yesterday(), func(d Date) bool {
		return data.RoomCount(app, d) >= 250 && len(before(d)) > 0
	})
	require.Greater(t, d.DaysUntil(yesterday()), -80, "within the data window")
	var full tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, app, d, d), &full))
	rooms := parseRoomCSV(t, *full.Data)
	assert.Equal(t, data.Rooms(app, d), rooms)
	assert.LessOrEqual(t, len(rooms), data.RoomCount(app, d))
	assert.Greater(t, len(rooms), data.RoomCount(app, d)*9/10, "few rooms round down to nothing")
	var quoted, comma bool
	ids := map[string]bool{}
	for _, r := range rooms {
		quoted = quoted || strings.Contains(r.RoomID, `"`)
		comma = comma || strings.Contains(r.RoomID, ",")
		assert.False(t, ids[r.RoomID], "duplicate room %q", r.RoomID)
		ids[r.RoomID] = true
		assert.Positive(t, r.Audio+r.SD+r.HD+r.FullHD+r.TwoK+r.FourK)
	}
	assert.True(t, quoted && comma, "some room IDs need CSV quoting")
	assert.Contains(t, *full.Data, "\n\"say \"\"hi\"\" 1\",")

	// A partial window gets at most the day's usage per room, and only rooms active in it.
	var part tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 09:00","EndTime":"%s 10:59"}`, app, d, d), &part))
	partial := parseRoomCSV(t, *part.Data)
	assert.Equal(t, data.RoomsBetween(app, d.Start().Add(9*time.Hour), d.Start().Add(11*time.Hour)), partial)
	assert.NotEmpty(t, partial)
	assert.Less(t, len(partial), len(rooms))
	byID := map[string]RoomUsage{}
	for _, r := range rooms {
		byID[r.RoomID] = r
	}
	for _, r := range partial {
		f := byID[r.RoomID]
		assert.LessOrEqual(t, r.Audio, f.Audio)
		assert.LessOrEqual(t, r.SD, f.SD)
	}

	// A window across midnight adds up each room's usage on both days.
	after := data.RoomsBetween(app, d.Start(), d.Start().Add(2*time.Hour))
	require.NotEmpty(t, after)
	sum := map[string]TRTCSeconds{}
	for _, r := range append(before(d), after...) {
		sum[r.RoomID] = sum[r.RoomID].Add(r.Seconds())
	}
	var across tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 22:00","EndTime":"%s 01:59"}`, app, d.AddDays(-1), d), &across))
	got := map[string]TRTCSeconds{}
	for _, r := range parseRoomCSV(t, *across.Data) {
		got[r.RoomID] = r.Seconds()
	}
	assert.Equal(t, sum, got)
}

func TestRoomUsageLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("large answer")
	}
	e := New(Config{BusyRooms: 1_000_000})
	app := uint64(1400000001)
	d := findDay(t, yesterday(), func(d Date) bool { return e.Data().RoomCount(app, d) >= 500_000 })
	var count int
	e.Data().eachRoom(app, d.Start(), d.AddDays(1).Start(), func(string, [6]uint64) { count++ })
	assert.Greater(t, count, e.Data().RoomCount(app, d)/2)
	data := e.roomCSV(e.Data(), app, d.Start(), d.AddDays(1).Start())
	assert.Equal(t, count+1, strings.Count(data, "\n"), "header and one line per room")
	assert.Greater(t, len(data), 10_000_000)
}

// TestProductsAgree checks that the products tell one story: an app's rooms share less than
// its TRTC total (but most of it), and an audio-only app has no video anywhere.
func TestProductsAgree(t *testing.T) {
	var audio uint64 // the first audio-only app ID from 1400000001 on
	for a := uint64(1400000001); audio == 0; a++ {
		if audioOnly(a) {
			audio = a
		}
	}
	apps := []uint64{1400000001, 1400000002, 1400000003, audio}
	data := NewData(Config{SDKAppIDs: apps})
	end := yesterday()
	for _, app := range apps {
		for d := end; end.DaysUntil(d) > -40; d = d.AddDays(-1) {
			trtc := data.TRTCDay(app, d)
			var rooms TRTCSeconds
			for _, r := range data.Rooms(app, d) {
				rooms = rooms.Add(r.Seconds())
			}
			for j, pair := range [][2]uint64{{rooms.Audio, trtc.Audio}, {rooms.SD, trtc.SD}, {rooms.HD, trtc.HD},
				{rooms.FullHD, trtc.FullHD}, {rooms.TwoK, trtc.TwoK}, {rooms.FourK, trtc.FourK}} {
				assert.LessOrEqual(t, pair[0], pair[1], "app %d on %s, class %d: rooms within the TRTC total", app, d, j)
			}
			if data.RoomCount(app, d) > 0 {
				assert.Greater(t, float64(rooms.Audio), 0.85*float64(trtc.Audio), "app %d on %s: rooms hold most of the audio", app, d)
			} else {
				assert.Zero(t, trtc, "app %d on %s: no room, no usage", app, d)
			}
			if app == audio {
				assert.Zero(t, trtc.Video()+rooms.Video(), "audio-only app %d on %s", app, d)
				for _, p := range data.TRTC5Min(app, d) {
					require.Zero(t, p.Video())
				}
			}
		}
	}
	// Through the API too.
	s := newTestServer(t, Config{NoRateLimits: true, SDKAppIDs: apps})
	d := findDay(t, end, func(d Date) bool { return len(data.Rooms(audio, d)) > 0 })
	var room tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, audio, d, d), &room))
	for _, r := range parseRoomCSV(t, *room.Data) {
		assert.Zero(t, r.Seconds().Video(), r.RoomID)
	}
}

// TestVariability shows rooms and ESS records vary per app-day and organisation-day: none on
// some days, thousands of rooms on a rare one, idle stretches, quieter weekends.
func TestVariability(t *testing.T) {
	data := NewData(Config{})
	end := yesterday()
	weekend := func(d Date) bool { return d.Start().Weekday() == time.Saturday || d.Start().Weekday() == time.Sunday }
	var noRooms, busy int
	var wkRooms, wkDays, weRooms, weDays int
	for _, app := range data.Apps() {
		for d := end; end.DaysUntil(d) > -365; d = d.AddDays(-1) {
			n := data.RoomCount(app, d)
			switch {
			case n == 0:
				noRooms++
			case n >= 1000:
				busy++
			}
			if n < 1000 && weekend(d) {
				weRooms, weDays = weRooms+n, weDays+1
			} else if n < 1000 {
				wkRooms, wkDays = wkRooms+n, wkDays+1
			}
		}
	}
	assert.Positive(t, noRooms, "app-days without a room")
	assert.Positive(t, busy, "app-days with thousands of rooms")
	assert.Less(t, float64(weRooms)/float64(weDays), 0.8*float64(wkRooms)/float64(wkDays), "quieter weekends")

	counts := map[int]bool{}
	var longestIdle int
	var wkRecs, wkN, weRecs, weN int
	for _, org := range data.ESSOrgs("ess_app_demo") {
		run := 0
		for d := end; end.DaysUntil(d) > -365; d = d.AddDays(-1) {
			n := data.ESSCount("ess_app_demo", org, d)
			require.Len(t, data.ESSRecords("ess_app_demo", org, d), n)
			counts[n] = true
			if n == 0 {
				run++
				longestIdle = max(longestIdle, run)
				continue
			}
			run = 0
			if weekend(d) {
				weRecs, weN = weRecs+n, weN+1
			} else {
				wkRecs, wkN = wkRecs+n, wkN+1
			}
		}
	}
	assert.GreaterOrEqual(t, longestIdle, essIdleDays, "organisations idle for days")
	assert.Greater(t, len(counts), 10, "not the same number every day")
	assert.Less(t, float64(weRecs)/float64(weN), 0.5*float64(wkRecs)/float64(wkN), "quieter weekends")
}

func TestBillUsagePagination(t *testing.T) {
	s := newTestServer(t, Config{NoRateLimits: true, ESSRecordsPerDay: 7})
	data := s.Data()
	orgs := []string{"org_alpha", "org_beta", "org_gamma"}
	window := func(to Date) (want []tcapi.ChannelBillUsageDetail, beta int) {
		for x := to.AddDays(-4); !to.Before(x); x = x.AddDays(1) {
			for _, org := range orgs {
				recs := data.ESSRecords("ess_app_demo", org, x)
				if org == "org_beta" {
					beta += len(recs)
				}
				want = append(want, recs...)
			}
		}
		return want, beta
	}
	// Five days with enough records for three pages of 20, org_beta among them.
	d := findDay(t, yesterday(), func(d Date) bool {
		want, beta := window(d)
		return len(want) > 40 && beta > 0
	})
	from := d.AddDays(-4)
	want, beta := window(d)
	for _, r := range want {
		assert.Len(t, r.FlowID, 32)
		if r.CostType == 2 {
			assert.Negative(t, r.UseCount)
		} else {
			assert.Positive(t, r.UseCount)
		}
	}
	// The emulator's order: by CostTime, ties in the order of days, organisations, records.
	slices.SortStableFunc(want, func(a, b tcapi.ChannelBillUsageDetail) int { return cmp.Compare(a.CostTime, b.CostTime) })

	fetch := func(offset, limit int, extra string) tcapi.BillUsageDetailResponse {
		var page tcapi.BillUsageDetailResponse
		require.NoError(t, callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, fmt.Sprintf(
			`{"Agent":{"AppId":"ess_app_demo"%s},"StartTime":%q,"EndTime":%q,"Offset":%d,"Limit":%d}`, extra, from.Compact(), d.Compact(), offset, limit), &page))
		return page
	}
	var got []tcapi.ChannelBillUsageDetail
	for off := 0; ; off++ {
		page := fetch(off, 20, "")
		assert.Equal(t, int64(len(want)), *page.Total)
		if len(page.Details) == 0 {
			assert.Equal(t, (len(want)+19)/20, off, "%d records in pages of 20", len(want))
			break
		}
		got = append(got, page.Details...)
	}
	assert.Equal(t, want, got)
	// Offset is a page number: page 2 holds records 40 to 59.
	assert.Equal(t, want[40:min(60, len(want))], fetch(2, 20, "").Details)
	// One org, and a QuotaType filter.
	one := fetch(0, 50, `,"ProxyOrganizationOpenId":"org_beta"`)
	assert.Equal(t, int64(beta), *one.Total)
	for _, r := range one.Details {
		assert.Equal(t, essOrgName("ess_app_demo", "org_beta"), r.CreateOrganizationName)
	}
	var filtered tcapi.BillUsageDetailResponse
	require.NoError(t, callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, fmt.Sprintf(
		`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q,"QuotaType":"CloudEnterprise"}`, from.Compact(), d.Compact()), &filtered))
	var nCE int64
	for _, r := range want {
		if r.QuotaType == "CloudEnterprise" {
			nCE++
		}
	}
	assert.Equal(t, nCE, *filtered.Total)
	for _, r := range filtered.Details {
		assert.Equal(t, "CloudEnterprise", r.QuotaType)
	}
	// Default Limit is 50.
	var def tcapi.BillUsageDetailResponse
	require.NoError(t, callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, fmt.Sprintf(
		`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, from.Compact(), d.Compact()), &def))
	assert.Len(t, def.Details, min(50, len(want)))
	// Refunds appear now and then over some months of records.
	refunds := 0
	for x := d.AddDays(-120); !d.Before(x); x = x.AddDays(1) {
		for _, org := range orgs {
			for _, r := range data.ESSRecords("ess_app_demo", org, x) {
				if r.CostType == 2 {
					refunds++
				}
			}
		}
	}
	assert.Positive(t, refunds)
}

func TestDataDeterministic(t *testing.T) {
	a, b := NewData(Config{}), NewData(Config{})
	// A normal weekday, so that magnitudes are those of an active app.
	d := findDay(t, NewDate(2024, time.March, 5), func(d Date) bool {
		return dayShape(1400000001, d) == shapeNormal && weekendFactor(d, 0) == 1
	})
	assert.Equal(t, a.TRTC5Min(1400000001, d), b.TRTC5Min(1400000001, d))
	assert.Equal(t, a.TelCall(1400000001, d), b.TelCall(1400000001, d))
	assert.Equal(t, a.Rooms(1400000001, d), b.Rooms(1400000001, d))
	assert.Equal(t, a.ESSRecords("ess_app_demo", "org_alpha", d), b.ESSRecords("ess_app_demo", "org_alpha", d))
	assert.NotEqual(t, a.TelCall(1400000001, d), a.TelCall(1400000001, d.AddDays(1)))
	assert.NotEqual(t, a.TelCall(1400000001, d), a.TelCall(1400000002, d))
	// Plausible magnitudes: an active app has thousands of audio minutes a day.
	day := a.TRTCDay(1400000001, d)
	assert.Greater(t, day.Audio, uint64(60*1000))
	assert.Less(t, day.Audio, uint64(86400*1000))
}
