package function_test

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
)

// errorAnswer is the JSON body of a refused HTTP query.
type errorAnswer struct {
	Error struct {
		Code, Message, Field string
	}
}

// The tests run at 02:00 on 2024-05-10 in Beijing: the latest complete day is 2024-05-09, and
// room usage serves 90 days back, from 2024-02-10.

// TestHostileHTTPQueries drives hostile queries through a real function handler, as a Function
// URL or an API gateway would deliver them, and pins the exact answer each gets: never a panic,
// never a 5xx for a caller's mistake, always the field at fault.
func TestHostileHTTPQueries(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fns := map[string]*function.Function{"telcall": e.build(function.TelCall), "roomusage": e.build(function.Room),
		"trtcusage": e.build(function.TRTC), "essbill": e.build(function.ESS)}
	huge := strings.Repeat("9", 1<<20)
	cases := []struct {
		name   string
		fn     string
		query  url.Values
		apigw  bool
		status int
		code   string
		field  string
	}{
		{"path traversal in app", "telcall", url.Values{"app": {"../../etc/passwd"}}, false, 400, "InvalidParameter", "app"},
		{"traversal inside a configured app", "telcall", url.Values{"app": {"1400000001/../1400000002"}}, false, 400, "InvalidParameter", "app"},
		{"NUL in app", "telcall", url.Values{"app": {"1400000001\x00"}}, false, 400, "InvalidParameter", "app"},
		{"CRLF header injection in app", "telcall", url.Values{"app": {"1400000001\r\nX-Evil: 1"}}, false, 400, "InvalidParameter", "app"},
		{"non-numeric app", "telcall", url.Values{"app": {"abc"}}, false, 400, "InvalidParameter", "app"},
		{"negative app", "telcall", url.Values{"app": {"-1"}}, false, 400, "InvalidParameter", "app"},
		{"zero-padded app", "telcall", url.Values{"app": {"01400000001"}}, false, 400, "InvalidParameter", "app"},
		{"app unknown here", "telcall", url.Values{"app": {"1400000003"}}, false, 400, "InvalidParameter", "app"},
		{"megabyte app", "telcall", url.Values{"app": {huge}}, false, 400, "InvalidParameter", "app"},
		{"empty app", "telcall", url.Values{"app": {" , "}}, false, 400, "InvalidParameter", "app"},
		{"huge range", "telcall", url.Values{"from": {"2021-01-01"}, "to": {"2024-05-09"}}, false, 400, "InvalidParameter", "to"},
		{"range of the whole calendar", "telcall", url.Values{"from": {"0001-01-01"}, "to": {"9999-12-31"}}, false, 400, "InvalidParameter", "to"},
		{"32 days", "telcall", url.Values{"from": {"2024-04-08"}, "to": {"2024-05-09"}}, false, 400, "InvalidParameter", "to"},
		{"reversed range", "telcall", url.Values{"from": {"2024-05-09"}, "to": {"2024-05-01"}}, false, 400, "InvalidParameter", "from"},
		{"future date", "telcall", url.Values{"date": {"2030-01-01"}}, false, 400, "InvalidParameter", "date"},
		{"today is not complete", "telcall", url.Values{"date": {"2024-05-10"}}, false, 400, "InvalidParameter", "date"},
		{"before the data window", "roomusage", url.Values{"date": {"2024-02-09"}}, false, 400, "InvalidParameter", "date"},
		{"range starting before the window", "roomusage", url.Values{"from": {"2024-02-01"}, "to": {"2024-02-20"}}, false, 400, "InvalidParameter", "from"},
		{"the epoch: before the API's first day", "telcall", url.Values{"date": {"1970-01-01"}}, false, 400, "InvalidParameter", "date"},
		{"year one (ESS)", "essbill", url.Values{"date": {"0001-01-01"}}, false, 400, "InvalidParameter", "date"},
		{"the epoch (ESS)", "essbill", url.Values{"date": {"1970-01-01"}}, false, 400, "InvalidParameter", "date"},
		{"year one (TRTC)", "trtcusage", url.Values{"date": {"0001-01-01"}}, false, 400, "InvalidParameter", "date"},
		{"range from the epoch (TRTC)", "trtcusage", url.Values{"from": {"1970-01-01"}, "to": {"1970-01-02"}}, false, 400, "InvalidParameter", "from"},
		{"impossible date", "telcall", url.Values{"date": {"2024-02-30"}}, false, 400, "InvalidParameter", "date"},
		{"traversal in date", "telcall", url.Values{"date": {"2024-05-09/../../x"}}, false, 400, "InvalidParameter", "date"},
		{"duplicate date", "telcall", url.Values{"date": {"2024-05-09", "2024-05-08"}}, false, 400, "InvalidParameter", "date"},
		{"duplicate date via the gateway", "telcall", url.Values{"date": {"2024-05-09", "2024-05-08"}}, true, 400, "InvalidParameter", "date"},
		{"duplicate format", "telcall", url.Values{"format": {"json", "csv"}}, false, 400, "InvalidParameter", "format"},
		{"date and from", "telcall", url.Values{"date": {"2024-05-09"}, "from": {"2024-05-08"}}, false, 400, "InvalidParameter", "date"},
		{"from without to", "telcall", url.Values{"from": {"2024-05-08"}}, false, 400, "InvalidParameter", "from"},
		{"unknown parameter", "telcall", url.Values{"limit": {"5"}}, false, 400, "InvalidParameter", "limit"},
		{"unnamed parameter", "telcall", url.Values{"": {"x"}}, false, 400, "InvalidParameter", `""`},
		{"control character in a parameter name", "telcall", url.Values{"a\x1bb": {"x"}}, false, 400, "InvalidParameter", `"a\x1bb"`},
		{"unknown format", "telcall", url.Values{"format": {"xml"}}, false, 400, "InvalidParameter", "format"},
		{"bad save", "telcall", url.Values{"save": {"maybe"}}, false, 400, "InvalidParameter", "save"},
		{"unknown group", "telcall", url.Values{"group": {"week"}}, false, 400, "InvalidParameter", "group"},
		{"rooms of a dataset without rooms", "telcall", url.Values{"group": {"room"}}, false, 400, "InvalidParameter", "group"},
		{"traversal in group", "roomusage", url.Values{"group": {"../../room"}}, false, 400, "InvalidParameter", "group"},
		{"megabyte group", "telcall", url.Values{"group": {huge}}, false, 400, "InvalidParameter", "group"},
		{"duplicate group", "telcall", url.Values{"group": {"day", "app"}}, false, 400, "InvalidParameter", "group"},
		{"top without group", "roomusage", url.Values{"top": {"10"}}, false, 400, "InvalidParameter", "top"},
		{"top zero", "roomusage", url.Values{"group": {"room"}, "top": {"0"}}, false, 400, "InvalidParameter", "top"},
		{"negative top", "roomusage", url.Values{"group": {"room"}, "top": {"-5"}}, false, 400, "InvalidParameter", "top"},
		{"top too large", "roomusage", url.Values{"group": {"room"}, "top": {"10001"}}, false, 400, "InvalidParameter", "top"},
		{"top overflowing", "roomusage", url.Values{"group": {"room"}, "top": {huge}}, false, 400, "InvalidParameter", "top"},
		{"top in hex", "roomusage", url.Values{"group": {"room"}, "top": {"0x10"}}, false, 400, "InvalidParameter", "top"},
		{"by without top", "roomusage", url.Values{"group": {"room"}, "by": {"audio_seconds"}}, false, 400, "InvalidParameter", "by"},
		{"by a key column", "roomusage", url.Values{"group": {"room"}, "top": {"3"}, "by": {"room_id"}}, false, 400, "InvalidParameter", "by"},
		{"by a time", "essbill", url.Values{"group": {"app"}, "top": {"3"}, "by": {"cost_time_unix"}}, false, 400, "InvalidParameter", "by"},
		{"by a total of minutes and seats", "telcall", url.Values{"group": {"app"}, "top": {"3"}, "by": {"total"}}, false, 400, "InvalidParameter", "by"},
		{"CRLF in by", "roomusage", url.Values{"group": {"room"}, "top": {"3"}, "by": {"audio_seconds\r\nX-Evil: 1"}}, false, 400, "InvalidParameter", "by"},
		{"bad fresh", "telcall", url.Values{"fresh": {"always"}}, false, 400, "InvalidParameter", "fresh"},
		{"fresh over 31 days", "telcall", url.Values{"from": {"2024-04-01"}, "to": {"2024-05-09"}, "fresh": {"true"}}, false, 400, "InvalidParameter", "to"},
		{"a year to fetch live", "telcall", url.Values{"from": {"2023-05-10"}, "to": {"2024-05-09"}}, false, 400, "InvalidParameter", "to"},
		{"repeated app is one app", "telcall", url.Values{"app": {"1400000001", "1400000001,1400000001"}, "date": {"2024-05-09"}}, false, 200, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := urlEvent(c.query, auth())
			if c.apigw {
				ev = apigwEvent(c.query, map[string]string{"Authorization": "Bearer " + httpToken})
			}
			r := httpAnswer(t, fns[c.fn], ev)
			require.Equal(t, c.status, r.StatusCode, r.Body)
			assert.Less(t, len(r.Body), 2000, "a refusal quotes the input clipped")
			if c.status == 200 {
				var ans struct{ Apps []string }
				require.NoError(t, json.Unmarshal([]byte(r.Body), &ans))
				assert.Equal(t, []string{"1400000001"}, ans.Apps)
				return
			}
			var a errorAnswer
			require.NoError(t, json.Unmarshal([]byte(r.Body), &a), r.Body)
			assert.Equal(t, c.code, a.Error.Code)
			assert.Equal(t, c.field, a.Error.Field)
			assert.True(t, strings.HasPrefix(a.Error.Message, c.field+": "), a.Error.Message)
			assert.NotContains(t, r.Body, "\x00")
			assert.NotContains(t, r.Body, "\r\n")
		})
	}
	reqs := len(e.emu.Requests())
	assert.Equal(t, 1, reqs, "only the one valid query reached the API")
}

