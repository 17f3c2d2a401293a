package export

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/snapshottest"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// figures is a telcall-shaped source whose outbound minutes per app can change between runs (a
// day restated upstream), that fails the apps in fail, and counts its fetches.
type figures struct {
	mu    sync.Mutex
	out   map[string]int64 // "<app>/<day>" -> outbound minutes (default 1)
	fail  map[string]bool
	calls atomic.Int64
}

func (*figures) Schema() usage.Schema               { return usage.TelCallSchema }
func (*figures) Action() tcapi.Action               { return tcapi.DescribeTelCallInfo }
func (*figures) Earliest(calendar.Day) calendar.Day { return calendar.Day{} }
func (*figures) CallsPerApp() int                   { return 1 }
func (f *figures) set(app string, day calendar.Day, v int64) {
	f.mu.Lock()
	f.out[app+"/"+day.String()] = v
	f.mu.Unlock()
}
func (f *figures) Fetch(_ context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	f.calls.Add(1)
	f.mu.Lock()
	v, ok := f.out[q.App+"/"+q.Day.String()]
	failed := f.fail[q.App+"/"+q.Day.String()]
	f.mu.Unlock()
	if failed {
		return source.Result{}, errors.New("InternalError")
	}
	if !ok {
		v = 1
	}
	cols := usage.TelCallSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	row := usage.Row{usage.Str(q.Day.String()), usage.Str(q.App), usage.Int(v)}
	for range cols[3:] {
		row = append(row, usage.Int(2))
	}
	if err := w.WriteRow(row); err != nil {
		return source.Result{}, err
	}
	return source.Result{Rows: 1, Columns: cols, RequestIDs: []string{"req-" + q.App + "-" + strconv.FormatInt(f.calls.Load(), 10)}, Action: tcapi.DescribeTelCallInfo}, w.Close()
}

// clock is a business clock tests move by whole cycles.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func restateRunner(t *testing.T, src *figures, apps []string) (*Runner, *snapshottest.Writes, *clock) {
	t.Helper()
	r := newTestRunner(t, src, apps)
	wc := &snapshottest.Writes{Store: r.Store}
	clk := &clock{t: may9.Add(1).Start().Add(10 * time.Hour)}
	r.Store, r.Now, r.Formats = wc, clk.now, []usage.Format{usage.CSV, usage.JSONL}
	r.Publishers = []Publisher{LatestPointer{Store: wc, Dataset: r.Dataset()}}
	return r, wc, clk
}

