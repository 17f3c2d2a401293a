// Package tcapi holds the wire models of the Tencent Cloud API 3.0 actions that tcusage reads:
// their service, version and region rules, and typed request and response bodies.
//
// The models mirror the official product SDKs (which this module does not import) so that numbers
// decode as integers and a request the emulator accepts is one the real service accepts. Only the
// fields tcusage sends or reads are declared; unknown response fields are ignored.
package tcapi

import (
	"slices"
	"strconv"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
)

// Action names one API action: what goes into X-TC-Action, X-TC-Version, the signing scope
// (Service) and X-TC-Region (Region, empty when the action does not need one), and its documented
// rate limit, which the client paces to, the emulator enforces and the demo scales.
//
// The action variables below keep the actions' own names (DescribeTrtcUsage, not
// DescribeTRTCUsage), so that they read exactly as in Tencent's documentation and in X-TC-Action.
type Action struct {
	Service string
	Version string
	Name    string
	Region  string
	// Limit is the documented rate limit, counted per account (not per key) and action.
	Limit Rate
}

// String returns "service:Version/Name", for logs and errors.
func (a Action) String() string { return a.Service + ":" + a.Version + "/" + a.Name }

// Since is the day of the action's API version (Tencent names versions after their release
// day): no data it serves can be older, so it is the earliest day worth asking for when the API
// documents no window of its own. The zero Day when the version is not a date.
func (a Action) Since() calendar.Day {
	d, _ := calendar.Parse(a.Version)
	return d
}

// Rate is a rate limit: at most Calls calls in any Per.
type Rate struct {
	Calls int
	Per   time.Duration
}

// Every is the interval between calls spaced evenly at the rate (0 for a zero Rate).
func (r Rate) Every() time.Duration {
	if r.Calls <= 0 {
		return 0
	}
	return r.Per / time.Duration(r.Calls)
}

// DefaultRate is the limit of Tencent Cloud API actions that document no other: 20 calls per
// second.
var DefaultRate = Rate{Calls: 20, Per: time.Second}

// The actions tcusage calls. TRTC actions require a region (ap-guangzhou; room usage also
// ap-singapore on the international site); CCC and ESS take none.
var (
	DescribeTelCallInfo            = Action{Service: "ccc", Version: "2020-02-10", Name: "DescribeTelCallInfo", Limit: DefaultRate}
	DescribeTrtcInteractiveTime    = Action{Service: "trtc", Version: "2019-07-22", Name: "DescribeTrtcInteractiveTime", Region: "ap-guangzhou", Limit: DefaultRate}
	DescribeTrtcUsage              = Action{Service: "trtc", Version: "2019-07-22", Name: "DescribeTrtcUsage", Region: "ap-guangzhou", Limit: Rate{Calls: 5, Per: time.Second}}
	DescribeTrtcRoomUsage          = Action{Service: "trtc", Version: "2019-07-22", Name: "DescribeTrtcRoomUsage", Region: "ap-guangzhou", Limit: Rate{Calls: 1, Per: 15 * time.Second}}
	ChannelDescribeBillUsageDetail = Action{Service: "essbasic", Version: "2021-05-26", Name: "ChannelDescribeBillUsageDetail", Limit: DefaultRate}
)

// Actions lists every action above, in a stable order.
func Actions() []Action {
	return []Action{DescribeTelCallInfo, DescribeTrtcInteractiveTime, DescribeTrtcUsage, DescribeTrtcRoomUsage, ChannelDescribeBillUsageDetail}
}

// Regions returns the regions a serves: its only region for DescribeTrtcInteractiveTime and
// DescribeTrtcUsage (ap-guangzhou), ap-guangzhou and ap-singapore for DescribeTrtcRoomUsage (the
// seed document; the Chinese site's page lists ap-guangzhou only), and nil for the actions that
// take no region (CCC, ESS: the region is optional and tcusage sends none).
func (a Action) Regions() []string {
	switch {
	case a.Region == "":
		return nil
	case a.Name == DescribeTrtcRoomUsage.Name && a.Service == DescribeTrtcRoomUsage.Service:
		return []string{"ap-guangzhou", "ap-singapore"}
	}
	return []string{a.Region}
}

