package cos_test

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

func TestSetCredentialsSignsLaterRequestsWithTheNewKeys(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "fresh-token"})
	stale := creds(srv)
	stale.Token = "expired-token"
	st := newStore(t, srv, stale)
	err := st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{})
	require.ErrorIs(t, err, fs.ErrPermission, "the stale token is refused")

	require.NoError(t, st.SetCredentials(creds(srv)))
	require.NoError(t, st.Put(t.Context(), "k.jsonl", strings.NewReader("x"), snapshot.PutOptions{}))
	reqs := srv.Requests()
	assert.Equal(t, "fresh-token", reqs[len(reqs)-1].Header.Get("X-Cos-Security-Token"))

	assert.Error(t, st.SetCredentials(credential.Credentials{SecretID: " AKID", SecretKey: "k"}))
	assert.Error(t, st.SetCredentials(credential.Credentials{}))
}
