package doctor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// fnEnv is what the checks of one function work with.
type fnEnv struct {
	r    *Report
	opt  Options
	fn   *function.Function
	name string
	day  calendar.Day // yesterday: the last complete day
	// roomDone is when the last room-usage call returned: the service counted it before then.
	roomDone time.Time
}

func (e *fnEnv) add(c Check) {
	c.Function = e.name
	e.r.add(c)
}

func (e *fnEnv) call(ctx context.Context, a tcapi.Action, req, resp any) error {
	return e.fn.Client.Call(ctx, a, req, resp)
}

// configured reports whether spec's required application variable is set, and names it.
func configured(spec function.Spec, getenv func(string) string) (bool, string) {
	v := function.EnvSDKAppIDs
	if spec.Needs == function.NeedESSApp {
		v = function.EnvESSAppID
	}
	return strings.TrimSpace(getenv(v)) != "", v
}

// checkFunction runs the checks of one function.
func checkFunction(ctx context.Context, r *Report, opt Options, spec function.Spec, buckets map[string]bool) {
	if ok, v := configured(spec, opt.Getenv); !ok {
		c := Check{Function: spec.Name, Name: "configuration", Status: Skip, Detail: v + " is not set: not configured here"}
		if opt.Explicit {
			c.Status, c.Fix = Fail, "set "+v+" as the deployed function has it (README, Configuration)"
		}
		r.add(c)
		return
	}
	fn, err := function.New(spec, opt.Getenv, function.Options{Home: opt.Home, Now: opt.Now, Logger: opt.Logger})
	if err != nil {
		r.add(Check{Function: spec.Name, Name: "configuration", Status: Fail, Detail: err.Error(), Fix: "fix the variable named (README, Configuration)"})
		return
	}
	_, prefix := fn.Store()
	apps := fn.Config.Apps()
	r.add(Check{Function: spec.Name, Name: "configuration", Status: OK,
		Detail: fmt.Sprintf("%d app(s), first %s; dataset %s under prefix %q", len(apps), apps[0], fn.Runner.Dataset(), prefix)})
	e := &fnEnv{r: r, opt: opt, fn: fn, name: spec.Name, day: yesterday(opt)}
	switch src := fn.Runner.Source.(type) {
	case source.TelCall:
		e.telCall(ctx)
	case *source.TRTC:
		e.trtc(ctx, src.Mode)
	case source.RoomUsage:
		e.room(ctx)
	case *source.ESSBill:
		e.ess(ctx)
	}
	e.bucket(ctx, buckets)
}

// report adds the checks of one call of a: that the API answers, and that the CAM policy allows
// the action. It returns whether the call succeeded.
func (e *fnEnv) report(a tcapi.Action, err error, okDetail string) bool {
	name := a.Name + " answers"
	cam := "CAM allows " + a.Service + ":" + a.Name
	var ae *tcloud.APIError
	switch {
	case err == nil:
		e.add(Check{Name: name, Status: OK, Detail: okDetail})
		e.add(Check{Name: cam, Status: OK, Detail: "the call was allowed"})
		return true
	case errors.Is(err, credential.ErrExpired), errors.Is(err, credential.ErrRejected), errors.Is(err, credential.ErrRefresh):
		e.add(Check{Name: name, Status: Fail, Detail: err.Error(), Fix: "renew the credentials and set them again"})
	case errors.As(err, &ae) && unauthorized(ae.Code):
		e.add(Check{Name: name, Status: Fail, Detail: "refused by CAM: " + ae.Error(), Fix: "see the CAM check"})
		e.add(Check{Name: cam, Status: Fail, Detail: ae.Code + " (request " + ae.RequestID + ")",
			Fix: fmt.Sprintf("allow %s:%s to the credentials' role or user: attach deploy/%s/cam-policy.json (deploy/README.md, Run roles)", a.Service, a.Name, e.name)})
	case errors.As(err, &ae):
		st, fix := Fail, apiFix(ae.Code)
		if isThrottled(ae.Code) {
			st = Warn
		}
		e.add(Check{Name: name, Status: st, Detail: ae.Error(), Fix: fix})
		if !strings.HasPrefix(ae.Code, "AuthFailure.") && !strings.HasPrefix(ae.Code, "ClientError.") {
			e.add(Check{Name: cam, Status: OK, Detail: "the call passed authorization (" + ae.Code + " came after)"})
		}
	default:
		e.add(Check{Name: name, Status: Fail, Detail: err.Error(),
			Fix: "check the network, " + tcloud.EnvAPIEndpoint + " and " + tcloud.EnvAPIRootDomain})
	}
	return false
}

// unauthorized reports the codes of a CAM refusal.
func unauthorized(code string) bool {
	return code == "UnauthorizedOperation" || strings.HasPrefix(code, "UnauthorizedOperation.") ||
		code == "AuthFailure.UnauthorizedOperation" || code == "OperationDenied.UnauthorizedOperation"
}

func isThrottled(code string) bool {
	return code == "OperationDenied.FreqOverLimit" || code == "RequestLimitExceeded" || strings.HasPrefix(code, "RequestLimitExceeded.")
}

