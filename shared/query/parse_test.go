package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

func TestParseQuery(t *testing.T) {
	lim := plan.Limits{Latest: calendar.Date(2024, 5, 9), Earliest: calendar.Date(2024, 2, 10)}
	apps := []string{"1400000001", "1400000002", "1400000010"}
	q, err := ParseQuery(map[string][]string{}, usage.TelCallSchema, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: calendar.Date(2024, 5, 9), To: calendar.Date(2024, 5, 9), Apps: apps, Format: usage.JSONL}, q)

	q, err = ParseQuery(map[string][]string{"from": {"2024-05-01"}, "to": {"2024-05-02"}, "app": {"1400000010,1400000002", "1400000002"}, "format": {"CSV"}, "save": {"true"}}, usage.TelCallSchema, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: calendar.Date(2024, 5, 1), To: calendar.Date(2024, 5, 2), Apps: []string{"1400000002", "1400000010"}, Format: usage.CSV, Save: true}, q)

	// A year, and days before the API's window: they may be in the snapshots.
	q, err = ParseQuery(map[string][]string{"from": {"2023-05-10"}, "to": {"2024-05-08"}, "group": {"app"}, "top": {"5"}, "by": {"inbound_minutes"}}, usage.TelCallSchema, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: calendar.Date(2023, 5, 10), To: calendar.Date(2024, 5, 8), Apps: apps, Format: usage.JSONL, Group: GroupApp, Top: 5, By: "inbound_minutes"}, q)

	// top without by ranks by the total when the measures share a unit, else by the first.
	q, err = ParseQuery(map[string][]string{"group": {"room"}, "top": {"10"}, "fresh": {"yes"}}, usage.RoomUsageSchema, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: lim.Latest, To: lim.Latest, Apps: apps, Format: usage.JSONL, Fresh: true, Group: GroupRoom, Top: 10, By: ByTotal}, q)
	q, err = ParseQuery(map[string][]string{"group": {"day"}, "top": {"3"}}, usage.TelCallSchema, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, "outbound_minutes", q.By)
	q, err = ParseQuery(map[string][]string{"group": {"room"}, "top": {"3"}, "by": {"spatial_audio_seconds"}}, usage.RoomUsageSchema, apps, lim)
	require.NoError(t, err, "a further room-usage column may rank")
	assert.Equal(t, "spatial_audio_seconds", q.By)
}

