package export

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Status reads the window's manifests and the lease: the newest complete day, partial days with
// their pending apps, missing days, the days late past lateAfter, and the backlog at the pace.
func TestStatus(t *testing.T) {
	r := newTestRunner(t, slowSource{}, []string{"1", "2"})
	r.Interval = 15 * time.Second
	now := time.Date(2024, 5, 10, 15, 0, 0, 0, calendar.Zone)
	r.Now = func() time.Time { return now }
	ctx := context.Background()
	// May 9 complete, May 8 partial (app 2 missing), May 7 missing.
	_, err := r.Run(ctx, plan.Window{Days: []calendar.Day{may9}, Apps: []string{"1", "2"}}, Options{})
	require.NoError(t, err)
	_, err = r.Run(ctx, plan.Window{Days: []calendar.Day{may9.Add(-1)}, Apps: []string{"1"}}, Options{})
	require.NoError(t, err)

	st, err := r.Status(ctx, 3, 12*time.Hour)
	require.NoError(t, err)
	assert.Equal(t, may9.Add(-2), st.From)
	assert.Equal(t, may9, st.To)
	assert.Equal(t, may9, st.NewestComplete)
	assert.Equal(t, []PartialDay{{Date: may9.Add(-1), Pending: []string{"2"}}}, st.Partial)
	assert.Equal(t, []calendar.Day{may9.Add(-2)}, st.Missing)
	assert.Equal(t, []calendar.Day{may9.Add(-2), may9.Add(-1)}, st.Late, "May 9 is complete; the others ended over 12 h ago")
	assert.Equal(t, 1+2, st.Backlog)
	assert.Equal(t, int64(45), st.ClearsInSeconds, "three app-days at one per 15 s")
	assert.Nil(t, st.Lease, "nobody holds the lease")

	st, err = r.Status(ctx, 3, 72*time.Hour)
	require.NoError(t, err)
	assert.Empty(t, st.Late, "within 72 h nothing is late yet")

	lease, err := snapshot.AcquireLease(ctx, r.Store, r.Prefix, r.Dataset(), "backfill by someone", snapshot.LeaseConfig{})
	require.NoError(t, err)
	st, err = r.Status(ctx, 3, 12*time.Hour)
	require.NoError(t, err)
	require.NotNil(t, st.Lease)
	assert.Equal(t, "backfill by someone", st.Lease.Holder)
	require.NoError(t, lease.Release(ctx, nil))
}
