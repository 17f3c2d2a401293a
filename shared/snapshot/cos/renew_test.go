package cos_test

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/cos"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

func sourceStore(t *testing.T, srv *costest.Server, src *credential.Source) *cos.Store {
	t.Helper()
	st, err := cos.New(cos.Config{Bucket: srv.Bucket, Region: srv.Region, Source: src, Endpoint: srv.Endpoint})
	require.NoError(t, err)
	return st
}

func TestRotationOnTheSourceSignsLaterRequestsWithTheNewKeys(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "fresh-token"})
	stale := creds(srv)
	stale.Token = "revoked-token"
	src, err := credential.NewSource(stale, nil)
	require.NoError(t, err)
	st := sourceStore(t, srv, src)
	err = st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{})
	require.ErrorIs(t, err, fs.ErrPermission, "the stale token is refused")

	_, err = src.Set(creds(srv))
	require.NoError(t, err)
	require.NoError(t, st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{}))
	reqs := srv.Requests()
	assert.Equal(t, "fresh-token", reqs[len(reqs)-1].Header.Get("X-Cos-Security-Token"))

	_, err = src.Set(credential.Credentials{SecretID: " AKID", SecretKey: "k"})
	assert.Error(t, err, "invalid keys are refused and change nothing")
	require.NoError(t, st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{}))
}

func TestUnusableCredentialsFailBeforeAnyRequest(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "session-token-value"})
	now := time.Now()
	c := creds(srv)
	c.Expiry, c.ExpiryFrom, c.Source = now.Add(-time.Second), credential.EnvExpireAt, credential.SourceEnv
	src, err := credential.NewSource(c, func() time.Time { return now })
	require.NoError(t, err)
	st := sourceStore(t, srv, src)

	err = st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{})
	require.ErrorIs(t, err, credential.ErrExpired)
	var ee *credential.ExpiredError
	require.True(t, errors.As(err, &ee))
	assert.Contains(t, err.Error(), credential.EnvSessionToken)
	assert.NotContains(t, err.Error(), c.SecretKey)
	assert.NotContains(t, err.Error(), c.Token)
	_, err = st.List(t.Context(), "x/")
	require.ErrorIs(t, err, credential.ErrExpired)
	assert.Empty(t, srv.Requests(), "nothing was sent with expired keys")

	// A failed refresh: nothing is sent with the previous keys either.
	_, err = src.Refresh(func() (credential.Credentials, error) {
		return credential.Credentials{}, errors.New("TENCENTCLOUD_SECRET_KEY is not set")
	})
	require.Error(t, err)
	_, err = st.Head(t.Context(), "k.jsonl")
	require.ErrorIs(t, err, credential.ErrRefresh)
	assert.Empty(t, srv.Requests())
}

func TestRefusedTokenStopsTheSource(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "current-token"})
	old := creds(srv)
	old.Token = "expired-token"
	src, err := credential.NewSource(old, nil)
	require.NoError(t, err)
	st := sourceStore(t, srv, src)
	err = st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{})
	require.ErrorIs(t, err, fs.ErrPermission)
	_, err = src.Get()
	require.ErrorIs(t, err, credential.ErrRejected, "COS refused the token: the source stops handing it out")
	n := len(srv.Requests())
	_, err = st.Head(t.Context(), "k.jsonl")
	require.ErrorIs(t, err, credential.ErrRejected)
	assert.Len(t, srv.Requests(), n, "no request with the refused token")
}
