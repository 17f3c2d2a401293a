package cos_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot/cos"
)

// A COS endpoint (or a proxy in its place) that echoes the session token into its error code,
// message and request ID, with 100 kB of padding: the store's error carries none of it as it came.
func TestEchoedErrorTextIsScrubbedAndBounded(t *testing.T) {
	const token = "SESSIONTOKEN-cos-echo-9a8b7c6d5e4f"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := r.Header.Get("X-Cos-Security-Token")
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, "<Error><Code>AccessDenied.%s%s</Code><Message>denied %s\n\tnow</Message><RequestId>rid-%s</RequestId></Error>",
			tok, strings.Repeat("X", 100_000), tok, tok)
	}))
	defer srv.Close()
	st, err := cos.New(cos.Config{Bucket: "usage-1250000000", Region: "ap-guangzhou", Endpoint: srv.Listener.Addr().String(),
		Credentials: credential.Credentials{SecretID: "AKIDcosEchoTest0000", SecretKey: "cos-echo-key", Token: token}})
	require.NoError(t, err)
	_, err = st.Head(t.Context(), "k")
	require.Error(t, err)
	_, err = st.Get(t.Context(), "k")
	require.Error(t, err)
	var ce *cos.Error
	require.True(t, errors.As(err, &ce))
	assert.NotContains(t, err.Error(), token)
	assert.Less(t, len(err.Error()), 1000, "100 kB of code is cut")
	assert.True(t, strings.HasPrefix(ce.Code, "AccessDenied._redacted_"), ce.Code)
	assert.Equal(t, "rid-_redacted_", ce.RequestID)
	assert.ErrorIs(t, err, fs.ErrPermission)
}
