package function_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
)

// echoToken is the session token the hostile endpoints below echo back.
const echoToken = "SESSIONTOKEN-echoed-4c1d9e7a2b6f8035"

// echoingAPI answers as a proxy that echoes what it was sent would: app 1400000001 succeeds with
// the session token in its RequestId; any other app fails with the token (and 200 kB) in the
// error Code and the RequestId.
func echoingAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tok := r.Header.Get("X-TC-Token")
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(string(body), "1400000001") {
			fmt.Fprintf(w, `{"Response":{"TelCallOutCount":1,"TelCallInCount":2,"SeatUsedCount":3,"VOIPCallInCount":4,"AsrOfflineCount":5,"AsrRealtimeCount":6,"RequestId":"rid-%s"}}`, tok)
			return
		}
		code := "InvalidParameter." + tok + strings.Repeat("X", 200_000)
		fmt.Fprintf(w, `{"Response":{"Error":{"Code":%q,"Message":"bad %s"},"RequestId":"rid-%s"}}`, code, tok, tok)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// Whatever comes back from a remote is untrusted: a code or request ID that echoes the session
// token, or is 200 kB long, reaches no answer, log or manifest as it came.
func TestEchoedSecretsAreScrubbedAndBounded(t *testing.T) {
	t.Parallel()
	api := echoingAPI(t)
	dir := t.TempDir()
	var logs logBuffer
	env := map[string]string{
		"TENCENTCLOUD_SECRETID": "AKIDechoTest000000000000", "TENCENTCLOUD_SECRETKEY": "echo-secret-key-0000",
		"TENCENTCLOUD_SESSIONTOKEN": echoToken, "TCUSAGE_API_ENDPOINT": api.Listener.Addr().String(),
		"TCUSAGE_SINK": "file://" + dir, "TCUSAGE_SDK_APP_IDS": "1400000001,1400000002",
		"TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(), "TCUSAGE_RESTATE_DAYS": "0",
	}
	fn, err := function.New(function.TelCall, func(k string) string { return env[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Retry: fastRetries, Logger: debugLogger(&logs),
	})
	require.NoError(t, err)

	r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "app": {"1400000002"}}, auth()))
	require.Equal(t, http.StatusBadGateway, r.StatusCode)
	assert.Less(t, len(r.Body), 2000, "a 200 kB code makes no 400 kB answer")
	var a errorAnswer
	require.NoError(t, json.Unmarshal([]byte(r.Body), &a))
	assert.True(t, strings.HasPrefix(a.Error.Code, "Upstream.InvalidParameter._redacted_"), a.Error.Code)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err = scf.Invoke(ctx, fn.Handle, []byte(timerEvent(`{"date":"2024-05-09","apps":["1400000001"]}`)))
	require.NoError(t, err)
	m := manifest(t, dir, "telcall", "2024-05-09")
	require.Len(t, m.RequestIDs, 1)
	assert.Equal(t, "rid-_redacted_", m.RequestIDs[0], "the echoed token is gone from the stored request ID")

	stored, err := json.Marshal(m)
	require.NoError(t, err)
	for what, text := range map[string]string{"answer": r.Body, "logs": logs.String(), "manifest": string(stored)} {
		assert.NotContains(t, text, echoToken, what)
		assert.NotContains(t, text, strings.Repeat("X", 1000), "%s: the long code was cut", what)
	}
}
