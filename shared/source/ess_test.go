package source

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/tcloud"
	"github.com/tcusage/tcusage/shared/usage"
)

// pages is a Caller that answers ChannelDescribeBillUsageDetail from a script: answer(n, req)
// gives the n-th call's Total and records.
type pages struct {
	calls  []tcapi.BillUsageDetailRequest
	answer func(n int, req tcapi.BillUsageDetailRequest) (int64, int)
	// edit, when set, changes record idx of the answer.
	edit func(idx int, d *tcapi.ChannelBillUsageDetail)
}

func (p *pages) Call(_ context.Context, a tcapi.Action, req, resp any) error {
	r := req.(tcapi.BillUsageDetailRequest)
	p.calls = append(p.calls, r)
	total, n := p.answer(len(p.calls)-1, r)
	out := resp.(*tcapi.BillUsageDetailResponse)
	out.Total = &total
	out.RequestID = fmt.Sprintf("req-%d", len(p.calls))
	for i := 0; i < n; i++ {
		idx := int(r.Offset)*ESSPageSize + i
		d := tcapi.ChannelBillUsageDetail{
			FlowID: fmt.Sprintf("flow-%04d", idx), CostTime: 1700000000 + int64(idx), CostType: 1, UseCount: 1, QuotaType: "SignFlow",
		}
		if p.edit != nil {
			p.edit(idx, &d)
		}
		out.Details = append(out.Details, d)
	}
	return nil
}

type rowCounter struct{ rows int }

func (c *rowCounter) WriteRow(usage.Row) error { c.rows++; return nil }
func (c *rowCounter) Close() error             { return nil }

func essQuery(w *rowCounter, opened *int) Query {
	return Query{Day: calendar.Date(2024, 5, 9), App: "app1",
		Open: func([]string) (usage.RowWriter, error) { *opened++; return w, nil }}
}

// full answers pages of a fixed Total.
func full(total int64) func(int, tcapi.BillUsageDetailRequest) (int64, int) {
	return func(_ int, r tcapi.BillUsageDetailRequest) (int64, int) {
		left := total - r.Offset*ESSPageSize
		return total, int(max(0, min(left, ESSPageSize)))
	}
}

