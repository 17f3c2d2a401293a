package function

import (
	"context"
	"runtime"
	"time"

	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/report"
)

// reportKeep is the time a report refresh leaves before the invocation's deadline, for the run
// to release its leases and answer.
const reportKeep = 2 * time.Second

// reportPublisher renders the daily reports again after a run's commits (report.Refresh): the
// committed days whose data changed or whose page is behind, the pages that compare themselves
// with a changed day, their months and the index. It waits for the reports' own lease (another
// dataset's function may be rendering the same day) until shortly before the deadline.
func (f *Function) reportPublisher(now func() time.Time) export.Publisher {
	if now == nil {
		now = time.Now
	}
	return export.PublisherFunc(func(ctx context.Context, days []export.Committed) error {
		if dl, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, dl.Add(-reportKeep))
			defer cancel()
		}
		commits := make([]report.Commit, len(days))
		changed := false
		for i, d := range days {
			commits[i] = report.Commit{Day: d.Day, Changed: d.Changed}
			changed = changed || d.Changed
		}
		if changed {
			// The run's buffers (a large answer, its decoded rows) are garbage now, but the heap's
			// next collection is due only at twice what was live while they were in use. A render
			// reading a large day allocates steadily (one CSV record at a time) and would fill
			// that headroom: collect first, so that it adds little to the process's peak memory
			// (a million-room day: 146 MB peak without, see docs/performance.md).
			runtime.GC()
		}
		opt := report.Options{LateAfter: f.Config.LateAfter, Holder: f.holder(ctx, "report"), Lease: f.Runner.Lease}
		store, prefix := f.Store()
		p, err := opt.Refresh(ctx, store, prefix, commits, now())
		if err == nil && len(p.Rendered) > 0 {
			f.log.InfoContext(ctx, "reports rendered", "days", p.Rendered, "current", p.Skipped, "objects", len(p.Keys))
		}
		return err
	})
}

// catchUpReports brings up to date, after a timer run, the pages of the days the run found
// delivered already (skipped). A refresh that failed after an earlier run's commits (a store
// fault, the deadline) is not repeated by that run's retries, which find nothing to commit: the
// next timer run renders what is behind. Pages that are current cost a few small reads and no
// write. Failures are logged; the run itself succeeded.
func (f *Function) catchUpReports(ctx context.Context, sum *export.Summary) {
	if !f.Config.Reports {
		return
	}
	var days []export.Committed
	for _, p := range sum.Partitions {
		if p.Status == export.StatusSkipped {
			days = append(days, export.Committed{Day: p.Date})
		}
	}
	if len(days) == 0 {
		return
	}
	if err := f.reportPublisher(f.Runner.Now).Publish(ctx, days); err != nil {
		f.log.WarnContext(ctx, "bringing the reports up to date failed; the next run tries again", "error", err)
	}
}
