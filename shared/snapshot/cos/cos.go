// Package cos is a snapshot.Store on a Tencent Cloud COS bucket, through
// github.com/tencentyun/cos-go-sdk-v5 with the SDK's defaults kept (CRC64 check on uploads,
// retries of network errors and 5xx answers).
//
// The bucket URL is always the production one, https://<bucket>.cos.<region>.myqcloud.com.
// For tests and private endpoints only the transport changes: with Config.Endpoint set, every
// connection goes to that host:port over plain HTTP while the Host header and the request
// signature stay exactly as in production.
package cos

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	cossdk "github.com/tencentyun/cos-go-sdk-v5"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/endpoint"
	"github.com/tcusage/tcusage/shared/remote"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Config configures a Store. Bucket, Region and Source (or Credentials) are required.
type Config struct {
	// Bucket is the full bucket name, <name>-<appid>.
	Bucket string
	// Region is the bucket's region, e.g. ap-guangzhou.
	Region string
	// Source provides the keys of every request, read as each is signed: share it with the API
	// client so that both see a rotation, a failed refresh or an expiry at once. Nil: a Source
	// holding Credentials.
	Source      *credential.Source
	Credentials credential.Credentials
	// Endpoint, when set, sends every connection to that address over plain HTTP, keeping the
	// production Host and signature (TCUSAGE_COS_ENDPOINT; tests, private gateways). A bare
	// host:port must be a loopback address; another host must be written http://host:port, to
	// say knowingly that credentials' signatures and the session token cross the network in clear.
	Endpoint string
	// Transport is the base transport under the signing one; nil uses http.DefaultTransport, or
	// a transport dialing Endpoint when Endpoint is set. With a Transport and an Endpoint the
	// Transport is used as given (over plain HTTP).
	Transport http.RoundTripper
	// ListPageSize is the max-keys of each listing request; 0 means 1000.
	ListPageSize int
	// Logger receives debug messages; nil discards.
	Logger *slog.Logger
}

