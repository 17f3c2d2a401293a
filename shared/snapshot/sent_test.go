package snapshot

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func window(end string, inclusive bool) SentWindow {
	return SentWindow{
		Fields:   map[string]json.RawMessage{"StartTime": json.RawMessage(`"2024-03-03 00:00"`), "EndTime": json.RawMessage(`"` + end + `"`)},
		Readings: map[string]bool{"tcapi.RoomUsageEndInclusive": inclusive},
	}
}

// The window each app was fetched with is recorded per action: once when every app shares it,
// with the apps of each when a day holds apps fetched under two readings, and carried over with
// the apps a later delivery keeps.
func TestWindowsSentFollowTheirApps(t *testing.T) {
	req := delivery(true, []string{"a", "b", "c"}, map[string]string{"a": "1", "b": "2"})
	req.AppActions = map[string]string{"a": "Act", "b": "Act"}
	req.AppWindows = map[string]SentWindow{"a": window("2024-03-03 23:59", true), "b": window("2024-03-03 23:59", true)}
	in, err := prepareCommit("", req)
	require.NoError(t, err)
	first := planCommit(in, &commitState{}).manifest
	assert.Equal(t, map[string][]SentWindow{"Act": {window("2024-03-03 23:59", true)}}, first.WindowsSent, "one window, no app list")

	// The last app is fetched after the reading changed: each window lists its apps.
	req = delivery(true, []string{"a", "b", "c"}, map[string]string{"c": "3"})
	req.AppActions = map[string]string{"c": "Act"}
	req.AppWindows = map[string]SentWindow{"c": window("2024-03-04 00:00", false)}
	in, err = prepareCommit("", req)
	require.NoError(t, err)
	st := &commitState{prev: first, prevExists: true, present: map[string]bool{key("a"): true, key("b"): true}}
	second := planCommit(in, st).manifest
	old, changed := window("2024-03-03 23:59", true), window("2024-03-04 00:00", false)
	old.Apps, changed.Apps = []string{"a", "b"}, []string{"c"}
	assert.Equal(t, map[string][]SentWindow{"Act": {old, changed}}, second.WindowsSent)

	// Carried again from a manifest that lists apps per window; b re-fetched under the new reading.
	req = delivery(true, []string{"a", "b", "c"}, map[string]string{"b": "2"})
	req.AppActions = map[string]string{"b": "Act"}
	req.AppWindows = map[string]SentWindow{"b": window("2024-03-04 00:00", false)}
	in, err = prepareCommit("", req)
	require.NoError(t, err)
	st = &commitState{prev: second, prevExists: true, present: map[string]bool{key("a"): true, key("c"): true}}
	third := planCommit(in, st).manifest
	old.Apps, changed.Apps = []string{"a"}, []string{"b", "c"}
	assert.Equal(t, map[string][]SentWindow{"Act": {old, changed}}, third.WindowsSent)

	b, err := third.Encode()
	require.NoError(t, err)
	back, err := DecodeManifest(bytes.NewReader(b))
	require.NoError(t, err)
	assert.Equal(t, third.WindowsSent, back.WindowsSent, "the block survives encoding")
	assert.Contains(t, string(b), `"EndTime": "2024-03-04 00:00"`)
}
