package emulator

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"slices"
	"strconv"
	"time"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// Range limits of the actions, in days counting both ends.
const (
	telCallMaxDays = 90
	trtcMaxDays    = 31
	essMaxDays     = 31
	essMaxLimit    = 50
)

// telCall answers DescribeTelCallInfo.
func (e *Emulator) telCall(c *call, params map[string]any) (any, *apiError) {
	var req tcapi.TelCallInfoRequest
	if aerr := decodeInto(params, &req); aerr != nil {
		return nil, aerr
	}
	if req.StartTimeStamp < 0 || req.EndTimeStamp < 0 {
		return nil, errorf(CodeInvalidParameter, "StartTimeStamp and EndTimeStamp must be unix seconds.")
	}
	if req.EndTimeStamp < req.StartTimeStamp {
		return nil, errorf(CodeInvalidParameter, "EndTimeStamp must not be before StartTimeStamp.")
	}
	from, to := DateOf(time.Unix(req.StartTimeStamp, 0)), DateOf(time.Unix(req.EndTimeStamp, 0))
	if from.DaysUntil(to)+1 > telCallMaxDays {
		return nil, errorf(CodeInvalidParameter, "The query range must not exceed %d days.", telCallMaxDays)
	}
	if len(req.SDKAppIDList) == 0 {
		return nil, errorf(CodeInvalidParameter, "SdkAppIdList must not be empty.")
	}
	var apps []int64
	for _, a := range req.SDKAppIDList {
		if a <= 0 || !e.data.KnownApp(uint64(a)) {
			return nil, errorf(CodeInstanceNotExist, "The SdkAppId %d does not exist.", a)
		}
		if !slices.Contains(apps, a) {
			apps = append(apps, a)
		}
	}
	// Days after today count zero, today counts the minutes used so far (see Data.AsOf).
	sum := e.data.AsOf(e.cfg.Now()).TelCallRange(apps, from, to)
	return tcapi.TelCallInfoResponse{
		TelCallOutCount: &sum.TelCallOut, TelCallInCount: &sum.TelCallIn, SeatUsedCount: &sum.SeatUsed,
		VOIPCallInCount: &sum.VOIPCallIn, AsrOfflineCount: &sum.AsrOffline, AsrRealtimeCount: &sum.AsrRealtime,
		RequestID: c.requestID,
	}, nil
}

// trtcRange parses and checks the StartTime/EndTime/SdkAppId of the TRTC daily actions. app is 0
// when the request names no app.
func (e *Emulator) trtcRange(params map[string]any) (from, to Date, app uint64, aerr *apiError) {
	var req tcapi.TRTCInteractiveTimeRequest
	if aerr = decodeInto(params, &req); aerr != nil {
		return
	}
	var err error
	if from, err = ParseDate(req.StartTime); err != nil {
		return from, to, 0, errorf(CodeInvalidParameter, "StartTime must be a date YYYY-MM-DD.")
	}
	if to, err = ParseDate(req.EndTime); err != nil {
		return from, to, 0, errorf(CodeInvalidParameter, "EndTime must be a date YYYY-MM-DD.")
	}
	if to.Before(from) {
		return from, to, 0, errorf(CodeInvalidParameter, "EndTime must not be before StartTime.")
	}
	if from.DaysUntil(to)+1 > trtcMaxDays {
		return from, to, 0, errorf(CodeInvalidParameter, "The query range must not exceed %d days.", trtcMaxDays)
	}
	if req.SDKAppID != nil {
		app = *req.SDKAppID
		if !e.data.KnownApp(app) {
			return from, to, 0, errorf(CodeInvalidSDKAppID, "SdkAppId %d is incorrect.", app)
		}
	}
	return from, to, app, nil
}

// trtcPoints returns the points of a TRTC range as of now: 5-minute points for one day, else
// daily points. Future days have none, today only those that ended by now (see Data.AsOf).
func (e *Emulator) trtcPoints(from, to Date, app uint64) (oneDay bool, pts []TRTCPoint) {
	data := e.data.AsOf(e.cfg.Now())
	if from == to {
		return true, data.TRTC5Min(app, from)
	}
	return false, data.TRTCDaily(app, from, to)
}

