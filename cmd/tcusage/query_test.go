package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tcusage query answers from the demo's snapshots without the API (the emulator is not even
// asked for), the same body as the function's HTTP answer to the same parameters, and fetches a
// day not in the snapshots live from the emulator.
func TestQueryAnswersLikeHTTPFromAnySink(t *testing.T) {
	dir := t.TempDir()
	day := yesterday()
	code, out, errOut := runCmd(t, nil, "demo", "--date", day.String(), "--out", dir)
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	sink := "file://" + dir
	// The demo's apps, without the emulator: everything comes from the store.
	env := map[string]string{"TCUSAGE_SDK_APP_IDS": "1400000001,1400000002,1400000003", "HOME": t.TempDir(),
		"TENCENTCLOUD_SECRET_ID": "AKIDunusedForSnapshotDays0000", "TENCENTCLOUD_SECRET_KEY": "unused", "TCUSAGE_API_ENDPOINT": "127.0.0.1:9"}

	code, out, errOut = runCmd(t, env, "query", "roomusage", "--sink", sink, "--date", day.String(), "--group", "room", "--top", "3")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	var a struct {
		Group string
		Rows  []map[string]any
		Days  []struct{ Source string }
	}
	require.NoError(t, json.Unmarshal([]byte(out), &a))
	assert.Equal(t, "room", a.Group)
	assert.Len(t, a.Rows, 3)
	assert.Equal(t, "snapshot", a.Days[0].Source)
	assert.Contains(t, errOut, "1 day(s) from snapshots, live: none")

	// The same query through the function's HTTP handler (a Function URL event).
	ev := filepath.Join(t.TempDir(), "url.json")
	event := `{"httpMethod":"GET","path":"/","headers":{"authorization":"Bearer demo-token"},"body":"",` +
		`"queryString":{"date":"` + day.String() + `","group":"room","top":"3","format":"csv"}}`
	require.NoError(t, os.WriteFile(ev, []byte(event), 0o644))
	code, httpOut, errOut := runCmd(t, map[string]string{"TCUSAGE_SINK": sink}, "invoke", "roomusage", "--event", ev, "--emulator")
	require.Equal(t, exitOK, code, errOut)
	var resp struct {
		StatusCode int
		Body       string
	}
	require.NoError(t, json.Unmarshal([]byte(httpOut), &resp))
	require.Equal(t, 200, resp.StatusCode, resp.Body)
	code, out, errOut = runCmd(t, env, "query", "roomusage", "--sink", sink, "--date", day.String(), "--group", "room", "--top", "3", "--format", "csv")
	require.Equal(t, exitOK, code, errOut)
	assert.Equal(t, resp.Body, out, "the command prints the HTTP answer's body")

	// A day not in the snapshots comes from the API: here the embedded emulator.
	code, out, errOut = runCmd(t, nil, "query", "telcall", "--sink", sink, "--from", day.Add(-1).String(), "--to", day.String(), "--group", "day", "--emulator")
	require.Equal(t, exitOK, code, "stdout:\n%s\nstderr:\n%s", out, errOut)
	assert.Contains(t, errOut, "1 day(s) from snapshots, live: "+day.Add(-1).String())

	// Mistakes in the parameters are usage errors naming the flag; refusals are failures.
	code, _, errOut = runCmd(t, env, "query", "roomusage", "--sink", sink, "--group", "week")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--group: ")
	code, _, errOut = runCmd(t, env, "query", "telcall", "--sink", sink, "--top", "3")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "--top: ")
	code, _, errOut = runCmd(t, env, "query", "telcall", "--sink", sink, "--date", day.Add(-5).String(), "--timeout", "1s")
	assert.Equal(t, exitFailed, code, "a day to fetch, and not the time to")
	assert.True(t, strings.HasPrefix(errOut, "tcusage: RangeTooLarge: "), errOut)
	code, _, _ = runCmd(t, env, "query")
	assert.Equal(t, exitUsage, code)
}