var (
	bucketRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?-[0-9]+$`)
	regionRE = regexp.MustCompile(`^[a-z]+-[a-z]+(?:-[a-z0-9]+)*$`)
)

// ValidBucket reports whether name is a COS bucket name, <name>-<appid> (appid digits).
func ValidBucket(name string) error {
	if len(name) > 60 || !bucketRE.MatchString(name) {
		return fmt.Errorf("bucket %q: want <name>-<appid>, lower-case letters, digits and hyphens, appid digits", name)
	}
	return nil
}

// ValidRegion reports whether region looks like a COS region (e.g. ap-guangzhou).
func ValidRegion(region string) error {
	if !regionRE.MatchString(region) {
		return fmt.Errorf("region %q: want a COS region such as ap-guangzhou", region)
	}
	return nil
}

// Store is a snapshot.Store on one COS bucket. It is safe for concurrent use.
type Store struct {
	c        *cossdk.Client
	creds    *credential.Source
	bucket   string
	pageSize int
	log      *slog.Logger
}

var _ snapshot.Store = (*Store)(nil)

// New returns a Store for cfg.
func New(cfg Config) (*Store, error) {
	if err := ValidBucket(cfg.Bucket); err != nil {
		return nil, fmt.Errorf("cos: %w", err)
	}
	if err := ValidRegion(cfg.Region); err != nil {
		return nil, fmt.Errorf("cos: %w", err)
	}
	src := cfg.Source
	if src == nil {
		var err error
		if src, err = credential.NewSource(cfg.Credentials, nil); err != nil {
			return nil, fmt.Errorf("cos: %w", err)
		}
	}
	base := cfg.Transport
	if cfg.Endpoint != "" {
		addr, err := plainEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, err
		}
		cfg.Endpoint = addr
		if base == nil {
			base = EndpointTransport(cfg.Endpoint)
		}
	}
	if base == nil {
		base = keepAliveTransport(http.DefaultTransport.(*http.Transport).Clone())
	}
	u, err := cossdk.NewBucketURL(cfg.Bucket, cfg.Region, cfg.Endpoint == "")
	if err != nil {
		return nil, fmt.Errorf("cos: bucket URL: %w", err)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	client := cossdk.NewClient(&cossdk.BaseURL{BucketURL: u}, &http.Client{Transport: &signer{src: src, next: base}})
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	page := cfg.ListPageSize
	if page <= 0 || page > 1000 {
		page = 1000
	}
	return &Store{c: client, creds: src, bucket: cfg.Bucket, pageSize: page, log: log}, nil
}

// plainEndpoint checks a COS endpoint override: host:port on loopback, or http://host:port for
// another host (saying knowingly that signatures and the session token cross the network in clear
// text). It returns host:port.
func plainEndpoint(v string) (string, error) {
	e, err := endpoint.Parse(v)
	if err == nil && (e.Scheme == "https" || !e.HasPort()) {
		err = errors.New("want host:port (loopback) or http://host:port")
	}
	if err != nil {
		return "", fmt.Errorf("cos: endpoint: %w", err)
	}
	if e.Scheme == "" && !e.Loopback() {
		return "", fmt.Errorf("cos: endpoint %s is not a loopback address: write http://%s to send COS traffic there in clear text", e.Host, e.Host)
	}
	return e.Host, nil
}

// IdleConnsPerHost is how many connections to the bucket stay open between requests: as many as a
// query reads files at once (a commit writes fewer), so that each request reuses a connection
// instead of dialing anew, with a TLS handshake on COS (Go's default keeps 2).
const IdleConnsPerHost = 64

func keepAliveTransport(t *http.Transport) *http.Transport {
	t.MaxIdleConnsPerHost = IdleConnsPerHost
	t.MaxIdleConns = max(t.MaxIdleConns, IdleConnsPerHost)
	return t
}

// EndpointTransport returns a transport that connects to addr (host:port) whatever host a
// request names, without proxies; TLS, if any, still verifies the request's host name.
func EndpointTransport(addr string) *http.Transport {
	t := keepAliveTransport(http.DefaultTransport.(*http.Transport).Clone())
	t.Proxy = nil
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	return t
}

// Credentials returns the source the store signs with (see Config.Source).
func (s *Store) Credentials() *credential.Source { return s.creds }

// usable checks, before a request is made, that the credentials may be used: an expired,
// refused or unrefreshable key fails the operation with that reason, not with what COS would
// answer to stale keys.
func (s *Store) usable(op, key string) error {
	if _, err := s.creds.Get(); err != nil {
		return &Error{Op: op, Bucket: s.bucket, Key: key, Err: err}
	}
	return nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// sizedReader hides Close from the SDK (which closes ReadClosers) and tells it the length.
type sizedReader struct {
	io.ReadSeeker
	n int64
}

func (r sizedReader) Size() int64 { return r.n }

// Put uploads body with Content-Type, Content-Length and Content-MD5; the SDK retries it and
// checks the CRC64 COS answers.
func (s *Store) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if err := snapshot.ValidKey(key); err != nil {
		return fmt.Errorf("put: %w", err)
	}
	size, sum, err := snapshot.BodyInfo(body, o)
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if err := s.usable("put", key); err != nil {
		return err
	}
	var r io.Reader = sizedReader{body, size}
	if size == 0 {
		r = bytes.NewReader(nil)
	}
	opt := &cossdk.ObjectPutOptions{ObjectPutHeaderOptions: &cossdk.ObjectPutHeaderOptions{
		ContentType:   o.ContentType,
		ContentMD5:    base64.StdEncoding.EncodeToString(sum),
		ContentLength: size,
	}}
	if o.IfAbsent {
		// The SDK has no field for it; the header is sent and signed like any other.
		opt.XOptionHeader = &http.Header{"X-Cos-Forbid-Overwrite": {"true"}}
	}
	resp, err := s.c.Object.Put(ctx, key, r, opt)
	closeResp(resp)
	if err != nil {
		return s.wrap("put", key, err)
	}
	s.log.Debug("cos put", "bucket", s.bucket, "key", key, "bytes", size)
	return nil
}

// Get opens the object under key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := snapshot.ValidKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	if err := s.usable("get", key); err != nil {
		return nil, err
	}
	resp, err := s.c.Object.Get(ctx, key, nil)
	if err != nil {
		closeResp(resp)
		return nil, s.wrap("get", key, err)
	}
	return resp.Body, nil
}

// Head describes the object under key.
func (s *Store) Head(ctx context.Context, key string) (snapshot.ObjectInfo, error) {
	if err := snapshot.ValidKey(key); err != nil {
		return snapshot.ObjectInfo{}, fmt.Errorf("head: %w", err)
	}
	if err := s.usable("head", key); err != nil {
		return snapshot.ObjectInfo{}, err
	}
	resp, err := s.c.Object.Head(ctx, key, nil)
	closeResp(resp)
	if err != nil {
		return snapshot.ObjectInfo{}, s.wrap("head", key, err)
	}
	return snapshot.ObjectInfo{Key: key, Size: resp.ContentLength, ETag: strings.Trim(resp.Header.Get("ETag"), `"`)}, nil
}

