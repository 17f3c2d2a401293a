package scfevent

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventsDir holds the project's sample events, shared with handler tests.
const eventsDir = "../../events"

// fixtures returns the paths of all sample events.
func fixtures(t testing.TB) []string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(eventsDir, "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no fixtures in %s", eventsDir)
	return paths
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(eventsDir, name))
	require.NoError(t, err)
	return b
}

// TestFixturesRoundTrip decodes every sample event, writes it back and
// compares it with the original. Fields that have no declared key would be
// dropped, which this test catches; see Values for the one normalisation.
func TestFixturesRoundTrip(t *testing.T) {
	for _, path := range fixtures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			ev, err := DecodeEvent(data)
			require.NoError(t, err)
			require.NotEmpty(t, ev.Kind())

			got, err := json.Marshal(ev)
			require.NoError(t, err)
			assert.JSONEq(t, string(data), string(got))

			again, err := DecodeEvent(got)
			require.NoError(t, err)
			assert.Equal(t, ev, again)
		})
	}
}

func TestTimerFixtures(t *testing.T) {
	tests := []struct {
		file string
		want Timer
	}{
		{"timer.json", Timer{Type: "Timer", TriggerName: "EveryDay",
			Time: time.Date(2019, 2, 21, 11, 49, 0, 0, time.UTC), Message: "user define msg body"}},
		{"timer-override.json", Timer{Type: "Timer", TriggerName: "daily-usage",
			Time: time.Date(2025, 3, 2, 1, 30, 0, 0, time.UTC), Message: `{"from":"2025-02-27","to":"2025-03-01"}`}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			ev, err := DecodeEvent(readFixture(t, tc.file))
			require.NoError(t, err)
			assert.Equal(t, KindTimer, ev.Kind())
			assert.Nil(t, ev.HTTP)
			require.NotNil(t, ev.Timer)
			assert.Equal(t, tc.want, *ev.Timer)
			assert.Equal(t, time.UTC, ev.Timer.Time.Location())
		})
	}
}