// A day restated with unchanged data writes nothing, and a later run of the same cycle knows the
// apps are done without fetching them; data that changed upstream is recorded as a restatement.
func TestRestatementsWriteOnlyWhatChanged(t *testing.T) {
	apps := []string{"1", "2"}
	src := &figures{out: map[string]int64{}}
	r, wc, clk := restateRunner(t, src, apps)
	ctx := context.Background()
	may8 := may9.Add(-1)
	w := plan.Window{Days: []calendar.Day{may9, may8}, Apps: apps}
	_, err := r.Run(ctx, w, Options{})
	require.NoError(t, err)
	require.NotEmpty(t, wc.Take())
	first, err := snapshot.ReadManifest(ctx, r.Store, "", "telcall", may8)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"outbound_minutes": 1, "inbound_minutes": 2, "voip_minutes": 2, "asr_offline_minutes": 2,
		"asr_realtime_minutes": 2, "seats_used": 2}, first.Files[0].Measures, "measures summed while the rows were written")
	assert.Equal(t, usage.CheckOK, first.Quality)
	assert.Len(t, first.Checks, 2, "the non-negative check of each app")

	// The next cycle restates both days: the same data writes nothing at all.
	clk.advance(24 * time.Hour)
	calls := src.calls.Load()
	sum, err := r.Run(ctx, w, Options{})
	require.NoError(t, err)
	assert.Equal(t, calls+4, src.calls.Load(), "every app-day fetched again")
	assert.Empty(t, wc.Take(), "no object written but the lease")
	again, err := snapshot.ReadManifest(ctx, r.Store, "", "telcall", may8)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	for _, p := range sum.Partitions {
		assert.Zero(t, p.Written, p.Date)
	}

	// Another invocation of the same cycle finds them done, though no manifest moved.
	calls = src.calls.Load()
	_, err = r.Run(ctx, w, Options{})
	require.NoError(t, err)
	assert.Equal(t, calls, src.calls.Load(), "nothing fetched again in the cycle")

	// Upstream restates app 2 of May 8: the next cycle records what changed.
	src.set("2", may8, 7)
	clk.advance(24 * time.Hour)
	_, err = r.Run(ctx, w, Options{})
	require.NoError(t, err)
	m, err := snapshot.ReadManifest(ctx, r.Store, "", "telcall", may8)
	require.NoError(t, err)
	require.Len(t, m.Changes, 1)
	c := m.Changes[0]
	assert.Equal(t, 1, c.Seq)
	require.Len(t, c.Files, 2, "app 2's CSV and JSON Lines")
	for _, f := range c.Files {
		assert.Equal(t, "2", f.App)
		assert.Equal(t, int64(1), f.RowsBefore)
		assert.Equal(t, int64(1), f.RowsAfter)
		assert.NotEqual(t, f.PreviousSHA256, f.SHA256)
	}
	assert.Equal(t, []snapshot.MeasureChange{
		{App: "2", Measure: "outbound_minutes", Before: 1, After: 7},
		{Measure: "outbound_minutes", Before: 2, After: 8},
	}, c.Measures)
	logged, err := snapshot.ReadChanges(ctx, r.Store, "", "telcall", calendar.Day{})
	require.NoError(t, err)
	require.Len(t, logged, 1, "May 9 did not change")
	assert.Equal(t, c, logged[0].Change)
	assert.Equal(t, may8, logged[0].Date)
	mayNine, err := snapshot.ReadManifest(ctx, r.Store, "", "telcall", may9)
	require.NoError(t, err)
	assert.Empty(t, mayNine.Changes)
}

// The pointer to the newest complete day follows days completing out of order, and never moves
// back.
func TestLatestPointerUnderOutOfOrderCompletion(t *testing.T) {
	apps := []string{"1", "2"}
	may8, may7 := may9.Add(-1), may9.Add(-2)
	src := &figures{out: map[string]int64{}, fail: map[string]bool{"2/" + may9.String(): true}}
	r, _, clk := restateRunner(t, src, apps)
	ctx := context.Background()
	latest := func() string {
		t.Helper()
		l, err := snapshot.ReadLatest(ctx, r.Store, "", "telcall")
		require.NoError(t, err)
		if l == nil {
			return ""
		}
		return l.Date.String()
	}

	// May 9 fails for app 2: May 8 is the newest complete day.
	_, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9, may8}, Apps: apps}, Options{})
	require.Error(t, err)
	assert.Equal(t, may8.String(), latest())

	// May 9 completes in a later run: forward.
	src.mu.Lock()
	src.fail = nil
	src.mu.Unlock()
	_, err = r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: apps}, Options{})
	require.NoError(t, err)
	assert.Equal(t, may9.String(), latest())
	l, err := snapshot.ReadLatest(ctx, r.Store, "", "telcall")
	require.NoError(t, err)
	m, err := snapshot.ReadManifest(ctx, r.Store, "", "telcall", may9)
	require.NoError(t, err)
	assert.True(t, m.GeneratedAt.Equal(l.GeneratedAt))

	// A backfill of May 7 and a restatement of May 8 (changed data) leave it on May 9.
	src.set("1", may8, 5)
	clk.advance(24 * time.Hour)
	_, err = r.Run(ctx, plan.Window{Days: []calendar.Day{may8, may7}, Apps: apps}, Options{Force: true})
	require.NoError(t, err)
	assert.Equal(t, may9.String(), latest())
}
