package export

import (
	"context"
	"errors"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// A Publisher derives something from the partitions a run committed: the dataset's pointer to
// its newest complete day, its table definitions, the daily report. Publishers run at the end of
// a run that committed at least one partition, in order, while the run still holds the dataset's
// lease, so that what they write has one writer too. A publisher must be idempotent: it runs
// again whenever a day is committed again (every cycle restates recent days).
type Publisher interface {
	Publish(ctx context.Context, days []Committed) error
}

// PublisherFunc adapts a function to Publisher.
type PublisherFunc func(ctx context.Context, days []Committed) error

// Publish calls f.
func (f PublisherFunc) Publish(ctx context.Context, days []Committed) error { return f(ctx, days) }

// Committed is a partition a run committed: its day, the manifest now in force and its key.
// Changed is false when the commit found every file byte-identical to what the day held.
type Committed struct {
	Day         calendar.Day
	Manifest    *snapshot.Manifest
	ManifestKey string
	Changed     bool
}

// ErrPublish is wrapped by a run's error when a publisher failed. The data is committed; what
// the publisher derives is brought up to date when the day is next committed. A publisher cut
// short by the invocation's deadline is no error: it is deferred to a later run.
var ErrPublish = errors.New("publish")

// publish runs the publishers over the days committed, newest first, each day once with its
// last manifest. Failures are logged and returned; they never undo a commit.
func (r *Runner) publish(ctx context.Context, days []Committed) error {
	if len(r.Publishers) == 0 || len(days) == 0 {
		return nil
	}
	var errs []error
	for _, p := range r.Publishers {
		err := p.Publish(ctx, days)
		switch {
		case err == nil:
		case ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded):
			// Out of time after the commits: the data is in, and what the publisher derives is
			// brought up to date by a later run (every run of the cycle that finds the days
			// delivered catches up). Not a failure of this run.
			r.logger().InfoContext(ctx, "publishing deferred to a later run: out of time", "dataset", r.Dataset(), "days", len(days), "error", err)
		default:
			r.logger().WarnContext(ctx, "publishing the committed days failed", "dataset", r.Dataset(), "days", len(days), "error", err)
			errs = append(errs, fmt.Errorf("%w: %w", ErrPublish, err))
		}
	}
	return errors.Join(errs...)
}

// committed keeps, per day, the last manifest a run's commits left, in the order days were
// worked through (newest first).
type committed []Committed

func (c *committed) add(day calendar.Day, res *snapshot.Result) {
	changed := len(res.Written) > 0 || len(res.Deleted) > 0
	for i := range *c {
		if (*c)[i].Day.Compare(day) == 0 {
			(*c)[i].Manifest, (*c)[i].ManifestKey = res.Manifest, res.ManifestKey
			(*c)[i].Changed = (*c)[i].Changed || changed
			return
		}
	}
	*c = append(*c, Committed{Day: day, Manifest: res.Manifest, ManifestKey: res.ManifestKey, Changed: changed})
}

// LatestPointer is the Publisher of a dataset's pointer to its newest complete day
// (snapshot.AdvanceLatest: <prefix>/<dataset>/_latest.json). It only moves forward, and writes
// nothing when the pointer already says what the run's days would make it say.
type LatestPointer struct {
	Store   snapshot.Store
	Prefix  string
	Dataset string
}

// Publish implements Publisher.
func (l LatestPointer) Publish(ctx context.Context, days []Committed) error {
	ms := make([]*snapshot.Manifest, 0, len(days))
	for _, d := range days {
		ms = append(ms, d.Manifest)
	}
	if _, _, err := snapshot.AdvanceLatest(ctx, l.Store, l.Prefix, l.Dataset, ms); err != nil {
		return fmt.Errorf("latest day: %w", err)
	}
	return nil
}