func TestTimerConvertsToUTC(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"Type":"Timer","TriggerName":"x","Time":"2025-01-02T09:30:00+08:00","Message":""}`))
	require.NoError(t, err)
	assert.Equal(t, time.Date(2025, 1, 2, 1, 30, 0, 0, time.UTC), ev.Timer.Time)
	assert.Equal(t, time.UTC, ev.Timer.Time.Location())
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	assert.JSONEq(t, `{"Type":"Timer","TriggerName":"x","Time":"2025-01-02T01:30:00Z","Message":""}`, string(out))
}

func TestAPIGatewayFixture(t *testing.T) {
	ev, err := DecodeEvent(readFixture(t, "apigw.json"))
	require.NoError(t, err)
	require.Equal(t, KindAPIGateway, ev.Kind())
	h := ev.HTTP
	require.NotNil(t, h)
	assert.Nil(t, ev.Timer)
	assert.Equal(t, TriggerAPIGateway, h.Trigger)
	assert.Equal(t, "GET", h.Method)
	assert.Equal(t, "/ritchiechen-apigw-test", h.Path)
	assert.Equal(t, url.Values{"a": {"b", "c"}, "x": {"y"}, "i": {""}}, h.Query)
	assert.Equal(t, "15", h.Header.Get("Endpoint-Timeout"))
	assert.Equal(t, "$LATEST", h.Header.Get("x-qualifier"))
	assert.Equal(t, "8.8.8.8", h.SourceIP)
	assert.Empty(t, h.RequestID)
	assert.Empty(t, h.Body)
	assert.Nil(t, h.FunctionURL)

	raw := h.APIGateway
	require.NotNil(t, raw)
	assert.Equal(t, Values{"a": {"b", "c"}, "x": {"y"}, "i": {}}, raw.QueryString)
	assert.NotNil(t, raw.HeaderParameters)
	assert.Empty(t, raw.HeaderParameters)
	require.NotNil(t, raw.RequestContext)
	assert.Equal(t, "ANY", raw.RequestContext.HTTPMethod)
	assert.Equal(t, "service-xxx", raw.RequestContext.ServiceID)
	assert.Equal(t, "test", raw.RequestContext.Stage)
	require.NotNil(t, raw.RequestContext.Identity)
	assert.Empty(t, raw.RequestContext.Identity.SecretID)
}

func TestAPIGatewayProxyFixture(t *testing.T) {
	ev, err := DecodeEvent(readFixture(t, "apigw-proxy.json"))
	require.NoError(t, err)
	require.Equal(t, KindAPIGateway, ev.Kind())
	h := ev.HTTP
	assert.Equal(t, "POST", h.Method)
	assert.Equal(t, "/test/value", h.Path)
	assert.Equal(t, []byte(`{"msg": "hello apigateway"}`), h.Body)
	assert.Equal(t, url.Values{"foo": {"bar"}, "bob": {"alice"}}, h.Query)
	assert.Equal(t, "en-US,en,cn", h.Header.Get("accept-language"))
	assert.Equal(t, "127.0.0.1", h.SourceIP)
	assert.Equal(t, "c6af9ac6-7b61-11e6-9a41-93e8deadbeef", h.RequestID)

	raw := h.APIGateway
	assert.Equal(t, map[string]string{"path": "value"}, raw.PathParameters)
	assert.Equal(t, Values{"foo": {"bar"}}, raw.QueryStringParameters)
	assert.Equal(t, Values{"Refer": {"127.0.0.1"}}, raw.HeaderParameters)
	assert.Equal(t, map[string]string{"stage": "release"}, raw.StageVariables)
	assert.Equal(t, "/test/{path}", raw.RequestContext.Path)
	assert.Equal(t, "abdcdxxxxxxxsdfs", raw.RequestContext.Identity.SecretID)
	assert.Equal(t, "release", raw.RequestContext.Stage)
}

func TestFunctionURLFixture(t *testing.T) {
	ev, err := DecodeEvent(readFixture(t, "function-url.json"))
	require.NoError(t, err)
	require.Equal(t, KindFunctionURL, ev.Kind())
	h := ev.HTTP
	assert.Equal(t, TriggerFunctionURL, h.Trigger)
	assert.Equal(t, "POST", h.Method)
	assert.Equal(t, "/", h.Path)
	assert.Equal(t, []byte(`{"test":"hello world"}`), h.Body)
	assert.Equal(t, url.Values{"a": {"1"}, "b": {"2"}}, h.Query)
	assert.Equal(t, "111.206.96.145", h.SourceIP)
	assert.Equal(t, "17", h.Header.Get("Content-Length"))
	assert.Empty(t, h.RequestID)
	assert.Nil(t, h.APIGateway)
	require.NotNil(t, h.FunctionURL)
	assert.Equal(t, "POST", h.FunctionURL.HTTPMethod)
}

func TestHTTPBodyBase64(t *testing.T) {
	payload := []byte{0x00, 0xff, 'h', 'i'}
	enc := base64.StdEncoding.EncodeToString(payload)
	tests := []struct {
		name  string
		event string
	}{
		{"apigw", `{"httpMethod":"POST","path":"/","requestContext":{},"isBase64Encoded":true,"body":"` + enc + `"}`},
		{"url", `{"httpMethod":"POST","path":"/","isBase64Encoded":true,"body":"` + enc + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.event))
			require.NoError(t, err)
			assert.Equal(t, tc.name, ev.Kind())
			assert.Equal(t, payload, ev.HTTP.Body)
			out, err := json.Marshal(ev)
			require.NoError(t, err)
			assert.JSONEq(t, tc.event, string(out))
		})
	}
}

func TestHeaderArrayAndCase(t *testing.T) {
	ev, err := DecodeEvent([]byte(`{"httpMethod":"GET","path":"/",` +
		`"headers":{"x-forwarded-for":["1.1.1.1","2.2.2.2"],"Host":"a","host":"b"}}`))
	require.NoError(t, err)
	assert.Equal(t, KindFunctionURL, ev.Kind())
	assert.Equal(t, []string{"1.1.1.1", "2.2.2.2"}, ev.HTTP.Header.Values("X-Forwarded-For"))
	// "Host" sorts before "host": merged in that order.
	assert.Equal(t, http.Header{"X-Forwarded-For": {"1.1.1.1", "2.2.2.2"}, "Host": {"a", "b"}}, ev.HTTP.Header)
}

