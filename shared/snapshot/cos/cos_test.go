package cos_test

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/cos"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/snapshot/snapshottest"
	"github.com/tcusage/tcusage/shared/usage"
)

func creds(s *costest.Server) credential.Credentials {
	return credential.Credentials{SecretID: s.SecretID, SecretKey: s.SecretKey, Token: s.Token}
}

func newStore(t *testing.T, srv *costest.Server, c credential.Credentials) *cos.Store {
	t.Helper()
	st, err := cos.New(cos.Config{
		Bucket: srv.Bucket, Region: srv.Region, Credentials: c, Endpoint: srv.Endpoint,
		ListPageSize: 4, // small pages exercise the paging code
	})
	require.NoError(t, err)
	return st
}

// uniquePrefix keeps tests apart in a bucket shared across runs (MinIO).
func uniquePrefix() string { return "t-" + strings.ToLower(rand.Text()[:10]) }

func env(t *testing.T, up *costest.Upstream) snapshottest.Env {
	srv := costest.New(t, costest.Options{Upstream: up, Token: "session-token-" + rand.Text()})
	return snapshottest.Env{
		Store:  newStore(t, srv, creds(srv)),
		Tagged: true,
		Prefix: uniquePrefix(),
		Wire: func() []snapshottest.WireRequest {
			var out []snapshottest.WireRequest
			for _, r := range srv.Requests() {
				out = append(out, snapshottest.WireRequest{Method: r.Method, Key: r.Key, Header: r.Header, Status: r.Status})
			}
			return out
		},
		BadCredentials: func() snapshot.Store {
			c := creds(srv)
			c.SecretKey = "wrong-" + c.SecretKey
			return newStore(t, srv, c)
		},
	}
}

func TestConformanceGofakes3(t *testing.T) {
	snapshottest.Run(t, func(t *testing.T) snapshottest.Env { return env(t, nil) })
}

func TestConformanceMinIO(t *testing.T) {
	up, ok := costest.MinIOFromEnv()
	if !ok {
		t.Skip("TCUSAGE_TEST_MINIO_ENDPOINT is not set (run `source .ci/minio.sh start` for the MinIO tier)")
	}
	snapshottest.Run(t, func(t *testing.T) snapshottest.Env { return env(t, up) })
}

func TestAuthErrorsAreClearAndSecretFree(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "the-session-token"})
	good := creds(srv)
	ctx := t.Context()
	require.NoError(t, newStore(t, srv, good).Put(ctx, "k", strings.NewReader("x"), snapshot.PutOptions{}))

	for _, tc := range []struct {
		name string
		edit func(*credential.Credentials)
		code string
	}{
		{"wrong key", func(c *credential.Credentials) { c.SecretKey = "not-the-secret-key" }, "SignatureDoesNotMatch"},
		{"unknown id", func(c *credential.Credentials) { c.SecretID = "AKIDunknownunknown" }, "InvalidAccessKeyId"},
		{"wrong token", func(c *credential.Credentials) { c.Token = "stale-token" }, "InvalidToken"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			err := newStore(t, srv, c).Put(ctx, "k", strings.NewReader("y"), snapshot.PutOptions{})
			require.Error(t, err)
			assert.ErrorIs(t, err, fs.ErrPermission)
			var ce *cos.Error
			require.ErrorAs(t, err, &ce)
			assert.Equal(t, http.StatusForbidden, ce.StatusCode)
			assert.Equal(t, tc.code, ce.Code)
			assert.True(t, strings.HasPrefix(ce.RequestID, "costest-"), ce.RequestID)
			msg := err.Error()
			assert.Contains(t, msg, srv.Bucket+"/k")
			assert.Contains(t, msg, tc.code)
			assert.Contains(t, msg, ce.RequestID)
			for _, secret := range []string{good.SecretKey, c.SecretKey, good.Token, c.Token} {
				assert.NotContains(t, msg, secret)
			}
		})
	}
	// HEAD answers carry no body: the status alone must still read as a permission error.
	c := good
	c.SecretKey = "nope"
	_, err := newStore(t, srv, c).Head(ctx, "k")
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.Contains(t, err.Error(), "403")
}

