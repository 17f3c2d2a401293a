package source

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
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

// Earliest implements Source: the API documents no window; no data predates its API version.
func (*ESSBill) Earliest(calendar.Day) calendar.Day {
	return tcapi.ChannelDescribeBillUsageDetail.Since()
}

// CallsPerApp implements Source: at least one page per organisation.
func (e *ESSBill) CallsPerApp() int { return max(1, len(e.OrgOpenIDs)) }

// Fetch implements Source. It pages through everything: Offset is a page number from 0 and
// Limit 50, until Total records are in. A Total that changes between pages makes it start that
// organisation over (a few times at most); a short or empty page before Total is reached, or
// more records than Total, is an error.
//
// Memory stays flat however many records a day has: each organisation's records go through an
// external merge sort (essSorter) that keeps at most essRunSize of them in memory and spills
// sorted runs to temporary files (in Query.TempDir), and finished organisations together keep at
// most essRunSize more. Organisations are written in ID order, each sorted, which is
// the order a stable sort by usage.CompareESS gives (application, then organisation first).
func (e *ESSBill) Fetch(ctx context.Context, api Caller, q Query) (Result, error) {
	orgs := e.OrgOpenIDs
	if len(orgs) == 0 {
		orgs = []string{""}
	}
	sorters := make([]*essSorter, len(orgs))
	defer func() {
		for _, s := range sorters {
			if s != nil {
				s.close()
			}
		}
	}()
	var ids []string
	var n int64
	var invalid error // the first invalid record, reported once every page is in
	for i, org := range orgs {
		got, err := e.fetchOrg(ctx, api, q, org, n)
		if err != nil {
			return Result{}, err
		}
		if invalid == nil {
			invalid = got.invalid
		}
		n += got.count
		sorters[i] = got.recs
		ids = append(ids, got.ids...)
		// Memory stays flat across organisations too: once the finished organisations hold more
		// than one run's worth of records in memory, their buffers go to run files.
		held := 0
		for _, s := range sorters[:i+1] {
			held += s.buffered()
		}
		if held > essRunSize {
			for _, s := range sorters[:i+1] {
				if s.buffered() > 0 {
					if err := s.spill(); err != nil {
						return Result{}, err
					}
				}
			}
		}
	}
	if invalid != nil {
		return Result{}, fmt.Errorf("ChannelDescribeBillUsageDetail answer for %s on %s: %w", q.App, q.Day.String(), invalid)
	}
	order := make([]int, len(orgs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(orgs[a], orgs[b]) })
	cols := usage.ESSBillSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return Result{}, err
	}
	for _, i := range order {
		if err := sorters[i].each(func(r usage.ESSRecord) error { return w.WriteRow(usage.ESSRow(q.Day.String(), r)) }); err != nil {
			w.Close()
			return Result{}, fmt.Errorf("write rows: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return Result{}, fmt.Errorf("write rows: %w", err)
	}
	return Result{Rows: n, Columns: cols, RequestIDs: ids, Action: tcapi.ChannelDescribeBillUsageDetail}, nil
}

// orgRecords is one organisation's paging: its records, the request IDs of every page, how many
// records the completed attempt holds and the first invalid one among them.
type orgRecords struct {
	recs    *essSorter
	ids     []string
	count   int64
	invalid error
}

// fetchOrg pages through one organisation's records into a sorter. Records are checked in
// arrival order and numbered from base.
func (e *ESSBill) fetchOrg(ctx context.Context, api Caller, q Query, org string, base int64) (orgRecords, error) {
	day := strings.ReplaceAll(q.Day.String(), "-", "")
	what := q.App
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
				Agent:     tcapi.Agent{AppID: q.App, ProxyOrganizationOpenID: org},
				StartTime: day, EndTime: day, QuotaType: e.QuotaType,
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
				r := usage.ESSRecord{AppID: q.App, OrgOpenID: org, ChannelBillUsageDetail: d}
				if invalid == nil {
					invalid = usage.CheckESS(int(base+got), r)
				}
				if err := recs.add(r); err != nil {
					return fail(err)
				}
				got++
			}
		}
		if !changed {
			return orgRecords{recs: recs, ids: ids, count: got, invalid: invalid}, nil
		}
		recs.close()
		if restart >= essMaxRestarts {
			return orgRecords{}, fmt.Errorf("ChannelDescribeBillUsageDetail for %s on %s: Total kept changing while paging (%d attempts)", what, q.Day.String(), restart+1)
		}
	}
}