// TestHostileHTTPEvents covers requests that are wrong as a whole: methods, bodies and events
// too large for the platform.
func TestHostileHTTPEvents(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	withMethod := func(method, body string) string {
		var ev map[string]any
		require.NoError(t, json.Unmarshal([]byte(urlEvent(url.Values{}, auth())), &ev))
		ev["httpMethod"], ev["body"] = method, body
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		return string(b)
	}
	for _, c := range []struct {
		name, method, body string
		status             int
		code               string
	}{
		{"POST with a 5 MB body", "POST", strings.Repeat("A", 5<<20), 405, "MethodNotAllowed"},
		{"PUT", "PUT", "", 405, "MethodNotAllowed"},
		{"DELETE", "DELETE", "", 405, "MethodNotAllowed"},
		{"OPTIONS", "OPTIONS", "", 405, "MethodNotAllowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httpAnswer(t, fn, withMethod(c.method, c.body))
			require.Equal(t, c.status, r.StatusCode)
			var a errorAnswer
			require.NoError(t, json.Unmarshal([]byte(r.Body), &a))
			assert.Equal(t, c.code, a.Error.Code)
			assert.Equal(t, "GET, HEAD", r.Headers["Allow"])
		})
	}
	assert.Empty(t, e.emu.Requests(), "no refused request reached the API")
	t.Run("HEAD answers headers only", func(t *testing.T) {
		r := httpAnswer(t, fn, withMethod("HEAD", ""))
		require.Equal(t, 200, r.StatusCode)
		assert.Empty(t, r.Body)
	})
	t.Run("an event over SCF's 6 MB limit is refused before the handler", func(t *testing.T) {
		_, err := invoke(t, fn, withMethod("GET", strings.Repeat("A", 6<<20)))
		require.Error(t, err)
		assert.Contains(t, err.Error(), "byte limit")
	})
}

