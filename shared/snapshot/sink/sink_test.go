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
		{"s3://bucket/x", "neither file nor cos"},
		{"file://", "want file://"},
		{"file://x?y", "want file://"},
		{"cos://usage/p?region=ap-guangzhou", "bucket"},
		{"cos://usage-12a/p?region=ap-guangzhou", "bucket"},
		{"cos://usage-1250000000/p", "region"},
		{"cos://usage-1250000000/p?region=Guangzhou", "region"},
		{"cos://usage-1250000000/p?region=ap-guangzhou&x=1", "query parameter other than region"},
		{"cos://usage-1250000000/a/../b?region=ap-guangzhou", "prefix"},
		{"cos://usage-1250000000:99/p?region=ap-guangzhou", "want cos://"},
		{"cos://AKIDx:topsecret@usage-1250000000/p?region=ap-guangzhou", "user info; credentials do not belong"},
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

// secret stands for a credential an operator pasted into TCUSAGE_SINK by mistake.
const secret = "Zq8SECRETvalue"

// TestOpenRefusesSecretsWithoutEchoingThem feeds every place a URL can carry a credential: user
// info (with and without a password, percent-encoded, behind a one-slash or opaque scheme),
// query parameters (unknown, repeated, valueless, malformed, a secret as the region) and
// fragments, in both schemes. Each is refused with ErrConfig, naming the part at fault, and no
// part of the secret is in the error. A refused file sink creates nothing.
func TestOpenRefusesSecretsWithoutEchoingThem(t *testing.T) {
	const bucket = "usage-1250000000"
	creds := sink.Config{Credentials: credential.Credentials{SecretID: "AKIDx", SecretKey: "k"}}
	for _, tc := range []struct{ name, url, want string }{
		{"cos user only", "cos://" + secret + "@" + bucket + "/p?region=ap-guangzhou", "user info"},
		{"cos user and password", "cos://AKID" + secret + ":" + secret + "@" + bucket + "/p?region=ap-guangzhou", "user info"},
		{"cos empty user", "cos://:" + secret + "@" + bucket + "/p?region=ap-guangzhou", "user info"},
		{"cos encoded user", "cos://%5A" + secret + "@" + bucket + "/p?region=ap-guangzhou", "user info"},
		{"cos one slash", "cos:/AKID" + secret + ":" + secret + "@" + bucket + "/p?region=ap-guangzhou", "cos://"},
		{"cos no slash", "cos:AKID" + secret + ":" + secret + "@" + bucket + "/p?region=ap-guangzhou", "cos://"},
		{"cos three slashes", "cos:///" + secret + "@" + bucket + "/p?region=ap-guangzhou", "bucket"},
		{"cos secret before scheme", secret + ":" + secret + "@cos://" + bucket + "/p?region=ap-guangzhou", "scheme"},
		{"cos key parameter", "cos://" + bucket + "/p?region=ap-guangzhou&secretkey=" + secret, "query"},
		{"cos parameter before region", "cos://" + bucket + "/p?key=" + secret + "&region=ap-guangzhou", "query"},
		{"cos secret as parameter name", "cos://" + bucket + "/p?region=ap-guangzhou&" + secret, "query"},
		{"cos secret as region", "cos://" + bucket + "/p?region=" + secret, "region"},
		{"cos repeated region", "cos://" + bucket + "/p?region=ap-guangzhou&region=" + secret, "region"},
		{"cos semicolon", "cos://" + bucket + "/p?region=ap-guangzhou;" + secret, "query"},
		{"cos bad escape in query", "cos://" + bucket + "/p?region=ap-guangzhou&k=%zz" + secret, "query"},
		{"cos fragment", "cos://" + bucket + "/p?region=ap-guangzhou#" + secret, "fragment"},
		{"cos fragment no query", "cos://" + bucket + "/p#" + secret, "fragment"},
		{"cos bad port", "cos://" + bucket + ":" + secret + "/p?region=ap-guangzhou", "cos://"},
		{"file user and password", "file://AKID" + secret + ":" + secret + "@/tmp/x", "user info"},
		{"file user only", "file://" + secret + "@snapshots", "user info"},
		{"file user before dot", "file://" + secret + "@./snapshots", "user info"},
		{"file query", "file://snapshots?key=" + secret, "query"},
		{"file bare query", "file://snapshots?" + secret, "query"},
		{"file fragment", "file://snapshots#" + secret, "fragment"},
		{"file one slash", "file:/" + secret + ":" + secret + "@snapshots", "file://"},
		{"file no slash", "file:" + secret + "@snapshots", "file://"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			_, _, err := sink.Open(tc.url, creds)
			require.Error(t, err)
			assert.ErrorIs(t, err, sink.ErrConfig)
			msg := err.Error()
			assert.Contains(t, msg, "TCUSAGE_SINK")
			assert.Contains(t, msg, tc.want)
			for _, part := range []string{secret, secret[:6], secret[len(secret)-6:], "%5A", "%zz"} {
				assert.NotContains(t, msg, part, "the error echoes part of the secret")
			}
			entries, err := os.ReadDir(".")
			require.NoError(t, err)
			assert.Empty(t, entries, "a refused sink creates nothing")
		})
	}
}

// TestOpenSaysWhichPartIsWrong pins the wording operators see for credentials in the URL.
func TestOpenSaysWhichPartIsWrong(t *testing.T) {
	_, _, err := sink.Open("cos://"+secret+"@usage-1250000000/p?region=ap-guangzhou", sink.Config{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the URL carries user info; credentials do not belong in TCUSAGE_SINK")
	_, _, err = sink.Open("file://snapshots#"+secret, sink.Config{})
	assert.ErrorContains(t, err, "fragment")
	_, _, err = sink.Open("cos://usage-1250000000/p?region=ap-guangzhou&token="+secret, sink.Config{})
	assert.ErrorContains(t, err, "region")
	assert.NotContains(t, err.Error(), "token", "not even the parameter's name is echoed")
}

// TestOpenKeepsDocumentedForms lists the sink URLs the README documents; all stay accepted.
func TestOpenKeepsDocumentedForms(t *testing.T) {
	t.Chdir(t.TempDir())
	abs := filepath.Join(t.TempDir(), "abs", "dir")
	for _, u := range []string{"file://snapshots", "file://./snapshots", "file://" + abs, "file://out/a@b"} {
		st, prefix, err := sink.Open(u, sink.Config{})
		require.NoError(t, err, u)
		assert.Empty(t, prefix)
		assert.IsType(t, &file.Store{}, st)
	}
	_, err := os.Stat(filepath.Join("out", "a@b"))
	assert.NoError(t, err, "an @ after the first slash is part of the directory")
	srv := costest.New(t, costest.Options{})
	cfg := sink.Config{Credentials: credential.Credentials{SecretID: srv.SecretID, SecretKey: srv.SecretKey}, Endpoint: srv.Endpoint}
	for _, p := range []string{"tcusage", "usage/tcusage/", ""} {
		_, prefix, err := sink.Open("cos://"+srv.Bucket+"/"+p+"?region="+srv.Region, cfg)
		require.NoError(t, err, p)
		assert.Equal(t, strings.Trim(p, "/"), prefix)
	}
}
