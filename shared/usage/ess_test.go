package usage

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

func TestESSRowsOrderAndRefunds(t *testing.T) {
	rec := func(org, flow string, at, costType, count int64) ESSRecord {
		return ESSRecord{AppID: "app1", OrgOpenID: org, ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{
			FlowID: flow, FlowName: "合同 " + flow, FlowStatus: "ALL", QuotaType: "CloudEnterprise",
			QuotaName: "企业版运营礼包", OperatorName: "张三;典子谦", UseCount: count, CostTime: at, CostType: costType,
		}}
	}
	in := []ESSRecord{
		rec("org_b", "f1", 1695037514, 1, 1),
		rec("org_a", "f2", 1695037600, 2, -1),
		rec("org_a", "f1", 1695037514, 1, 1),
	}
	sorted := slices.Clone(in)
	slices.SortStableFunc(sorted, CompareESS)
	var rows []Row
	for i, r := range sorted {
		require.NoError(t, CheckESS(i, r))
		rows = append(rows, ESSRow("2023-09-18", r))
	}
	got := texts(rows)
	require.Len(t, got, 3)
	assert.Equal(t, []string{"org_a", "f1"}, got[0][2:4])
	assert.Equal(t, []string{"org_a", "f2"}, got[1][2:4])
	assert.Equal(t, []string{"org_b", "f1"}, got[2][2:4])
	assert.Equal(t, []string{"2", "-1", "2023-09-18T11:46:40Z", "1695037600"}, got[1][10:14], "refund kept with its negative count")
	assert.Equal(t, "org_b", in[0].OrgOpenID, "input is not reordered")
	assert.Len(t, rows[0], len(ESSBillSchema.Columns))
}

func TestCheckESSRejects(t *testing.T) {
	err := CheckESS(0, ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{FlowID: "f", CostType: 1}})
	assert.ErrorContains(t, err, "CostTime")
	err = CheckESS(0, ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{FlowID: "f", CostType: 3, CostTime: 1}})
	assert.ErrorContains(t, err, "CostType")
	assert.NoError(t, CheckESS(0, ESSRecord{ChannelBillUsageDetail: tcapi.ChannelBillUsageDetail{FlowID: "f", CostType: 2, CostTime: 1, UseCount: -1}}))
}
