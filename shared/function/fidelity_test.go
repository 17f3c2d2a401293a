package function_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// A DescribeTrtcInteractiveTime answer that lost points on the way (TotalNum counts more than it
// holds) fails the app-day loudly, naming app, day and request, and delivers nothing; the next run
// delivers the whole day.
func TestTrtcTruncatedAnswerFailsLoudly(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TRTC)
	points := e.emu.Data().TRTC5Min(1400000001, day("2024-05-09"))
	require.Greater(t, len(points), 1, "a day with points to lose")

	e.emu.FailNext("DescribeTrtcInteractiveTime", 1, emulator.FaultTruncatedSeries)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09","apps":["1400000001"]}`))
	require.Error(t, err)
	reqs := e.emu.Requests()
	require.Len(t, reqs, 1, "no retry hides it")
	require.Equal(t, emulator.FaultTruncatedSeries, reqs[0].Fault)
	for _, s := range []string{"1400000001", "2024-05-09", reqs[0].RequestID, "TotalNum"} {
		assert.Contains(t, err.Error(), s)
	}
	_, statErr := os.Stat(filepath.Join(e.dir, "trtcusage", "v1", "dt=2024-05-09", "_manifest.json"))
	assert.True(t, os.IsNotExist(statErr), "no manifest for a day with a truncated answer")

	// Through HTTP: an invalid upstream answer, with the request ID in the message.
	e.emu.FailNext("DescribeTrtcInteractiveTime", 1, emulator.FaultTruncatedSeries)
	r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "app": {"1400000001"}}, auth()))
	require.Equal(t, 502, r.StatusCode, r.Body)
	assert.Contains(t, r.Body, "UpstreamInvalidAnswer")
	assert.Contains(t, r.Body, e.emu.Requests()[1].RequestID)

	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09","apps":["1400000001"]}`))
	require.NoError(t, err)
	rows := readJSONL(t, e.dir, "trtcusage", "2024-05-09", "1400000001")
	assert.Len(t, rows, 5*len(points), "every point, five usage types each")
}

// The seed's one-day example answers a point of the day before: it is kept in the day's files and
// counted in the manifest's source.details.
func TestPointsOutsideTheDayAreCountedInTheManifest(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_SDK_APP_IDS"] = "1400243510"
	_, err := invoke(t, e.build(function.TRTC), timerEvent(`{"date":"2020-09-08"}`))
	require.NoError(t, err)

	b, err := os.ReadFile(filepath.Join(e.dir, "trtcusage", "v1", "dt=2020-09-08", "_manifest.json"))
	require.NoError(t, err)
	var m struct {
		Source struct{ Details map[string]string } `json:"source"`
		Status string                              `json:"status"`
	}
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, snapshot.StatusComplete, m.Status)
	assert.Equal(t, map[string]string{"points_outside_day/1400243510": "1"}, m.Source.Details)

	rows := readJSONL(t, e.dir, "trtcusage", "2020-09-08", "1400243510")
	require.Len(t, rows, 10)
	assert.Equal(t, "2020-09-07T09:50:00+08:00", rows[0]["time"], "the point is kept")
	assert.Equal(t, "2020-09-08", rows[0]["date"], "filed under the day queried")

	// The quality checks say so too, and mark the day.
	man := manifest(t, e.dir, "trtcusage", "2020-09-08")
	assert.Equal(t, usage.CheckWarn, man.Quality)
	assert.Contains(t, man.Checks, usage.Check{Name: usage.CheckPointsOutsideDay, App: "1400243510", Status: usage.CheckWarn,
		Detail: "1 point(s) outside the day queried, kept in its files with their own time"})
	assert.Contains(t, man.Checks, usage.Check{Name: usage.CheckSeriesCoverage, App: "1400243510", Status: usage.CheckOK,
		Detail: "1 of 288 5-minute points; gaps 00:00–09:55, 10:00–24:00"})
}

// TCUSAGE_API_REGION picks the TRTC region: room usage is served in ap-singapore (international
// site), TRTC's daily actions only in ap-guangzhou, and CCC takes no region.
func TestAPIRegionIsConfigurable(t *testing.T) {
	e := newTestEnv(t, emulator.Config{International: true})
	e.vars["TCUSAGE_API_REGION"] = "ap-singapore"
	_, err := invoke(t, e.build(function.Room), timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	answered := 0
	for _, r := range e.emu.Requests() {
		assert.Equal(t, "ap-singapore", r.Region)
		if r.Code == "" {
			answered++
		}
	}
	assert.Equal(t, 2, answered, "one answered call per app")

	// CCC takes no region: telcall sends none.
	e.emu.ClearRequests()
	_, err = invoke(t, e.build(function.TelCall), timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	for _, r := range e.emu.Requests() {
		assert.Empty(t, r.Region)
	}

	// trtcusage's actions serve ap-guangzhou only: it refuses to start, naming the variable.
	_, err = function.New(function.TRTC, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "TCUSAGE_API_REGION")
	assert.Contains(t, err.Error(), "ap-guangzhou")
	e.vars["TCUSAGE_API_REGION"] = "ap-mars"
	_, err = function.New(function.Room, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir()})
	assert.ErrorContains(t, err, "TCUSAGE_API_REGION")

	// A domestic account is not served in ap-singapore: the emulator refuses, the run fails.
	d := newTestEnv(t, emulator.Config{})
	d.vars["TCUSAGE_API_REGION"] = "ap-singapore"
	_, err = invoke(t, d.build(function.Room), timerEvent(`{"date":"2024-05-09"}`))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UnsupportedRegion")
}
