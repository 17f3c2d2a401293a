package source

import (
	"context"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// RoomUsage is TRTC DescribeTrtcRoomUsage: one call per app per day ("D 00:00" to "D 23:59", or
// to "D+1 00:00" if tcapi.RoomUsageEndInclusive is changed), never faster than one call per 15 s
// (the client's pacing sees to that).
type RoomUsage struct{}

var _ Source = RoomUsage{}

// Schema implements Source.
func (RoomUsage) Schema() usage.Schema { return usage.RoomUsageSchema }

// Action implements Source.
func (RoomUsage) Action() tcapi.Action { return tcapi.DescribeTrtcRoomUsage }

// Earliest implements Source: the later of tcapi.RoomUsageFirstDay and
// tcapi.RoomUsageWindowDays before today.
func (RoomUsage) Earliest(today calendar.Day) calendar.Day {
	if d := today.Add(-tcapi.RoomUsageWindowDays); d.After(tcapi.RoomUsageFirstDay) {
		return d
	}
	return tcapi.RoomUsageFirstDay
}

// CallsPerApp implements Source.
func (RoomUsage) CallsPerApp() int { return 1 }

// Fetch implements Source.
func (RoomUsage) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	app, err := tcapi.ParseSDKAppID(q.App)
	if err != nil {
		return Result{}, fmt.Errorf("roomusage: %w", err)
	}
	start, end := tcapi.RoomUsageWindow(q.Day, tcapi.RoomUsageEndInclusive)
	req := tcapi.TRTCRoomUsageRequest{SDKAppID: app, StartTime: start, EndTime: end}
	var resp tcapi.TRTCRoomUsageResponse
	if err := api.Call(ctx, tcapi.DescribeTrtcRoomUsage, req, &resp); err != nil {
		return Result{}, err
	}
	if resp.Data == nil {
		return Result{}, fmt.Errorf("DescribeTrtcRoomUsage answer for app %d on %s has no Data (request %s)", app, q.Day.String(), resp.RequestID)
	}
	res, err := usage.WriteRoomUsage(q.Day.String(), app, *resp.Data, q.Open)
	if err != nil {
		return Result{}, fmt.Errorf("DescribeTrtcRoomUsage answer for app %d on %s (request %s): %w", app, q.Day.String(), resp.RequestID, err)
	}
	return Result{Rows: res.Rows, Columns: res.Columns, RequestIDs: []string{resp.RequestID}, Action: tcapi.DescribeTrtcRoomUsage,
		Window: tcapi.WindowOf(tcapi.DescribeTrtcRoomUsage, req)}, nil
}
