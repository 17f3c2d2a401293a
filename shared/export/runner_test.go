package export

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

var may9 = calendar.Date(2024, time.May, 9)

// slowSource answers each app after its delay (honouring ctx), with one telcall-shaped row.
type slowSource struct{ delay map[string]time.Duration }

func (slowSource) Schema() usage.Schema               { return usage.TelCallSchema }
func (slowSource) Action() tcapi.Action               { return tcapi.DescribeTelCallInfo }
func (slowSource) Earliest(calendar.Day) calendar.Day { return calendar.Day{} }
func (slowSource) CallsPerApp() int                   { return 1 }
func (s slowSource) Fetch(ctx context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	select {
	case <-time.After(s.delay[q.App]):
	case <-ctx.Done():
		return source.Result{}, ctx.Err()
	}
	cols := usage.TelCallSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	row := usage.Row{usage.Str(q.Day.String()), usage.Str(q.App)}
	for range cols[2:] {
		row = append(row, usage.Int(1))
	}
	if err := w.WriteRow(row); err != nil {
		return source.Result{}, err
	}
	return source.Result{Rows: 1, Columns: cols, RequestIDs: []string{"req-" + q.App}, Action: tcapi.DescribeTelCallInfo}, w.Close()
}

func newTestRunner(t *testing.T, src source.Source, apps []string) *Runner {
	t.Helper()
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	return &Runner{Source: src, Store: st, Apps: apps, Formats: []usage.Format{usage.JSONL}, Zone: calendar.Zone, TempDir: t.TempDir(),
		Latency: time.Millisecond, Margin: 150 * time.Millisecond}
}

// The commit margin is kept for committing: an app still fetching when the fetch deadline comes
// is left pending, and what was fetched is committed.
func TestRunKeepsTheMarginForTheCommit(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 10 * time.Millisecond, "2": time.Hour}}, []string{"1", "2"})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: []string{"1", "2"}}, Options{})
	require.ErrorIs(t, err, ErrDeadline)
	assert.NotErrorIs(t, err, ErrStore, "the commit itself had time")
	assert.Equal(t, []AppDay{{Date: may9, App: "2"}}, sum.Pending)
	require.Len(t, sum.Partitions, 1)
	assert.Equal(t, snapshot.StatusPartial, sum.Partitions[0].Status)
	m, err := snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", may9)
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, m.Apps)
	assert.Equal(t, []string{"2"}, m.AppsPending)
}

// Dates not started before the fetch deadline are pending; nothing is claimed for them.
func TestRunLeavesDatesNotStartedPending(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 150 * time.Millisecond}}, []string{"1"})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9, may9.Add(-1), may9.Add(-2)}, Apps: []string{"1"}}, Options{})
	require.ErrorIs(t, err, ErrDeadline)
	assert.Equal(t, []AppDay{{may9.Add(-1), "1"}, {may9.Add(-2), "1"}}, sum.Pending)
	_, err = snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", may9)
	assert.NoError(t, err, "the first date was committed")
}

// A run that did everything succeeds, even when its context ends right after.
func TestRunThatFinishedIsNotAnError(t *testing.T) {
	r := newTestRunner(t, slowSource{}, []string{"1"})
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: []string{"1"}}, Options{})
	cancel()
	require.NoError(t, err)
	assert.Equal(t, snapshot.StatusComplete, sum.Partitions[0].Status)
}

func TestOutOfTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	refused := errors.New("pacing would pass the deadline: " + context.DeadlineExceeded.Error())
	assert.True(t, outOfTime(ctx, errors.Join(refused, context.DeadlineExceeded)), "the client refusing to wait past the deadline")
	assert.False(t, outOfTime(ctx, errors.New("InternalError")))
	assert.False(t, outOfTime(context.Background(), context.DeadlineExceeded), "no deadline: a timeout is a failure")
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.True(t, outOfTime(done, context.Canceled))
}

// A day of many apps is committed chunk by chunk: what was fetched before the deadline is in the
// manifest, the rest is pending, and the next run completes the day.
func TestRunCommitsADayInChunks(t *testing.T) {
	apps := []string{"1", "2", "3", "4", "5"}
	delays := map[string]time.Duration{"1": time.Millisecond, "2": time.Millisecond, "3": 150 * time.Millisecond, "4": 150 * time.Millisecond, "5": time.Millisecond}
	r := newTestRunner(t, slowSource{delay: delays}, apps)
	r.ChunkApps, r.Workers = 2, 1
	ctx, cancel := context.WithTimeout(context.Background(), 350*time.Millisecond) // fetch until 200 ms
	defer cancel()
	sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: apps}, Options{})
	require.ErrorIs(t, err, ErrDeadline)
	require.GreaterOrEqual(t, len(sum.Partitions), 2, "a commit per chunk")
	m, err := snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", may9)
	require.NoError(t, err)
	assert.Contains(t, m.Apps, "1")
	assert.Contains(t, m.Apps, "2")
	assert.Equal(t, snapshot.StatusPartial, m.Status)
	assert.ElementsMatch(t, apps, append(slices.Clone(m.Apps), m.AppsPending...))

	sum, err = r.Run(context.Background(), plan.Window{Days: []calendar.Day{may9}, Apps: apps}, Options{})
	require.NoError(t, err)
	m, err = snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", may9)
	require.NoError(t, err)
	assert.Equal(t, snapshot.StatusComplete, m.Status)
	assert.Equal(t, apps, m.Apps)
	assert.LessOrEqual(t, len(sum.Partitions), 2, "only what was missing is fetched again")
}