// interactiveTime answers DescribeTrtcInteractiveTime.
func (e *Emulator) interactiveTime(c *call, params map[string]any) (any, *apiError) {
	from, to, app, aerr := e.trtcRange(params)
	if aerr != nil {
		return nil, aerr
	}
	oneDay, pts := e.trtcPoints(from, to, app)
	usages := make([]tcapi.SDKAppIDTRTCUsage, len(pts))
	for i, p := range pts {
		key := p.Start.Format(time.DateOnly)
		if oneDay {
			key = e.timeKey(p.Start).Format(time.DateTime)
		}
		usages[i] = tcapi.SDKAppIDTRTCUsage{
			TimeKey: key, AudioVideoTime: p.AudioVideo, AudioTime: p.Audio,
			VideoTimeSd: p.SD, VideoTimeHd: p.HD, VideoTimeHdp: p.FullHD,
		}
	}
	label := "total"
	if app != 0 {
		label = strconv.FormatUint(app, 10)
	}
	n := uint64(len(usages))
	if c.fault == FaultTruncatedSeries {
		usages = usages[:len(usages)/2] // TotalNum still counts every point
	}
	return tcapi.TRTCInteractiveTimeResponse{
		Usages:    []tcapi.OneSDKAppIDUsagesInfo{{TotalNum: &n, SDKAppIDTRTCTimeUsages: usages, SDKAppID: label}},
		RequestID: c.requestID,
	}, nil
}

// trtcUsage answers DescribeTrtcUsage.
func (e *Emulator) trtcUsage(c *call, params map[string]any) (any, *apiError) {
	from, to, app, aerr := e.trtcRange(params)
	if aerr != nil {
		return nil, aerr
	}
	oneDay, pts := e.trtcPoints(from, to, app)
	list := make([]tcapi.TRTCUsage, len(pts))
	for i, p := range pts {
		key := p.Start
		if oneDay {
			key = e.timeKey(p.Start)
		}
		list[i] = tcapi.TRTCUsage{
			TimeKey:      key.Format(time.DateTime),
			TimeStampKey: uint64(key.Unix()),
			UsageValue:   p.UsageMinutes(),
		}
	}
	return tcapi.TRTCUsageResponse{UsageKey: TRTCUsageKeys(), UsageList: list, RequestID: c.requestID}, nil
}

// timeKey is the TimeKey of the 5-minute interval starting at start: its start, or its end under
// Readings.TimeKeysLabelEnd.
func (e *Emulator) timeKey(start time.Time) time.Time {
	if e.cfg.Readings.TimeKeysLabelEnd {
		return start.Add(5 * time.Minute)
	}
	return start
}

// roomTimeLayout is the minute-precision time format of DescribeTrtcRoomUsage.
const roomTimeLayout = tcapi.RoomTimeLayout

// roomUsage answers DescribeTrtcRoomUsage.
func (e *Emulator) roomUsage(c *call, params map[string]any) (any, *apiError) {
	var req tcapi.TRTCRoomUsageRequest
	if aerr := decodeInto(params, &req); aerr != nil {
		return nil, aerr
	}
	start, err := time.ParseInLocation(roomTimeLayout, req.StartTime, beijing)
	if err != nil {
		return nil, errorf(CodeInvalidParameter, "StartTime must be YYYY-MM-DD HH:MM.")
	}
	end, err := time.ParseInLocation(roomTimeLayout, req.EndTime, beijing)
	if err != nil {
		return nil, errorf(CodeInvalidParameter, "EndTime must be YYYY-MM-DD HH:MM.")
	}
	if !start.Before(end) {
		return nil, errorf(CodeInvalidParameter, "EndTime must be after StartTime.")
	}
	if end.Sub(start) > 24*time.Hour {
		return nil, errorf(CodeInvalidParameter, "StartTime and EndTime must not be more than 24 hours apart.")
	}
	if !e.data.KnownApp(req.SDKAppID) {
		return nil, errorf(CodeSDKAppIDNotExist, "The application ID %d does not exist.", req.SDKAppID)
	}
	now := e.cfg.Now()
	earliest := DateOf(now).AddDays(-e.cfg.RoomDataDays).Start()
	if ds := e.cfg.DataStart.Start(); ds.After(earliest) {
		earliest = ds
	}
	if start.Before(earliest) {
		return nil, errorf(CodeInvalidParameter, "StartTime must not be before %s (the queryable data window).", earliest.Format(roomTimeLayout))
	}
	if start.After(now) {
		return nil, errorf(CodeInvalidParameter, "StartTime must not be in the future.")
	}
	last := end.Add(time.Minute) // the end minute is part of the window
	if e.cfg.Readings.RoomUsageEndExclusive {
		last = end
	}
	data := e.roomCSV(e.data.AsOf(now), req.SDKAppID, start, last)
	return tcapi.TRTCRoomUsageResponse{Data: &data, RequestID: c.requestID}, nil
}

