package emulator

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// timeline is an emulator whose business clock stands at 10:37:20 today (Beijing), and its data.
type timeline struct {
	s                     *testServer
	now                   time.Time
	final, asOf           Data
	app                   uint64
	yday, today, tomorrow Date
}

func newTimeline(t *testing.T) *timeline {
	today := DateOf(calendartest.Now())
	now := today.Start().Add(10*time.Hour + 37*time.Minute + 20*time.Second)
	s := newTestServer(t, Config{NoRateLimits: true, Now: frozen(now)})
	return &timeline{s: s, now: now, final: s.Data(), asOf: s.Data().AsOf(now), app: 1400000001,
		yday: today.AddDays(-1), today: today, tomorrow: today.AddDays(1)}
}

// TestFutureAndDayInProgress asks every action about the days around "now" (Config.Now, frozen at
// 10:37:20 of today in Beijing): days ahead have nothing (or the action's error), today only
// what happened before now, and yesterday is final.
func TestFutureAndDayInProgress(t *testing.T) {
	tl := newTimeline(t)
	t.Run("DescribeTelCallInfo", tl.telCall)
	t.Run("DescribeTrtcInteractiveTime and DescribeTrtcUsage", tl.trtc)
	t.Run("DescribeTrtcRoomUsage", tl.rooms)
	t.Run("ChannelDescribeBillUsageDetail", tl.ess)
}

func (tl *timeline) telCall(t *testing.T) {
	s, app, today := tl.s, tl.app, tl.today
	tel := func(from, to Date) TelCallCounts {
		var r tcapi.TelCallInfoResponse
		require.NoError(t, callAPI(t, s, tcapi.DescribeTelCallInfo, fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[%d]}`,
			from.Start().Unix(), to.AddDays(1).Start().Unix()-1, app), &r))
		return TelCallCounts{TelCallOut: *r.TelCallOutCount, TelCallIn: *r.TelCallInCount, SeatUsed: *r.SeatUsedCount,
			VOIPCallIn: *r.VOIPCallInCount, AsrOffline: *r.AsrOfflineCount, AsrRealtime: *r.AsrRealtimeCount}
	}
	assert.Zero(t, tel(tl.tomorrow, tl.tomorrow.AddDays(30)), "days ahead count zero")
	sofar := tel(today, today)
	assert.Equal(t, tl.asOf.TelCall(int64(app), today), sofar)
	assert.Positive(t, sofar.TelCallOut, "minutes so far")
	assert.Less(t, sofar.TelCallOut, tl.final.TelCall(int64(app), today).TelCallOut, "not the whole day")
	assert.Equal(t, tl.final.TelCall(int64(app), tl.yday).Add(sofar), tel(tl.yday, tl.tomorrow))
}

func (tl *timeline) trtc(t *testing.T) {
	s, app, today, now := tl.s, tl.app, tl.today, tl.now
	day := func(a tcapi.Action, d Date) (keys []string, totalNum *uint64) {
		params := fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, d, d, app)
		if a == tcapi.DescribeTrtcUsage {
			var r tcapi.TRTCUsageResponse
			require.NoError(t, callAPI(t, s, a, params, &r))
			for _, p := range r.UsageList {
				keys = append(keys, p.TimeKey)
			}
			return keys, nil
		}
		var r tcapi.TRTCInteractiveTimeResponse
		require.NoError(t, callAPI(t, s, a, params, &r))
		for _, p := range r.Usages[0].SDKAppIDTRTCTimeUsages {
			keys = append(keys, p.TimeKey)
		}
		return keys, r.Usages[0].TotalNum
	}
	var want, ended []string
	for _, p := range tl.asOf.TRTC5Min(app, today) {
		want = append(want, p.Start.Format(time.DateTime))
	}
	for _, p := range tl.final.TRTC5Min(app, today) {
		if !p.Start.Add(5 * time.Minute).After(now) {
			ended = append(ended, p.Start.Format(time.DateTime))
		}
	}
	assert.Equal(t, ended, want, "the day's points whose bucket ended by now")
	for _, a := range []tcapi.Action{tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage} {
		keys, n := day(a, today)
		assert.Equal(t, want, keys, a.Name)
		future, fn := day(a, tl.tomorrow)
		assert.Empty(t, future, a.Name)
		if a == tcapi.DescribeTrtcInteractiveTime {
			assert.Equal(t, uint64(len(want)), *n)
			assert.Equal(t, uint64(0), *fn)
		}
	}
	// A range across today: no daily point after today, today's is the sum so far.
	from, to := tl.yday.AddDays(-1), tl.tomorrow.AddDays(3)
	var r tcapi.TRTCInteractiveTimeResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcInteractiveTime, fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":%d}`, from, to, app), &r))
	daily := tl.asOf.TRTCDaily(app, from, to)
	require.Len(t, r.Usages[0].SDKAppIDTRTCTimeUsages, len(daily))
	for i, p := range r.Usages[0].SDKAppIDTRTCTimeUsages {
		d := DateOf(daily[i].Start)
		assert.False(t, today.Before(d), "no day after today")
		assert.Equal(t, d.String(), p.TimeKey)
		assert.Equal(t, withoutUHD(tl.asOf.TRTCDay(app, d)), interactiveSeconds(p))
	}
}

func (tl *timeline) rooms(t *testing.T) {
	s, app, today := tl.s, tl.app, tl.today
	var r tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, app, today, today), &r))
	sofar := tl.asOf.Rooms(app, today)
	if tl.final.RoomCount(app, today) == 0 {
		assert.Empty(t, *r.Data)
	} else {
		assert.Equal(t, sofar, parseRoomCSV(t, *r.Data))
	}
	assert.Equal(t, tl.final.RoomsBetween(app, today.Start(), tl.now.Truncate(time.Minute)), sofar, "usage up to the last whole minute")
	err := callAPI(t, s, tcapi.DescribeTrtcRoomUsage, fmt.Sprintf(`{"SdkAppid":%d,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, app, tl.tomorrow, tl.tomorrow), nil)
	assert.Equal(t, CodeInvalidParameter, codeOf(err), "the future is refused")
}

func (tl *timeline) ess(t *testing.T) {
	s, today, org := tl.s, tl.today, "org_alpha"
	var r tcapi.BillUsageDetailResponse
	require.NoError(t, callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, fmt.Sprintf(
		`{"Agent":{"AppId":"ess_app_demo","ProxyOrganizationOpenId":%q},"StartTime":%q,"EndTime":%q}`, org, tl.yday.Compact(), tl.tomorrow.Compact()), &r))
	sofar := tl.asOf.ESSRecords("ess_app_demo", org, today)
	assert.Equal(t, int64(len(tl.final.ESSRecords("ess_app_demo", org, tl.yday))+len(sofar)), *r.Total)
	for _, rec := range sofar {
		assert.Less(t, rec.CostTime, tl.now.Unix(), "only records before now")
	}
	assert.LessOrEqual(t, len(sofar), tl.final.ESSCount("ess_app_demo", org, today))
	err := callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, fmt.Sprintf(
		`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, tl.tomorrow.Compact(), tl.tomorrow.Compact()), nil)
	assert.Equal(t, CodeInvalidTime, codeOf(err), "a period that has not begun is refused")
}
