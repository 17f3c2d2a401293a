package emulator

import (
	"math"
	"slices"
	"strconv"

	"github.com/tcusage/tcusage/shared/tcapi"
)

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

// essIdleDays is the length of the stretches in which an organisation is idle or not.
const essIdleDays = 5

// ESSCount returns how many consumption records org of appID has on day, whatever the cutoff:
// Config.ESSRecordsPerDay scaled by the organisation's size (0.3 to 1.7 times), a quarter of it at
// weekends, give or take 40%; none while the organisation is idle (about one stretch of
// essIdleDays days in five).
func (d Data) ESSCount(appID, org string, day Date) int {
	a, o, n := strHash(appID), strHash(org), day.dayNumber()
	if unit(h(tagESSIdle, a, o, (n+o%essIdleDays)/essIdleDays)) < 0.2 {
		return 0
	}
	lvl := between(h(tagESSLevel, a, o), 0.3, 1.7)
	return int(math.Round(float64(d.essPerDay) * lvl * weekendFactor(day, 0.25) * between(h(tagESSCount, a, o, n), 0.6, 1.4)))
}

// ESSRecords returns one sub-customer's consumption records on one Beijing day, ordered by
// CostTime: ESSCount of them, of which those before the cutoff (see AsOf). About one in twelve is
// a refund (CostType 2, negative UseCount) of the flow just before it. It does not check that the
// app or organisation is known.
func (d Data) ESSRecords(appID, org string, day Date) []tcapi.ChannelBillUsageDetail {
	if d.state(day) == dayFuture {
		return nil
	}
	recs := essDay(appID, org, day, d.ESSCount(appID, org, day))
	if d.state(day) == dayToday {
		cut := d.asOf.Unix()
		recs = slices.DeleteFunc(recs, func(r tcapi.ChannelBillUsageDetail) bool { return r.CostTime >= cut })
	}
	return recs
}

// essDay returns the n records of one organisation-day, ordered by CostTime.
func essDay(appID, org string, day Date, n int) []tcapi.ChannelBillUsageDetail {
	base := h(tagESS, strHash(appID), strHash(org), day.dayNumber())
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
