package doctor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// Attempts at settling a reading before calling it inconclusive: days (TRTC, ESS) and
// app-days (room usage, at one call per 15 s).
const (
	readingDays     = 7
	readingRoomDays = 2
)

// settle reports what the service showed about reading rd: it reads it as found. change says what
// changes in the sources when the constant does.
func (e *fnEnv) settle(rd tcapi.Reading, found bool, evidence, change string) {
	name := "reading " + rd.Name
	if found == rd.Value {
		e.add(Check{Name: name, Status: OK, Detail: fmt.Sprintf("%s=%t confirmed: %s", rd.Name, rd.Value, evidence)})
		return
	}
	e.add(Check{Name: name, Status: Fail, Detail: fmt.Sprintf("the service disagrees with %s=%t: %s", rd.Name, rd.Value, evidence),
		Fix: fmt.Sprintf("change %s to %t in shared/tcapi/readings.go and redeploy: %s", rd.Name, !rd.Value, change)})
}

// unsettled reports that the answers could not tell.
func (e *fnEnv) unsettled(rd tcapi.Reading, why string) {
	e.add(Check{Name: "reading " + rd.Name, Status: Warn, Detail: fmt.Sprintf("not settled (%s=%t kept): %s", rd.Name, rd.Value, why),
		Fix: "run doctor again with apps or days that have usage"})
}

// timeKeyReading looks for a 5-minute key at either midnight of a day queried: "D 00:00:00"
// exists only if keys name the start of their interval, "D+1 00:00:00" only if they name its
// end. first are the keys of the first app and yesterday, already fetched.
func (e *fnEnv) timeKeyReading(ctx context.Context, a tcapi.Action, first []string) {
	rd := tcapi.ReadingTimeKeysLabels
	apps := e.fn.Config.Apps()[:min(3, len(e.fn.Config.Apps()))]
	for back := range readingDays {
		day := e.day.Add(-back)
		for i := range apps {
			keys := first
			if back > 0 || i > 0 {
				var err error
				if keys, _, err = e.trtcKeys(ctx, a, e.appID(i), day); err != nil {
					e.unsettled(rd, fmt.Sprintf("%s failed: %v", a.Name, err))
					return
				}
			}
			start := slices.Contains(keys, day.Start().Format(time.DateTime))
			end := slices.Contains(keys, day.End().Format(time.DateTime))
			where := fmt.Sprintf("%s for app %s on %s", a.Name, apps[i], day)
			switch {
			case start && end:
				e.unsettled(rd, where+" answered keys at both midnights")
				return
			case start:
				e.settle(rd, true, where+" answered a key at "+day.Start().Format(time.DateTime)+", the start of the day's first interval",
					"")
				return
			case end:
				e.settle(rd, false, where+" answered a key at "+day.End().Format(time.DateTime)+", the end of the day's last interval",
					"the key at the next midnight then counts inside the day, the one at the day's own midnight outside")
				return
			}
		}
	}
	e.unsettled(rd, fmt.Sprintf("no key at midnight in %d day(s) of %d app(s): no usage around midnight", readingDays, len(apps)))
}

// essTotal queries ChannelDescribeBillUsageDetail's first page for the whole application from
// one day to another, as sent (no reading applied).
func (e *fnEnv) essTotal(ctx context.Context, from, to calendar.Day) (total int64, costs []int64, id string, err error) {
	req := tcapi.BillUsageDetailRequest{Agent: tcapi.Agent{AppID: e.fn.Config.ESSAppID},
		StartTime: from.Start().Format(tcapi.ESSDateLayout), EndTime: to.Start().Format(tcapi.ESSDateLayout), Offset: 0, Limit: 50}
	var resp tcapi.BillUsageDetailResponse
	if err := e.call(ctx, tcapi.ChannelDescribeBillUsageDetail, req, &resp); err != nil {
		return 0, nil, "", err
	}
	if resp.Total == nil {
		return 0, nil, resp.RequestID, fmt.Errorf("answer without Total (request %s)", resp.RequestID)
	}
	for _, d := range resp.Details {
		costs = append(costs, d.CostTime)
	}
	return *resp.Total, costs, resp.RequestID, nil
}

// ess checks ChannelDescribeBillUsageDetail and settles whether EndTime includes its day: a
// one-day query (StartTime = EndTime) is compared with a two-day one. Records in the one-day
// answer, or records of the second day in the two-day answer, mean EndTime's day is included;
// none in the one-day answer while the two-day answer holds the first day's records means it is
// excluded.
func (e *fnEnv) ess(ctx context.Context) {
	rd := tcapi.ReadingESSEndTime
	for back := 1; back <= readingDays; back++ {
		d := e.day.Add(-back)
		one, _, id, err := e.essTotal(ctx, d, d)
		if back == 1 && !e.report(tcapi.ChannelDescribeBillUsageDetail, err, fmt.Sprintf("application %s on %s: %d records (request %s)", e.fn.Config.ESSAppID, d, one, id)) {
			return
		}
		if err != nil {
			e.unsettled(rd, err.Error())
			return
		}
		two, costs, _, err := e.essTotal(ctx, d, d.Add(1))
		if err != nil {
			e.unsettled(rd, err.Error())
			return
		}
		span := fmt.Sprintf("StartTime=EndTime=%s answered Total %d, StartTime=%s EndTime=%s Total %d",
			d.Start().Format(tcapi.ESSDateLayout), one, d.Start().Format(tcapi.ESSDateLayout), d.Add(1).Start().Format(tcapi.ESSDateLayout), two)
		switch {
		case one > 0:
			e.settle(rd, true, span, "")
			return
		case two > 0 && slices.ContainsFunc(costs, func(c int64) bool { return calendar.Of(time.Unix(c, 0), calendar.Zone) == d.Add(1) }):
			e.settle(rd, true, span+", with records of "+d.Add(1).String(), "")
			return
		case two > 0:
			e.settle(rd, false, span+", all of "+d.String()+": a one-day query is an empty range",
				"one-day queries then send EndTime as the next day, and every day delivered so far holds no records: backfill them")
			return
		}
	}
	e.unsettled(rd, fmt.Sprintf("no records in the %d days before %s", readingDays+1, e.day))
}

