package tcloud

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/tcapi"
)

func TestCredentialSourceIsReadAtEachCall(t *testing.T) {
	srv := newTCServer(t, nil, ok(`{"Response":{"RequestId":"r1"}}`), apiErr(CodeTokenFailure), ok(`{"Response":{"RequestId":"r3"}}`))
	now := time.Now()
	clock := now
	src, err := credential.NewSource(testCreds("token-one"), func() time.Time { return clock })
	require.NoError(t, err)
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Source = src })
	call := func() error {
		var resp tcapi.TelCallInfoResponse
		return c.Call(t.Context(), tcapi.DescribeTelCallInfo, tcapi.TelCallInfoRequest{}, &resp)
	}
	require.NoError(t, call())

	// A rotation on the source signs the next call.
	_, err = src.Set(testCreds("token-two"))
	require.NoError(t, err)
	err = call()
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, CodeTokenFailure, ae.Code)
	reqs := srv.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "token-one", reqs[0].Header.Get("X-TC-Token"))
	assert.Equal(t, "token-two", reqs[1].Header.Get("X-TC-Token"))

	// The refused token is not tried again, by this client or any other sharing the source.
	err = call()
	require.ErrorIs(t, err, credential.ErrRejected)
	assert.Len(t, srv.requests(), 2, "no call with the refused token")
	assert.Equal(t, int64(1), c.Stats().ByCode[CodeTokenFailure], "the refusal was answered once")

	// Renewed keys with an expiry: used until then, refused before any call after.
	renewed := testCreds("token-three")
	renewed.Source, renewed.Expiry, renewed.ExpiryFrom = credential.SourceEnv, now.Add(time.Hour), credential.EnvExpireAt
	_, err = src.Set(renewed)
	require.NoError(t, err)
	require.NoError(t, call())
	clock = now.Add(time.Hour)
	err = call()
	require.ErrorIs(t, err, credential.ErrExpired)
	var ee *credential.ExpiredError
	require.True(t, errors.As(err, &ee))
	assert.Contains(t, err.Error(), credential.EnvSessionToken)
	assert.Contains(t, err.Error(), "DescribeTelCallInfo")
	assert.NotContains(t, err.Error(), "token-three")
	assert.NotContains(t, err.Error(), testSecretKey)
	assert.Len(t, srv.requests(), 3, "nothing is sent with expired keys")
	assert.False(t, Retryable(err), "an expiry is not retried")
}
