package usage

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// ESSBillSchema is the essbill dataset: every package consumption record of an ESS channel
// application's sub-customers, per day (ESS ChannelDescribeBillUsageDetail).
var ESSBillSchema = Schema{
	Dataset:     "essbill",
	Version:     "v2",
	Description: "Tencent Electronic Signature (ESS) channel package consumption records per day (essbasic ChannelDescribeBillUsageDetail). Refunds are kept as records with cost_type 2 and a negative use_count. The `app=` partition is the sub-customer (ProxyOrganizationOpenId) when sub-customers are configured, else the channel application.",
	Earlier: []Earlier{{
		Version: "v1",
		Change: "v2 gives each configured sub-customer its own `app=<ProxyOrganizationOpenId>` partition (v1 had one `app=<AppId>` " +
			"file per day with every sub-customer in it), so that a channel of tens of thousands of sub-customers is fetched, " +
			"committed and resumed a sub-customer at a time. Columns, values and row order within a sub-customer are unchanged.",
	}},
	Columns: []Column{
		{Name: "date", Type: TypeDate, Description: "The day queried (yyyymmdd in the API): a China Standard Time (UTC+8) day, as the API counts days."},
		{Name: "app_id", Type: TypeString, Description: "The channel application (Agent.AppId)."},
		{Name: "proxy_organization_open_id", Type: TypeString, Description: "The sub-customer queried (Agent.ProxyOrganizationOpenId); empty when the whole application was queried."},
		{Name: "flow_id", Type: TypeString, Description: "Contract flow ID (FlowId)."},
		{Name: "flow_name", Type: TypeString, Description: "Contract name (FlowName)."},
		{Name: "flow_status", Type: TypeString, Description: "Contract status (FlowStatus): INIT, PART, REJECT, ALL, DEADLINE, CANCEL, RELIEVED, WILLEXPIRE, EXCEPTION."},
		{Name: "create_organization_name", Type: TypeString, Description: "Organisation that initiated the contract (CreateOrganizationName)."},
		{Name: "operator_name", Type: TypeString, Description: "Handler name(s), `;`-separated (OperatorName)."},
		{Name: "quota_type", Type: TypeString, Description: "Package type (QuotaType), e.g. CloudEnterprise, SignFace."},
		{Name: "quota_name", Type: TypeString, Description: "Package name (QuotaName)."},
		{Name: "cost_type", Type: TypeInt64, Description: "1 = deduction, 2 = revocation/refund (CostType)."},
		{Name: "use_count", Type: TypeInt64, Unit: "unit", Description: "Units consumed; negative for refunds (UseCount).", Measure: true, Signed: true},
		{Name: "cost_time", Type: TypeTimestamp, Description: "Time of consumption, RFC 3339 UTC (from CostTime)."},
		{Name: "cost_time_unix", Type: TypeInt64, Unit: "second", Instant: true, Description: "Time of consumption, unix seconds (CostTime)."},
		{Name: "remark", Type: TypeString, Description: "Note (Remark), often empty."},
	},
	Checks: []CheckSpec{
		{Name: CheckRowsMatchTotal, Description: "per sub-customer (app), the rows written equal the API's Total; fail when they differ."},
		{Name: CheckRefundSigns, Description: "warn when a deduction (cost_type 1) has a negative use_count or a refund (cost_type 2) a positive one."}},
}

// ESSRecord is one consumption record with the query that produced it.
type ESSRecord struct {
	AppID     string
	OrgOpenID string
	tcapi.ChannelBillUsageDetail
}

// CheckESS validates record i of an app-day: it needs a CostTime, and a CostType of 1 or 2.
func CheckESS(i int, r ESSRecord) error {
	switch {
	case r.CostTime <= 0:
		return fmt.Errorf("ESS record %d (flow %q) has no CostTime", i, r.FlowID)
	case r.CostType != 1 && r.CostType != 2:
		return fmt.Errorf("ESS record %d (flow %q) has CostType %d, want 1 or 2", i, r.FlowID, r.CostType)
	}
	return nil
}

// CompareESS orders ESS records: by application, organisation, time, flow, package, cost type,
// then every other field.
func CompareESS(a, b ESSRecord) int {
	return cmp.Or(
		strings.Compare(a.AppID, b.AppID),
		strings.Compare(a.OrgOpenID, b.OrgOpenID),
		cmp.Compare(a.CostTime, b.CostTime),
		strings.Compare(a.FlowID, b.FlowID),
		strings.Compare(a.QuotaType, b.QuotaType),
		cmp.Compare(a.CostType, b.CostType),
		cmp.Compare(a.UseCount, b.UseCount),
		strings.Compare(a.QuotaName, b.QuotaName),
		strings.Compare(a.FlowName, b.FlowName),
		strings.Compare(a.FlowStatus, b.FlowStatus),
		strings.Compare(a.OperatorName, b.OperatorName),
		strings.Compare(a.CreateOrganizationName, b.CreateOrganizationName),
		strings.Compare(a.Remark, b.Remark),
	)
}

// ESSRow converts one record into a row of the essbill dataset.
func ESSRow(date string, r ESSRecord) Row {
	return Row{
		Str(date), Str(r.AppID), Str(r.OrgOpenID), Str(r.FlowID), Str(r.FlowName), Str(r.FlowStatus),
		Str(r.CreateOrganizationName), Str(r.OperatorName), Str(r.QuotaType), Str(r.QuotaName),
		Int(r.CostType), Int(r.UseCount), Str(time.Unix(r.CostTime, 0).UTC().Format(time.RFC3339)),
		Int(r.CostTime), Str(r.Remark),
	}
}

// ESSSignPlausible reports whether a record's UseCount has its CostType's sign: a deduction
// (CostType 1) is not negative, a refund (CostType 2) not positive.
func ESSSignPlausible(r ESSRecord) bool {
	return r.CostType == 1 && r.UseCount >= 0 || r.CostType == 2 && r.UseCount <= 0
}

// ESSChecks returns the quality checks of an organisation-day (app) of essbill: the rows written
// against the API's Total (CheckRowsMatchTotal: fail when they differ), and how many records had
// an implausible sign (CheckRefundSigns: a warning naming the first).
func ESSChecks(app string, total, rows int64, badSigns int64, firstBad string) []Check {
	rowsCheck := Check{Name: CheckRowsMatchTotal, App: app, Status: CheckOK, Detail: fmt.Sprintf("Total %d, %d rows", total, rows)}
	if total != rows {
		rowsCheck.Status = CheckFail
	}
	signs := Check{Name: CheckRefundSigns, App: app, Status: CheckOK}
	if badSigns > 0 {
		signs.Status = CheckWarn
		signs.Detail = fmt.Sprintf("%d record(s) whose use_count has the wrong sign for their cost_type, first %s", badSigns, firstBad)
	}
	return []Check{rowsCheck, signs}
}