// roomUsage is DescribeTrtcRoomUsage's answer summed per room over its usage columns, and how many
// columns there are.
type roomUsage struct {
	rooms   map[string]int64
	columns int
	id      string
}

// roomCall asks for one app's rooms between two minutes, as sent.
func (e *fnEnv) roomCall(ctx context.Context, app uint64, from, to time.Time) (roomUsage, error) {
	req := tcapi.TRTCRoomUsageRequest{SDKAppID: app, StartTime: from.Format(tcapi.RoomTimeLayout), EndTime: to.Format(tcapi.RoomTimeLayout)}
	var resp tcapi.TRTCRoomUsageResponse
	err := e.call(ctx, tcapi.DescribeTrtcRoomUsage, req, &resp)
	e.roomDone = time.Now()
	if err != nil {
		return roomUsage{}, err
	}
	if resp.Data == nil {
		return roomUsage{}, fmt.Errorf("answer without Data (request %s)", resp.RequestID)
	}
	u, err := sumRooms(*resp.Data)
	u.id = resp.RequestID
	return u, err
}

// room checks DescribeTrtcRoomUsage, settles whether EndTime includes its minute, and finds out
// how its limit is counted. Each call costs 15 s of the account's room-usage budget: the reading
// takes three per app-day, at most two app-days.
func (e *fnEnv) room(ctx context.Context) {
	rd := tcapi.ReadingRoomUsageEnd
	type appDay struct {
		app int
		day calendar.Day
	}
	tries := []appDay{{0, e.day}, {0, e.day.Add(-1)}}
	if len(e.fn.Config.Apps()) > 1 {
		tries[1] = appDay{1, e.day}
	}
	for n, t := range tries {
		app, day := e.appID(t.app), t.day
		noon, last := day.Start().Add(12*time.Hour), day.End().Add(-time.Minute)
		whole, err := e.roomCall(ctx, app, day.Start(), last)
		if n == 0 && !e.report(tcapi.DescribeTrtcRoomUsage, err, fmt.Sprintf("app %d on %s: %d rooms (request %s)", app, day, len(whole.rooms), whole.id)) {
			return
		}
		am, err1 := e.roomCall(ctx, app, day.Start(), noon)
		pm, err2 := e.roomCall(ctx, app, noon, last)
		if err = firstErr(err, err1, err2); err != nil {
			e.unsettled(rd, err.Error())
			e.roomLimit(ctx)
			return
		}
		if included, evidence, ok := splitAtNoon(whole, am, pm); ok {
			e.settle(rd, included, fmt.Sprintf("app %d on %s: %s", app, day, evidence),
				"room usage then asks for D 00:00 to D+1 00:00, and the days delivered so far lack their last minute: fetch them again")
			e.roomLimit(ctx)
			return
		}
	}
	e.unsettled(rd, fmt.Sprintf("no room was active across noon in the %d app-day(s) tried", len(tries)))
	e.roomLimit(ctx)
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// splitAtNoon compares the day (00:00 to 23:59) with its halves (00:00 to 12:00, 12:00 to
// 23:59). If EndTime includes its minute, the halves both count the minute 12:00, so together
// they exceed the day by the usage of that minute in the rooms active across noon; if not, they
// add up to the day, give or take a second of rounding per room and column. ok is false when no
// room was active in both halves.
func splitAtNoon(whole, am, pm roomUsage) (included bool, evidence string, ok bool) {
	var both int64
	var diff int64
	for room := range union(whole.rooms, am.rooms, pm.rooms) {
		_, inAM := am.rooms[room]
		_, inPM := pm.rooms[room]
		if inAM && inPM {
			both++
		}
		diff += am.rooms[room] + pm.rooms[room] - whole.rooms[room]
	}
	if both == 0 {
		return false, "", false
	}
	tolerance := both * int64(max(whole.columns, am.columns, pm.columns))
	if diff > tolerance {
		return true, fmt.Sprintf("00:00-12:00 plus 12:00-23:59 count %d s more than 00:00-23:59 over %d room(s) active across noon: the minute 12:00 is counted twice, so an EndTime minute is included", diff, both), true
	}
	if diff < -tolerance {
		return false, "", false
	}
	return false, fmt.Sprintf("00:00-12:00 plus 12:00-23:59 add up to 00:00-23:59 (%+d s) over %d room(s) active across noon: an EndTime minute is excluded", diff, both), true
}

func union(ms ...map[string]int64) map[string]bool {
	out := map[string]bool{}
	for _, m := range ms {
		for k := range m {
			out[k] = true
		}
	}
	return out
}

// parseNumber reads a usage value (whole seconds; a decimal is rounded).
func parseNumber(s string) (int64, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	return int64(f + 0.5), nil
}
