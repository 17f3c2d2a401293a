package plan

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
)

func day(s string) calendar.Day {
	d, err := calendar.Parse(s)
	if err != nil {
		panic(err)
	}
	return d
}

func days(ss ...string) []calendar.Day {
	var out []calendar.Day
	for _, s := range ss {
		out = append(out, day(s))
	}
	return out
}

var shanghai, _ = time.LoadLocation("Asia/Shanghai")

func TestLimitsAt(t *testing.T) {
	// 2024-05-10 01:00 in Shanghai is still 2024-05-09 in UTC: yesterday is counted in the zone.
	now := time.Date(2024, 5, 9, 17, 0, 0, 0, time.UTC)
	assert.Equal(t, Limits{Latest: day("2024-05-09")}, LimitsAt(now, shanghai, nil))
	assert.Equal(t, Limits{Latest: day("2024-05-08")}, LimitsAt(now, time.UTC, nil))
	lim := LimitsAt(now, shanghai, func(today calendar.Day) calendar.Day { return today.Add(-90) })
	assert.Equal(t, day("2024-02-10"), lim.Earliest)
	assert.True(t, lim.Contains(day("2024-02-10")))
	assert.False(t, lim.Contains(day("2024-02-09")))
	assert.False(t, lim.Contains(day("2024-05-10")))
}

// East of China, "yesterday" in the configured zone can be a China day not over yet: it is never
// planned.
func TestNoChinaDayBeforeItIsOver(t *testing.T) {
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // UTC+14
	require.NoError(t, err)
	now := time.Date(2024, 5, 10, 22, 0, 0, 0, calendar.Zone) // 2024-05-11 04:00 there
	lim := LimitsAt(now, kiritimati, nil)
	assert.Equal(t, day("2024-05-09"), lim.Latest)
	w, err := Timer("", 0, []string{"1"}, lim)
	require.NoError(t, err)
	assert.Equal(t, days("2024-05-09"), w.Days)
}

func TestTimerDefault(t *testing.T) {
	w, err := Timer("", 2, []string{"1", "2"}, Limits{Latest: day("2024-05-09")})
	require.NoError(t, err)
	assert.Equal(t, days("2024-05-09", "2024-05-08", "2024-05-07"), w.Days)
	assert.Equal(t, []string{"1", "2"}, w.Apps)

	w, err = Timer("", 2, []string{"1"}, Limits{Latest: day("2024-05-09"), Earliest: day("2024-05-08")})
	require.NoError(t, err)
	assert.Equal(t, days("2024-05-09", "2024-05-08"), w.Days, "the window stops at the API's first day")
}

func TestTimerOverrides(t *testing.T) {
	lim := Limits{Latest: day("2024-05-09")}
	w, err := Timer(`{"from":"2024-05-01","to":"2024-05-03","apps":["2"]}`, 2, []string{"1", "2"}, lim)
	require.NoError(t, err)
	assert.Equal(t, days("2024-05-03", "2024-05-02", "2024-05-01"), w.Days)
	assert.Equal(t, []string{"2"}, w.Apps)

	w, err = Timer(`{"restate_days":0}`, 2, []string{"1"}, lim)
	require.NoError(t, err)
	assert.Equal(t, days("2024-05-09"), w.Days)
	assert.False(t, w.Force)

	w, err = Timer(`{"date":"2024-05-01","force":true}`, 2, []string{"1"}, lim)
	require.NoError(t, err)
	assert.True(t, w.Force)
}

func TestTimerRefuses(t *testing.T) {
	lim := Limits{Latest: day("2024-05-09"), Earliest: day("2023-04-01")}
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
		`{"restate_days":0,"restate_days":5}`:       "Message.restate_days",
		`{"restate_days":0,"RESTATE_DAYS":5}`:       "Message.restate_days",
		// encoding/json matches keys by Unicode case folding: ſ (U+017F) is an s, K (U+212A) a k.
		`{"restate_days":0,"reſtate_days":5}`: "Message.restate_days",
		`{"apps":["1"],"appſ":["2"]}`:         "Message.apps",
		`{"force":false,"ForcE":true}`:        "Message.force",
	} {
		t.Run(msg, func(t *testing.T) {
			_, err := Timer(msg, 2, []string{"1", "2"}, lim)
			var ie *InputError
			require.True(t, errors.As(err, &ie), "%v", err)
			assert.Equal(t, field, ie.Field)
		})
	}
}

func TestFoldKeyMatchesEqualFold(t *testing.T) {
	for _, pair := range [][2]string{{"restate_days", "reſtate_days"}, {"k", "\u212a"}, {"apps", "APPS"}, {"ǅ", "ǆ"}, {"σ", "ς"}, {"a", "b"}, {"ss", "ß"}} {
		assert.Equal(t, strings.EqualFold(pair[0], pair[1]), foldKey(pair[0]) == foldKey(pair[1]), "%q %q", pair[0], pair[1])
	}
}

func TestSelectApps(t *testing.T) {
	got, err := SelectApps("app", []string{"10", " 2", "10"}, []string{"2", "10", "x"})
	require.NoError(t, err)
	assert.Equal(t, []string{"2", "10"}, got, "numeric order, no repeats")
	_, err = SelectApps("app", []string{strings.Repeat("y", 500)}, []string{"2"})
	var ie *InputError
	require.ErrorAs(t, err, &ie)
	assert.Less(t, len(ie.Problem), 200, "a hostile value is clipped")
}

func TestFieldName(t *testing.T) {
	assert.Equal(t, "date", FieldName("date"))
	assert.Equal(t, `""`, FieldName(""))
	assert.Equal(t, `"a\nb"`, FieldName("a\nb"))
	assert.Equal(t, strings.Repeat("x", 64)+"…", FieldName(strings.Repeat("x", 500)))
}

// A cycle starts when yesterday's figures settle: before that, the runs still work on the cycle
// that began the day before.
func TestCycleAt(t *testing.T) {
	nine := 9 * time.Hour
	start, latest := CycleAt(time.Date(2024, 5, 10, 8, 0, 0, 0, shanghai), shanghai, nine)
	assert.Equal(t, time.Date(2024, 5, 9, 9, 0, 0, 0, shanghai), start)
	assert.Equal(t, day("2024-05-08"), latest)
	start, latest = CycleAt(time.Date(2024, 5, 10, 9, 0, 0, 0, shanghai), shanghai, nine)
	assert.Equal(t, time.Date(2024, 5, 10, 9, 0, 0, 0, shanghai), start)
	assert.Equal(t, day("2024-05-09"), latest)
	start, latest = CycleAt(time.Date(2024, 5, 10, 0, 30, 0, 0, shanghai), shanghai, 0)
	assert.Equal(t, time.Date(2024, 5, 10, 0, 0, 0, 0, shanghai), start, "settling at midnight: the cycle is the calendar day")
	assert.Equal(t, day("2024-05-09"), latest)
	// East of China, the cycle's day is never a China day not over yet.
	kiritimati := time.FixedZone("UTC+14", 14*3600)
	_, latest = CycleAt(time.Date(2024, 5, 10, 22, 0, 0, 0, calendar.Zone), kiritimati, 0)
	assert.Equal(t, day("2024-05-09"), latest)
}