// TestHostileTimerMessages drives hostile timer Messages through the handler: each run fails
// before any API call with an error naming the Message field at fault.
func TestHostileTimerMessages(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fns := map[string]*function.Function{"telcall": e.build(function.TelCall), "roomusage": e.build(function.Room),
		"trtcusage": e.build(function.TRTC), "essbill": e.build(function.ESS)}
	for _, c := range []struct {
		name, fn, message, want string
	}{
		{"path traversal in apps", "telcall", `{"apps":["../../etc/passwd"]}`, `Message.apps: "../../etc/passwd" is not a configured app`},
		{"NUL in apps", "telcall", `{"apps":["1400000001\u0000"]}`, `Message.apps: "1400000001\x00" is not a configured app`},
		{"non-numeric app", "telcall", `{"apps":["abc"]}`, `Message.apps: "abc" is not a configured app`},
		{"app as a number", "telcall", `{"apps":[1400000001]}`, "Message: want empty or a JSON object"},
		{"huge range", "telcall", `{"from":"2021-01-01","to":"2024-05-09"}`, "Message.to: the range 2021-01-01..2024-05-09 covers 1225 days; at most 31 per run"},
		{"the epoch", "telcall", `{"date":"1970-01-01"}`, "Message.date: 1970-01-01 is before 2020-02-10, the earliest day this API serves"},
		{"reversed range", "telcall", `{"from":"2024-05-09","to":"2024-05-01"}`, "Message.from: 2024-05-09 is after Message.to=2024-05-01"},
		{"future date", "telcall", `{"date":"2030-01-01"}`, "Message.date: 2030-01-01 is not a complete day yet"},
		{"before the data window", "roomusage", `{"date":"2024-01-01"}`, "Message.date: 2024-01-01 is before 2024-02-10"},
		{"restatement out of bounds", "telcall", `{"restate_days":100000}`, "Message.restate_days: want 0 to 30"},
		{"duplicate field", "telcall", `{"date":"2024-05-09","date":"2024-05-08"}`, "Message.date: given more than once"},
		{"duplicate field in another case", "telcall", `{"date":"2024-05-09","Date":"2024-05-08"}`, "Message.date: given more than once"},
		{"unknown field", "telcall", `{"dates":["2024-05-09"]}`, `Message: want empty or a JSON object`},
		{"not JSON", "telcall", `yesterday please`, "Message: want empty or a JSON object"},
		{"trailing data", "telcall", `{"date":"2024-05-09"} {"date":"2024-05-08"}`, "Message: trailing data after the JSON object"},
		{"megabyte date", "telcall", `{"date":"` + strings.Repeat("2", 1<<20) + `"}`, "Message.date: \"2222"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := invoke(t, fns[c.fn], timerEvent(c.message))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
			assert.Less(t, len(err.Error()), 1000, "errors quote the input clipped")
		})
	}
	assert.Empty(t, e.emu.Requests(), "no refused Message reached the API")
}