func TestDecodeEventErrors(t *testing.T) {
	var (
		syntaxErr    *json.SyntaxError
		typeErr      *json.UnmarshalTypeError
		timeParseErr *time.ParseError
		corruptErr   base64.CorruptInputError
	)
	tests := []struct {
		name  string
		input string
		is    error // a sentinel for errors.Is, or
		as    any   // a pointer to an error type for errors.As
	}{
		{"empty input", ``, ErrUnknownEvent, nil},
		{"syntax error", `{"Type":"Timer",`, nil, &syntaxErr},
		{"syntax error in array", `[1,`, nil, &syntaxErr},
		{"empty object", `{}`, ErrUnknownEvent, nil},
		{"array", `[{"Type":"Timer"}]`, ErrUnknownEvent, nil},
		{"string", `"Timer"`, ErrUnknownEvent, nil},
		{"null", `null`, ErrUnknownEvent, nil},
		{"cos event", `{"Records":[{"cos":{"cosBucket":{"name":"b"}},"event":{"eventName":"cos:ObjectCreated:Put"}}]}`, ErrUnknownEvent, nil},
		{"other type", `{"Type":"Cos","Time":"2019-02-21T11:49:00Z"}`, ErrUnknownEvent, nil},
		{"type not a string", `{"Type":1}`, ErrUnknownEvent, nil},
		{"both type and method", `{"Type":"Timer","httpMethod":"GET","Time":"2019-02-21T11:49:00Z"}`, ErrUnknownEvent, nil},
		{"timer bad time", `{"Type":"Timer","TriggerName":"x","Time":"yesterday"}`, nil, &timeParseErr},
		{"timer message object", `{"Type":"Timer","Time":"2019-02-21T11:49:00Z","Message":{}}`, nil, &typeErr},
		{"apigw path number", `{"httpMethod":"GET","path":1,"requestContext":{}}`, nil, &typeErr},
		{"url body number", `{"httpMethod":"GET","body":5}`, nil, &typeErr},
		{"method not a string", `{"httpMethod":true}`, nil, &typeErr},
		{"bad base64", `{"httpMethod":"POST","isBase64Encoded":true,"body":"***"}`, nil, &corruptErr},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tc.input))
			require.Error(t, err)
			assert.Equal(t, Event{}, ev)
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			} else {
				assert.ErrorAs(t, err, tc.as)
				assert.NotErrorIs(t, err, ErrUnknownEvent)
			}
		})
	}
}

