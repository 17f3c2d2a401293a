package plan

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var fuzzApps = []string{"1400000001", "1400000002", "1400000003"}

var fuzzLimits = Limits{Earliest: day("2024-02-10"), Latest: day("2024-05-09")}

// FuzzTimerWindow feeds arbitrary timer Messages to Timer: never a panic; an error is an
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
	f.Fuzz(func(t *testing.T, msg string) {
		w, err := Timer(msg, 2, fuzzApps, fuzzLimits)
		if err != nil {
			var ie *InputError
			require.True(t, errors.As(err, &ie), "want an *InputError, got %T: %v", err, err)
			require.True(t, ie.Field == "Message" || strings.HasPrefix(ie.Field, "Message."), "field %q", ie.Field)
			require.NotEmpty(t, ie.Problem)
			require.LessOrEqual(t, len(err.Error()), 600)
			return
		}
		require.NotEmpty(t, w.Days)
		require.LessOrEqual(t, len(w.Days), MaxDays)
		for i, d := range w.Days {
			require.True(t, fuzzLimits.Contains(d), "%s", d)
			if i > 0 {
				require.True(t, d.Before(w.Days[i-1]), "newest first, no repeats")
			}
		}
		require.NotEmpty(t, w.Apps)
		for _, a := range w.Apps {
			require.Contains(t, fuzzApps, a)
		}
	})
}
