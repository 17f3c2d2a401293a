package usage

import (
	"fmt"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// TelCallSchema is the telcall dataset: one row per CCC app per day, from DescribeTelCallInfo
// called for that app alone (the API sums over SdkAppIdList, so per-app figures need per-app calls).
var TelCallSchema = Schema{
	Dataset:     "telcall",
	Version:     "v1",
	Description: "Cloud Contact Center call-package consumption per SdkAppId per day (CCC DescribeTelCallInfo).",
	Columns: []Column{
		{Name: "date", Type: TypeDate, Description: "The day (00:00:00 to 23:59:59): a China Standard Time (UTC+8) day, as the API counts days."},
		{Name: "sdk_app_id", Type: TypeInt64, Description: "The CCC application (SdkAppId)."},
		{Name: "outbound_minutes", Type: TypeInt64, Unit: "minute", Description: "Minutes consumed by the outbound call package (TelCallOutCount).", Measure: true},
		{Name: "inbound_minutes", Type: TypeInt64, Unit: "minute", Description: "Minutes consumed by the inbound call package (TelCallInCount).", Measure: true},
		{Name: "voip_minutes", Type: TypeInt64, Unit: "minute", Description: "Minutes consumed by the audio (VoIP) package (VOIPCallInCount).", Measure: true},
		{Name: "asr_offline_minutes", Type: TypeInt64, Unit: "minute", Description: "Minutes consumed by the offline speech-to-text package (AsrOfflineCount).", Measure: true},
		{Name: "asr_realtime_minutes", Type: TypeInt64, Unit: "minute", Description: "Minutes consumed by the real-time speech-to-text package (AsrRealtimeCount).", Measure: true},
		{Name: "seats_used", Type: TypeInt64, Unit: "seat", Description: "Number of agent seats used (SeatUsedCount).", Measure: true},
	},
	Checks: []CheckSpec{nonNegativeSpec},
}

// TelCallRow converts one app-day answer of DescribeTelCallInfo into a row. Every count must be
// present: an answer missing one is an error naming it, never a silent zero.
func TelCallRow(date string, app int64, r *tcapi.TelCallInfoResponse) (Row, error) {
	if r == nil {
		return nil, fmt.Errorf("DescribeTelCallInfo answer for app %d on %s is empty", app, date)
	}
	fields := []struct {
		name string
		v    *int64
	}{
		{"TelCallOutCount", r.TelCallOutCount},
		{"TelCallInCount", r.TelCallInCount},
		{"VOIPCallInCount", r.VOIPCallInCount},
		{"AsrOfflineCount", r.AsrOfflineCount},
		{"AsrRealtimeCount", r.AsrRealtimeCount},
		{"SeatUsedCount", r.SeatUsedCount},
	}
	row := Row{Str(date), Int(app)}
	for _, f := range fields {
		if f.v == nil {
			return nil, fmt.Errorf("DescribeTelCallInfo answer for app %d on %s lacks %s (request %s)", app, date, f.name, r.RequestID)
		}
		if *f.v < 0 {
			return nil, fmt.Errorf("DescribeTelCallInfo answer for app %d on %s has negative %s=%d (request %s)", app, date, f.name, *f.v, r.RequestID)
		}
		row = append(row, Int(*f.v))
	}
	return row, nil
}