// parseRefusals are queries ParseQuery refuses, with the field it names; hostile values of every
// parameter included. Limits: latest 2024-05-09, earliest 2024-01-01.
var parseRefusals = []struct {
	q      map[string][]string
	schema usage.Schema
	field  string
}{
	{map[string][]string{"dat": {"2024-05-01"}}, usage.TelCallSchema, "dat"},
	{map[string][]string{"date": {"2024-05-01", "2024-05-02"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"date": {"2024-05-01"}, "from": {"2024-05-01"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"from": {"2024-05-01"}}, usage.TelCallSchema, "from"},
	{map[string][]string{"date": {"tomorrow"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"date": {"2024-05-10"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"date": {"2023-12-31"}, "fresh": {"true"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"date": {"2023-12-31"}, "save": {"true"}}, usage.TelCallSchema, "date"},
	{map[string][]string{"from": {"2024-05-09"}, "to": {"2024-05-01"}}, usage.TelCallSchema, "from"},
	{map[string][]string{"from": {"2023-05-09"}, "to": {"2024-05-09"}}, usage.TelCallSchema, "to"}, // 367 days
	{map[string][]string{"from": {"0001-01-01"}, "to": {"2024-05-09"}}, usage.TelCallSchema, "to"},
	{map[string][]string{"from": {"2024-04-01"}, "to": {"2024-05-09"}, "fresh": {"1"}}, usage.TelCallSchema, "to"}, // 39 live days
	{map[string][]string{"app": {"../../etc"}}, usage.TelCallSchema, "app"},
	{map[string][]string{"app": {"1400000009"}}, usage.TelCallSchema, "app"},
	{map[string][]string{"app": {""}}, usage.TelCallSchema, "app"},
	{map[string][]string{"format": {"xml"}}, usage.TelCallSchema, "format"},
	{map[string][]string{"save": {"maybe"}}, usage.TelCallSchema, "save"},
	{map[string][]string{"fresh": {"maybe"}}, usage.TelCallSchema, "fresh"},
	{map[string][]string{"fresh": {"true", "false"}}, usage.TelCallSchema, "fresh"},
	{map[string][]string{strings.Repeat("x", 500): {"1"}}, usage.TelCallSchema, strings.Repeat("x", 64) + "…"},
	// group
	{map[string][]string{"group": {"week"}}, usage.TelCallSchema, "group"},
	{map[string][]string{"group": {"room"}}, usage.TelCallSchema, "group"}, // CCC has no rooms
	{map[string][]string{"group": {"room_id"}}, usage.RoomUsageSchema, "group"},
	{map[string][]string{"group": {"day,app"}}, usage.TelCallSchema, "group"},
	{map[string][]string{"group": {"../../etc"}}, usage.TelCallSchema, "group"},
	{map[string][]string{"group": {"day\x00"}}, usage.TelCallSchema, "group"},
	{map[string][]string{"group": {strings.Repeat("d", 1<<20)}}, usage.TelCallSchema, "group"},
	{map[string][]string{"group": {"day", "app"}}, usage.TelCallSchema, "group"},
	// top
	{map[string][]string{"top": {"5"}}, usage.TelCallSchema, "top"}, // no group
	{map[string][]string{"group": {"app"}, "top": {"0"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"-1"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"10001"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"99999999999999999999999"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"1e3"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"0x10"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"ten"}}, usage.TelCallSchema, "top"},
	{map[string][]string{"group": {"app"}, "top": {"5", "6"}}, usage.TelCallSchema, "top"},
	// by
	{map[string][]string{"group": {"app"}, "by": {"inbound_minutes"}}, usage.TelCallSchema, "by"},     // no top
	{map[string][]string{"group": {"app"}, "top": {"3"}, "by": {"total"}}, usage.TelCallSchema, "by"}, // minutes and seats
	{map[string][]string{"group": {"app"}, "top": {"3"}, "by": {"sdk_app_id"}}, usage.TelCallSchema, "by"},
	{map[string][]string{"group": {"app"}, "top": {"3"}, "by": {"date"}}, usage.TelCallSchema, "by"},
	{map[string][]string{"group": {"app"}, "top": {"3"}, "by": {"cost_time_unix"}}, usage.ESSBillSchema, "by"}, // a time, not an amount
	{map[string][]string{"group": {"room"}, "top": {"3"}, "by": {"room_id"}}, usage.RoomUsageSchema, "by"},
	{map[string][]string{"group": {"room"}, "top": {"3"}, "by": {"anything"}}, usage.RoomUsageSchema, "by"},
	{map[string][]string{"group": {"room"}, "top": {"3"}, "by": {"../x_seconds"}}, usage.RoomUsageSchema, "by"},
	{map[string][]string{"group": {"room"}, "top": {"3"}, "by": {strings.Repeat("a", 100) + "_seconds"}}, usage.RoomUsageSchema, "by"},
	{map[string][]string{"group": {"app"}, "top": {"3"}, "by": {"inbound_minutes\r\nX-Evil: 1"}}, usage.TelCallSchema, "by"},
}

func TestParseQueryRefuses(t *testing.T) {
	lim := plan.Limits{Latest: calendar.Date(2024, 5, 9), Earliest: calendar.Date(2024, 1, 1)}
	apps := []string{"1400000001"}
	for _, tc := range parseRefusals {
		_, err := ParseQuery(tc.q, tc.schema, apps, lim)
		var ie *plan.InputError
		require.True(t, errors.As(err, &ie), "%.200v: %v", tc.q, err)
		assert.Equal(t, tc.field, ie.Field, "%.200v", tc.q)
		assert.LessOrEqual(t, len(err.Error()), 600, "the error quotes the input clipped")
		assert.NotContains(t, err.Error(), "\r\n")
	}
}
