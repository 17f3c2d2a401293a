package tcapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/tcusage/tcusage/shared/calendar"
)

func TestReadingWindows(t *testing.T) {
	day := calendar.Date(2028, time.February, 29)

	start, end := RoomUsageWindow(day, true)
	assert.Equal(t, "2028-02-29 00:00", start)
	assert.Equal(t, "2028-02-29 23:59", end, "the end minute included: the day's last minute")
	start, end = RoomUsageWindow(day, false)
	assert.Equal(t, "2028-02-29 00:00", start)
	assert.Equal(t, "2028-03-01 00:00", end, "the end minute excluded: the next midnight, 24 h after the start")

	start, end = ESSWindow(day, true)
	assert.Equal(t, [2]string{"20280229", "20280229"}, [2]string{start, end})
	start, end = ESSWindow(day, false)
	assert.Equal(t, [2]string{"20280229", "20280301"}, [2]string{start, end})

	at := func(d calendar.Day, hm string) time.Time {
		tm, err := time.ParseInLocation("2006-01-02 15:04", d.String()+" "+hm, calendar.Zone)
		assert.NoError(t, err)
		return tm
	}
	for _, tc := range []struct {
		t                 time.Time
		inStart, inEndLbl bool
	}{
		{at(day, "00:00"), true, false},
		{at(day, "00:05"), true, true},
		{at(day, "23:55"), true, true},
		{at(day.Add(1), "00:00"), false, true},
		{at(day.Add(-1), "23:55"), false, false},
	} {
		assert.Equal(t, tc.inStart, FiveMinuteInDay(day, tc.t, true), "start labels, %s", tc.t)
		assert.Equal(t, tc.inEndLbl, FiveMinuteInDay(day, tc.t, false), "end labels, %s", tc.t)
	}
}

func TestWindowOfRecordsTheTimeFieldsAsSent(t *testing.T) {
	day := calendar.Date(2028, time.February, 29)
	start, end := RoomUsageWindow(day, RoomUsageEndInclusive)
	w := WindowOf(DescribeTrtcRoomUsage, TRTCRoomUsageRequest{SDKAppID: 1400000001, StartTime: start, EndTime: end})
	assert.Equal(t, `"2028-02-29 00:00"`, string(w.Fields["StartTime"]))
	assert.Equal(t, `"`+end+`"`, string(w.Fields["EndTime"]))
	assert.NotContains(t, w.Fields, "SdkAppid", "only the time fields")
	assert.Equal(t, []Reading{{"tcapi.RoomUsageEndInclusive", RoomUsageEndInclusive}}, w.Readings)

	w = WindowOf(DescribeTelCallInfo, TelCallInfoRequest{StartTimeStamp: day.Start().Unix(), EndTimeStamp: day.Last().Unix(), SDKAppIDList: []int64{1}})
	assert.Equal(t, "1835366400", string(w.Fields["StartTimeStamp"]), "numbers stay numbers")
	assert.Empty(t, w.Readings, "the CCC day window is documented")
	assert.Equal(t, "StartTimeStamp=1835366400 EndTimeStamp=1835452799", w.String())

	for _, a := range []Action{DescribeTrtcInteractiveTime, DescribeTrtcUsage} {
		assert.Equal(t, []Reading{ReadingTimeKeysLabels}, ReadingsOf(a), a.Name)
	}
	assert.Equal(t, []Reading{ReadingESSEndTime}, ReadingsOf(ChannelDescribeBillUsageDetail))
}
