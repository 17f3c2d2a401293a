package snapshot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// Cross checks compare the measures two datasets' manifests recorded for the same apps.
func TestCrossChecks(t *testing.T) {
	day := calendar.Of(calendartest.Now(), calendar.Zone).Add(-1)
	file := func(app string, ms map[string]float64) snapshot.FileEntry {
		return snapshot.FileEntry{App: app, Key: app, Measures: ms}
	}
	room := &snapshot.Manifest{Dataset: "roomusage", Date: day, Apps: []string{"1", "2", "3"}, Files: []snapshot.FileEntry{
		file("1", map[string]float64{"audio_seconds": 10, "video_sd_seconds": 5}),
		file("2", map[string]float64{"audio_seconds": 50}),
		file("3", map[string]float64{"audio_seconds": 1}),
	}}
	trtc := &snapshot.Manifest{Dataset: "trtcusage", Date: day, Apps: []string{"1", "2"}, Files: []snapshot.FileEntry{
		file("1", map[string]float64{"seconds": 20}),
		file("2", map[string]float64{"seconds": 40}),
	}}
	got := snapshot.CrossChecks(map[string]*snapshot.Manifest{"roomusage": room, "trtcusage": trtc})
	require.Len(t, got, 2, "app 3 has no TRTC day to compare with")
	assert.Equal(t, "1", got[0].App)
	assert.Equal(t, "ok", got[0].Status)
	assert.Equal(t, "2", got[1].App)
	assert.Equal(t, "warn", got[1].Status)
	assert.Empty(t, snapshot.CrossChecks(map[string]*snapshot.Manifest{"roomusage": room}), "nothing to compare with")
}

// A change log object already at the next seq that records another transition (left by a
// delivery interrupted before its manifest landed, whose data then changed again) is never
// rewritten: the restatement takes the next free seq, and the manifest names that one.
func TestChangeLogSkipsAnOrphanEntry(t *testing.T) {
	ctx := t.Context()
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	day := calendar.Of(calendartest.Now(), calendar.Zone).Add(-2)
	req := func(content string, at time.Duration) snapshot.CommitRequest {
		return snapshot.CommitRequest{Dataset: "telcall", Day: day, GeneratedAt: calendartest.Now().Add(at), Apps: []string{"1"},
			Files: []snapshot.File{{App: "1", Format: "jsonl", Rows: 1, Content: snapshot.Bytes([]byte(content))}}}
	}
	_, err = snapshot.Commit(ctx, st, "p", req("{\"v\":1}\n", 0))
	require.NoError(t, err)
	orphan, err := snapshot.ChangeKey("p", "telcall", day, 1)
	require.NoError(t, err)
	require.NoError(t, st.Put(ctx, orphan, strings.NewReader(`{"seq":1,"files":[{"key":"elsewhere"}]}`), snapshot.PutOptions{IfAbsent: true}))

	res, err := snapshot.Commit(ctx, st, "p", req("{\"v\":2}\n", time.Hour))
	require.NoError(t, err)
	require.NotNil(t, res.Change)
	assert.Equal(t, 2, res.Change.Seq)
	second, _ := snapshot.ChangeKey("p", "telcall", day, 2)
	assert.Equal(t, second, res.Change.Key)
	assert.Equal(t, []snapshot.Change{*res.Change}, res.Manifest.Changes)
	b, err := snapshot.ReadObject(ctx, st, orphan)
	require.NoError(t, err)
	assert.JSONEq(t, `{"seq":1,"files":[{"key":"elsewhere"}]}`, string(b), "never rewritten")
	logged, err := snapshot.ReadChanges(ctx, st, "p", "telcall", day)
	require.NoError(t, err)
	require.Len(t, logged, 2)
	assert.Equal(t, *res.Change, logged[1].Change)

	// The next restatement follows the manifest's last seq.
	res, err = snapshot.Commit(ctx, st, "p", req("{\"v\":3}\n", 2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 3, res.Change.Seq)
	assert.Len(t, res.Manifest.Changes, 2)
}
