package function_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// logBuffer is a concurrency-safe buffer for a JSON log handler.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// records decodes the JSON log lines with the given message.
func (l *logBuffer) records(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func debugLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestHTTPAuthRefusesEveryWrongTokenAlikeAndCountsFailures: with a token configured, every
// request without exactly that bearer token is refused with the same answer, whatever is
// wrong with the token (no length or prefix oracle: the check compares SHA-256 digests in
// constant time); each refusal is logged with a running count and the caller's address, never
// the token presented; nothing reaches the API.
func TestHTTPAuthRefusesEveryWrongTokenAlikeAndCountsFailures(t *testing.T) {
	t.Parallel()
	e := newTestEnv(t, emulator.Config{})
	var logs logBuffer
	fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Logger: debugLogger(&logs),
	})
	require.NoError(t, err)

	missing := []map[string]string{nil, {"authorization": ""}, {"authorization": "Bearer"}, {"authorization": "Bearer   "}, {"authorization": "Token " + httpToken}, {"authorization": "Basic " + httpToken}}
	wrong := []string{
		httpToken[:len(httpToken)-1], httpToken + "x", "x" + httpToken, strings.ToUpper(httpToken), httpToken + "\x00",
		strings.Repeat("A", 1<<20), "a", tokenSum(), // the digest itself is not the token
	}
	var wrongBodies []string
	for _, h := range missing {
		r := httpAnswer(t, fn, urlEvent(url.Values{}, h))
		require.Equal(t, 401, r.StatusCode, r.Body)
		assert.Equal(t, `Bearer realm="tcusage"`, r.Headers["WWW-Authenticate"])
	}
	for _, tok := range wrong {
		r := httpAnswer(t, fn, urlEvent(url.Values{}, map[string]string{"authorization": "Bearer " + tok}))
		require.Equal(t, 401, r.StatusCode)
		wrongBodies = append(wrongBodies, r.Body)
	}
	for _, b := range wrongBodies {
		assert.Equal(t, wrongBodies[0], b, "every wrong token gets the same answer")
	}
	// The token in the query string is no credential.
	r := httpAnswer(t, fn, urlEvent(url.Values{"token": {httpToken}}, nil))
	require.Equal(t, 401, r.StatusCode)
	assert.Empty(t, e.emu.Requests(), "no refused request reached the API")

	failures := len(missing) + len(wrong) + 1
	recs := logs.records(t, "HTTP query refused: bad or missing bearer token")
	require.Len(t, recs, failures)
	for i, rec := range recs {
		assert.Equal(t, float64(i+1), rec["failed_auth_total"], "a running count of failed attempts")
		assert.Equal(t, "203.0.113.7", rec["source_ip"])
		assert.Equal(t, "WARN", rec["level"])
	}
	for _, tok := range append(wrong[:4], httpToken) {
		assert.NotContains(t, logs.String(), tok, "presented tokens are never logged")
	}

	// The scheme is case-insensitive (RFC 7235); the right token passes.
	r = httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}}, map[string]string{"authorization": "bearer " + httpToken}))
	require.Equal(t, 200, r.StatusCode, r.Body)
}

