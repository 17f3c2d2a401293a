package function_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/snapshottest"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

// A day first fetched while the API still answered it in part (the emulator's clock in the middle
// of that day) and restated once its figures are final: the manifest and the change log say which
// files changed and how the totals moved, the pointer to the newest day follows the new delivery,
// the table definitions are in the bucket; a further unchanged restatement writes no object.
func TestRestatementOfASettlingDayIsRecorded(t *testing.T) {
	var emuAt atomic.Int64 // the emulator's offset from the tests' clock
	midday := time.Date(2024, 5, 9, 13, 2, 0, 0, emulator.Beijing())
	emuAt.Store(int64(midday.Sub(clock())))
	e := newTestEnv(t, emulator.Config{Now: func() time.Time { return clock().Add(time.Duration(emuAt.Load())) }})
	w := &snapshottest.Writes{}
	fn, err := function.New(function.TRTC, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
		WrapStore: func(s snapshot.Store) snapshot.Store { w.Store = s; return w },
	})
	require.NoError(t, err)
	day := calendar.Date(2024, time.May, 9)

	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	first := manifest(t, e.dir, "trtcusage", "2024-05-09")
	assert.Empty(t, first.Changes)
	for _, c := range first.Checks {
		if c.Name == usage.CheckSeriesCoverage && !strings.HasPrefix(c.Detail, "no points") {
			assert.Regexp(t, `–24:00$`, c.Detail, "the afternoon had not happened yet")
		}
	}
	written := w.Take()
	defs, err := tables.Key("", tables.DuckDB, usage.CSV, "trtcusage")
	require.NoError(t, err)
	assert.Contains(t, written, defs, "the table definitions are written beside the data")
	assert.Contains(t, written, "trtcusage/_latest.json")

	// The day settles; a forced run restates it.
	emuAt.Store(0)
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09","force":true}`))
	require.NoError(t, err)
	m := manifest(t, e.dir, "trtcusage", "2024-05-09")
	require.Len(t, m.Changes, 1)
	c := m.Changes[0]
	assert.Equal(t, 1, c.Seq)
	assert.True(t, m.GeneratedAt.Equal(c.GeneratedAt))
	data := e.emu.Data()
	var wantBefore, wantAfter float64
	for _, app := range []uint64{1400000001, 1400000002} {
		for _, p := range data.AsOf(midday).TRTC5Min(app, emulator.NewDate(2024, time.May, 9)) {
			wantBefore += float64(p.AudioVideo + p.Audio + p.SD + p.HD + p.FullHD)
		}
		for _, p := range data.TRTC5Min(app, emulator.NewDate(2024, time.May, 9)) {
			wantAfter += float64(p.AudioVideo + p.Audio + p.SD + p.HD + p.FullHD)
		}
	}
	require.Greater(t, wantAfter, wantBefore, "the afternoon added usage")
	var total *snapshot.MeasureChange
	for i, mc := range c.Measures {
		if mc.App == "" && mc.Measure == "seconds" {
			total = &c.Measures[i]
		}
	}
	require.NotNil(t, total, "the day's total seconds before and after: %+v", c.Measures)
	assert.Equal(t, wantBefore, total.Before)
	assert.Equal(t, wantAfter, total.After)
	for _, f := range c.Files {
		assert.Less(t, f.RowsBefore, f.RowsAfter, f.Key)
		assert.Contains(t, first.Files, snapshot.FileEntry{Key: f.Key, App: f.App, Format: f.Format, Rows: f.RowsBefore,
			Measures: entryOf(t, first, f.Key).Measures, Columns: entryOf(t, first, f.Key).Columns, Bytes: entryOf(t, first, f.Key).Bytes,
			SHA256: f.PreviousSHA256, ContentType: f.Format.ContentType()}, "the previous hash and rows are the first delivery's")
	}
	store, prefix := fn.Store()
	logged, err := snapshot.ReadChanges(context.Background(), store, prefix, "trtcusage", day)
	require.NoError(t, err)
	require.Len(t, logged, 1)
	assert.Equal(t, c, logged[0].Change)
	latest, err := snapshot.ReadLatest(context.Background(), store, prefix, "trtcusage")
	require.NoError(t, err)
	require.NotNil(t, latest)
	assert.Equal(t, "2024-05-09", latest.Date.String())
	assert.True(t, latest.GeneratedAt.Equal(m.GeneratedAt), "the pointer follows the restated delivery")

	// Restated again with the same final figures: nothing is written.
	w.Take()
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09","force":true}`))
	require.NoError(t, err)
	assert.Empty(t, w.Take(), "an unchanged restatement writes no object")
	assert.Equal(t, m, manifest(t, e.dir, "trtcusage", "2024-05-09"))
}

func entryOf(t *testing.T, m *snapshot.Manifest, key string) snapshot.FileEntry {
	t.Helper()
	for _, f := range m.Files {
		if f.Key == key {
			return f
		}
	}
	t.Fatalf("%s is not in the manifest", key)
	return snapshot.FileEntry{}
}
