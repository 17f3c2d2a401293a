package source

import (
	"context"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// RoomUsage is TRTC DescribeTrtcRoomUsage: one call per app per day (00:00 to 23:59), never
// faster than one call per 15 s in the process (the client's pacing sees to that).
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
	req := tcapi.TRTCRoomUsageRequest{
		SDKAppID:  app,
		StartTime: q.Day.Start().Format("2006-01-02 15:04"),
		EndTime:   q.Day.Last().Format("2006-01-02 15:04"),
	}
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
	return Result{Rows: res.Rows, Columns: res.Columns, RequestIDs: []string{resp.RequestID}, Action: tcapi.DescribeTrtcRoomUsage}, nil
}