// TestErrorAnswersHoldNoInternalDetail: when the store, the function's own disk or the network
// fails, the HTTP answer says which side failed but names no bucket, key, path or address.
func TestErrorAnswersHoldNoInternalDetail(t *testing.T) {
	t.Parallel()
	check := func(t *testing.T, r scfevent.HTTPResponse, status int, code string, secrets ...string) {
		t.Helper()
		require.Equal(t, status, r.StatusCode, r.Body)
		var a errorAnswer
		require.NoError(t, json.Unmarshal([]byte(r.Body), &a), r.Body)
		assert.Equal(t, code, a.Error.Code)
		for _, s := range append(secrets, "127.0.0.1", "/tmp", ".go:", "goroutine", emulator.TestSecretKey, httpToken) {
			assert.NotContains(t, r.Body, s)
		}
	}
	t.Run("store", func(t *testing.T) {
		e := newTestEnv(t, emulator.Config{})
		cs := costest.New(t, costest.Options{SecretID: emulator.TestSecretID, SecretKey: emulator.TestSecretKey})
		e.vars["TCUSAGE_SINK"] = cs.SinkURL("private/prefix")
		e.vars["TCUSAGE_COS_ENDPOINT"] = cs.Endpoint
		fn := e.build(function.TelCall)
		cs.Inject(costest.Fault{Kind: costest.Reset, Next: 1000, Match: func(r costest.Request) bool { return r.Method == "PUT" }})
		r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "save": {"true"}}, auth()))
		check(t, r, 503, "StoreUnavailable", cs.Bucket, "private/prefix", "myqcloud", "cos")
	})
	t.Run("local disk", func(t *testing.T) {
		e := newTestEnv(t, emulator.Config{})
		missing := filepath.Join(t.TempDir(), "no-such-dir")
		fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
			Home: t.TempDir(), Now: clock, TempDir: missing,
		})
		require.NoError(t, err)
		r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "save": {"true"}}, auth()))
		check(t, r, 500, "InternalError", missing, "spool")
	})
	t.Run("network", func(t *testing.T) {
		e := newTestEnv(t, emulator.Config{})
		fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
			Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Retry: fastRetries,
		})
		require.NoError(t, err)
		e.emu.FailNext("DescribeTelCallInfo", 100, emulator.FaultReset)
		r := httpAnswer(t, fn, urlEvent(url.Values{"date": {"2024-05-09"}, "app": {"1400000001"}}, auth()))
		check(t, r, 502, "Upstream.ClientError.NetworkError", e.emu.Addr)
	})
}

