package source

import (
	"context"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// ESSPageSize is the largest page ChannelDescribeBillUsageDetail serves.
const ESSPageSize = 50

// essMaxRestarts bounds how often paging starts over when Total changes under it.
const essMaxRestarts = 3

// ESSBill is ESS ChannelDescribeBillUsageDetail for one channel application. With ByOrg, each
// unit of work is one sub-customer (the app of a query is its Agent.ProxyOrganizationOpenId, the
// application AppID): a channel of tens of thousands of sub-customers is fetched, committed and
// resumed a sub-customer at a time. Without, the unit is the whole application (the app of a
// query is Agent.AppId) in one paged query.
type ESSBill struct {
	// AppID is the channel application (Agent.AppId) when ByOrg is set.
	AppID string
	// ByOrg makes each app of a query a sub-customer of AppID.
	ByOrg bool
	// QuotaType optionally filters by package type.
	QuotaType string
}

var _ Source = (*ESSBill)(nil)

// Schema implements Source.
func (*ESSBill) Schema() usage.Schema { return usage.ESSBillSchema }

// Action implements Source.
func (*ESSBill) Action() tcapi.Action { return tcapi.ChannelDescribeBillUsageDetail }

// Earliest implements Source: the API documents no window; no data predates its API version.
func (*ESSBill) Earliest(calendar.Day) calendar.Day {
	return tcapi.ChannelDescribeBillUsageDetail.Since()
}

// CallsPerApp implements Source: one page, unless a sub-customer signs more than 50 contracts a day.
func (*ESSBill) CallsPerApp() int { return 1 }

// Fetch implements Source. It pages through everything: Offset is a page number from 0 and
// Limit 50, until Total records are in. A Total that changes between pages makes it start over
// (a few times at most); a short or empty page before Total is reached, or more records than
// Total, is an error.
//
// Memory stays flat however many records a day has: records go through an external merge sort
// (essSorter) that keeps at most essRunSize of them in memory and spills sorted runs to
// temporary files (in Query.TempDir). Rows come in usage.CompareESS order.
func (e *ESSBill) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	app, org := q.App, ""
	if e.ByOrg {
		app, org = e.AppID, q.App
	}
	got, err := e.fetchOrg(ctx, api, q, app, org)
	if err != nil {
		return Result{}, err
	}
	defer got.recs.close()
	if got.invalid != nil {
		return Result{}, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s: %w", q.App, q.Day, got.invalid)
	}
	cols := usage.ESSBillSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return Result{}, err
	}
	var written, badSigns int64
	var firstBad string
	if err := got.recs.each(func(r usage.ESSRecord) error {
		if !usage.ESSSignPlausible(r) {
			if badSigns == 0 {
				firstBad = fmt.Sprintf("flow %q (cost_type %d, use_count %d)", r.FlowID, r.CostType, r.UseCount)
			}
			badSigns++
		}
		written++
		return w.WriteRow(usage.ESSRow(q.Day.String(), r))
	}); err != nil {
		w.Close()
		return Result{}, fmt.Errorf("write rows: %w", err)
	}
	if err := w.Close(); err != nil {
		return Result{}, fmt.Errorf("write rows: %w", err)
	}
	return Result{Rows: written, Columns: cols, RequestIDs: got.ids, Action: tcapi.ChannelDescribeBillUsageDetail,
		Window: got.window, Checks: usage.ESSChecks(q.App, got.total, written, badSigns, firstBad)}, nil
}

// orgRecords is one organisation's paging: its records, the request IDs of every page, how many
// records the completed attempt holds and the first invalid one among them.
type orgRecords struct {
	recs    *essSorter
	ids     []string
	count   int64
	total   int64 // the API's Total
	invalid error
	window  tcapi.SentWindow
}

// fetchOrg pages through the records of app (and org, a sub-customer, unless empty) into a
// sorter. Records are checked in arrival order.
func (e *ESSBill) fetchOrg(ctx context.Context, api Caller, q Query, app, org string) (orgRecords, error) {
	start, end := tcapi.ESSWindow(q.Day, tcapi.ESSEndTimeInclusive)
	what := app
	if org != "" {
		what += " organisation " + org
	}
	var ids []string
	for restart := 0; ; restart++ {
		recs := &essSorter{dir: q.TempDir}
		var got int64
		var invalid error
		fail := func(err error) (orgRecords, error) {
			recs.close()
			return orgRecords{}, err
		}
		total := int64(-1)
		changed := false
		for page := int64(0); total < 0 || got < total; page++ {
			req := tcapi.BillUsageDetailRequest{
				Agent:     tcapi.Agent{AppID: app, ProxyOrganizationOpenID: org},
				StartTime: start, EndTime: end, QuotaType: e.QuotaType,
				Offset: page, Limit: ESSPageSize,
			}
			var resp tcapi.BillUsageDetailResponse
			if err := api.Call(ctx, tcapi.ChannelDescribeBillUsageDetail, req, &resp); err != nil {
				return fail(err)
			}
			ids = append(ids, resp.RequestID)
			if resp.Total == nil || *resp.Total < 0 {
				return fail(fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has no valid Total (request %s)", what, q.Day.String(), page, resp.RequestID))
			}
			if total >= 0 && *resp.Total != total {
				changed = true
				break
			}
			total = *resp.Total
			if int64(len(resp.Details)) > ESSPageSize {
				return fail(fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has %d records, more than the page size %d (request %s)", what, q.Day.String(), page, len(resp.Details), ESSPageSize, resp.RequestID))
			}
			remaining := total - got
			if want := min(remaining, ESSPageSize); int64(len(resp.Details)) != want {
				return fail(fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s page %d has %d records, want %d of Total %d (request %s)", what, q.Day.String(), page, len(resp.Details), want, total, resp.RequestID))
			}
			for _, d := range resp.Details {
				r := usage.ESSRecord{AppID: app, OrgOpenID: org, ChannelBillUsageDetail: d}
				if invalid == nil {
					invalid = usage.CheckESS(int(got), r)
				}
				if err := recs.add(r); err != nil {
					return fail(err)
				}
				got++
			}
		}
		if !changed {
			window := tcapi.WindowOf(tcapi.ChannelDescribeBillUsageDetail, tcapi.BillUsageDetailRequest{StartTime: start, EndTime: end})
			return orgRecords{recs: recs, ids: ids, count: got, total: total, invalid: invalid, window: window}, nil
		}
		recs.close()
		if restart >= essMaxRestarts {
			return orgRecords{}, fmt.Errorf("ChannelDescribeBillUsageDetail for %s on %s: Total kept changing while paging (%d attempts)", what, q.Day.String(), restart+1)
		}
	}
}
