package query

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

var fuzzApps = []string{"1400000001", "1400000002", "1400000003"}

var fuzzLimits = plan.Limits{Earliest: calendar.Date(2024, 2, 10), Latest: calendar.Date(2024, 5, 9)}

// requireInputError checks that err is an *InputError naming a field, with a bounded message.
func requireInputError(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ie *plan.InputError
	require.True(t, errors.As(err, &ie), "want an *InputError, got %T: %v", err, err)
	require.NotEmpty(t, ie.Field, "the error names no field: %v", err)
	require.NotEmpty(t, ie.Problem)
	require.LessOrEqual(t, len(ie.Field), 300, "a field quoted from the input must be clipped")
	require.LessOrEqual(t, len(err.Error()), 600, "an error message must stay short: %q", err.Error())
	if len(fields) > 0 && !strings.HasPrefix(ie.Problem, "unknown parameter") {
		require.Contains(t, fields, ie.Field)
	}
}

// FuzzParseQuery feeds arbitrary query strings (as the trigger decodes them: a multi-valued map)
// to ParseQuery for room usage (the dataset that takes every group). It never panics; it either
// refuses with an *InputError naming one of the parameters, or returns a query within the
// limits (the API's own for days fetched live), over configured apps only, with a known group,
// a top=N within bounds only with a group, and a measure to rank by only with top=N.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "date=2024-05-09", "from=2024-05-01&to=2024-05-09&app=1400000002&format=csv&save=true",
		"app=1400000001,1400000003&app=1400000002", "date=2024-05-09&from=2024-05-08",
		"from=2024-05-09&to=2024-05-01", "from=0001-01-01&to=9999-12-31", "date=2024-13-01",
		"app=../../etc/passwd", "app=%00%0a", "format=xml", "save=maybe", "limit=5", "date=2024-05-09&date=2024-05-08",
		"app=", "app=,,", "from=2024-01-01&to=2024-05-09", "date=+2024-05-09", "date=2024-05-10",
		"from=2023-05-10&to=2024-05-09&group=day", "group=room&top=10&by=total", "group=app&top=3&by=audio_seconds",
		"group=room&top=0", "group=room&top=10001", "top=5", "by=total", "group=week", "group=room&top=1&by=room_id",
		"fresh=true&from=2024-01-01&to=2024-01-31", "fresh=maybe", "group=day&top=2&by=x_8k_seconds", "group=ROOM&top=%2B5",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the trigger would not deliver it
		}
		got, err := ParseQuery(q, usage.RoomUsageSchema, fuzzApps, fuzzLimits)
		if err != nil {
			requireInputError(t, err, append(slices.Clone(queryParams), "")...)
			return
		}
		require.False(t, got.From.After(got.To))
		require.False(t, got.To.After(fuzzLimits.Latest))
		require.LessOrEqual(t, got.To.Sub(got.From)+1, MaxDays)
		if got.Live() {
			require.NoError(t, fuzzLimits.Check("from", "to", got.From, got.To), "days fetched live are within the API's limits")
		}
		require.Contains(t, []Group{GroupNone, GroupDay, GroupApp, GroupRoom}, got.Group)
		require.True(t, got.Top >= 0 && got.Top <= MaxTop)
		require.True(t, got.Top == 0 || got.Group != GroupNone, "top=N only with a group")
		require.Equal(t, got.Top > 0, got.By != "", "a measure to rank by exactly with top=N")
		if got.By != "" && got.By != ByTotal {
			require.True(t, usage.RoomUsageSchema.IsMeasure(got.By) && strings.HasSuffix(got.By, "_seconds") && len(got.By) <= 64, got.By)
		}
		require.NotEmpty(t, got.Apps)
		for _, a := range got.Apps {
			require.Contains(t, fuzzApps, a)
		}
		require.Contains(t, []usage.Format{usage.JSONL, usage.CSV}, got.Format)
	})
}