// apiFix says what to do about an API error code.
func apiFix(code string) string {
	switch code {
	case "AuthFailure.SecretIdNotFound", "AuthFailure.SignatureFailure", "AuthFailure.InvalidSecretId", "AuthFailure.InvalidAuthorization":
		return "the key is wrong or disabled: check the SecretId and SecretKey"
	case "AuthFailure.SignatureExpire":
		return "the clock is more than 5 minutes off: fix the machine's clock"
	case tcloud.CodeTokenFailure:
		return "the session token is wrong or expired: renew the temporary keys"
	case "InvalidParameterValue.InstanceNotExist", "InvalidParameter.InstanceNotExist", "InvalidParameter.SdkAppId", "FailedOperation.SdkAppIdNotExist":
		return "the app is not in this account: check " + function.EnvSDKAppIDs
	case "ResourceNotFound.NotExistApplication":
		return "the channel application is unknown: check " + function.EnvESSAppID
	case "UnsupportedRegion":
		return "the region is not served: check " + tcloud.EnvAPIRegion
	case "OperationDenied.FreqOverLimit", "RequestLimitExceeded":
		return "another process is calling the API (a deployed timer?): run doctor again when it is idle"
	}
	return "see README, Troubleshooting"
}

// appID returns the SdkAppId of the function's i-th app.
func (e *fnEnv) appID(i int) uint64 {
	id, _ := tcapi.ParseSDKAppID(e.fn.Config.Apps()[i]) // checked by the configuration
	return id
}

// telCall checks DescribeTelCallInfo with the first app and yesterday.
func (e *fnEnv) telCall(ctx context.Context) {
	app := e.appID(0)
	req := tcapi.TelCallInfoRequest{StartTimeStamp: e.day.Start().Unix(), EndTimeStamp: e.day.Last().Unix(), SDKAppIDList: []int64{int64(app)}}
	var resp tcapi.TelCallInfoResponse
	err := e.call(ctx, tcapi.DescribeTelCallInfo, req, &resp)
	e.report(tcapi.DescribeTelCallInfo, err, fmt.Sprintf("app %d on %s (request %s)", app, e.day, resp.RequestID))
}

// trtcKeys calls a TRTC action for one app-day and returns the answer's time keys.
func (e *fnEnv) trtcKeys(ctx context.Context, a tcapi.Action, app uint64, day calendar.Day) ([]string, string, error) {
	req := tcapi.TRTCUsageRequest{StartTime: day.String(), EndTime: day.String(), SDKAppID: &app}
	var keys []string
	if a == tcapi.DescribeTrtcInteractiveTime {
		var resp tcapi.TRTCInteractiveTimeResponse
		if err := e.call(ctx, a, tcapi.TRTCInteractiveTimeRequest(req), &resp); err != nil {
			return nil, "", err
		}
		for _, u := range resp.Usages {
			for _, p := range u.SDKAppIDTRTCTimeUsages {
				keys = append(keys, p.TimeKey)
			}
		}
		return keys, resp.RequestID, nil
	}
	var resp tcapi.TRTCUsageResponse
	if err := e.call(ctx, a, req, &resp); err != nil {
		return nil, "", err
	}
	for _, p := range resp.UsageList {
		keys = append(keys, p.TimeKey)
	}
	return keys, resp.RequestID, nil
}

// offline reports the answers that mean DescribeTrtcInteractiveTime is gone.
func offline(err error) (string, bool) {
	var ae *tcloud.APIError
	if errors.As(err, &ae) && (ae.Code == "ActionOffline" || ae.Code == "InvalidAction" || ae.Code == "InvalidAction.NotFound") {
		return ae.Code, true
	}
	return "", false
}

// trtc checks the TRTC actions the mode may call, says which is live and settles the time-key
// reading.
func (e *fnEnv) trtc(ctx context.Context, mode source.TRTCMode) {
	app := e.appID(0)
	var live tcapi.Action
	var liveKeys []string
	gone := ""
	if mode != source.TRTCUsage {
		a := tcapi.DescribeTrtcInteractiveTime
		keys, id, err := e.trtcKeys(ctx, a, app, e.day)
		code, isOffline := offline(err)
		switch {
		case isOffline && mode == source.TRTCInteractive:
			e.add(Check{Name: a.Name + " answers", Status: Fail, Detail: "the action is offline (" + code + ")",
				Fix: "set " + function.EnvTRTCAction + "=auto (or usage): DescribeTrtcUsage replaces it"})
		case isOffline:
			gone = code
			e.add(Check{Name: a.Name + " answers", Status: OK, Detail: "offline (" + code + "): trtcusage falls back to DescribeTrtcUsage"})
		case e.report(a, err, fmt.Sprintf("app %d on %s: %d points (request %s)", app, e.day, len(keys), id)):
			live, liveKeys = a, keys
		}
	}
	if mode != source.TRTCInteractive {
		a := tcapi.DescribeTrtcUsage
		keys, id, err := e.trtcKeys(ctx, a, app, e.day)
		if e.report(a, err, fmt.Sprintf("app %d on %s: %d points (request %s)", app, e.day, len(keys), id)) && live.Name == "" {
			live, liveKeys = a, keys
		}
	}
	switch {
	case live.Name == "":
		e.add(Check{Name: "live TRTC action", Status: Fail, Detail: "no TRTC action answered", Fix: "see the checks above"})
		return
	case gone != "":
		e.add(Check{Name: "live TRTC action", Status: OK, Detail: live.Name + " (DescribeTrtcInteractiveTime is " + gone + ")"})
	case mode == source.TRTCAuto:
		e.add(Check{Name: "live TRTC action", Status: OK, Detail: live.Name + " (DescribeTrtcUsage, the fallback, answers too)"})
	default:
		e.add(Check{Name: "live TRTC action", Status: OK, Detail: live.Name + " (" + function.EnvTRTCAction + "=" + string(mode) + ")"})
	}
	e.timeKeyReading(ctx, live, liveKeys)
}
