package emulator

import (
	"hash/fnv"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// Data is the emulator's deterministic ground truth: every value is a hash of (app, day, metric),
// so the same Config always yields the same numbers, and the API answers are sums of these values.
// Tests use it to check what a client stored. A Data is immutable and safe for concurrent use.
type Data struct {
	apps      []uint64
	rooms     int
	ess       map[string][]string
	essPerDay int
}

// NewData returns the ground truth of an emulator built from cfg (defaults applied).
func NewData(cfg Config) Data {
	c := cfg.withDefaults()
	return Data{apps: c.SDKAppIDs, rooms: c.Rooms, ess: c.ESSApps, essPerDay: c.ESSRecordsPerDay}
}

// Apps returns the known CCC/TRTC SdkAppIds.
func (d Data) Apps() []uint64 { return slices.Clone(d.apps) }

// KnownApp reports whether app is a known CCC/TRTC SdkAppId.
func (d Data) KnownApp(app uint64) bool { return slices.Contains(d.apps, app) }

// ---- hashing ----

// mix is the splitmix64 finaliser.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// h hashes a few words into one.
func h(parts ...uint64) uint64 {
	x := uint64(0x6a09e667f3bcc908)
	for _, p := range parts {
		x = mix(x ^ p)
	}
	return x
}

// unit maps a hash to [0, 1).
func unit(x uint64) float64 { return float64(x>>11) / (1 << 53) }

// between maps a hash to [lo, hi).
func between(x uint64, lo, hi float64) float64 { return lo + (hi-lo)*unit(x) }

// strHash hashes a string.
func strHash(s string) uint64 {
	f := fnv.New64a()
	f.Write([]byte(s))
	return f.Sum64()
}

// metric tags keep the hash streams of different quantities apart.
const (
	tagTelOut uint64 = iota + 1
	tagTelIn
	tagSeat
	tagVOIP
	tagAsrOff
	tagAsrRT
	tagTelLevel
	tagTrtcLevel
	tagTrtcDay
	tagTrtcSlot
	tagTrtcMix
	tagRoom
	tagRoomID
	tagESS
)

// weekendFactor damps business traffic on Saturdays and Sundays.
func weekendFactor(day Date, f float64) float64 {
	switch day.Start().Weekday() {
	case time.Saturday, time.Sunday:
		return f
	}
	return 1
}

// ---- CCC DescribeTelCallInfo ----

// TelCallCounts is one app's (or a sum of apps') CCC package consumption, as DescribeTelCallInfo
// reports it: minutes, except SeatUsed (seats).
type TelCallCounts struct {
	TelCallOut  int64
	TelCallIn   int64
	SeatUsed    int64
	VOIPCallIn  int64
	AsrOffline  int64
	AsrRealtime int64
}

// Add returns the field-wise sum of c and o.
func (c TelCallCounts) Add(o TelCallCounts) TelCallCounts {
	return TelCallCounts{
		TelCallOut: c.TelCallOut + o.TelCallOut, TelCallIn: c.TelCallIn + o.TelCallIn,
		SeatUsed: c.SeatUsed + o.SeatUsed, VOIPCallIn: c.VOIPCallIn + o.VOIPCallIn,
		AsrOffline: c.AsrOffline + o.AsrOffline, AsrRealtime: c.AsrRealtime + o.AsrRealtime,
	}
}

// TelCall returns app's CCC consumption on one Beijing day. It does not check that app is known.
func (d Data) TelCall(app int64, day Date) TelCallCounts {
	a, n := uint64(app), day.dayNumber()
	lvl := between(h(tagTelLevel, a), 100, 4000)
	wk := weekendFactor(day, 0.35)
	val := func(tag uint64, scale, zeroChance float64) int64 {
		if unit(h(tag, a)) < zeroChance { // some apps never use a package
			return 0
		}
		return int64(math.Round(lvl * scale * wk * between(h(tag, a, n), 0.7, 1.3)))
	}
	return TelCallCounts{
		TelCallOut:  val(tagTelOut, 1, 0),
		TelCallIn:   val(tagTelIn, 0.45, 0.1),
		SeatUsed:    int64(math.Round(3 + lvl/80*wk*between(h(tagSeat, a, n), 0.8, 1.2))),
		VOIPCallIn:  val(tagVOIP, 0.2, 0.4),
		AsrOffline:  val(tagAsrOff, 0.05, 0.5),
		AsrRealtime: val(tagAsrRT, 0.12, 0.3),
	}
}

// TelCallRange returns what DescribeTelCallInfo answers for apps over the whole days from..to
// (inclusive): the sum over apps and days.
func (d Data) TelCallRange(apps []int64, from, to Date) TelCallCounts {
	var sum TelCallCounts
	for day := from; !to.Before(day); day = day.AddDays(1) {
		for _, a := range apps {
			sum = sum.Add(d.TelCall(a, day))
		}
	}
	return sum
}

// ---- TRTC DescribeTrtcInteractiveTime / DescribeTrtcUsage ----

// TRTCSeconds is a TRTC usage in seconds per resolution class. DescribeTrtcInteractiveTime
// reports AudioVideo, Audio, SD, HD and FullHD (as AudioVideoTime, AudioTime, VideoTimeSd,
// VideoTimeHd, VideoTimeHdp); DescribeTrtcUsage reports Audio, SD, HD, FullHD, 2K and 4K in minutes
// (see Minutes). AudioVideo (the pre-2019 billing mode) is always 0 in generated data.
type TRTCSeconds struct {
	AudioVideo uint64
	Audio      uint64
	SD         uint64
	HD         uint64
	FullHD     uint64
	TwoK       uint64
	FourK      uint64
}

// Add returns the field-wise sum of s and o.
func (s TRTCSeconds) Add(o TRTCSeconds) TRTCSeconds {
	return TRTCSeconds{
		AudioVideo: s.AudioVideo + o.AudioVideo, Audio: s.Audio + o.Audio, SD: s.SD + o.SD, HD: s.HD + o.HD,
		FullHD: s.FullHD + o.FullHD, TwoK: s.TwoK + o.TwoK, FourK: s.FourK + o.FourK,
	}
}

// UsageMinutes returns the DescribeTrtcUsage UsageValue of s, in the order of TrtcUsageKeys:
// Audio, SD, HD, FullHD, 2K, 4K, each converted with Minutes.
func (s TRTCSeconds) UsageMinutes() []float64 {
	return []float64{Minutes(s.Audio), Minutes(s.SD), Minutes(s.HD), Minutes(s.FullHD), Minutes(s.TwoK), Minutes(s.FourK)}
}

// TRTCUsageKeys returns the UsageKey of every DescribeTrtcUsage answer.
func TRTCUsageKeys() []string { return []string{"Audio", "SD", "HD", "FullHD", "2K", "4K"} }

// Minutes converts seconds to the minutes DescribeTrtcUsage reports: seconds/60 rounded to two
// decimals. Each point is converted from its own seconds, so daily minutes are not the sum of the
// rounded 5-minute minutes (they differ by at most 0.005 per point).
func Minutes(sec uint64) float64 { return math.Round(float64(sec)/60*100) / 100 }

// TRTCPoint is one 5-minute bucket, starting at Start (Beijing time).
type TRTCPoint struct {
	Start time.Time
	TRTCSeconds
}

// slotsPerDay is the number of 5-minute buckets of a day.
const slotsPerDay = 288

// diurnal is the share of the peak load at the given 5-minute slot: low at night, a morning bump
// and an evening peak.
func diurnal(slot int) float64 {
	hr := float64(slot) / 12
	f := 0.04 + 0.96*math.Exp(-(hr-20.5)*(hr-20.5)/18) + 0.45*math.Exp(-(hr-10.5)*(hr-10.5)/8)
	return math.Min(f, 1)
}

// trtcSlot returns one app's usage in one 5-minute slot of a day.
func trtcSlot(app, dayNum uint64, dayFactor float64, slot int) TRTCSeconds {
	peak := between(h(tagTrtcLevel, app), 20, 500) // concurrent participants at peak
	base := peak * dayFactor * diurnal(slot) * 300
	sl := uint64(slot)
	v := func(k uint64, share float64) uint64 {
		if share == 0 {
			return 0
		}
		return uint64(math.Round(base * share * between(h(tagTrtcSlot, app, dayNum, sl, k), 0.8, 1.2)))
	}
	audioOnly := h(tagTrtcMix, app, 0)%5 == 0
	share := func(k uint64, lo, hi float64) float64 {
		if audioOnly {
			return 0
		}
		return between(h(tagTrtcMix, app, k), lo, hi)
	}
	return TRTCSeconds{
		Audio:  v(1, 1),
		SD:     v(2, share(2, 0.2, 0.6)),
		HD:     v(3, share(3, 0.1, 0.4)),
		FullHD: v(4, share(4, 0.05, 0.2)),
		TwoK:   v(5, share(5, 0, 0.04)),
		FourK:  v(6, share(6, 0, 0.01)),
	}
}

// trtcApps returns the apps app stands for: all known apps for 0, else app itself.
func (d Data) trtcApps(app uint64) []uint64 {
	if app == 0 {
		return d.apps
	}
	return []uint64{app}
}

// TRTC5Min returns the 288 five-minute points of one day for app (0 = the sum of all known apps,
// as DescribeTrtcInteractiveTime answers without SdkAppId). It does not check that app is known.
func (d Data) TRTC5Min(app uint64, day Date) []TRTCPoint {
	n := day.dayNumber()
	start := day.Start()
	pts := make([]TRTCPoint, slotsPerDay)
	for i := range pts {
		pts[i].Start = start.Add(time.Duration(i) * 5 * time.Minute)
	}
	for _, a := range d.trtcApps(app) {
		f := weekendFactor(day, 0.8) * between(h(tagTrtcDay, a, n), 0.85, 1.15)
		for i := range pts {
			pts[i].TRTCSeconds = pts[i].TRTCSeconds.Add(trtcSlot(a, n, f, i))
		}
	}
	return pts
}

// TRTCDay returns one day's usage of app (0 = all known apps): the sum of its 5-minute points.
func (d Data) TRTCDay(app uint64, day Date) TRTCSeconds {
	var sum TRTCSeconds
	for _, p := range d.TRTC5Min(app, day) {
		sum = sum.Add(p.TRTCSeconds)
	}
	return sum
}

// ---- TRTC DescribeTrtcRoomUsage ----

// RoomUsage is one CSV row of DescribeTrtcRoomUsage: seconds per class.
type RoomUsage struct {
	RoomID string
	Audio  uint64
	SD     uint64
	HD     uint64
	FullHD uint64
	TwoK   uint64
	FourK  uint64
}

// RoomCSVHeader returns the header row of DescribeTrtcRoomUsage Data (note the lower-case "hd").
func RoomCSVHeader() []string { return []string{"RoomId", "Audio", "SD", "hd", "FullHD", "2K", "4K"} }

// roomID returns the ID of room i of app. Most IDs are numeric or plain strings; now and then one
// contains a comma or double quotes, so that CSV readers must honour quoting.
func roomID(app uint64, i int) string {
	switch {
	case i%211 == 17:
		return `say "hi" ` + strconv.Itoa(i)
	case i%47 == 11:
		return "meeting, " + strconv.Itoa(i)
	case i%3 == 0:
		return strconv.Itoa(100000 + i)
	}
	return "room_" + strconv.FormatUint(h(tagRoomID, app, uint64(i))%2176782336, 36) + "_" + strconv.Itoa(i)
}

// roomDay describes one room's activity on one day: from minute start, for dur minutes (within the
// day), with the whole day's seconds per class in v.
type roomDay struct {
	start, dur uint64
	v          [6]uint64
}

// room returns room i of app on the day with number dayNum.
func room(app, dayNum uint64, i int) roomDay {
	x := h(tagRoom, app, dayNum, uint64(i))
	start := x % 1440
	dur := 5 + mix(x)%295
	if start+dur > 1440 {
		dur = 1440 - start
	}
	people := 1 + mix(x+1)%12
	total := float64(dur * 60 * people)
	var r roomDay
	r.start, r.dur = start, dur
	// Shares of participant time per class; the audio-only share is what is left.
	sd := between(mix(x+2), 0, 0.5)
	hd := between(mix(x+3), 0, 0.3)
	fhd := between(mix(x+4), 0, 0.15)
	var k2, k4 float64
	if mix(x+5)%10 == 0 {
		k2 = between(mix(x+6), 0, 0.05)
	}
	if mix(x+7)%25 == 0 {
		k4 = between(mix(x+8), 0, 0.02)
	}
	audio := 1 - sd - hd - fhd - k2 - k4
	for j, s := range []float64{audio, sd, hd, fhd, k2, k4} {
		r.v[j] = uint64(total * s)
	}
	return r
}

// Rooms returns every room of app on one whole day, in room order. It does not check that app is
// known. Rooms(app, day) equals what DescribeTrtcRoomUsage answers for "<day> 00:00" to "<day> 23:59".
func (d Data) Rooms(app uint64, day Date) []RoomUsage {
	return d.RoomsBetween(app, day.Start(), day.AddDays(1).Start())
}

// RoomsBetween returns the per-room usage of app in [from, to), in room order, leaving out rooms
// with no usage in it. A room's day usage is spread evenly over its active minutes; a partly
// covered room gets the covered share, rounded down.
func (d Data) RoomsBetween(app uint64, from, to time.Time) []RoomUsage {
	var out []RoomUsage
	d.eachRoom(app, from, to, func(id string, v [6]uint64) {
		out = append(out, RoomUsage{RoomID: id, Audio: v[0], SD: v[1], HD: v[2], FullHD: v[3], TwoK: v[4], FourK: v[5]})
	})
	return out
}

// eachRoom calls fn for every room of app with usage in [from, to).
func (d Data) eachRoom(app uint64, from, to time.Time, fn func(id string, v [6]uint64)) {
	type span struct{ num, lo, hi uint64 } // day number, covered minutes [lo, hi)
	var spans []span
	for day := DateOf(from); day.Start().Before(to); day = day.AddDays(1) {
		lo := max(from.Sub(day.Start()), 0)
		hi := min(to.Sub(day.Start()), 24*time.Hour)
		if hi > lo {
			spans = append(spans, span{day.dayNumber(), uint64(lo / time.Minute), uint64((hi + time.Minute - 1) / time.Minute)})
		}
	}
	for i := range d.rooms {
		var sum [6]uint64
		hit := false
		for _, s := range spans {
			r := room(app, s.num, i)
			lo, hi := max(r.start, s.lo), min(r.start+r.dur, s.hi)
			if hi <= lo {
				continue
			}
			ov := hi - lo
			for j := range sum {
				sum[j] += r.v[j] * ov / r.dur
			}
			hit = true
		}
		if hit && sum != [6]uint64{} {
			fn(roomID(app, i), sum)
		}
	}
}

// ---- ESS ChannelDescribeBillUsageDetail ----

// ESSApps returns the known ESS channel AppIds, sorted.
func (d Data) ESSApps() []string {
	out := make([]string, 0, len(d.ess))
	for a := range d.ess {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}

// ESSOrgs returns the sub-customer ProxyOrganizationOpenIds of a channel app (nil if unknown).
func (d Data) ESSOrgs(appID string) []string { return slices.Clone(d.ess[appID]) }

var (
	essQuotaNames = map[string]string{
		"CloudEnterprise": "企业版合同", "SingleSignature": "单方签章", "CloudProve": "签署报告",
		"CloudOnlineSign": "腾讯会议在线签约", "ChannelWeCard": "微工卡", "SignFlow": "合同套餐",
		"SignFace": "签署意愿(人脸识别)", "SignPassword": "签署意愿(密码)", "SignSMS": "签署意愿(短信)",
		"PersonalEssAuth": "签署人实名(腾讯电子签认证)", "PersonalThirdAuth": "签署人实名(信任第三方认证)",
		"OrgEssAuth": "签署企业实名", "FlowNotify": "短信通知", "AuthService": "企业工商信息查询",
	}
	// essQuotaWeights favours the common package types.
	essQuotaWeights = []string{
		"CloudEnterprise", "CloudEnterprise", "CloudEnterprise", "CloudEnterprise", "SignFlow", "SignFlow",
		"SignFlow", "SignFace", "SignFace", "SignSMS", "SignSMS", "FlowNotify", "FlowNotify", "PersonalEssAuth",
		"SingleSignature", "CloudProve", "CloudOnlineSign", "ChannelWeCard", "SignPassword", "PersonalThirdAuth",
		"OrgEssAuth", "AuthService",
	}
	essStatuses  = []string{"ALL", "ALL", "ALL", "ALL", "PART", "INIT", "REJECT", "DEADLINE", "CANCEL", "RELIEVED", "WILLEXPIRE", "EXCEPTION"}
	essPeople    = []string{"张三", "李四", "王五", "赵六", "陈晓", "刘洋", "周婷", "吴昊"}
	essFlowKinds = []string{"劳动合同", "采购合同", "租赁合同", "保密协议", "服务协议", "授权委托书"}
	essOrgNames  = []string{"星河", "云帆", "青松", "明德", "瑞丰", "远景", "华彩", "安和"}
	flowIDChars  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// essOrgName returns the display name of a sub-customer organisation.
func essOrgName(app, org string) string {
	x := h(tagESS, strHash(app), strHash(org))
	return essOrgNames[x%uint64(len(essOrgNames))] + essOrgNames[mix(x)%uint64(len(essOrgNames))] + "科技有限公司"
}

// flowID returns a 32-character contract flow ID.
func flowID(x uint64) string {
	b := make([]byte, 32)
	for i := range b {
		x = mix(x)
		b[i] = flowIDChars[x%uint64(len(flowIDChars))]
	}
	return string(b)
}

// ESSRecords returns one sub-customer's consumption records on one Beijing day, ordered by
// CostTime. Every day has exactly Config.ESSRecordsPerDay records; about one in twelve is a refund
// (CostType 2, negative UseCount) of the flow just before it. It does not check that the app or
// organisation is known.
func (d Data) ESSRecords(appID, org string, day Date) []tcapi.ChannelBillUsageDetail {
	base := h(tagESS, strHash(appID), strHash(org), day.dayNumber())
	n := d.essPerDay
	offs := make([]int64, n)
	for j := range offs {
		// Mostly office hours, some at any time of day.
		x := h(base, uint64(j), 1)
		if x%5 == 0 {
			offs[j] = int64(x>>8) % 86400
		} else {
			offs[j] = 8*3600 + int64(x>>8)%(13*3600)
		}
	}
	slices.Sort(offs)
	orgName := essOrgName(appID, org)
	out := make([]tcapi.ChannelBillUsageDetail, n)
	for j := range out {
		x := h(base, uint64(j), 2)
		if j > 0 && out[j-1].CostType == 1 && x%12 == 0 {
			prev := out[j-1]
			prev.CostType, prev.UseCount, prev.FlowStatus, prev.Remark = 2, -prev.UseCount, "CANCEL", "合同撤销，套餐退还"
			prev.CostTime = day.Start().Unix() + offs[j]
			out[j] = prev
			continue
		}
		qt := essQuotaWeights[mix(x)%uint64(len(essQuotaWeights))]
		use := int64(1)
		if mix(x+1)%7 == 0 {
			use = 2 + int64(mix(x+2)%3)
		}
		ops := essPeople[mix(x+3)%uint64(len(essPeople))]
		if mix(x+4)%2 == 0 {
			ops += ";" + essPeople[mix(x+5)%uint64(len(essPeople))]
		}
		out[j] = tcapi.ChannelBillUsageDetail{
			FlowID:                 flowID(x),
			OperatorName:           ops,
			CreateOrganizationName: orgName,
			FlowName:               essFlowKinds[mix(x+6)%uint64(len(essFlowKinds))] + "-" + strconv.FormatUint(mix(x+7)%100000, 10),
			FlowStatus:             essStatuses[mix(x+8)%uint64(len(essStatuses))],
			QuotaType:              qt,
			UseCount:               use,
			CostTime:               day.Start().Unix() + offs[j],
			QuotaName:              essQuotaNames[qt],
			CostType:               1,
		}
	}
	return out
}