func TestRequestsUseProductionHostAndSignature(t *testing.T) {
	srv := costest.New(t, costest.Options{Token: "tok"})
	st := newStore(t, srv, creds(srv))
	require.NoError(t, st.Put(t.Context(), "a/b c.jsonl", strings.NewReader("x"), snapshot.PutOptions{ContentType: "application/x-ndjson"}))
	reqs := srv.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "a/b c.jsonl", r.Key)
	assert.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, r.Header.Get("Authorization"), "q-sign-algorithm=sha1")
	assert.Contains(t, r.Header.Get("Authorization"), "content-md5")
	assert.Equal(t, "tok", r.Header.Get("X-Cos-Security-Token"))
	assert.Equal(t, "application/x-ndjson", r.Header.Get("Content-Type"))
}

func TestNotFoundAndBucketErrors(t *testing.T) {
	srv := costest.New(t, costest.Options{})
	ctx := t.Context()
	_, err := newStore(t, srv, creds(srv)).Get(ctx, "missing")
	require.ErrorIs(t, err, fs.ErrNotExist)
	var ce *cos.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "NoSuchKey", ce.Code)

	// A bucket the server does not have must not read as a missing object.
	other, err := cos.New(cos.Config{Bucket: "other-1250000000", Region: srv.Region, Credentials: creds(srv), Endpoint: srv.Endpoint})
	require.NoError(t, err)
	_, err = other.Get(ctx, "k")
	require.Error(t, err)
	assert.NotErrorIs(t, err, fs.ErrNotExist)
	assert.Contains(t, err.Error(), "NoSuchBucket")
}

func TestRetriesAbsorbTransientFaults(t *testing.T) {
	for _, kind := range []costest.FaultKind{costest.SlowDown, costest.Reset} {
		t.Run(string(kind), func(t *testing.T) {
			srv := costest.New(t, costest.Options{})
			st := newStore(t, srv, creds(srv))
			ctx := t.Context()
			// Two failures in a row: the SDK's third try succeeds.
			srv.Inject(costest.Fault{Kind: kind, Next: 2})
			require.NoError(t, st.Put(ctx, "k", strings.NewReader("body"), snapshot.PutOptions{}))
			assert.Equal(t, 2, srv.FaultCount())
			assert.Equal(t, []string{"k"}, srv.SucceededKeys(http.MethodPut))
			rc, err := st.Get(ctx, "k")
			require.NoError(t, err)
			rc.Close()
		})
	}
}

func TestCommitUnderRandomFaults(t *testing.T) {
	// Half of all requests fail. The SDK's retries absorb most; a commit that still fails must
	// leave a sound partition, and running it again completes it.
	srv := costest.New(t, costest.Options{})
	st := newStore(t, srv, creds(srv))
	ctx := t.Context()
	failures := 0
	for v := 1; v <= 4; v++ {
		req := snapshot.CommitRequest{
			Dataset: "ccc_tel_call", Day: calendar.Date(2024, 7, 1), GeneratedAt: time.Unix(int64(v), 0),
			Files: []snapshot.File{
				{App: "1400000001", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes(fmt.Appendf(nil, "{\"v\":%d}\n", v))},
				{App: "1400000002", Format: usage.JSONL, Rows: 1, Content: snapshot.Bytes([]byte("{}\n"))},
			},
		}
		var err error
		for attempt := range 20 {
			srv.Inject(costest.Fault{Kind: costest.SlowDown, Rate: 0.5, Seed: uint64(100*v + attempt)})
			_, err = snapshot.Commit(ctx, st, "p", req)
			srv.ClearFaults()
			rep, verr := snapshot.Verify(ctx, st, "p", "ccc_tel_call", calendar.Date(2024, 7, 1))
			if !errors.Is(verr, fs.ErrNotExist) {
				require.NoError(t, verr)
				require.True(t, rep.OK(), rep.Problems)
			}
			if err == nil {
				assert.Equal(t, fmt.Sprintf("{\"v\":%d}\n", v), readAll(t, st, rep.Manifest.Files[0].Key))
				break
			}
			failures++
		}
		require.NoError(t, err, "no commit succeeded in 20 attempts")
	}
	assert.Positive(t, srv.FaultCount(), "faults were injected")
	t.Logf("faults injected: %d, failed commits: %d", srv.FaultCount(), failures)
}

