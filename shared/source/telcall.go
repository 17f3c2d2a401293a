package source

import (
	"context"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// TelCall is CCC DescribeTelCallInfo, called once per app per day: the API sums over
// SdkAppIdList, so per-app figures need per-app calls.
type TelCall struct{}

var _ Source = TelCall{}

// Schema implements Source.
func (TelCall) Schema() usage.Schema { return usage.TelCallSchema }

// Action implements Source.
func (TelCall) Action() tcapi.Action { return tcapi.DescribeTelCallInfo }

// Earliest implements Source: the API documents no window; no data predates its API version.
func (TelCall) Earliest(calendar.Day) calendar.Day { return tcapi.DescribeTelCallInfo.Since() }

// CallsPerApp implements Source.
func (TelCall) CallsPerApp() int { return 1 }

// Fetch implements Source.
func (TelCall) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	id, err := tcapi.ParseSDKAppID(q.App)
	if err != nil {
		return Result{}, fmt.Errorf("telcall: %w", err)
	}
	app := int64(id) // at most 2^63-1
	req := tcapi.TelCallInfoRequest{StartTimeStamp: q.Day.Start().Unix(), EndTimeStamp: q.Day.Last().Unix(), SDKAppIDList: []int64{app}}
	return callRows(ctx, api, q, tcapi.DescribeTelCallInfo, req, usage.TelCallSchema,
		func(r *tcapi.TelCallInfoResponse) ([]usage.Row, string, error) {
			row, err := usage.TelCallRow(q.Day.String(), app, r)
			return []usage.Row{row}, r.RequestID, err
		})
}