// roomCSV renders the per-room CSV of app for [from, to): "" (not even a header) when the app
// has no room on the days the window touches, else a header and one line per room with usage in
// the window (only the header when none has).
func (e *Emulator) roomCSV(data Data, app uint64, from, to time.Time) string {
	if !data.hasRooms(app, from, to) {
		return ""
	}
	var buf bytes.Buffer
	buf.Grow(64 + 48*e.cfg.Rooms)
	w := csv.NewWriter(&buf)
	_ = w.Write(RoomCSVHeader()) // writes to a bytes.Buffer do not fail
	rec := make([]string, 7)
	data.eachRoom(app, from, to, func(id string, v [6]uint64) {
		rec[0] = id
		for j, x := range v {
			rec[j+1] = strconv.FormatUint(x, 10)
		}
		_ = w.Write(rec)
	})
	w.Flush()
	return buf.String()
}

// billUsage answers ChannelDescribeBillUsageDetail.
func (e *Emulator) billUsage(c *call, params map[string]any) (any, *apiError) {
	var req tcapi.BillUsageDetailRequest
	if aerr := decodeInto(params, &req); aerr != nil {
		return nil, aerr
	}
	if req.Agent.AppID == "" {
		return nil, errorf(CodeMissingParameter, "The request is missing a required parameter `Agent.AppId`.")
	}
	orgs, ok := e.cfg.ESSApps[req.Agent.AppID]
	if !ok {
		return nil, errorf(CodeNotExistApplication, "应用号不存在 (the application %s does not exist).", req.Agent.AppID)
	}
	from, err1 := time.ParseInLocation("20060102", req.StartTime, beijing)
	to, err2 := time.ParseInLocation("20060102", req.EndTime, beijing)
	if err1 != nil || err2 != nil {
		return nil, errorf(CodeInvalidTime, "非法的时间参数: StartTime and EndTime must be yyyymmdd.")
	}
	fromD, toD := DateOf(from), DateOf(to)
	if toD.Before(fromD) || fromD.DaysUntil(toD)+1 > essMaxDays {
		return nil, errorf(CodeInvalidTime, "非法的时间参数: EndTime must not be before StartTime and the span must not exceed %d days.", essMaxDays)
	}
	data := e.data.AsOf(e.cfg.Now())
	if data.state(fromD) == dayFuture {
		return nil, errorf(CodeInvalidTime, "非法的时间参数: StartTime must not be after today.")
	}
	if req.QuotaType != "" && !slices.Contains(tcapi.QuotaTypes, req.QuotaType) {
		return nil, errorf(CodeInvalidQuotaType, "非法的套餐类型 %q.", req.QuotaType)
	}
	limit := int64(essMaxLimit)
	if params["Limit"] != nil {
		limit = req.Limit
	}
	if limit < 1 || limit > essMaxLimit || req.Offset < 0 {
		return nil, errorf(CodeInvalidLimit, "分页参数不合法")
	}
	if org := req.Agent.ProxyOrganizationOpenID; org != "" {
		if !slices.Contains(orgs, org) {
			return nil, errorf(CodeFailedOperation, "子客企业不存在 (ProxyOrganizationOpenId %s is not a sub-customer of the application).", org)
		}
		orgs = []string{org}
	} else {
		orgs = slices.Sorted(slices.Values(orgs))
	}
	var all []tcapi.ChannelBillUsageDetail
	last := toD // EndTime's day is part of the range
	if e.cfg.Readings.ESSEndTimeExclusive {
		last = toD.AddDays(-1)
	}
	for d := fromD; !last.Before(d); d = d.AddDays(1) {
		for _, org := range orgs {
			for _, r := range data.ESSRecords(req.Agent.AppID, org, d) {
				if req.QuotaType == "" || r.QuotaType == req.QuotaType {
					all = append(all, r)
				}
			}
		}
	}
	slices.SortStableFunc(all, func(a, b tcapi.ChannelBillUsageDetail) int { return cmp.Compare(a.CostTime, b.CostTime) })
	total := int64(len(all))
	page := []tcapi.ChannelBillUsageDetail{}
	if pages := (total + limit - 1) / limit; req.Offset < pages {
		lo := req.Offset * limit
		page = all[lo:min(lo+limit, total)]
	}
	return tcapi.BillUsageDetailResponse{Total: &total, Details: page, RequestID: c.requestID}, nil
}