// ServesRegion reports whether a can be called in region: any of its Regions, or "" (its
// default, Region) for every action.
func (a Action) ServesRegion(region string) bool {
	return region == "" || slices.Contains(a.Regions(), region)
}

// APIRegions returns every region some action of Actions serves, sorted.
func APIRegions() []string {
	var out []string
	for _, a := range Actions() {
		out = append(out, a.Regions()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// ActionNamed returns the action called name.
func ActionNamed(name string) (Action, bool) {
	for _, a := range Actions() {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// ---- CCC DescribeTelCallInfo (ccc 2020-02-10) ----

// TelCallInfoRequest asks for the call-package consumption of the apps in SdkAppIDList between two
// unix timestamps (day granularity: 00:00:00 to 23:59:59 local; at most 90 days). With several apps
// the answer is their sum.
type TelCallInfoRequest struct {
	StartTimeStamp int64   `json:"StartTimeStamp"`
	EndTimeStamp   int64   `json:"EndTimeStamp"`
	SDKAppIDList   []int64 `json:"SdkAppIdList"`
}

// TelCallInfoResponse is the answer of DescribeTelCallInfo. Counts are minutes, except
// SeatUsedCount, which counts seats (agents) used.
type TelCallInfoResponse struct {
	TelCallOutCount  *int64 `json:"TelCallOutCount"`
	TelCallInCount   *int64 `json:"TelCallInCount"`
	SeatUsedCount    *int64 `json:"SeatUsedCount"`
	VOIPCallInCount  *int64 `json:"VOIPCallInCount"`
	AsrOfflineCount  *int64 `json:"AsrOfflineCount"`
	AsrRealtimeCount *int64 `json:"AsrRealtimeCount"`
	RequestID        string `json:"RequestId"`
}

// ---- TRTC DescribeTrtcInteractiveTime (trtc 2019-07-22, removed from the SDKs in 2022) ----

// TRTCInteractiveTimeRequest asks for billable interaction durations between two dates
// (YYYY-MM-DD, at most 31 days). SdkAppID is optional: without it the answer is the total.
type TRTCInteractiveTimeRequest struct {
	StartTime string  `json:"StartTime"`
	EndTime   string  `json:"EndTime"`
	SDKAppID  *uint64 `json:"SdkAppId,omitempty"`
}

// TRTCInteractiveTimeResponse is the answer of DescribeTrtcInteractiveTime.
type TRTCInteractiveTimeResponse struct {
	Usages    []OneSDKAppIDUsagesInfo `json:"Usages"`
	RequestID string                  `json:"RequestId"`
}

// OneSDKAppIDUsagesInfo holds one app's points. SdkAppID is a string: "total" when the request
// named no app.
type OneSDKAppIDUsagesInfo struct {
	TotalNum               *uint64             `json:"TotalNum,omitempty"`
	SDKAppIDTRTCTimeUsages []SDKAppIDTRTCUsage `json:"SdkAppIdTrtcTimeUsages"`
	SDKAppID               string              `json:"SdkAppId"`
}

// SDKAppIDTRTCUsage is one point: 5-minute ("YYYY-MM-DD HH:MM:SS") for a one-day query, daily
// ("YYYY-MM-DD") otherwise. Durations are seconds.
type SDKAppIDTRTCUsage struct {
	TimeKey        string `json:"TimeKey"`
	AudioVideoTime uint64 `json:"AudioVideoTime"`
	AudioTime      uint64 `json:"AudioTime"`
	VideoTimeSd    uint64 `json:"VideoTimeSd"`
	VideoTimeHd    uint64 `json:"VideoTimeHd"`
	VideoTimeHdp   uint64 `json:"VideoTimeHdp"`
}

// ---- TRTC DescribeTrtcUsage (trtc 2019-07-22, the replacement; 5 requests/s) ----

// TRTCUsageRequest asks for usage between two dates (YYYY-MM-DD, at most 31 days). SdkAppID is
// optional.
type TRTCUsageRequest struct {
	StartTime string  `json:"StartTime"`
	EndTime   string  `json:"EndTime"`
	SDKAppID  *uint64 `json:"SdkAppId,omitempty"`
}

// TRTCUsageResponse is the answer of DescribeTrtcUsage: UsageKey names the columns of every
// UsageValue (for example Audio, SD, HD, FullHD, 2K, 4K); values are minutes.
type TRTCUsageResponse struct {
	UsageKey  []string    `json:"UsageKey"`
	UsageList []TRTCUsage `json:"UsageList"`
	RequestID string      `json:"RequestId"`
}

// TRTCUsage is one point: TimeKey "YYYY-MM-DD HH:MM:SS" and TimeStampKey its unix time.
type TRTCUsage struct {
	TimeKey      string    `json:"TimeKey"`
	TimeStampKey uint64    `json:"TimeStampKey"`
	UsageValue   []float64 `json:"UsageValue"`
}

// ---- TRTC DescribeTrtcRoomUsage (trtc 2019-07-22; one call per 15 s) ----

// TRTCRoomUsageRequest asks for per-room usage of one app between two minutes
// ("YYYY-MM-DD HH:MM", at most 24 hours apart). Note the JSON key SdkAppid.
type TRTCRoomUsageRequest struct {
	SDKAppID  uint64 `json:"SdkAppid"`
	StartTime string `json:"StartTime"`
	EndTime   string `json:"EndTime"`
}

// AppRequest is a request naming one app, so that an action whose rate limit is counted per app
// can be paced per app (TCUSAGE_ROOM_USAGE_LIMIT=per-app).
type AppRequest interface {
	RequestApp() string
}

// RequestApp implements AppRequest.
func (r TRTCRoomUsageRequest) RequestApp() string { return strconv.FormatUint(r.SDKAppID, 10) }

// TRTCRoomUsageResponse is the answer of DescribeTrtcRoomUsage: Data is CSV with a header row
// (RoomId then usage columns, in seconds).
type TRTCRoomUsageResponse struct {
	Data      *string `json:"Data"`
	RequestID string  `json:"RequestId"`
}

// ---- ESS ChannelDescribeBillUsageDetail (essbasic 2021-05-26) ----

// Agent identifies the channel application and, optionally, one sub-customer organisation.
type Agent struct {
	AppID                   string    `json:"AppId"`
	ProxyOrganizationOpenID string    `json:"ProxyOrganizationOpenId,omitempty"`
	ProxyOperator           *UserInfo `json:"ProxyOperator,omitempty"`
}

// UserInfo names an operator by its open ID.
type UserInfo struct {
	OpenID string `json:"OpenId,omitempty"`
}

// BillUsageDetailRequest asks for one page of package consumption records between two days
// (yyyymmdd, at most 31 days). Offset is a page number from 0; Limit is at most 50.
type BillUsageDetailRequest struct {
	Agent     Agent  `json:"Agent"`
	StartTime string `json:"StartTime"`
	EndTime   string `json:"EndTime"`
	QuotaType string `json:"QuotaType,omitempty"`
	Offset    int64  `json:"Offset"`
	Limit     int64  `json:"Limit"`
}

// BillUsageDetailResponse is one page of ChannelDescribeBillUsageDetail.
type BillUsageDetailResponse struct {
	Total     *int64                   `json:"Total"`
	Details   []ChannelBillUsageDetail `json:"Details"`
	RequestID string                   `json:"RequestId"`
}

// ChannelBillUsageDetail is one consumption record. UseCount is negative for refunds
// (CostType 2); CostTime is unix seconds.
type ChannelBillUsageDetail struct {
	FlowID                 string `json:"FlowId"`
	OperatorName           string `json:"OperatorName"`
	CreateOrganizationName string `json:"CreateOrganizationName"`
	FlowName               string `json:"FlowName"`
	FlowStatus             string `json:"FlowStatus"`
	QuotaType              string `json:"QuotaType"`
	UseCount               int64  `json:"UseCount"`
	CostTime               int64  `json:"CostTime"`
	QuotaName              string `json:"QuotaName"`
	CostType               int64  `json:"CostType"`
	Remark                 string `json:"Remark"`
}

// QuotaTypes is the documented QuotaType enum of ChannelDescribeBillUsageDetail.
var QuotaTypes = []string{
	"CloudEnterprise", "SingleSignature", "CloudProve", "CloudOnlineSign", "ChannelWeCard", "SignFlow",
	"SignFace", "SignPassword", "SignSMS", "PersonalEssAuth", "PersonalThirdAuth", "OrgEssAuth",
	"FlowNotify", "AuthService",
}
