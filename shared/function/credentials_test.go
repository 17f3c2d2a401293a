package function_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// runRole is one generation of an SCF run role's temporary keys.
type runRole struct{ id, key, token string }

func (r runRole) env() map[string]string {
	return map[string]string{"TENCENTCLOUD_SECRETID": r.id, "TENCENTCLOUD_SECRETKEY": r.key, "TENCENTCLOUD_SESSIONTOKEN": r.token}
}

// invokeWith runs a timer invocation whose environment carries vars, as SCF hands each
// invocation the run role's current keys.
func invokeWith(t *testing.T, fn *function.Function, vars map[string]string, message string) error {
	t.Helper()
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "r", Environment: vars})
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := scf.Invoke(ctx, fn.Handle, []byte(timerEvent(message)))
	return err
}

// quiet asserts that the COS front receives nothing after an invocation returned: nothing it
// started (a lease's pruning) trails it, to run after the next invocation's keys took over.
func quiet(t *testing.T, cs *costest.Server) {
	t.Helper()
	n := len(cs.Requests())
	time.Sleep(200 * time.Millisecond)
	assert.Len(t, cs.Requests(), n, "requests after the invocation returned")
}

// The API client and the COS store read one source of credentials: a rotation reaches both at
// once, and a refresh that fails stops both, before either sends anything with the previous keys.
func TestAPIAndCOSShareOneCredentialSource(t *testing.T) {
	first := runRole{"AKIDrunRoleFirst000000000000001", "first-secret-key-00000000000001", "first-session-token"}
	second := runRole{"AKIDrunRoleSecond00000000000002", "second-secret-key-0000000000002", "second-session-token"}
	emu := emulatortest.NewServer(t, emulator.Config{Now: clock, TimeScale: 0.001, Credentials: []emulator.Credential{
		{SecretID: first.id, SecretKey: first.key, Token: first.token},
		{SecretID: second.id, SecretKey: second.key, Token: second.token},
	}})
	cs := costest.New(t, costest.Options{SecretID: first.id, SecretKey: first.key, Token: first.token})
	vars := first.env()
	for k, v := range map[string]string{
		"TCUSAGE_API_ENDPOINT": emu.Addr, "TCUSAGE_API_RATE": scaledRates,
		"TCUSAGE_SINK": cs.SinkURL("exports"), "TCUSAGE_COS_ENDPOINT": cs.Endpoint,
		"TCUSAGE_SDK_APP_IDS": "1400000001",
	} {
		vars[k] = v
	}
	fn, err := function.New(function.TelCall, func(k string) string { return vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(), Retry: fastRetries,
	})
	require.NoError(t, err)
	require.NoError(t, invokeWith(t, fn, first.env(), `{"date":"2024-05-09"}`))
	quiet(t, cs)

	// SCF renews the run role: COS now refuses the first keys, and the next invocation carries
	// the second.
	cs.Rotate(second.id, second.key, second.token)
	emu.ClearRequests()
	cs.ResetRequests()
	require.NoError(t, invokeWith(t, fn, second.env(), `{"date":"2024-05-08"}`))
	quiet(t, cs)
	require.NotEmpty(t, emu.Requests())
	for _, r := range emu.Requests() {
		assert.Equal(t, second.id, r.SecretID, "API calls signed with the renewed key")
		assert.Empty(t, r.Code)
	}
	require.NotEmpty(t, cs.Requests())
	for _, r := range cs.Requests() {
		assert.Equal(t, second.token, r.Header.Get("X-Cos-Security-Token"), "COS requests signed with the renewed key: %s %s %d", r.Method, r.Key, r.Status)
		assert.NotEqual(t, 403, r.Status, "accepted: %s %s", r.Method, r.Key)
	}

	// The keys cannot be read again (a half-set pair): both stop, and say why.
	emu.ClearRequests()
	cs.ResetRequests()
	broken := second.env()
	broken["TENCENTCLOUD_SECRETKEY"] = ""
	err = invokeWith(t, fn, broken, `{"date":"2024-05-07","force":true}`)
	require.ErrorIs(t, err, credential.ErrRefresh)
	assert.Contains(t, err.Error(), "TENCENTCLOUD_SECRETKEY")
	assert.NotContains(t, err.Error(), second.key)
	assert.Empty(t, emu.Requests(), "no API call with the previous keys")
	assert.Empty(t, cs.Requests(), "no COS request with the previous keys")
	_, err = fn.Client.Credentials().Get()
	require.ErrorIs(t, err, credential.ErrRefresh, "the API client sees the failure")
	assert.Same(t, fn.Client.Credentials(), fn.Credentials, "one source")

	// Renewed keys again: both work.
	require.NoError(t, invokeWith(t, fn, second.env(), `{"date":"2024-05-07"}`))
}

// Temporary keys whose expiry is known are refused before any call, naming the variables.
func TestExpiredKeysAreRefusedBeforeAnyCall(t *testing.T) {
	e := newTestEnv(t, emulator.Config{Credentials: []emulator.Credential{
		{SecretID: "AKIDtemporaryKey0000000000000001", SecretKey: "temporary-secret-key-000000001", Token: "temporary-session-token"},
	}})
	e.vars["TENCENTCLOUD_SECRET_ID"] = "AKIDtemporaryKey0000000000000001"
	e.vars["TENCENTCLOUD_SECRET_KEY"] = "temporary-secret-key-000000001"
	e.vars["TENCENTCLOUD_SESSION_TOKEN"] = "temporary-session-token"
	e.vars[credential.EnvExpireAt] = strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)
	fn := e.build(function.TelCall)
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.ErrorIs(t, err, credential.ErrExpired)
	for _, want := range []string{"TENCENTCLOUD_SESSION_TOKEN", credential.EnvExpireAt} {
		assert.Contains(t, err.Error(), want)
	}
	for _, secret := range []string{"temporary-secret-key-000000001", "temporary-session-token"} {
		assert.NotContains(t, err.Error(), secret)
	}
	assert.Empty(t, e.emu.Requests(), "no call was made")
}
