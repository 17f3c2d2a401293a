package emulator

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// essCount is how many records ess_app_demo's sub-customers have on day.
func essCount(d Data, day Date) int {
	n := 0
	for _, org := range []string{"org_alpha", "org_beta", "org_gamma"} {
		n += len(d.ESSRecords("ess_app_demo", org, day))
	}
	return n
}

// busyESSDay is a recent day with records, whose next day is complete too.
func busyESSDay(t *testing.T, d Data) Date {
	t.Helper()
	for day := yesterday().AddDays(-1); ; day = day.AddDays(-1) {
		if essCount(d, day) > 0 {
			return day
		}
		require.True(t, yesterday().AddDays(-60).Before(day), "no ESS records in 60 days")
	}
}

func TestReadingESSEndTime(t *testing.T) {
	total := func(s *testServer, from, to Date) int64 {
		var out tcapi.BillUsageDetailResponse
		params := fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q,"Offset":0,"Limit":50}`, from.Compact(), to.Compact())
		require.NoError(t, callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, params, &out))
		require.NotNil(t, out.Total)
		return *out.Total
	}
	inclusive := newTestServer(t, Config{})
	exclusive := newTestServer(t, Config{Readings: Readings{ESSEndTimeExclusive: true}})
	data := inclusive.Data()
	day := busyESSDay(t, data)
	n := int64(essCount(data, day))
	next := int64(essCount(data, day.AddDays(1)))

	assert.Equal(t, n, total(inclusive, day, day), "EndTime's day included: the day's records")
	assert.Equal(t, n+next, total(inclusive, day, day.AddDays(1)))
	assert.Equal(t, int64(0), total(exclusive, day, day), "EndTime's day excluded: an empty range")
	assert.Equal(t, n, total(exclusive, day, day.AddDays(1)), "the day, queried up to the next")
}

func TestReadingRoomUsageEnd(t *testing.T) {
	rows := func(s *testServer, from, to string) string {
		var out tcapi.TRTCRoomUsageResponse
		params := fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":%q,"EndTime":%q}`, from, to)
		require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, params, &out))
		require.NotNil(t, out.Data)
		return *out.Data
	}
	inclusive := newTestServer(t, Config{NoRateLimits: true})
	exclusive := newTestServer(t, Config{NoRateLimits: true, Readings: Readings{RoomUsageEndExclusive: true}})
	data := inclusive.Data().AsOf(inclusive.cfg.Now())
	day := yesterday()
	start, last := day.Start(), day.AddDays(1).Start().Add(-time.Minute)
	whole := inclusive.roomCSV(data, 1400000001, start, day.AddDays(1).Start())
	withoutLast := inclusive.roomCSV(data, 1400000001, start, last)
	from, to := start.Format(roomTimeLayout), last.Format(roomTimeLayout)
	next := day.AddDays(1).Start().Format(roomTimeLayout)

	assert.Equal(t, whole, rows(inclusive, from, to), "the end minute included: 00:00 to 23:59 is the whole day")
	assert.Equal(t, withoutLast, rows(exclusive, from, to), "the end minute excluded: the last minute is lost")
	assert.Equal(t, whole, rows(exclusive, from, next), "to the next midnight: the whole day")
}

func TestReadingTimeKeys(t *testing.T) {
	keys := func(s *testServer) []string {
		var out tcapi.TRTCInteractiveTimeResponse
		d := yesterday()
		params := fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":1400000001}`, d, d)
		require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, params, &out))
		var ks []string
		for _, u := range out.Usages[0].SDKAppIDTRTCTimeUsages {
			ks = append(ks, u.TimeKey)
		}
		return ks
	}
	start := newTestServer(t, Config{})
	end := newTestServer(t, Config{Readings: Readings{TimeKeysLabelEnd: true}})
	pts := start.Data().TRTC5Min(1400000001, yesterday())
	require.NotEmpty(t, pts)
	var wantStart, wantEnd []string
	for _, p := range pts {
		wantStart = append(wantStart, p.Start.Format(time.DateTime))
		wantEnd = append(wantEnd, p.Start.Add(5*time.Minute).Format(time.DateTime))
	}
	assert.Equal(t, wantStart, keys(start))
	assert.Equal(t, wantEnd, keys(end), "each key names its interval's end")

	var usage tcapi.TRTCUsageResponse
	d := yesterday()
	require.NoError(t, callAPI(t, end, tcapi.DescribeTrtcUsage, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":1400000001}`, d, d), &usage))
	require.NotEmpty(t, usage.UsageList)
	first := usage.UsageList[0]
	assert.Equal(t, wantEnd[0], first.TimeKey)
	assert.Equal(t, uint64(pts[0].Start.Add(5*time.Minute).Unix()), first.TimeStampKey, "TimeStampKey is TimeKey's time")
}

// Room usage's one call per 15 s is counted per account by default; with RoomUsageLimitPerApp,
// per SdkAppid: a second app's call right after the first is answered, a second call of the same
// app is refused.
func TestRoomUsageLimitPerAccountOrPerApp(t *testing.T) {
	call := func(s *testServer, app uint64) string {
		d := yesterday()
		params := fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, app, d, d)
		return codeOf(callAPI(t, s, tcapi.DescribeTrtcRoomUsage, params, nil))
	}
	clk := &fakeClock{t: time.Now()}
	account := newTestServer(t, Config{WallClock: clk.now, Rooms: 5})
	assert.Equal(t, "", call(account, 1400000001))
	assert.Equal(t, CodeFreqOverLimit, call(account, 1400000002), "per account: another app waits too")

	perApp := newTestServer(t, Config{WallClock: clk.now, Rooms: 5, RoomUsageLimitPerApp: true})
	assert.Equal(t, "", call(perApp, 1400000001))
	assert.Equal(t, "", call(perApp, 1400000002), "per app: another app has its own budget")
	assert.Equal(t, CodeFreqOverLimit, call(perApp, 1400000001), "the same app waits")
	clk.advance(15 * time.Second)
	assert.Equal(t, "", call(perApp, 1400000001))
}
