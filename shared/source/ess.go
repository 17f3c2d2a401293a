package source

import (
	"context"
	"fmt"
	"strings"

	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// ESSPageSize is the largest page ChannelDescribeBillUsageDetail serves.
const ESSPageSize = 50

// essMaxRestarts bounds how often paging starts over when Total changes under it.
const essMaxRestarts = 3

// ESSBill is ESS ChannelDescribeBillUsageDetail for one channel application (the app of every
// query is Agent.AppId): one paged query per configured sub-customer, or one for the whole
// application when none is configured.
type ESSBill struct {
	// OrgOpenIDs are the sub-customers (Agent.ProxyOrganizationOpenId) to query one by one.
	OrgOpenIDs []string
	// QuotaType optionally filters by package type.
	QuotaType string
}

var _ Source = (*ESSBill)(nil)

// Schema implements Source.
func (*ESSBill) Schema() usage.Schema { return usage.ESSBillSchema }

// Action implements Source.
func (*ESSBill) Action() tcapi.Action { return tcapi.ChannelDescribeBillUsageDetail }

// Earliest implements Source: the action appeared in November 2023.
func (*ESSBill) Earliest(string) string { return "" }

// CallsPerApp implements Source: at least one page per organisation.
func (e *ESSBill) CallsPerApp() int { return max(1, len(e.OrgOpenIDs)) }

// Fetch implements Source. It pages through everything: Offset is a page number from 0 and
// Limit 50, until Total records are in. A Total that changes between pages makes it start that
// organisation over (a few times at most); a short or empty page before Total is reached, or
// more records than Total, is an error.
func (e *ESSBill) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	orgs := e.OrgOpenIDs
	if len(orgs) == 0 {
		orgs = []string{""}
	}
	var recs []usage.ESSRecord
	var ids []string
	for _, org := range orgs {
		got, reqIDs, err := e.fetchOrg(ctx, api, q, org)
		if err != nil {
			return Result{}, err
		}
		recs = append(recs, got...)
		ids = append(ids, reqIDs...)
	}
	if err := usage.SortESS(recs); err != nil {
		return Result{}, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s: %w", q.App, q.Date, err)
	}
	cols := usage.ESSBillSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return Result{}, err
	}
	for _, r := range recs {
		if err := w.WriteRow(usage.ESSRow(q.Date, r)); err != nil {
			w.Close()
			return Result{}, fmt.Errorf("write rows: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return Result{}, fmt.Errorf("write rows: %w", err)
	}
	return Result{Rows: int64(len(recs)), Columns: cols, RequestIDs: ids, Action: tcapi.ChannelDescribeBillUsageDetail}, nil
}

func (e *ESSBill) fetchOrg(ctx context.Context, api Caller, q Query, org string) ([]usage.ESSRecord, []string, error) {
	day := strings.ReplaceAll(q.Date, "-", "")
	what := q.App
	if org != "" {
		what += " organisation " + org
	}
	var ids []string
	for restart := 0; ; restart++ {
		var recs []usage.ESSRecord
		total := int64(-1)
		changed := false
		for page := int64(0); total < 0 || int64(len(recs)) < total; page++ {
			req := tcapi.BillUsageDetailRequest{
				Agent:     tcapi.Agent{AppID: q.App, ProxyOrganizationOpenID: org},
				StartTime: day, EndTime: day, QuotaType: e.QuotaType,
				Offset: page, Limit: ESSPageSize,
			}
			var resp tcapi.BillUsageDetailResponse
			if err := api.Call(ctx, tcapi.ChannelDescribeBillUsageDetail, req, &resp); err != nil {
				return nil, nil, err
			}
			ids = append(ids, resp.RequestID)
			if resp.Total == nil || *resp.Total < 0 {
				return nil, nil, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has no valid Total (request %s)", what, q.Date, page, resp.RequestID)
			}
			if total >= 0 && *resp.Total != total {
				changed = true
				break
			}
			total = *resp.Total
			if int64(len(resp.Details)) > ESSPageSize {
				return nil, nil, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has %d records, more than the page size %d (request %s)", what, q.Date, page, len(resp.Details), ESSPageSize, resp.RequestID)
			}
			remaining := total - int64(len(recs))
			if want := min(remaining, ESSPageSize); int64(len(resp.Details)) != want {
				return nil, nil, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has %d records, want %d of Total %d (request %s)", what, q.Date, page, len(resp.Details), want, total, resp.RequestID)
			}
			for _, d := range resp.Details {
				recs = append(recs, usage.ESSRecord{AppID: q.App, OrgOpenID: org, ChannelBillUsageDetail: d})
			}
		}
		if !changed {
			return recs, ids, nil
		}
		if restart >= essMaxRestarts {
			return nil, nil, fmt.Errorf("ChannelDescribeBillUsageDetail for %s on %s: Total kept changing while paging (%d attempts)", what, q.Date, restart+1)
		}
	}
}
