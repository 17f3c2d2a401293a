package source

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// Trtc modes.
const (
	TrtcAuto        = "auto"        // DescribeTrtcInteractiveTime, falling back to DescribeTrtcUsage
	TrtcInteractive = "interactive" // DescribeTrtcInteractiveTime only
	TrtcUsage       = "usage"       // DescribeTrtcUsage only
)

// Trtc is TRTC DescribeTrtcInteractiveTime, one app-day per call (5-minute points), falling
// back to DescribeTrtcUsage when the old action is answered as unknown or offline: Tencent
// removed it from its SDKs in 2022. Once a fallback happened, later calls in the process go
// straight to DescribeTrtcUsage.
type Trtc struct {
	Mode string // TrtcAuto (default), TrtcInteractive or TrtcUsage

	probe    sync.Mutex // held while the first call finds out whether the old action answers
	mu       sync.Mutex
	known    bool   // the old action answered (or the fallback happened)
	fellBack string // the code that caused the fallback, once it happened
}

var _ Source = (*Trtc)(nil)

// Schema implements Source.
func (*Trtc) Schema() usage.Schema { return usage.TrtcUsageSchema }

// Action implements Source.
func (t *Trtc) Action() tcapi.Action {
	if t.Mode == TrtcUsage {
		return tcapi.DescribeTrtcUsage
	}
	return tcapi.DescribeTrtcInteractiveTime
}

// Earliest implements Source: no documented floor.
func (*Trtc) Earliest(string) string { return "" }

// CallsPerApp implements Source.
func (*Trtc) CallsPerApp() int { return 1 }

// offlineCodes are the answers that mean the old action is gone.
var offlineCodes = map[string]bool{"InvalidAction": true, "ActionOffline": true, "InvalidAction.NotFound": true}

// Fetch implements Source.
func (t *Trtc) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	app, err := strconv.ParseUint(q.App, 10, 64)
	if err != nil || app == 0 {
		return Result{}, fmt.Errorf("trtcusage: app %q is not an SdkAppId", q.App)
	}
	if t.Mode == TrtcUsage {
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
			case t.Mode != TrtcInteractive && errors.As(err, &ae) && offlineCodes[ae.Code]:
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
		if err == nil || t.Mode == TrtcInteractive || !errors.As(err, &ae) || !offlineCodes[ae.Code] {
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

func (t *Trtc) state() (known bool, fellBack string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.known, t.fellBack
}

func (t *Trtc) setState(fellBack string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.known, t.fellBack = true, fellBack
}

func (t *Trtc) interactive(ctx context.Context, api Caller, q Query, app uint64) (Result, error) {
	req := tcapi.TrtcInteractiveTimeRequest{StartTime: q.Date, EndTime: q.Date, SdkAppID: &app}
	return callRows(ctx, api, q, tcapi.DescribeTrtcInteractiveTime, req, usage.TrtcUsageSchema,
		func(r *tcapi.TrtcInteractiveTimeResponse) ([]usage.Row, string, error) {
			rows, err := usage.TrtcInteractiveRows(q.Date, app, r)
			return rows, r.RequestID, err
		})
}

func (t *Trtc) usage(ctx context.Context, api Caller, q Query, app uint64, details map[string]string) (Result, error) {
	req := tcapi.TrtcUsageRequest{StartTime: q.Date, EndTime: q.Date, SdkAppID: &app}
	res, err := callRows(ctx, api, q, tcapi.DescribeTrtcUsage, req, usage.TrtcUsageSchema,
		func(r *tcapi.TrtcUsageResponse) ([]usage.Row, string, error) {
			rows, err := usage.TrtcUsageRows(q.Date, app, r)
			return rows, r.RequestID, err
		})
	res.Details = details
	return res, err
}
