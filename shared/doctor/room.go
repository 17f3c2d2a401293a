package doctor

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// sumRooms reads DescribeTrtcRoomUsage's CSV (a header, then RoomId and usage columns) into each
// room's total over the columns. An empty Data (an app-day without rooms) is no room.
func sumRooms(data string) (roomUsage, error) {
	u := roomUsage{rooms: map[string]int64{}}
	if strings.TrimSpace(data) == "" {
		return u, nil
	}
	r := csv.NewReader(strings.NewReader(data))
	header, err := r.Read()
	if err != nil {
		return u, fmt.Errorf("room usage CSV: %w", err)
	}
	u.columns = len(header) - 1
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return u, nil
		}
		if err != nil {
			return u, fmt.Errorf("room usage CSV: %w", err)
		}
		for _, v := range rec[1:] {
			n, err := parseNumber(strings.TrimSpace(v))
			if err != nil {
				return u, fmt.Errorf("room usage CSV: room %q: a value is not a number", rec[0])
			}
			u.rooms[rec[0]] += n
		}
	}
}

// roomLimit finds out whether DescribeTrtcRoomUsage's one call per 15 s is counted per account or
// per SdkAppId: once an interval has passed since the last call, it calls for one app and, a fifth
// of the interval later, for another, unpaced and without retry. A refusal of the second
// (OperationDenied.FreqOverLimit) means per account; an answer, within the interval, per app. The
// account's next room-usage call then waits a whole interval.
func (e *fnEnv) roomLimit(ctx context.Context) {
	const name = "room usage limit"
	a := tcapi.DescribeTrtcRoomUsage
	apps := e.fn.Config.Apps()
	if len(apps) < 2 {
		e.add(Check{Name: name, Status: Warn, Detail: "not settled: it takes two SdkAppIds, and one is configured; pacing stays as configured",
			Fix: "run doctor with two apps in TCUSAGE_SDK_APP_IDS to find out"})
		return
	}
	cfg, err := tcloud.ConfigFromEnv(e.opt.Getenv)
	if err != nil {
		e.add(Check{Name: name, Status: Fail, Detail: err.Error()})
		return
	}
	every, perApp := cfg.Every(a), cfg.PerApp[a.Name]
	probe := cfg
	probe.Source, probe.Logger = e.fn.Credentials, e.opt.Logger
	probe.Retry = tcloud.RetryPolicy{MaxAttempts: 1}
	probe.Limits = map[string]tcloud.Limit{a.Name: {}}
	client, err := tcloud.New(probe)
	if err != nil {
		e.add(Check{Name: name, Status: Fail, Detail: err.Error()})
		return
	}
	// A whole interval after the last room-usage call was answered, whichever app it named: the
	// service counted it before then, so its window has passed.
	if err := e.opt.Sleep(ctx, time.Until(e.roomDone.Add(every))); err != nil {
		e.add(Check{Name: name, Status: Warn, Detail: "not settled: " + err.Error()})
		return
	}
	day := e.day
	call := func(i int) error {
		req := tcapi.TRTCRoomUsageRequest{SDKAppID: e.appID(i), StartTime: day.Start().Format(tcapi.RoomTimeLayout), EndTime: day.End().Add(-time.Minute).Format(tcapi.RoomTimeLayout)}
		return client.Call(ctx, a, req, &tcapi.TRTCRoomUsageResponse{})
	}
	started := time.Now()
	errA := call(0)
	if errA == nil {
		errA = e.opt.Sleep(ctx, every/5)
	}
	var errB error
	if errA == nil {
		errB = call(1)
	}
	spread := time.Since(started)
	// Whatever happened, the next paced call waits an interval after these.
	e.fn.Client.NotBefore(map[string]time.Time{a.Name: time.Now().Add(every)})
	e.settleLimit(name, errA, errB, spread, every, perApp, apps[0], apps[1])
}

// settleLimit reports what the two probe calls showed against the configured pacing.
func (e *fnEnv) settleLimit(name string, errA, errB error, spread, every time.Duration, perApp bool, appA, appB string) {
	var ae *tcloud.APIError
	refused := errors.As(errB, &ae) && ae.Code == "OperationDenied.FreqOverLimit"
	switch {
	case errA != nil:
		e.add(Check{Name: name, Status: Warn, Detail: "not settled: the first call failed: " + errA.Error(),
			Fix: "run doctor again when no deployed function is calling room usage"})
		return
	case errB != nil && !refused:
		e.add(Check{Name: name, Status: Warn, Detail: "not settled: the second call failed: " + errB.Error()})
		return
	case !refused && spread >= every:
		e.add(Check{Name: name, Status: Warn, Detail: fmt.Sprintf("not settled: the two calls took %s, more than the %s interval", spread.Round(time.Millisecond), every),
			Fix: "run doctor again on a faster connection"})
		return
	}
	evidence := fmt.Sprintf("a call for app %s %s after one for app %s was answered", appB, spread.Round(time.Millisecond), appA)
	if refused {
		evidence = fmt.Sprintf("a call for app %s within %s of one for app %s was refused (OperationDenied.FreqOverLimit)", appB, spread.Round(time.Millisecond), appA)
	}
	switch {
	case refused && !perApp:
		e.add(Check{Name: name, Status: OK, Detail: "per account, as paced: " + evidence})
	case refused:
		e.add(Check{Name: name, Status: Fail, Detail: "per account, but " + tcloud.EnvRoomUsageLimit + "=" + tcloud.LimitPerApp + ": " + evidence,
			Fix: "unset " + tcloud.EnvRoomUsageLimit + ": apps paced side by side would be refused"})
	case perApp:
		e.add(Check{Name: name, Status: OK, Detail: "per SdkAppId, as paced: " + evidence})
	default:
		e.add(Check{Name: name, Status: Warn, Detail: "per SdkAppId, paced per account: " + evidence,
			Fix: fmt.Sprintf("set %s=%s on roomusage: apps are then fetched side by side (up to 16 at once) instead of one every 15 s", tcloud.EnvRoomUsageLimit, tcloud.LimitPerApp)})
	}
}