// TestNothingWrittenHoldsASecret runs all four functions with temporary credentials (a session
// token, as SCF's run role provides) against the emulator and the COS test server, through
// timer runs, good and bad HTTP queries, upstream, store and deadline failures, with debug
// logging, and scans everything written (logs, every stored object, every answer and error) for
// the secret key, the session token and the HTTP token.
func TestNothingWrittenHoldsASecret(t *testing.T) {
	t.Parallel()
	const (
		secretID  = "AKIDsecurityScanTestId0000000000"
		secretKey = "SECRETKEY-scan-7f3a9c1e5b2d4f6a8c0e"
		token     = "SESSIONTOKEN-scan-0d1e2f3a4b5c6d7e8f9a"
	)
	emu := emulatortest.NewServer(t, emulator.Config{
		Now: clock, TimeScale: 0.001,
		Credentials: []emulator.Credential{{SecretID: secretID, SecretKey: secretKey, Token: token}},
	})
	cs := costest.New(t, costest.Options{SecretID: secretID, SecretKey: secretKey, Token: token})
	var logs logBuffer
	var written bytes.Buffer // answers, summaries and errors
	vars := map[string]string{
		// The SCF run role's variables.
		"TENCENTCLOUD_SECRETID":     secretID,
		"TENCENTCLOUD_SECRETKEY":    secretKey,
		"TENCENTCLOUD_SESSIONTOKEN": token,
		"TCUSAGE_API_ENDPOINT":      emu.Addr,
		"TCUSAGE_API_RATE":          scaledRates,
		"TCUSAGE_SINK":              cs.SinkURL("exports"),
		"TCUSAGE_COS_ENDPOINT":      cs.Endpoint,
		"TCUSAGE_SDK_APP_IDS":       "1400000001,1400000002,1400009999", // the last is unknown upstream
		"TCUSAGE_ESS_APP_ID":        "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS":  "org_alpha,org_beta",
		"TCUSAGE_HTTP_TOKEN_SHA256": tokenSum(),
		"TCUSAGE_RESTATE_DAYS":      "1",
	}
	build := func(spec function.Spec, env map[string]string) *function.Function {
		fn, err := function.New(spec, func(k string) string { return env[k] }, function.Options{
			Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Retry: fastRetries,
			Logger: debugLogger(&logs).With("function", spec.Name),
		})
		require.NoError(t, err)
		fmt.Fprintf(&written, "%v %s %+v\n", fn.Client, fn.Client, fn.Config)
		return fn
	}
	run := func(fn *function.Function, event string, timeout time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		out, err := scf.Invoke(ctx, fn.Handle, []byte(event))
		written.Write(out)
		if err != nil {
			fmt.Fprintf(&written, "\n%v\n%+v\n", err, err)
		}
	}
	for _, spec := range function.All() {
		fn := build(spec, vars)
		run(fn, timerEvent(""), time.Minute)                                                                                    // fails for the unknown app: an upstream error
		run(fn, timerEvent(`{"apps":["1400000001"]}`), time.Minute)                                                             // succeeds (ESS: refused, not its app)
		run(fn, timerEvent(`{"date":"2030-01-01"}`), time.Minute)                                                               // refused
		run(fn, urlEvent(url.Values{"from": {"2024-05-08"}, "to": {"2024-05-09"}, "app": {"1400000002"}}, auth()), time.Minute) // rows
		run(fn, urlEvent(url.Values{"date": {"2024-05-09"}, "format": {"csv"}, "save": {"true"}}, auth()), time.Minute)
		run(fn, urlEvent(url.Values{"app": {"1400009999"}}, auth()), time.Minute) // 502 with the upstream code
		run(fn, urlEvent(url.Values{}, map[string]string{"authorization": "Bearer " + token}), time.Minute)
		run(fn, urlEvent(url.Values{"app": {"../../etc/passwd"}}, auth()), time.Minute)
		run(fn, urlEvent(url.Values{"date": {"2024-05-07"}, "fresh": {"true"}}, auth()), time.Millisecond) // too much for the time left
		run(fn, timerEvent(`{"date":"2024-05-07"}`), time.Millisecond)                                     // out of time
	}
	// A store that fails, and credentials the cloud refuses.
	cs.Inject(costest.Fault{Kind: costest.SlowDown, Next: 1000})
	run(build(function.TelCall, vars), timerEvent(`{"date":"2024-05-06","apps":["1400000001"]}`), time.Minute)
	cs.ClearFaults()
	bad := map[string]string{}
	for k, v := range vars {
		bad[k] = v
	}
	bad["TENCENTCLOUD_SESSIONTOKEN"] = "SESSIONTOKEN-wrong-5e6f7a8b9c0d"
	// The store must work for the API to be reached: the query's day is not in this one, and the
	// timer's lease can be taken.
	bad["TCUSAGE_SINK"], bad["TCUSAGE_COS_ENDPOINT"] = "file://"+t.TempDir(), ""
	run(build(function.TelCall, bad), urlEvent(url.Values{"app": {"1400000001"}}, auth()), time.Minute)
	run(build(function.TelCall, bad), timerEvent(""), time.Minute)

	// Everything stored in the bucket.
	store, _ := build(function.TelCall, vars).Store()
	objs, err := store.List(context.Background(), "")
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	var stored bytes.Buffer
	for _, o := range objs {
		b, err := snapshot.ReadObject(context.Background(), store, o.Key)
		require.NoError(t, err)
		stored.WriteString(o.Key + "\n")
		stored.Write(b)
	}

	everything := map[string]string{"logs": logs.String(), "answers and errors": written.String(), "stored objects": stored.String()}
	for what, text := range everything {
		require.NotEmpty(t, text, what)
		for name, secret := range map[string]string{
			"secret key": secretKey, "session token": token, "wrong session token": "SESSIONTOKEN-wrong-5e6f7a8b9c0d", "HTTP token": httpToken,
		} {
			assert.NotContains(t, text, secret, "the %s appears in the %s", name, what)
		}
	}
	// The scan saw the failures it was meant to see.
	assert.Contains(t, written.String(), "InvalidParameterValue.InstanceNotExist")
	assert.Contains(t, written.String(), "AuthFailure")
	assert.Contains(t, written.String(), "snapshot store")
	assert.Contains(t, logs.String(), "SlowDown")
	assert.Contains(t, written.String(), "RangeTooLarge")
	assert.Contains(t, written.String(), "stopped before the deadline")
	fmt.Printf("secret scan: %d log bytes, %d answer bytes, %d stored objects (%d bytes) scanned; no secret found\n",
		len(everything["logs"]), len(everything["answers and errors"]), len(objs), stored.Len())
}