func TestDecodeEventMessages(t *testing.T) {
	tests := []struct {
		name, input, want string
	}{
		{"empty time", `{"Type":"Timer"}`, "timer event: Time is missing"},
		{"time number", `{"Type":"Timer","Time":12}`, "Time"},
		{"empty method", `{"httpMethod":""}`, "function url event: httpMethod is empty"},
		{"bad query value", `{"httpMethod":"GET","queryString":{"n":5}}`, `value of "n": got a number`},
		{"false query value", `{"httpMethod":"GET","queryString":{"n":false}}`, `value of "n"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeEvent([]byte(tc.input))
			require.Error(t, err)
			// These errors have no type to branch on; the text is the
			// product here, so check that it names the problem.
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestSizeLimits(t *testing.T) {
	big := strings.Repeat("a", MaxBodyBytes+1)
	t.Run("event", func(t *testing.T) {
		_, err := DecodeEvent([]byte(`{"httpMethod":"POST","body":"` + big + `"}`))
		assert.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("body", func(t *testing.T) {
		_, err := (&FunctionURLRequest{HTTPMethod: "POST", Body: big}).HTTPRequest()
		assert.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("base64 body", func(t *testing.T) {
		enc := base64.StdEncoding.EncodeToString([]byte(big))
		_, err := (&APIGatewayRequest{HTTPMethod: "POST", Body: enc, IsBase64Encoded: true}).HTTPRequest()
		assert.ErrorIs(t, err, ErrTooLarge)
	})
	t.Run("at limit", func(t *testing.T) {
		h, err := (&FunctionURLRequest{HTTPMethod: "POST", Body: big[1:]}).HTTPRequest()
		require.NoError(t, err)
		assert.Len(t, h.Body, MaxBodyBytes)
	})
}

func TestValues(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     Values
		wantJSON string // "" = same as in
	}{
		{"string", `{"a":"b"}`, Values{"a": {"b"}}, ""},
		{"array", `{"a":["b","c"]}`, Values{"a": {"b", "c"}}, ""},
		{"bare key", `{"i":true}`, Values{"i": {}}, ""},
		{"empty string", `{"a":""}`, Values{"a": {""}}, ""},
		{"one-element array", `{"a":["b"]}`, Values{"a": {"b"}}, `{"a":"b"}`},
		{"empty array", `{"a":[]}`, Values{"a": {}}, `{"a":true}`},
		{"empty object", `{}`, Values{}, ""},
		{"null", `null`, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Values
			require.NoError(t, json.Unmarshal([]byte(tc.in), &got))
			assert.Equal(t, tc.want, got)
			out, err := json.Marshal(got)
			require.NoError(t, err)
			want := tc.wantJSON
			if want == "" {
				want = tc.in
			}
			assert.JSONEq(t, want, string(out))
		})
	}
}

func TestValuesErrors(t *testing.T) {
	for _, in := range []string{`{"a":1}`, `{"a":false}`, `{"a":null}`, `{"a":{}}`, `{"a":[1]}`, `[]`, `"x"`} {
		t.Run(in, func(t *testing.T) {
			var v Values
			assert.Error(t, json.Unmarshal([]byte(in), &v))
		})
	}
}

func TestValuesConversions(t *testing.T) {
	v := Values{"a": {"1", "2"}, "i": {}}
	assert.Equal(t, url.Values{"a": {"1", "2"}, "i": {""}}, v.URLValues())
	assert.Equal(t, "1", v.Get("a"))
	assert.Equal(t, "", v.Get("i"))
	assert.Equal(t, "", v.Get("missing"))
	u := v.URLValues()
	u["a"][0] = "changed"
	assert.Equal(t, "1", v["a"][0], "URLValues must copy")
}

func TestEventMarshalZero(t *testing.T) {
	_, err := json.Marshal(Event{})
	assert.Error(t, err)
}

func TestHTTPResponseJSON(t *testing.T) {
	r := HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "application/json"}, Body: `{"ok":true}`}
	out, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"isBase64Encoded":false,"statusCode":200,"headers":{"Content-Type":"application/json"},"body":"{\"ok\":true}"}`, string(out))
	var back HTTPResponse
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, r, back)
}

func TestEventInsideHandlerInput(t *testing.T) {
	// Event works as a field or handler input through encoding/json.
	var ev Event
	require.NoError(t, json.Unmarshal(readFixture(t, "timer.json"), &ev))
	assert.Equal(t, "EveryDay", ev.Timer.TriggerName)
	err := json.Unmarshal([]byte(`{}`), &ev)
	require.ErrorIs(t, err, ErrUnknownEvent)
	assert.Equal(t, "EveryDay", ev.Timer.TriggerName, "a failed decode leaves the event unchanged")
}

func FuzzDecodeEvent(f *testing.F) {
	for _, path := range fixtures(f) {
		b, err := os.ReadFile(path)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Add([]byte(`{"httpMethod":"GET","queryString":{"i":true,"a":["b"]},"headers":{"X":["1","2"]}}`))
	f.Add([]byte(`{"Type":"Timer","Time":"2019-02-21T11:49:00+08:00"}`))
	f.Add([]byte(`{"httpMethod":"POST","isBase64Encoded":true,"body":"aGk="}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := DecodeEvent(data)
		if err != nil {
			require.Equal(t, Event{}, ev)
			require.NotEmpty(t, err.Error())
			return
		}
		kind := ev.Kind()
		require.Contains(t, []string{KindTimer, KindAPIGateway, KindFunctionURL}, kind)
		out, err := json.Marshal(ev)
		require.NoError(t, err)
		again, err := DecodeEvent(out)
		if errors.Is(err, ErrTooLarge) {
			return // re-encoding can grow the input (escapes)
		}
		require.NoError(t, err, "re-decoding %s", out)
		require.Equal(t, kind, again.Kind())
	})
}
