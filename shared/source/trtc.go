package source

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// TRTCMode chooses the action the trtcusage source calls (TCUSAGE_TRTC_ACTION).
type TRTCMode string

// The TRTC modes.
const (
	TRTCAuto        TRTCMode = "auto"        // DescribeTrtcInteractiveTime, falling back to DescribeTrtcUsage
	TRTCInteractive TRTCMode = "interactive" // DescribeTrtcInteractiveTime only
	TRTCUsage       TRTCMode = "usage"       // DescribeTrtcUsage only
)

// TRTCModes lists the modes, for validation and messages.
var TRTCModes = []TRTCMode{TRTCAuto, TRTCInteractive, TRTCUsage}

// TRTC is TRTC DescribeTrtcInteractiveTime, one app-day per call (5-minute points), falling
// back to DescribeTrtcUsage when the old action is answered as unknown or offline: Tencent
// removed it from its SDKs in 2022. Once a fallback happened, later calls in the process go
// straight to DescribeTrtcUsage.
type TRTC struct {
	Mode TRTCMode // TRTCAuto (default), TRTCInteractive or TRTCUsage

	probe    sync.Mutex // held while the first call finds out whether the old action answers
	mu       sync.Mutex
	known    bool   // the old action answered (or the fallback happened)
	fellBack string // the code that caused the fallback, once it happened
}

var _ Source = (*TRTC)(nil)

// Schema implements Source.
func (*TRTC) Schema() usage.Schema { return usage.TRTCUsageSchema }

// Action implements Source.
func (t *TRTC) Action() tcapi.Action {
	if t.Mode == TRTCUsage {
		return tcapi.DescribeTrtcUsage
	}
	return tcapi.DescribeTrtcInteractiveTime
}

// Actions returns the actions the mode may call: the old action, its replacement, or both.
func (t *TRTC) Actions() []tcapi.Action {
	switch t.Mode {
	case TRTCUsage:
		return []tcapi.Action{tcapi.DescribeTrtcUsage}
	case TRTCInteractive:
		return []tcapi.Action{tcapi.DescribeTrtcInteractiveTime}
	}
	return []tcapi.Action{tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage}
}

// Earliest implements Source: the API documents no window; no data predates its API version
// (both actions share it).
func (*TRTC) Earliest(calendar.Day) calendar.Day { return tcapi.DescribeTrtcUsage.Since() }

// CallsPerApp implements Source.
func (*TRTC) CallsPerApp() int { return 1 }

// offlineCodes are the answers that mean the old action is gone.
var offlineCodes = map[string]bool{"InvalidAction": true, "ActionOffline": true, "InvalidAction.NotFound": true}

// Fetch implements Source.
func (t *TRTC) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	app, err := tcapi.ParseSDKAppID(q.App)
	if err != nil {
		return Result{}, fmt.Errorf("trtcusage: %w", err)
	}
	if t.Mode == TRTCUsage {
		return t.usage(ctx, api, q, app, nil)
	}
	known, reason := t.state()
	if !known {
		// Until one call has answered, calls go one at a time, so that a removed action costs
		// one refused call rather than one per worker.
		t.probe.Lock()
		known, reason = t.state()
		if known {
			t.probe.Unlock()
		} else {
			res, err := t.interactive(ctx, api, q, app)
			var ae *tcloud.APIError
			switch {
			case err == nil:
				t.setState("")
				t.probe.Unlock()
				return res, nil
			case t.Mode != TRTCInteractive && errors.As(err, &ae) && offlineCodes[ae.Code]:
				reason = ae.Code
				t.setState(reason)
				t.probe.Unlock()
			default:
				t.probe.Unlock()
				return res, err
			}
		}
	}
	if reason == "" {
		res, err := t.interactive(ctx, api, q, app)
		var ae *tcloud.APIError
		if err == nil || t.Mode == TRTCInteractive || !errors.As(err, &ae) || !offlineCodes[ae.Code] {
			return res, err
		}
		// The old action answered before and is gone now: fall back from here on.
		reason = ae.Code
		t.setState(reason)
	}
	return t.usage(ctx, api, q, app, map[string]string{
		"fallback_from":   tcapi.DescribeTrtcInteractiveTime.Name,
		"fallback_reason": reason,
	})
}

func (t *TRTC) state() (known bool, fellBack string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.known, t.fellBack
}

func (t *TRTC) setState(fellBack string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.known, t.fellBack = true, fellBack
}

func (t *TRTC) interactive(ctx context.Context, api Caller, q Query, app uint64) (Result, error) {
	req := tcapi.TRTCInteractiveTimeRequest{StartTime: q.Day.String(), EndTime: q.Day.String(), SDKAppID: &app}
	var outside int
	var checks []usage.Check
	res, err := callRows(ctx, api, q, tcapi.DescribeTrtcInteractiveTime, req, usage.TRTCUsageSchema,
		func(r *tcapi.TRTCInteractiveTimeResponse) ([]usage.Row, string, error) {
			rows, err := usage.TRTCInteractiveRows(q.Day.String(), app, r)
			outside, checks = rows.OutsideDay, rows.Checks(q.App)
			return rows.Rows, r.RequestID, err
		})
	res.Details, res.Checks = outsideDetails(nil, q.App, outside), checks
	return res, err
}

func (t *TRTC) usage(ctx context.Context, api Caller, q Query, app uint64, details map[string]string) (Result, error) {
	req := tcapi.TRTCUsageRequest{StartTime: q.Day.String(), EndTime: q.Day.String(), SDKAppID: &app}
	var outside int
	var checks []usage.Check
	res, err := callRows(ctx, api, q, tcapi.DescribeTrtcUsage, req, usage.TRTCUsageSchema,
		func(r *tcapi.TRTCUsageResponse) ([]usage.Row, string, error) {
			rows, err := usage.TRTCUsageRows(q.Day.String(), app, r)
			outside, checks = rows.OutsideDay, rows.Checks(q.App)
			return rows.Rows, r.RequestID, err
		})
	res.Details, res.Checks = outsideDetails(details, q.App, outside), checks
	return res, err
}

// DetailPointsOutsideDay names the Result.Details entry "points_outside_day/<app>" counting the
// points of an app-day whose time falls outside the day queried (see usage.TRTCRows.OutsideDay):
// they are kept in the day's files, and counted so that the manifest says so. It is set only
// when there are such points.
const DetailPointsOutsideDay = "points_outside_day"

// outsideDetails adds app's count of points outside the day to details, when there are any.
func outsideDetails(details map[string]string, app string, outside int) map[string]string {
	if outside == 0 {
		return details
	}
	out := maps.Clone(details)
	if out == nil {
		out = map[string]string{}
	}
	out[DetailPointsOutsideDay+"/"+app] = strconv.Itoa(outside)
	return out
}
