package job

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func TestDayBounds(t *testing.T) {
	start, last, end, err := DayBounds("2024-05-01", shanghai)
	require.NoError(t, err)
	assert.Equal(t, "2024-05-01T00:00:00+08:00", start.Format(time.RFC3339))
	assert.Equal(t, "2024-05-01T23:59:59+08:00", last.Format(time.RFC3339))
	assert.Equal(t, "2024-05-02T00:00:00+08:00", end.Format(time.RFC3339))
	assert.Equal(t, int64(1714492800), start.Unix())
	_, _, _, err = DayBounds("2024-02-30", shanghai)
	assert.Error(t, err)
}

func TestTimerWindowDefault(t *testing.T) {
	// 2024-05-10 01:00 in Shanghai is still 2024-05-09 in UTC: yesterday is counted in the zone.
	now := time.Date(2024, 5, 9, 17, 0, 0, 0, time.UTC)
	w, err := TimerWindow("", now, shanghai, 2, []string{"1", "2"}, Limits{Latest: "2024-05-09"})
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-05-09", "2024-05-08", "2024-05-07"}, w.Dates)
	assert.Equal(t, []string{"1", "2"}, w.Apps)

	w, err = TimerWindow("", now, shanghai, 2, []string{"1"}, Limits{Latest: "2024-05-09", Earliest: "2024-05-08"})
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-05-09", "2024-05-08"}, w.Dates, "the window stops at the API's first day")
}

func TestTimerWindowOverrides(t *testing.T) {
	now := time.Date(2024, 5, 10, 3, 0, 0, 0, shanghai)
	lim := Limits{Latest: "2024-05-09"}
	w, err := TimerWindow(`{"from":"2024-05-01","to":"2024-05-03","apps":["2"]}`, now, shanghai, 2, []string{"1", "2"}, lim)
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-05-03", "2024-05-02", "2024-05-01"}, w.Dates)
	assert.Equal(t, []string{"2"}, w.Apps)

	w, err = TimerWindow(`{"restate_days":0}`, now, shanghai, 2, []string{"1"}, lim)
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-05-09"}, w.Dates)
	assert.False(t, w.Force)

	w, err = TimerWindow(`{"date":"2024-05-01","force":true}`, now, shanghai, 2, []string{"1"}, lim)
	require.NoError(t, err)
	assert.True(t, w.Force)
}

func TestTimerWindowRefuses(t *testing.T) {
	now := time.Date(2024, 5, 10, 3, 0, 0, 0, shanghai)
	lim := Limits{Latest: "2024-05-09", Earliest: "2023-04-01"}
	for msg, field := range map[string]string{
		`daily`:                    "Message",
		`[1,2]`:                    "Message",
		`{"date":"2024-05-01"} {}`: "Message",
		`{"dates":"2024-05-01"}`:   "Message",
		`{"date":"2024-5-1"}`:      "Message.date",
		`{"date":"2024-05-10"}`:    "Message.date",
		`{"date":"2023-03-31"}`:    "Message.date",
		`{"date":"2024-05-01","from":"2024-05-01"}`: "Message.date",
		`{"from":"2024-05-01"}`:                     "Message.from",
		`{"from":"2024-05-03","to":"2024-05-01"}`:   "Message.from",
		`{"from":"2024-01-01","to":"2024-05-01"}`:   "Message.to",
		`{"apps":["9"]}`:                            "Message.apps",
		`{"restate_days":99}`:                       "Message.restate_days",
	} {
		t.Run(msg, func(t *testing.T) {
			_, err := TimerWindow(msg, now, shanghai, 2, []string{"1"}, lim)
			var ie *InputError
			require.True(t, errors.As(err, &ie), "%v", err)
			assert.Equal(t, field, ie.Field)
		})
	}
}

func TestParseQuery(t *testing.T) {
	lim := Limits{Latest: "2024-05-09"}
	apps := []string{"1400000001", "1400000002", "1400000010"}
	q, err := ParseQuery(map[string][]string{}, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: "2024-05-09", To: "2024-05-09", Apps: apps, Format: "json"}, q)

	q, err = ParseQuery(map[string][]string{"from": {"2024-05-01"}, "to": {"2024-05-02"}, "app": {"1400000010,1400000002", "1400000002"}, "format": {"CSV"}, "save": {"true"}}, apps, lim)
	require.NoError(t, err)
	assert.Equal(t, Query{From: "2024-05-01", To: "2024-05-02", Apps: []string{"1400000002", "1400000010"}, Format: "csv", Save: true}, q)
}

func TestParseQueryRefuses(t *testing.T) {
	lim := Limits{Latest: "2024-05-09", Earliest: "2024-01-01"}
	apps := []string{"1400000001"}
	cases := []struct {
		q     map[string][]string
		field string
	}{
		{map[string][]string{"dat": {"2024-05-01"}}, "dat"},
		{map[string][]string{"date": {"2024-05-01", "2024-05-02"}}, "date"},
		{map[string][]string{"date": {"2024-05-01"}, "from": {"2024-05-01"}}, "date"},
		{map[string][]string{"from": {"2024-05-01"}}, "from"},
		{map[string][]string{"date": {"tomorrow"}}, "date"},
		{map[string][]string{"date": {"2024-05-10"}}, "date"},
		{map[string][]string{"date": {"2023-12-31"}}, "date"},
		{map[string][]string{"from": {"2024-05-09"}, "to": {"2024-05-01"}}, "from"},
		{map[string][]string{"from": {"2024-01-01"}, "to": {"2024-05-01"}}, "to"},
		{map[string][]string{"app": {"../../etc"}}, "app"},
		{map[string][]string{"app": {"1400000009"}}, "app"},
		{map[string][]string{"app": {""}}, "app"},
		{map[string][]string{"format": {"xml"}}, "format"},
		{map[string][]string{"save": {"maybe"}}, "save"},
		{map[string][]string{strings.Repeat("x", 500): {"1"}}, strings.Repeat("x", 64) + "…"},
	}
	for _, tc := range cases {
		_, err := ParseQuery(tc.q, apps, lim)
		var ie *InputError
		require.True(t, errors.As(err, &ie), "%v: %v", tc.q, err)
		assert.Equal(t, tc.field, ie.Field, "%v", tc.q)
	}
}
