package report

import (
	"fmt"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/usage"
)

// The fixture: a store under prefix "acme/usage" with day fixDate (trtcusage partial, one app
// pending), the day before, two days before and eight days before.
const (
	fixPrefix = "acme/usage"
	fixDate   = "2026-03-10"
	fixApp1   = "1400000001"
	fixApp2   = "1400000002"
	// hostileRoom and hostileOrg must appear escaped in every page.
	hostileRoom = `<script>alert("room")</script>`
	hostileOrg  = `<img src=x onerror=alert(1)>`
)

// fixNow is 14 hours after fixDate ended (China Standard Time): its pending app is late.
var fixNow = time.Date(2026, 3, 11, 6, 0, 0, 0, time.UTC)

var roomColumns = usage.RoomUsageSchema.Names()

func trtcRow(date, app, clock, typ string, seconds float64) string {
	return fmt.Sprintf(`{"date":%q,"sdk_app_id":%s,"time":"%sT%s:00+08:00","granularity":"5m","usage_type":%q,"seconds":%v}`, date, app, date, clock, typ, seconds)
}

func roomRow(date, app, room string, audio, sd, hd float64) string {
	return fmt.Sprintf(`{"date":%q,"sdk_app_id":%s,"room_id":%q,"audio_seconds":%v,"video_sd_seconds":%v,"video_hd_seconds":%v,"video_fullhd_seconds":0,"video_2k_seconds":0,"video_4k_seconds":0}`, date, app, room, audio, sd, hd)
}

func telRow(date, app string, out, in, voip, asrOff, asrRT, seats int) string {
	return fmt.Sprintf(`{"date":%q,"sdk_app_id":%s,"outbound_minutes":%d,"inbound_minutes":%d,"voip_minutes":%d,"asr_offline_minutes":%d,"asr_realtime_minutes":%d,"seats_used":%d}`,
		date, app, out, in, voip, asrOff, asrRT, seats)
}

func essRow(date, org, qt, qn string, costType, count int) string {
	return fmt.Sprintf(`{"date":%q,"app_id":"ess_app","proxy_organization_open_id":%q,"flow_id":"f","flow_name":"n","flow_status":"ALL","create_organization_name":"o","operator_name":"p","quota_type":%q,"quota_name":%q,"cost_type":%d,"use_count":%d,"cost_time":"%sT01:00:00Z","cost_time_unix":1,"remark":""}`,
		date, org, qt, qn, costType, count, date)
}

// Expected figures of fixDate, added up by hand from the rows below.
const (
	wantTrtcApp1 = 300 + 120 + 600 + 90.5 // seconds; app 2 is pending
	wantRooms    = 4
	wantRoomSecs = (600 + 60) + (1200 + 300 + 30) + 90 + (3000 + 1.5)
	wantCallMins = (100 + 50 + 10) + (40 + 20 + 0)
	wantSeats    = 7 + 3
	wantDeducted = 5 + 2 + 1
	wantRefunded = 2
)

func fixture(t *testing.T) *memStore {
	t.Helper()
	st := newMemStore()
	d := fixDate
	putDay(t, st, fixPrefix, TRTC, d, dayData{pending: []string{fixApp2}, rows: map[string][]string{fixApp1: {
		trtcRow(d, fixApp1, "00:00", "audio", 300), trtcRow(d, fixApp1, "00:00", "sd", 120),
		trtcRow(d, fixApp1, "12:30", "audio", 600), trtcRow(d, fixApp1, "23:55", "hd", 90.5),
	}}})
	putDay(t, st, fixPrefix, Rooms, d, dayData{columns: roomColumns, rows: map[string][]string{
		fixApp1: {roomRow(d, fixApp1, "lobby", 600, 60, 0), roomRow(d, fixApp1, hostileRoom, 1200, 300, 30)},
		fixApp2: {roomRow(d, fixApp2, "a&b", 90, 0, 0), roomRow(d, fixApp2, "big", 3000, 1.5, 0)},
	}})
	putDay(t, st, fixPrefix, TelCall, d, dayData{
		rows: map[string][]string{fixApp1: {telRow(d, fixApp1, 100, 50, 10, 5, 0, 7)}},
		csv: map[string]string{fixApp2: "date,sdk_app_id,outbound_minutes,inbound_minutes,voip_minutes,asr_offline_minutes,asr_realtime_minutes,seats_used\n" +
			d + ",1400000002,40,20,0,0,8,3\n"},
	})
	putDay(t, st, fixPrefix, ESSBill, d, dayData{rows: map[string][]string{"ess_app": {
		essRow(d, "org_a", "SignFace", "签署意愿(人脸识别)", 1, 5),
		essRow(d, "org_a", "SignFace", "签署意愿(人脸识别)", 2, -2),
		essRow(d, "org_a", "CloudEnterprise", "企业版合同", 1, 2),
		essRow(d, hostileOrg, "CloudEnterprise", "<b>企业版合同</b>", 1, 1),
	}}})
	history(t, st)
	return st
}

// history writes the days before fixDate: the day before, two days before and eight days before
// (outside the 7-day average).
func history(t *testing.T, st *memStore) {
	for i, back := range []int{1, 2, 8} {
		d := addDays(fixDate, -back)
		scale := float64(i + 1)
		putDay(t, st, fixPrefix, TRTC, d, dayData{rows: map[string][]string{
			fixApp1: {trtcRow(d, fixApp1, "10:00", "audio", 800*scale)},
			fixApp2: {trtcRow(d, fixApp2, "10:00", "audio", 60*scale)},
		}})
		putDay(t, st, fixPrefix, Rooms, d, dayData{columns: roomColumns, rows: map[string][]string{
			fixApp1: {roomRow(d, fixApp1, "lobby", 1000*scale, 0, 0)},
		}})
		putDay(t, st, fixPrefix, TelCall, d, dayData{rows: map[string][]string{
			fixApp1: {telRow(d, fixApp1, 80*int(scale), 40, 0, 0, 0, 6)},
			fixApp2: {telRow(d, fixApp2, 50, 10, 0, 0, 0, 2)},
		}})
		putDay(t, st, fixPrefix, ESSBill, d, dayData{rows: map[string][]string{"ess_app": {
			essRow(d, "org_a", "SignFace", "签署意愿(人脸识别)", 1, 4*int(scale)),
		}}})
	}
}