func TestESSPagesUntilTotal(t *testing.T) {
	for _, total := range []int64{0, 1, 50, 51, 120} {
		t.Run(fmt.Sprint(total), func(t *testing.T) {
			p := &pages{answer: full(total)}
			var w rowCounter
			opened := 0
			res, err := (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
			require.NoError(t, err)
			assert.Equal(t, total, res.Rows)
			assert.Equal(t, int(total), w.rows)
			assert.Equal(t, 1, opened)
			wantCalls := max(1, int((total+ESSPageSize-1)/ESSPageSize))
			require.Len(t, p.calls, wantCalls)
			for i, c := range p.calls {
				assert.Equal(t, int64(i), c.Offset, "Offset is a page number")
				assert.Equal(t, int64(ESSPageSize), c.Limit)
				assert.Equal(t, "20240509", c.StartTime)
				assert.Equal(t, "20240509", c.EndTime)
				assert.Equal(t, "app1", c.Agent.AppID)
			}
			assert.Len(t, res.RequestIDs, wantCalls)
			assert.Equal(t, usage.ESSChecks("app1", total, total, 0, ""), res.Checks)
			assert.Equal(t, usage.CheckOK, usage.Worst(res.Checks))
		})
	}
}

// A refund is negative, a deduction positive: a record with the other sign is delivered and
// flagged, naming the first.
func TestESSFlagsImplausibleSigns(t *testing.T) {
	p := &pages{answer: full(60), edit: func(idx int, d *tcapi.ChannelBillUsageDetail) {
		switch idx {
		case 7:
			d.CostType, d.UseCount = 2, -1 // a refund: fine
		case 12, 55:
			d.UseCount = -2 // a deduction below zero
		}
	}}
	var w rowCounter
	opened := 0
	res, err := (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
	require.NoError(t, err)
	assert.Equal(t, int64(60), res.Rows)
	require.Len(t, res.Checks, 2)
	assert.Equal(t, usage.Check{Name: usage.CheckRowsMatchTotal, App: "app1", Status: usage.CheckOK, Detail: "Total 60, 60 rows"}, res.Checks[0])
	assert.Equal(t, usage.Check{Name: usage.CheckRefundSigns, App: "app1", Status: usage.CheckWarn,
		Detail: `2 record(s) whose use_count has the wrong sign for their cost_type, first flow "flow-0012" (cost_type 1, use_count -2)`}, res.Checks[1])
}

// By sub-customer, the app of a query is the sub-customer, asked for under the channel
// application; otherwise it is the application itself.
func TestESSBySubCustomer(t *testing.T) {
	p := &pages{answer: full(3)}
	var w rowCounter
	opened := 0
	q := essQuery(&w, &opened)
	q.App = "org_b"
	res, err := (&ESSBill{AppID: "app1", ByOrg: true, QuotaType: "SignFace"}).Fetch(context.Background(), p, q)
	require.NoError(t, err)
	assert.Equal(t, int64(3), res.Rows)
	require.Len(t, p.calls, 1)
	assert.Equal(t, tcapi.Agent{AppID: "app1", ProxyOrganizationOpenID: "org_b"}, p.calls[0].Agent)
	assert.Equal(t, "SignFace", p.calls[0].QuotaType)

	p = &pages{answer: full(3)}
	_, err = (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
	require.NoError(t, err)
	assert.Equal(t, tcapi.Agent{AppID: "app1"}, p.calls[0].Agent)
}

func TestESSRestartsWhenTotalChanges(t *testing.T) {
	// Total grows from 60 to 61 between pages 0 and 1: paging starts over and reads 61.
	p := &pages{answer: func(n int, r tcapi.BillUsageDetailRequest) (int64, int) {
		if n == 0 {
			return full(60)(n, r)
		}
		return full(61)(n, r)
	}}
	var w rowCounter
	opened := 0
	res, err := (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
	require.NoError(t, err)
	assert.Equal(t, int64(61), res.Rows)
	assert.Len(t, p.calls, 4, "page 0 (60), page 1 (61: restart), pages 0 and 1 again")
}

func TestESSGivesUpWhenTotalKeepsChanging(t *testing.T) {
	p := &pages{answer: func(n int, r tcapi.BillUsageDetailRequest) (int64, int) {
		return full(int64(60+n))(n, r)
	}}
	var w rowCounter
	opened := 0
	_, err := (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Total kept changing")
	assert.Zero(t, opened, "nothing is written")
}

func TestESSRefusesShortAndOverfullPages(t *testing.T) {
	for name, answer := range map[string]func(int, tcapi.BillUsageDetailRequest) (int64, int){
		"short page":      func(int, tcapi.BillUsageDetailRequest) (int64, int) { return 120, 30 },
		"empty page":      func(int, tcapi.BillUsageDetailRequest) (int64, int) { return 10, 0 },
		"more than total": func(int, tcapi.BillUsageDetailRequest) (int64, int) { return 2, 5 },
		"over page size":  func(int, tcapi.BillUsageDetailRequest) (int64, int) { return 500, 60 },
		"negative total":  func(int, tcapi.BillUsageDetailRequest) (int64, int) { return -1, 0 },
	} {
		t.Run(name, func(t *testing.T) {
			p := &pages{answer: answer}
			var w rowCounter
			opened := 0
			_, err := (&ESSBill{}).Fetch(context.Background(), p, essQuery(&w, &opened))
			require.Error(t, err)
			assert.Contains(t, err.Error(), "request req-")
			assert.Zero(t, opened, "nothing is written")
		})
	}
}

// trtcCloud answers the old TRTC action until offlineAfter calls, then ActionOffline.
type trtcCloud struct {
	calls        []string
	offlineAfter int
}

func (c *trtcCloud) Call(_ context.Context, a tcapi.Action, req, resp any) error {
	c.calls = append(c.calls, a.Name)
	switch out := resp.(type) {
	case *tcapi.TRTCInteractiveTimeResponse:
		if len(c.calls) > c.offlineAfter {
			return &tcloud.APIError{Action: a.Name, Code: "ActionOffline", Message: "接口已下线", RequestID: "r-off"}
		}
		out.Usages = []tcapi.OneSDKAppIDUsagesInfo{{SDKAppID: "7", SDKAppIDTRTCTimeUsages: []tcapi.SDKAppIDTRTCUsage{{TimeKey: "2024-05-09 00:05:00", AudioTime: 60}}}}
	case *tcapi.TRTCUsageResponse:
		out.UsageKey = []string{"Audio"}
		out.UsageList = []tcapi.TRTCUsage{{TimeKey: "2024-05-09 00:05:00", UsageValue: []float64{1}}}
	}
	return nil
}

func TestTrtcFallsBackWhenTheOldActionGoesOfflineLater(t *testing.T) {
	c := &trtcCloud{offlineAfter: 1}
	src := &TRTC{Mode: TRTCAuto}
	var w rowCounter
	opened := 0
	q := essQuery(&w, &opened)
	q.App = "7"
	res, err := src.Fetch(context.Background(), c, q)
	require.NoError(t, err)
	assert.Equal(t, "DescribeTrtcInteractiveTime", res.Action.Name)

	res, err = src.Fetch(context.Background(), c, q)
	require.NoError(t, err)
	assert.Equal(t, "DescribeTrtcUsage", res.Action.Name)
	assert.Equal(t, "ActionOffline", res.Details["fallback_reason"])

	res, err = src.Fetch(context.Background(), c, q)
	require.NoError(t, err)
	assert.Equal(t, "DescribeTrtcUsage", res.Action.Name)
	assert.Equal(t, []string{"DescribeTrtcInteractiveTime", "DescribeTrtcInteractiveTime", "DescribeTrtcUsage", "DescribeTrtcUsage"}, c.calls)
}

// rowCapture keeps the rows written.
type rowCapture struct{ rows []usage.Row }

func (c *rowCapture) WriteRow(r usage.Row) error {
	c.rows = append(c.rows, slices.Clone(r))
	return nil
}
func (c *rowCapture) Close() error { return nil }

// TestESSLargeDaySpillsAndKeepsTheOrder pages a sub-customer whose records exceed what is kept in
// memory, with many ties, and checks the rows against the stable in-memory sort of every record.
func TestESSLargeDaySpillsAndKeepsTheOrder(t *testing.T) {
	const perOrg = 2*essRunSize + 700
	record := func(org string, i int) tcapi.ChannelBillUsageDetail {
		return tcapi.ChannelBillUsageDetail{
			FlowID: fmt.Sprintf("flow-%03d", (i*7919)%300), CostTime: 1700000000 + int64((i*104729)%500),
			CostType: 1 + int64(i%2), UseCount: int64(i%3) - 1, QuotaType: "SignFlow", Remark: org,
		}
	}
	var calls int
	api := callerFunc(func(req tcapi.BillUsageDetailRequest, out *tcapi.BillUsageDetailResponse) {
		calls++
		total := int64(perOrg)
		out.Total = &total
		for i := req.Offset * ESSPageSize; i < min(total, (req.Offset+1)*ESSPageSize); i++ {
			out.Details = append(out.Details, record(req.Agent.ProxyOrganizationOpenID, int(i)))
		}
	})
	orgs := []string{"org_c"}
	var got rowCapture
	tmp := t.TempDir()
	q := Query{Day: calendar.Date(2024, 5, 9), App: "org_c", TempDir: tmp, Open: func([]string) (usage.RowWriter, error) { return &got, nil }}
	res, err := (&ESSBill{AppID: "app1", ByOrg: true}).Fetch(context.Background(), api, q)
	require.NoError(t, err)
	assert.Equal(t, int64(perOrg), res.Rows)

	var all []usage.ESSRecord
	for _, org := range orgs {
		for i := 0; i < perOrg; i++ {
			all = append(all, usage.ESSRecord{AppID: "app1", OrgOpenID: org, ChannelBillUsageDetail: record(org, i)})
		}
	}
	slices.SortStableFunc(all, usage.CompareESS)
	var want []usage.Row
	for _, r := range all {
		want = append(want, usage.ESSRow("2024-05-09", r))
	}
	require.Equal(t, len(want), len(got.rows))
	assert.Equal(t, want, got.rows)
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	assert.Empty(t, left, "run files are removed")
}

// callerFunc answers ChannelDescribeBillUsageDetail with fn.
type callerFunc func(tcapi.BillUsageDetailRequest, *tcapi.BillUsageDetailResponse)

func (f callerFunc) Call(_ context.Context, _ tcapi.Action, req, resp any) error {
	f(req.(tcapi.BillUsageDetailRequest), resp.(*tcapi.BillUsageDetailResponse))
	return nil
}
