package costest_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"hash/crc64"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	cossdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/tcusage/tcusage/shared/snapshot/costest"
)

// sdkClient builds a client exactly as production does, with only the transport swapped.
func sdkClient(t *testing.T, s *costest.Server, secretKey string) *cossdk.Client {
	t.Helper()
	u, err := cossdk.NewBucketURL(s.Bucket, s.Region, false)
	require.NoError(t, err)
	return cossdk.NewClient(&cossdk.BaseURL{BucketURL: u}, &http.Client{Transport: &cossdk.AuthorizationTransport{
		SecretID: s.SecretID, SecretKey: secretKey, SessionToken: s.Token, Transport: s.Transport(),
	}})
}

func backends(t *testing.T) map[string]*costest.Upstream {
	m := map[string]*costest.Upstream{"gofakes3": nil}
	if up, ok := costest.MinIOFromEnv(); ok {
		m["minio"] = up
	}
	return m
}

func TestSDKDialect(t *testing.T) {
	for name, up := range backends(t) {
		t.Run(name, func(t *testing.T) {
			s := costest.New(t, costest.Options{Upstream: up, Token: "tok"})
			c := sdkClient(t, s, s.SecretKey)
			ctx := context.Background()
			key := "costest/" + strings.ToLower(s.SecretID) + "/a b+é.json"
			body := `{"x":1}`
			sum := md5.Sum([]byte(body))
			meta := http.Header{}
			meta.Set("x-cos-meta-source", "probe value+1")
			opt := &cossdk.ObjectPutOptions{ObjectPutHeaderOptions: &cossdk.ObjectPutHeaderOptions{
				ContentType: "application/json", ContentMD5: base64.StdEncoding.EncodeToString(sum[:]), XCosMetaXXX: &meta,
			}}
			// EnableCRC is on by default: the Put only succeeds if the CRC64 answer is right.
			_, err := c.Object.Put(ctx, key, strings.NewReader(body), opt)
			require.NoError(t, err)

			resp, err := c.Object.Head(ctx, key, nil)
			require.NoError(t, err)
			assert.Equal(t, "probe value+1", resp.Header.Get("X-Cos-Meta-Source"))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
			crc := crc64.Checksum([]byte(body), crc64.MakeTable(crc64.ECMA))
			assert.Equal(t, strconv.FormatUint(crc, 10), resp.Header.Get("X-Cos-Hash-Crc64ecma"))
			assert.NotEmpty(t, resp.Header.Get("X-Cos-Request-Id"))

			resp, err = c.Object.Get(ctx, key, nil)
			require.NoError(t, err)
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			assert.Equal(t, body, string(got))

			// x-cos-forbid-overwrite on an existing key is a 409.
			forbid := &http.Header{"X-Cos-Forbid-Overwrite": {"true"}}
			_, err = c.Object.Put(ctx, key, strings.NewReader("other"), &cossdk.ObjectPutOptions{
				ObjectPutHeaderOptions: &cossdk.ObjectPutHeaderOptions{XOptionHeader: forbid}})
			cerr, ok := cossdk.IsCOSError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, http.StatusConflict, cerr.Response.StatusCode)
			assert.Equal(t, "FileAlreadyExists", cerr.Code)

			// A wrong Content-MD5 is refused by the front.
			_, err = c.Object.Put(ctx, key+"2", strings.NewReader(body), &cossdk.ObjectPutOptions{
				ObjectPutHeaderOptions: &cossdk.ObjectPutHeaderOptions{ContentMD5: base64.StdEncoding.EncodeToString(make([]byte, 16))}})
			cerr, ok = cossdk.IsCOSError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "BadDigest", cerr.Code)

			res, _, err := c.Bucket.Get(ctx, &cossdk.BucketGetOptions{Prefix: "costest/" + strings.ToLower(s.SecretID) + "/"})
			require.NoError(t, err)
			require.Len(t, res.Contents, 1)
			assert.Equal(t, key, res.Contents[0].Key)

			_, err = c.Object.Delete(ctx, key)
			require.NoError(t, err)
			_, err = c.Object.Head(ctx, key, nil)
			assert.True(t, cossdk.IsNotFoundError(err), "%v", err)

			// A tampered signature is rejected before reaching the store.
			_, err = sdkClient(t, s, "wrong").Object.Put(ctx, key, strings.NewReader(body), nil)
			cerr, ok = cossdk.IsCOSError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "SignatureDoesNotMatch", cerr.Code)
			_, err = c.Object.Head(ctx, key, nil)
			assert.True(t, cossdk.IsNotFoundError(err), "the rejected PUT stored nothing")
		})
	}
}

func TestFaultInjection(t *testing.T) {
	s := costest.New(t, costest.Options{})
	c := sdkClient(t, s, s.SecretKey)
	c.Conf.RetryOpt.Count = 1 // observe each fault directly
	ctx := context.Background()
	s.Inject(costest.Fault{Kind: costest.SlowDown, Next: 1, Match: func(r costest.Request) bool { return r.Method == http.MethodHead }})
	_, err := c.Object.Head(ctx, "k", nil)
	cerr, ok := cossdk.IsCOSError(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, http.StatusServiceUnavailable, cerr.Response.StatusCode)
	_, err = c.Object.Head(ctx, "k", nil)
	assert.True(t, cossdk.IsNotFoundError(err), "the rule is used up")

	// A PUT, which net/http never replays on its own (it would silently retry a HEAD).
	s.Inject(costest.Fault{Kind: costest.Reset, Next: 1})
	_, err = c.Object.Put(ctx, "k", strings.NewReader("x"), nil)
	_, isCOS := cossdk.IsCOSError(err)
	require.Error(t, err)
	assert.False(t, isCOS, "a reset is a network error: %v", err)
	assert.Equal(t, 2, s.FaultCount())

	// The same seed gives the same faults.
	pattern := func() []bool {
		srv := costest.New(t, costest.Options{})
		cl := sdkClient(t, srv, srv.SecretKey)
		cl.Conf.RetryOpt.Count = 1
		srv.Inject(costest.Fault{Kind: costest.SlowDown, Rate: 0.5, Seed: 42})
		var out []bool
		for range 20 {
			_, err := cl.Object.Head(ctx, "k", nil)
			out = append(out, !cossdk.IsNotFoundError(err))
		}
		return out
	}
	p := pattern()
	assert.Equal(t, p, pattern())
	assert.Contains(t, p, true)
	assert.Contains(t, p, false)

	reqs := s.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "SlowDown", reqs[0].Fault)
	assert.Equal(t, "Reset", reqs[2].Fault)
	assert.Equal(t, 0, reqs[2].Status)
}
