package source

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// essPages serves n records in pages, building every record afresh (as decoding a page's JSON
// would), and samples the live heap after each page.
type essPages struct {
	n    int64
	peak uint64
}

func (p *essPages) Call(_ context.Context, _ tcapi.Action, req, resp any) error {
	q := req.(tcapi.BillUsageDetailRequest)
	out := resp.(*tcapi.BillUsageDetailResponse)
	total := p.n
	out.Total, out.RequestID = &total, "bench-"+strconv.FormatInt(q.Offset, 10)
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC).Unix()
	for i := q.Offset * q.Limit; i < min(p.n, (q.Offset+1)*q.Limit); i++ {
		out.Details = append(out.Details, tcapi.ChannelBillUsageDetail{
			FlowID:                 fmt.Sprintf("yDR%029d", i*7919%p.n),
			OperatorName:           "张三;李四",
			CreateOrganizationName: "星河云帆" + strconv.FormatInt(i%8, 10) + "科技有限公司",
			FlowName:               "劳动合同-" + strconv.FormatInt(i%100000, 10),
			FlowStatus:             "ALL",
			QuotaType:              "CloudEnterprise",
			QuotaName:              "企业版合同",
			UseCount:               1,
			CostType:               1,
			CostTime:               base + i*86400/p.n,
		})
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	p.peak = max(p.peak, ms.HeapAlloc)
	return nil
}

// BenchmarkESSPaging pages through one app-day of 1k, 10k and 100k records (50 a page) and writes
// them as JSON Lines and CSV to discarding sinks. peak-heap-MB is the largest live heap seen
// after a page: how much memory a day's records hold while the paging runs.
func BenchmarkESSPaging(b *testing.B) {
	for _, n := range []int64{1_000, 10_000, 100_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				runtime.GC()
				api := &essPages{n: n}
				q := Query{Day: calendar.Date(2024, 5, 1), App: "ess_app_bench", Open: func(cols []string) (usage.RowWriter, error) {
					return usage.MultiWriter{usage.NewJSONLWriter(discard{}, cols), usage.NewCSVWriter(discard{}, cols)}, nil
				}}
				res, err := (&ESSBill{}).Fetch(context.Background(), api, q)
				if err != nil {
					b.Fatal(err)
				}
				if res.Rows != n {
					b.Fatalf("rows %d, want %d", res.Rows, n)
				}
				peak = max(peak, api.peak)
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
