package sink_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/snapshot/sink"
)

func TestOpenFile(t *testing.T) {
	t.Chdir(t.TempDir())
	for _, tc := range []struct{ url, dir string }{
		{"file://snapshots", "snapshots"},
		{"file://./out/snap", "out/snap"},
		{sink.DefaultLocalURL, "snapshots"},
	} {
		st, prefix, err := sink.Open(tc.url, sink.Config{})
		require.NoError(t, err, tc.url)
		assert.Empty(t, prefix)
		require.IsType(t, &file.Store{}, st)
		require.NoError(t, st.Put(t.Context(), "k", strings.NewReader("x"), snapshot.PutOptions{}))
		_, err = os.Stat(filepath.Join(tc.dir, "k"))
		assert.NoError(t, err, tc.url)
	}
	abs := filepath.Join(t.TempDir(), "abs")
	_, _, err := sink.Open("file://"+abs, sink.Config{})
	require.NoError(t, err)
	_, err = os.Stat(abs)
	assert.NoError(t, err)
}

func TestOpenCOS(t *testing.T) {
	srv := costest.New(t, costest.Options{})
	cfg := sink.Config{Credentials: credential.Credentials{SecretID: srv.SecretID, SecretKey: srv.SecretKey}, Endpoint: srv.Endpoint}
	st, prefix, err := sink.Open(srv.SinkURL("/usage/daily/"), cfg)
	require.NoError(t, err)
	assert.Equal(t, "usage/daily", prefix)
	require.NoError(t, st.Put(t.Context(), prefix+"/k", strings.NewReader("x"), snapshot.PutOptions{}))
	assert.Equal(t, []string{"usage/daily/k"}, srv.SucceededKeys("PUT"))

	st, prefix, err = sink.Open("cos://"+srv.Bucket+"?region="+srv.Region, cfg)
	require.NoError(t, err)
	assert.Empty(t, prefix)
	assert.NotNil(t, st)
}

func TestOpenErrorsNameTheSetting(t *testing.T) {
	creds := sink.Config{Credentials: credential.Credentials{SecretID: "AKIDx", SecretKey: "k"}}
	for _, tc := range []struct{ url, want string }{
		{"", "want file://"},
		{"snapshots", "want file://"},
		{"s3://bucket/x", `unknown scheme "s3"`},
		{"file://", "want file://"},
		{"file://x?y", "want file://"},
		{"cos://usage/p?region=ap-guangzhou", "bucket"},
		{"cos://usage-12a/p?region=ap-guangzhou", "bucket"},
		{"cos://usage-1250000000/p", "region"},
		{"cos://usage-1250000000/p?region=Guangzhou", "region"},
		{"cos://usage-1250000000/p?region=ap-guangzhou&x=1", `unknown parameter "x"`},
		{"cos://usage-1250000000/a/../b?region=ap-guangzhou", "prefix"},
		{"cos://usage-1250000000:99/p?region=ap-guangzhou", "want cos://"},
		{"cos://AKIDx:topsecret@usage-1250000000/p?region=ap-guangzhou", "credentials do not belong"},
	} {
		_, _, err := sink.Open(tc.url, creds)
		require.Error(t, err, tc.url)
		assert.True(t, errors.Is(err, sink.ErrConfig), "%q: %v", tc.url, err)
		assert.Contains(t, err.Error(), "TCUSAGE_SINK", tc.url)
		assert.Contains(t, err.Error(), tc.want, tc.url)
		assert.NotContains(t, err.Error(), "topsecret")
	}
	_, _, err := sink.Open("cos://usage-1250000000/p?region=ap-guangzhou", sink.Config{})
	assert.ErrorContains(t, err, "TCUSAGE_SINK")
	assert.ErrorContains(t, err, "SecretID")
}