// TestHostileConfiguration gives hostile values to the configuration variables: the function
// refuses to start, naming the variable, without echoing anything secret.
func TestHostileConfiguration(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	for _, c := range []struct {
		name     string
		spec     function.Spec
		variable string
		value    string
	}{
		{"traversal in the COS prefix", function.TelCall, "TCUSAGE_SINK", "cos://tcusage-1250000000/../../etc?region=ap-guangzhou"},
		{"NUL in the COS prefix", function.TelCall, "TCUSAGE_SINK", "cos://tcusage-1250000000/a%00b?region=ap-guangzhou"},
		{"control character in the COS prefix", function.TelCall, "TCUSAGE_SINK", "cos://tcusage-1250000000/a%1Bb?region=ap-guangzhou"},
		{"traversal in the COS region", function.TelCall, "TCUSAGE_SINK", "cos://tcusage-1250000000/p?region=../x"},
		{"credentials in the sink URL", function.TelCall, "TCUSAGE_SINK", "cos://AKIDx:topsecretvalue@tcusage-1250000000/p?region=ap-guangzhou"},
		{"empty file sink", function.TelCall, "TCUSAGE_SINK", "file://"},
		{"unknown sink scheme", function.TelCall, "TCUSAGE_SINK", "s3://bucket/p"},
		{"traversal in app IDs", function.TelCall, "TCUSAGE_SDK_APP_IDS", "1400000001,../x"},
		{"newline in app IDs", function.TelCall, "TCUSAGE_SDK_APP_IDS", "1400000001\n1400000002"},
		{"non-numeric app ID", function.TelCall, "TCUSAGE_SDK_APP_IDS", "abc"},
		{"app ID over 64 bits", function.TelCall, "TCUSAGE_SDK_APP_IDS", "18446744073709551616"},
		{"duplicate app ID", function.TelCall, "TCUSAGE_SDK_APP_IDS", "1400000001,1400000001"},
		{"traversal in the ESS app", function.ESS, "TCUSAGE_ESS_APP_ID", "../../etc"},
		{"traversal in an ESS organisation", function.ESS, "TCUSAGE_ESS_ORG_OPEN_IDS", "org_a,../b"},
		{"time zone as a path", function.TelCall, "TCUSAGE_TIMEZONE", "../../../etc/passwd"},
		{"restatement out of bounds", function.TelCall, "TCUSAGE_RESTATE_DAYS", "100000"},
		{"token digest not hex", function.TelCall, "TCUSAGE_HTTP_TOKEN_SHA256", "topsecretvalue"},
		{"endpoint with a path", function.TelCall, "TCUSAGE_API_ENDPOINT", "http://127.0.0.1:1/x?y=1"},
		{"unknown room usage limit model", function.Room, "TCUSAGE_ROOM_USAGE_LIMIT", "per-topsecretvalue"},
		{"expiry not a time", function.TelCall, "TCUSAGE_CREDENTIALS_EXPIRE_AT", "topsecretvalue"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{}
			for k, v := range e.vars {
				vars[k] = v
			}
			vars[c.variable] = c.value
			_, err := function.New(c.spec, func(k string) string { return vars[k] }, function.Options{Home: t.TempDir()})
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.variable)
			assert.NotContains(t, err.Error(), "topsecretvalue")
			assert.NotContains(t, err.Error(), emulator.TestSecretKey)
		})
	}
}

