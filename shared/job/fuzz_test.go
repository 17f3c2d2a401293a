package job

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var fuzzApps = []string{"1400000001", "1400000002", "1400000003"}

var fuzzLimits = Limits{Earliest: "2024-02-10", Latest: "2024-05-09"}

// requireInputError checks that err is an *InputError naming a field, with a bounded message.
func requireInputError(t *testing.T, err error, fields ...string) {
	t.Helper()
	var ie *InputError
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
// to ParseQuery. It never panics; it either refuses with an *InputError naming one of the
// parameters, or returns a query within the limits, over configured apps only.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"", "date=2024-05-09", "from=2024-05-01&to=2024-05-09&app=1400000002&format=csv&save=true",
		"app=1400000001,1400000003&app=1400000002", "date=2024-05-09&from=2024-05-08",
		"from=2024-05-09&to=2024-05-01", "from=0001-01-01&to=9999-12-31", "date=2024-13-01",
		"app=../../etc/passwd", "app=%00%0a", "format=xml", "save=maybe", "limit=5", "date=2024-05-09&date=2024-05-08",
		"app=", "app=,,", "from=2024-01-01&to=2024-05-09", "date=+2024-05-09", "date=2024-05-10",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return // the trigger would not deliver it
		}
		got, err := ParseQuery(q, fuzzApps, fuzzLimits)
		if err != nil {
			requireInputError(t, err, append(slices.Clone(queryParams), "")...)
			return
		}
		require.NoError(t, fuzzLimits.CheckRange("from", "to", got.From, got.To))
		require.LessOrEqual(t, got.From, got.To)
		require.NotEmpty(t, got.Apps)
		for _, a := range got.Apps {
			require.Contains(t, fuzzApps, a)
		}
		require.Contains(t, []string{"json", "csv"}, got.Format)
	})
}

// FuzzTimerWindow feeds arbitrary timer Messages to TimerWindow: never a panic; an error is an
// *InputError naming Message or one of its fields; a window covers configured apps and valid
// dates only, newest first, at most MaxDays of them.
func FuzzTimerWindow(f *testing.F) {
	for _, s := range []string{
		"", " ", `{}`, `{"date":"2024-05-09"}`, `{"from":"2024-05-01","to":"2024-05-09","apps":["1400000002"]}`,
		`{"restate_days":30}`, `{"restate_days":-1}`, `{"restate_days":1e9}`, `{"date":"2024-05-09","from":"2024-05-01"}`,
		`{"from":"2024-05-01"}`, `{"apps":["../x"]}`, `{"apps":[]}`, `{"dates":"x"}`, `[1]`, `null`, `"str"`,
		`{"date":"2024-05-09"} {}`, `{"from":"0001-01-01","to":"9999-12-31"}`, `{"date":"2024-05-10"}`,
		`{"date":"2020-01-01"}`, `{"apps":["1400000001","1400000001"]}`, "{\"date\":\"2024-05-09\u0000\"}",
	} {
		f.Add(s)
	}
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(f, err)
	now := time.Date(2024, 5, 10, 2, 0, 0, 0, loc)
	f.Fuzz(func(t *testing.T, msg string) {
		w, err := TimerWindow(msg, now, loc, 2, fuzzApps, fuzzLimits)
		if err != nil {
			var ie *InputError
			require.True(t, errors.As(err, &ie), "want an *InputError, got %T: %v", err, err)
			require.True(t, ie.Field == "Message" || strings.HasPrefix(ie.Field, "Message."), "field %q", ie.Field)
			require.NotEmpty(t, ie.Problem)
			require.LessOrEqual(t, len(err.Error()), 600)
			return
		}
		require.NotEmpty(t, w.Dates)
		require.LessOrEqual(t, len(w.Dates), MaxDays)
		for i, d := range w.Dates {
			_, err := ParseDate(d)
			require.NoError(t, err)
			require.LessOrEqual(t, d, fuzzLimits.Latest)
			require.GreaterOrEqual(t, d, fuzzLimits.Earliest)
			if i > 0 {
				require.Less(t, d, w.Dates[i-1], "newest first, no repeats")
			}
		}
		require.NotEmpty(t, w.Apps)
		for _, a := range w.Apps {
			require.Contains(t, fuzzApps, a)
		}
	})
}

// FuzzFromEnv feeds arbitrary values to the configuration variables: never a panic; a refusal
// names the variable at fault.
func FuzzFromEnv(f *testing.F) {
	f.Add("1400000001,1400000002", "ess_app_demo", "org_a,org_b", "Asia/Shanghai", "both", "2", "auto")
	f.Add("1400000001,1400000001", "../../etc", "org_a,org_a", "Mars/Base", "xml", "-1", "maybe")
	f.Add("abc", "", "", "", "", "31", "")
	f.Add("18446744073709551616", "a\x00b", "\n", "UTC", "csv,jsonl", "1e3", "usage")
	f.Fuzz(func(t *testing.T, apps, essApp, orgs, tz, format, restate, trtc string) {
		env := map[string]string{
			EnvSDKAppIDs: apps, EnvESSAppID: essApp, EnvESSOrgOpenIDs: orgs, EnvTimeZone: tz,
			EnvFormat: format, EnvRestateDays: restate, EnvTRTCAction: trtc,
		}
		for _, needs := range []Needs{NeedSDKApps, NeedESSApp} {
			c, err := FromEnv(func(k string) string { return env[k] }, needs, false)
			if err != nil {
				var ce *ConfigError
				require.True(t, errors.As(err, &ce))
				require.NotEmpty(t, ce.Problems)
				for _, p := range ce.Problems {
					require.True(t, strings.HasPrefix(p, "TCUSAGE_"), "a problem must name its variable: %q", p)
					require.LessOrEqual(t, len(p), 400, "a problem must quote values clipped: %q", p)
				}
				continue
			}
			require.NotNil(t, c.TimeZone)
			require.NotEmpty(t, c.Formats)
			if needs == NeedSDKApps {
				require.NotEmpty(t, c.SDKAppIDs)
			} else {
				require.NotEmpty(t, c.ESSAppID)
			}
		}
	})
}