func readAll(t *testing.T, st snapshot.Store, key string) string {
	t.Helper()
	rc, err := st.Get(t.Context(), key)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return string(b)
}

func TestPersistentFaultsFailCommitSafely(t *testing.T) {
	srv := costest.New(t, costest.Options{})
	st := newStore(t, srv, creds(srv))
	ctx := t.Context()
	req := func(v int) snapshot.CommitRequest {
		return snapshot.CommitRequest{
			Dataset: "ess_bill", Day: calendar.Date(2024, 7, 2), GeneratedAt: time.Unix(int64(v), 0),
			Files: []snapshot.File{
				{App: "yDRxYUUgygqxxxxx", Format: usage.CSV, Rows: 1, Content: snapshot.Bytes(fmt.Appendf(nil, "a\n%d\n", v))},
				{App: "yDRxYUUgygqyyyyy", Format: usage.CSV, Rows: 1, Content: snapshot.Bytes(fmt.Appendf(nil, "b\n%d\n", v))},
			},
		}
	}
	_, err := snapshot.Commit(ctx, st, "", req(1))
	require.NoError(t, err)

	// Every data PUT now fails past the SDK's retries; the commit fails and the manifest
	// (interim) never points at bytes that changed.
	srv.Inject(costest.Fault{Kind: costest.SlowDown, Next: 1000, Match: func(r costest.Request) bool {
		return r.Method == http.MethodPut && strings.Contains(r.Key, "app=yDRxYUUgygqyyyyy")
	}})
	_, err = snapshot.Commit(ctx, st, "", req(2))
	require.Error(t, err)
	var ce *cos.Error
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, "SlowDown", ce.Code)
	assert.GreaterOrEqual(t, srv.FaultCount(), 3, "the SDK retried")
	rep, err := snapshot.Verify(ctx, st, "", "ess_bill", calendar.Date(2024, 7, 2))
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
	assert.Equal(t, snapshot.StatusPartial, rep.Manifest.Status)

	srv.ClearFaults()
	res, err := snapshot.Commit(ctx, st, "", req(2))
	require.NoError(t, err)
	assert.Equal(t, snapshot.StatusComplete, res.Manifest.Status)
	rep, err = snapshot.Verify(ctx, st, "", "ess_bill", calendar.Date(2024, 7, 2))
	require.NoError(t, err)
	assert.True(t, rep.OK(), rep.Problems)
}

func TestConfigValidation(t *testing.T) {
	good := cos.Config{Bucket: "usage-1250000000", Region: "ap-guangzhou", Credentials: credential.Credentials{SecretID: "AKIDx", SecretKey: "k"}}
	_, err := cos.New(good)
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		edit func(*cos.Config)
		want string
	}{
		{"bucket without appid", func(c *cos.Config) { c.Bucket = "usage" }, "bucket"},
		{"appid not digits", func(c *cos.Config) { c.Bucket = "usage-12x" }, "bucket"},
		{"upper-case bucket", func(c *cos.Config) { c.Bucket = "Usage-125" }, "bucket"},
		{"region", func(c *cos.Config) { c.Region = "guangzhou" }, "region"},
		{"region injection", func(c *cos.Config) { c.Region = "ap-guangzhou.evil.com/x" }, "region"},
		{"no secret", func(c *cos.Config) { c.Credentials.SecretKey = "" }, "SecretKey"},
		{"spaces", func(c *cos.Config) { c.Credentials.SecretID = " AKIDx" }, "whitespace"},
		{"endpoint", func(c *cos.Config) { c.Endpoint = "127.0.0.1" }, "endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.edit(&c)
			_, err := cos.New(c)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestCredentialsAreRedacted(t *testing.T) {
	c := credential.Credentials{SecretID: "AKIDabcdefghijklmnop", SecretKey: "super-secret-key", Token: "super-secret-token"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("creds", "c", c)
	for _, s := range []string{c.String(), fmt.Sprintf("%v %+v %#v", c, c, c), logged.String()} {
		assert.NotContains(t, s, "super-secret")
		assert.NotContains(t, s, "AKIDabcdefghijklmnop")
	}
	assert.Contains(t, c.String(), "AKID")
	assert.Contains(t, logged.String(), "AKID****mnop", "the ID masked")
}