// HEAD never changes anything, and no HEAD answer carries a body: a HEAD with save=true is
// refused before any API call or write, and error answers to HEAD have headers only.
func TestHEADNeverWritesAndCarriesNoBody(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	head := func(q url.Values, headers map[string]string) string {
		return strings.Replace(urlEvent(q, headers), `"httpMethod":"GET"`, `"httpMethod":"HEAD"`, 1)
	}
	r := httpAnswer(t, fn, head(url.Values{"date": {"2024-05-09"}, "save": {"true"}}, auth()))
	assert.Equal(t, 400, r.StatusCode)
	assert.Empty(t, r.Body)
	assert.Empty(t, e.emu.Requests(), "no API call")
	_, err := os.Stat(filepath.Join(e.dir, "telcall"))
	assert.ErrorIs(t, err, os.ErrNotExist, "nothing written")

	for name, ev := range map[string]string{
		"bad date":  head(url.Values{"date": {"2024-02-30"}}, auth()),
		"no token":  head(url.Values{}, nil),
		"the query": head(url.Values{"date": {"2024-05-09"}}, auth()),
	} {
		r := httpAnswer(t, fn, ev)
		assert.Empty(t, r.Body, name)
		assert.NotEmpty(t, r.Headers["Content-Type"], name)
	}
}

// A run sweeps what killed runs left (kill -9 skips their clean-up): spools in its temp
// directory and the file store's temporary files, once older than the function's timeout; a
// fresh one, possibly a live run's, stays.
func TestRunsSweepKilledRunsLeftovers(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	tmp := t.TempDir()
	fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{Home: t.TempDir(), Now: clock, TempDir: tmp})
	require.NoError(t, err)
	old := time.Now().Add(-48 * time.Hour)
	put := func(path string, mtime time.Time) {
		require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
		require.NoError(t, os.WriteFile(path, []byte("left over"), 0o644))
		require.NoError(t, os.Chtimes(path, mtime, mtime))
	}
	oldSpool, freshSpool := filepath.Join(tmp, "tcusage-spool-123"), filepath.Join(tmp, "tcusage-spool-456")
	oldStoreTemp := filepath.Join(e.dir, "telcall", ".tmp-_manifest.json-ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	put(oldSpool, old)
	put(freshSpool, time.Now())
	put(oldStoreTemp, old)
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	for _, gone := range []string{oldSpool, oldStoreTemp} {
		_, err := os.Stat(gone)
		assert.ErrorIs(t, err, os.ErrNotExist, gone)
	}
	_, err = os.Stat(freshSpool)
	assert.NoError(t, err, "a fresh spool may be a live run's")
}

// The authenticated status query: 503 with the status when a day is late, 200 once none is; no
// token, no status.
func TestHTTPStatus(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_RESTATE_DAYS"] = "0"
	fn := e.build(function.TelCall)
	statusEvent := func(headers map[string]string) string {
		return strings.Replace(urlEvent(nil, headers), `"path":"/"`, `"path":"/status"`, 1)
	}
	r := httpAnswer(t, fn, statusEvent(nil))
	assert.Equal(t, 401, r.StatusCode, "no token, no status")

	r = httpAnswer(t, fn, statusEvent(auth()))
	require.Equal(t, 503, r.StatusCode, "nothing delivered: every day is late")
	var st struct {
		Late    []string `json:"late"`
		Missing []string `json:"missing"`
		Backlog int      `json:"backlog_app_days"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.Body), &st))
	assert.Contains(t, st.Late, "2024-05-08")
	assert.Equal(t, 2*len(st.Missing), st.Backlog, "two apps per missing day")

	_, err := invoke(t, fn, timerEvent(`{"from":"2024-04-09","to":"2024-05-09"}`))
	require.NoError(t, err)
	r = httpAnswer(t, fn, statusEvent(auth()))
	require.Equal(t, 200, r.StatusCode, r.Body)
	st.Late, st.Missing = nil, nil
	require.NoError(t, json.Unmarshal([]byte(r.Body), &st))
	assert.Empty(t, st.Late)
	assert.Zero(t, st.Backlog)

	r = httpAnswer(t, fn, strings.Replace(urlEvent(url.Values{"days": {"3"}}, auth()), `"path":"/"`, `"path":"/status"`, 1))
	assert.Equal(t, 400, r.StatusCode)
}
