package snapshot_test

import (
	"context"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// countingStore counts the writes (Put, Delete) made through it.
type countingStore struct {
	snapshot.Store
	writes atomic.Int64
}

func (c *countingStore) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	c.writes.Add(1)
	return c.Store.Put(ctx, key, body, o)
}

func (c *countingStore) Delete(ctx context.Context, key string) error {
	c.writes.Add(1)
	return c.Store.Delete(ctx, key)
}

// The pointer moves only forward, to complete days, whatever order days complete in.
func TestAdvanceLatest(t *testing.T) {
	today := calendar.Of(calendartest.Now(), calendar.Zone)
	d1, d2, d3 := today.Add(-3), today.Add(-2), today.Add(-1)
	at := calendartest.Now().UTC().Truncate(time.Second)
	m := func(day calendar.Day, status string, gen time.Duration) *snapshot.Manifest {
		return &snapshot.Manifest{Dataset: "telcall", DatasetVersion: snapshot.Version("telcall"), Date: day, Status: status,
			GeneratedAt: at.Add(gen), Quality: "ok"}
	}
	type step struct {
		name      string
		manifests []*snapshot.Manifest
		want      calendar.Day // the day pointed at after the step (zero: none)
		wantGen   time.Duration
		wrote     bool
	}
	steps := []step{
		{"a partial day alone moves nothing", []*snapshot.Manifest{m(d3, snapshot.StatusPartial, 0)}, calendar.Day{}, 0, false},
		{"newest complete day among a run's days, newest first", []*snapshot.Manifest{m(d3, snapshot.StatusPartial, 0), m(d2, snapshot.StatusComplete, 0), m(d1, snapshot.StatusComplete, 0)}, d2, 0, true},
		{"the newer day completes later: forward", []*snapshot.Manifest{m(d3, snapshot.StatusComplete, time.Hour)}, d3, time.Hour, true},
		{"an older day restated or backfilled: never back", []*snapshot.Manifest{m(d1, snapshot.StatusComplete, 2*time.Hour), m(d2, snapshot.StatusComplete, 2*time.Hour)}, d3, time.Hour, false},
		{"the same delivery again: nothing written", []*snapshot.Manifest{m(d3, snapshot.StatusComplete, time.Hour)}, d3, time.Hour, false},
		{"the day pointed at restated: its new delivery", []*snapshot.Manifest{m(d3, snapshot.StatusComplete, 3*time.Hour)}, d3, 3 * time.Hour, true},
		{"the day pointed at partial again: stays", []*snapshot.Manifest{m(d3, snapshot.StatusPartial, 4*time.Hour)}, d3, 3 * time.Hour, false},
	}
	fs, err := file.New(t.TempDir())
	require.NoError(t, err)
	st := &countingStore{Store: fs}
	ctx := t.Context()
	for _, s := range steps {
		before := st.writes.Load()
		l, wrote, err := snapshot.AdvanceLatest(ctx, st, "exports", "telcall", s.manifests)
		require.NoError(t, err, s.name)
		assert.Equal(t, s.wrote, wrote, s.name)
		assert.Equal(t, map[bool]int64{true: 1, false: 0}[s.wrote], st.writes.Load()-before, s.name)
		read, err := snapshot.ReadLatest(ctx, st, "exports", "telcall")
		require.NoError(t, err)
		if s.want.IsZero() {
			assert.Nil(t, l, s.name)
			assert.Nil(t, read, s.name)
			continue
		}
		require.NotNil(t, read, s.name)
		assert.Equal(t, s.want.String(), read.Date.String(), s.name)
		assert.True(t, at.Add(s.wantGen).Equal(read.GeneratedAt), s.name)
		mkey, _ := snapshot.ManifestKey("exports", "telcall", s.want)
		assert.Equal(t, mkey, read.Manifest)
		assert.Equal(t, snapshot.Version("telcall"), read.DatasetVersion)
		assert.Equal(t, "ok", read.Quality)
		assert.Equal(t, read.Date.String(), l.Date.String(), s.name)
	}

	// A pointer that cannot be decoded is replaced.
	key, err := snapshot.LatestKey("exports", "telcall")
	require.NoError(t, err)
	assert.Equal(t, "exports/telcall/_latest.json", key)
	require.NoError(t, st.Put(ctx, key, strings.NewReader("{not json"), snapshot.PutOptions{}))
	_, wrote, err := snapshot.AdvanceLatest(ctx, st, "exports", "telcall", []*snapshot.Manifest{m(d1, snapshot.StatusComplete, 0)})
	require.NoError(t, err)
	assert.True(t, wrote)
}