// List returns every object whose key starts with prefix, following the listing pages.
func (s *Store) List(ctx context.Context, prefix string) ([]snapshot.ObjectInfo, error) {
	if err := snapshot.ValidListPrefix(prefix); err != nil {
		return nil, fmt.Errorf("list: %w", err)
	}
	if err := s.usable("list", prefix); err != nil {
		return nil, err
	}
	var out []snapshot.ObjectInfo
	marker := ""
	for {
		res, resp, err := s.c.Bucket.Get(ctx, &cossdk.BucketGetOptions{Prefix: prefix, Marker: marker, MaxKeys: s.pageSize})
		closeResp(resp)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, o := range res.Contents {
			out = append(out, snapshot.ObjectInfo{Key: o.Key, Size: o.Size, ETag: strings.Trim(o.ETag, `"`)})
		}
		if !res.IsTruncated {
			break
		}
		// NextMarker is opaque and only sometimes present; otherwise continue after the last key.
		next := res.NextMarker
		if next == "" && len(res.Contents) > 0 {
			next = res.Contents[len(res.Contents)-1].Key
		}
		if next == "" || next == marker {
			return nil, fmt.Errorf("list %s/%s: truncated listing without a way forward", s.bucket, prefix)
		}
		marker = next
	}
	slices.SortFunc(out, func(a, b snapshot.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes the object under key; COS answers success for a missing key too.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := snapshot.ValidKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if err := s.usable("delete", key); err != nil {
		return err
	}
	resp, err := s.c.Object.Delete(ctx, key)
	closeResp(resp)
	if err != nil && !cossdk.IsNotFoundError(err) {
		return s.wrap("delete", key, err)
	}
	return nil
}

// Versioning returns the bucket's versioning status as COS answers GET ?versioning: "" when
// versioning was never enabled, "Enabled" or "Suspended". The dataset lease's create-if-absent
// writes rely on x-cos-forbid-overwrite, which COS ignores on a bucket with versioning enabled.
// Reading it needs cos:GetBucketVersioning, which the functions' run roles are not granted.
func (s *Store) Versioning(ctx context.Context) (string, error) {
	if err := s.usable("get versioning", ""); err != nil {
		return "", err
	}
	res, resp, err := s.c.Bucket.GetVersioning(ctx)
	closeResp(resp)
	if err != nil {
		return "", s.wrap("get versioning", "", err)
	}
	return res.Status, nil
}

func closeResp(resp *cossdk.Response) {
	if resp != nil && resp.Body != nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
	}
}

// Error is a failed COS call. It unwraps to fs.ErrNotExist (404), fs.ErrPermission (403) or
// snapshot.ErrBadDigest (400 BadDigest) or fs.ErrExist (409 FileAlreadyExists, a Put with IfAbsent
// on an existing key) where those apply, and to the SDK's error.
type Error struct {
	Op, Bucket, Key string
	// StatusCode is the HTTP status, 0 when no answer came (network errors).
	StatusCode int
	// Code is the COS error code, e.g. SignatureDoesNotMatch; empty for HEAD answers.
	Code      string
	Message   string
	RequestID string
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cos %s %s/%s: ", e.Op, e.Bucket, e.Key)
	if e.StatusCode == 0 {
		b.WriteString(e.Err.Error())
		return b.String()
	}
	fmt.Fprintf(&b, "%d %s", e.StatusCode, http.StatusText(e.StatusCode))
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	}
	if hint := hints[e.Code]; hint != "" {
		b.WriteString(": " + hint)
	} else if e.StatusCode == http.StatusForbidden {
		b.WriteString(": access denied; check the credentials and the bucket policy")
	} else if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" (request id " + e.RequestID + ")")
	}
	return b.String()
}

var hints = map[string]string{
	"SignatureDoesNotMatch": "the SecretKey does not match the SecretId (wrong key, or the clock is off)",
	"InvalidAccessKeyId":    "COS does not know this SecretId (or the temporary key expired)",
	"AccessDenied":          "the credentials are not allowed this operation on this bucket and key",
	"InvalidToken":          "the session token is not valid for this SecretId",
	"ExpiredToken":          "the session token has expired",
	"RequestTimeTooSkewed":  "the local clock differs too much from COS time",
	"NoSuchBucket":          "the bucket does not exist in this region",
	"BadDigest":             "the body does not match its Content-MD5",
}

// Unwrap returns the matching fs/snapshot sentinel and the SDK's error.
func (e *Error) Unwrap() []error {
	errs := []error{e.Err}
	switch {
	case e.StatusCode == http.StatusNotFound && e.Code != "NoSuchBucket":
		errs = append(errs, fs.ErrNotExist)
	case e.StatusCode == http.StatusForbidden:
		errs = append(errs, fs.ErrPermission)
	case e.Code == "BadDigest":
		errs = append(errs, snapshot.ErrBadDigest)
	case e.StatusCode == http.StatusConflict && e.Code == "FileAlreadyExists":
		errs = append(errs, fs.ErrExist) // a Put with IfAbsent found an object there
	}
	return errs
}

func (s *Store) wrap(op, key string, err error) error {
	e := &Error{Op: op, Bucket: s.bucket, Key: key, Err: err}
	if r, ok := cossdk.IsCOSError(err); ok {
		e.Code, e.Message, e.RequestID = r.Code, r.Message, r.RequestID
		if r.Response != nil {
			e.StatusCode = r.Response.StatusCode
			if e.RequestID == "" {
				e.RequestID = r.Response.Header.Get("X-Cos-Request-Id")
			}
		}
		// What COS (or whatever answered in its place) wrote is untrusted: no secret, and only
		// what a real code, request ID and message are made of.
		creds := s.creds.Current()
		e.Code, e.RequestID = remote.Code(creds.Scrub(e.Code)), remote.ID(creds.Scrub(e.RequestID))
		e.Message = remote.Message(creds.Scrub(e.Message))
		if (e.Code == "ExpiredToken" || e.Code == "InvalidToken") && creds.Token != "" {
			// The session token is refused: every client sharing the credentials stops using it.
			s.creds.Reject(creds, e.Code)
		}
	}
	return e
}
