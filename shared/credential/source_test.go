package credential

import (
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSourceRotationRefreshAndRejection(t *testing.T) {
	first := Credentials{SecretID: "AKIDfirst000000000001", SecretKey: "first-secret-key", Token: "first-token", Source: SourceSCFRole}
	src, err := NewSource(first, nil)
	require.NoError(t, err)
	got, err := src.Get()
	require.NoError(t, err)
	assert.True(t, got.Same(first))

	second := Credentials{SecretID: "AKIDsecond00000000002", SecretKey: "second-secret-key", Token: "second-token", Source: SourceSCFRole}
	changed, err := src.Refresh(func() (Credentials, error) { return second, nil })
	require.NoError(t, err)
	assert.True(t, changed)
	changed, err = src.Refresh(func() (Credentials, error) { return second, nil })
	require.NoError(t, err)
	assert.False(t, changed, "the same keys again are no change")

	// A failed refresh: nothing is handed out, not even the previous keys.
	_, err = src.Refresh(func() (Credentials, error) {
		return Credentials{}, errors.New(EnvSCFSecretKey + " is not set")
	})
	require.ErrorIs(t, err, ErrRefresh)
	_, err = src.Get()
	require.ErrorIs(t, err, ErrRefresh)
	assert.Contains(t, err.Error(), EnvSCFSecretKey)
	assert.True(t, src.Current().Same(second), "Current still tells which keys to scrub")

	// The next successful refresh clears it.
	_, err = src.Refresh(func() (Credentials, error) { return second, nil })
	require.NoError(t, err)
	_, err = src.Get()
	require.NoError(t, err)

	// The cloud refuses the token: the keys stop, naming where they came from.
	src.Reject(first, "AuthFailure.TokenFailure")
	_, err = src.Get()
	require.NoError(t, err, "a refusal of keys no longer in use changes nothing")
	src.Reject(second, "AuthFailure.TokenFailure")
	_, err = src.Get()
	require.ErrorIs(t, err, ErrRejected)
	assert.Contains(t, err.Error(), EnvSCFSessionToken)
	assert.Contains(t, err.Error(), "AuthFailure.TokenFailure")
	for _, secret := range []string{second.SecretKey, second.Token, second.SecretID} {
		assert.NotContains(t, err.Error(), secret)
	}
	_, err = src.Set(first)
	require.NoError(t, err)
	_, err = src.Get()
	require.NoError(t, err, "new keys clear the refusal")

	_, err = src.Set(Credentials{SecretID: "AKIDx", SecretKey: "a b"})
	require.Error(t, err)
	got, err = src.Get()
	require.NoError(t, err)
	assert.True(t, got.Same(first), "invalid keys change nothing")
	_, err = NewSource(Credentials{}, nil)
	require.Error(t, err)
}

func TestSourceRefusesExpiredKeys(t *testing.T) {
	now := time.Date(2031, 2, 28, 23, 0, 0, 0, time.UTC)
	c := Credentials{SecretID: "AKIDtemp0000000000003", SecretKey: "temp-secret-key", Token: "temp-token", Source: SourceEnv,
		Expiry: now.Add(10 * time.Minute), ExpiryFrom: EnvExpireAt}
	clock := now
	src, err := NewSource(c, func() time.Time { return clock })
	require.NoError(t, err)
	_, err = src.Get()
	require.NoError(t, err)

	clock = c.Expiry.Add(-ExpiryMargin + time.Second)
	_, err = src.Get()
	require.ErrorIs(t, err, ErrExpired, "within the margin the keys are no longer handed out")
	var ee *ExpiredError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, c.Expiry, ee.ExpiredAt)
	for _, want := range []string{EnvSessionToken, EnvExpireAt, "2031-02-28T23:10:00Z"} {
		assert.Contains(t, err.Error(), want)
	}
	for _, secret := range []string{c.SecretKey, c.Token, c.SecretID} {
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestLoadReadsExpiry(t *testing.T) {
	env := map[string]string{EnvSecretID: "AKIDenv0000000000002", EnvSecretKey: "envkey", EnvSessionToken: "envtoken"}
	at := time.Date(2031, 2, 28, 15, 10, 0, 0, time.UTC)
	unix := strconv.FormatInt(at.Unix(), 10)
	for _, value := range []string{"2031-02-28T23:10:00+08:00", unix} {
		want := at
		env[EnvExpireAt] = value
		got, err := Load(mapEnv(env), "")
		require.NoError(t, err)
		assert.True(t, want.Equal(got.Expiry), "%s: got %s", value, got.Expiry)
		assert.Equal(t, EnvExpireAt, got.ExpiryFrom)
	}
	env[EnvExpireAt] = "tomorrow"
	_, err := Load(mapEnv(env), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvExpireAt)
	assert.NotContains(t, err.Error(), "tomorrow")

	home := t.TempDir()
	writeFile(t, filepath.Join(home, ".tccli", "default.credential"),
		`{"type":"oauth","secretId":"AKIDtccli00000000003","secretKey":"tcclikey","token":"tcclitoken","expiresAt":`+unix+`}`)
	got, err := Load(nil, home)
	require.NoError(t, err)
	assert.True(t, at.Equal(got.Expiry))
	assert.Contains(t, got.ExpiryFrom, "expiresAt")
	assert.Contains(t, got.String(), "Expiry:2031-02-28T15:10:00Z")
}
