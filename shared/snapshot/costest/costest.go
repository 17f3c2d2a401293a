// Package costest runs a COS-compatible server for tests: an in-process front that speaks the COS
// dialect the SDK expects (q-sign-algorithm=sha1 signatures, checked by this package's own
// implementation; x-cos-hash-crc64ecma; x-cos-request-id; x-cos-meta-*; x-cos-forbid-overwrite)
// and stores objects in gofakes3, or forwards them, re-signed with AWS SigV4, to a real S3 server
// such as MinIO.
//
// Clients keep the production bucket URL (https://<bucket>.cos.<region>.myqcloud.com) and only
// swap the transport: Server.Endpoint is the TCUSAGE_COS_ENDPOINT-style address every connection
// is sent to. The server records requests and injects faults (503 SlowDown, connection reset) on
// demand, by count or at a seeded rate.
package costest

import (
	"bytes"
	"context"
	"crypto/md5"
	crand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash/crc64"
	"io"

	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// Defaults used when Options leaves a field empty.
const (
	DefaultBucket = "tcusage-1250000000"
	DefaultRegion = "ap-guangzhou"
)

// maxBody bounds the bodies the front buffers.
const maxBody = 64 << 20

// Upstream is a real S3 server objects are forwarded to, path-style, signed with SigV4.
type Upstream struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:19000.
	URL       string
	AccessKey string
	SecretKey string
	// Bucket is the upstream bucket; empty means the same name as the COS bucket.
	Bucket string
}

// MinIOFromEnv returns the upstream described by TCUSAGE_TEST_MINIO_ENDPOINT, _ACCESS_KEY,
// _SECRET_KEY and _BUCKET (set by .ci/minio.sh), and false when the endpoint is not set.
func MinIOFromEnv() (*Upstream, bool) {
	ep := os.Getenv("TCUSAGE_TEST_MINIO_ENDPOINT")
	if ep == "" {
		return nil, false
	}
	return &Upstream{
		URL:       ep,
		AccessKey: os.Getenv("TCUSAGE_TEST_MINIO_ACCESS_KEY"),
		SecretKey: os.Getenv("TCUSAGE_TEST_MINIO_SECRET_KEY"),
		Bucket:    os.Getenv("TCUSAGE_TEST_MINIO_BUCKET"),
	}, true
}

// Options configures a Server; every field is optional.
type Options struct {
	Bucket, Region string
	// SecretID and SecretKey are the only accepted keys; random ones are made when empty.
	SecretID, SecretKey string
	// Token, when set, must accompany every request as x-cos-security-token.
	Token string
	// Upstream forwards objects to a real S3 server instead of the in-process gofakes3.
	Upstream *Upstream
	// Now is the server clock for signature times; nil uses time.Now.
	Now func() time.Time
	// Versioning is the bucket's versioning status as GET ?versioning answers it: "" (never
	// enabled), "Enabled" or "Suspended". With "Enabled", x-cos-forbid-overwrite is ignored, as
	// COS ignores it on a versioned bucket: a write over an existing key adds a version. PUT
	// ?versioning changes it.
	Versioning string
}

// Request is one request the front received.
type Request struct {
	Method string
	// Key is the decoded object key ("" for bucket requests such as listings).
	Key    string
	Query  url.Values
	Header http.Header
	// Status is the status answered; 0 for an injected connection reset.
	Status int
	// Fault names the injected fault, if any: "SlowDown" or "Reset".
	Fault string
}

// FaultKind is a failure the server can inject.
type FaultKind string

// The injectable faults.
const (
	SlowDown     FaultKind = "SlowDown"     // 503 with a COS XML error body
	Reset        FaultKind = "Reset"        // the connection is reset without an answer
	AccessDenied FaultKind = "AccessDenied" // 403 AccessDenied, as for an operation the policy does not allow
)

// Fault describes faults to inject into matching requests (after their signature is checked).
type Fault struct {
	Kind FaultKind
	// Next fails the next Next matching requests; when zero, Rate applies instead.
	Next int
	// Rate fails this fraction of matching requests, drawn from a generator seeded with Seed.
	Rate float64
	Seed uint64
	// Match selects requests; nil matches all.
	Match func(Request) bool
}

type faultRule struct {
	Fault
	left int
	rng  *rand.Rand
}

// Server is a running COS-compatible front. Its fields are what a client needs.
type Server struct {
	Bucket, Region      string
	SecretID, SecretKey string
	Token               string
	// Endpoint is the front's host:port (the TCUSAGE_COS_ENDPOINT value).
	Endpoint string

	opts     Options
	upstream *url.URL
	upBucket string
	upAK     string
	upSK     string
	client   *http.Client
	now      func() time.Time

	mu       sync.Mutex
	keys     [3]string // the accepted SecretID, SecretKey and Token (see Rotate)
	version  string    // the versioning status (Options.Versioning)
	seq      int
	requests []Request
	faults   []*faultRule
	nfaults  int
}

// New starts a server for the duration of the test.
func New(t testing.TB, opts Options) *Server {
	t.Helper()
	s := &Server{
		Bucket: opts.Bucket, Region: opts.Region,
		SecretID: opts.SecretID, SecretKey: opts.SecretKey, Token: opts.Token,
		opts: opts, now: opts.Now, client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}},
	}
	if s.Bucket == "" {
		s.Bucket = DefaultBucket
	}
	if s.Region == "" {
		s.Region = DefaultRegion
	}
	if s.SecretID == "" {
		s.SecretID = "AKIDcostest" + crand.Text()[:12]
	}
	if s.SecretKey == "" {
		s.SecretKey = crand.Text()
	}
	if s.now == nil {
		s.now = time.Now
	}
	s.keys = [3]string{s.SecretID, s.SecretKey, s.Token}
	s.version = opts.Versioning
	if up := opts.Upstream; up != nil {
		u, err := url.Parse(up.URL)
		if err != nil || u.Host == "" {
			t.Fatalf("costest: upstream URL %q is not valid", up.URL)
		}
		s.upstream, s.upAK, s.upSK, s.upBucket = u, up.AccessKey, up.SecretKey, up.Bucket
	} else {
		backend := s3mem.New()
		s.upBucket = s.Bucket
		if err := backend.CreateBucket(s.upBucket); err != nil {
			t.Fatalf("costest: create bucket: %v", err)
		}
		fake := httptest.NewServer(gofakes3.New(backend, gofakes3.WithLogger(gofakes3.DiscardLog())).Server())
		t.Cleanup(fake.Close)
		s.upstream, _ = url.Parse(fake.URL)
	}
	if s.upBucket == "" {
		s.upBucket = s.Bucket
	}
	front := httptest.NewServer(s)
	t.Cleanup(front.Close)
	t.Cleanup(s.client.CloseIdleConnections)
	s.Endpoint = strings.TrimPrefix(front.URL, "http://")
	return s
}

// Rotate makes the server accept only the given keys from now on, as COS does when a temporary
// key is renewed and the previous one expires. The Server's SecretID, SecretKey and Token fields
// keep the first keys.
func (s *Server) Rotate(secretID, secretKey, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = [3]string{secretID, secretKey, token}
}

func (s *Server) acceptedKeys() [3]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.keys
}

// Transport returns a transport that sends every connection to the server.
func (s *Server) Transport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	var d net.Dialer
	t.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return d.DialContext(ctx, network, s.Endpoint)
	}
	return t
}

// SinkURL returns the cos:// sink URL of the server's bucket with prefix.
func (s *Server) SinkURL(prefix string) string {
	return "cos://" + s.Bucket + "/" + strings.Trim(prefix, "/") + "?region=" + s.Region
}

// Requests returns a copy of the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// ResetRequests forgets the recorded requests.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// Inject adds a fault rule; rules are checked in the order added.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{Fault: f, left: f.Next, rng: rand.New(rand.NewPCG(f.Seed, f.Seed^0x9e3779b97f4a7c15))})
}

// ClearFaults removes every fault rule.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// FaultCount returns how many faults were injected so far.
func (s *Server) FaultCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nfaults
}

func (s *Server) pickFault(r Request) FaultKind {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.faults {
		if f.Match != nil && !f.Match(r) {
			continue
		}
		hit := false
		if f.Next > 0 {
			if f.left > 0 {
				f.left--
				hit = true
			}
		} else if f.Rate > 0 {
			hit = f.rng.Float64() < f.Rate
		}
		if hit {
			s.nfaults++
			return f.Kind
		}
	}
	return ""
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

func (s *Server) nextID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	return fmt.Sprintf("costest-%08d", s.seq)
}

type cosError struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource"`
	RequestID string   `xml:"RequestId"`
}

func writeError(w http.ResponseWriter, r *http.Request, status int, code, msg, id string) {
	w.Header().Set("X-Cos-Request-Id", id)
	if r.Method == http.MethodHead {
		w.WriteHeader(status)
		return
	}
	body, _ := xml.Marshal(cosError{Code: code, Message: msg, Resource: r.Host + r.URL.Path, RequestID: id})
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(xml.Header)+len(body)))
	w.WriteHeader(status)
	io.WriteString(w, xml.Header)
	w.Write(body)
}

// statusWriter remembers the status written.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

// ServeHTTP handles one COS request.
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	id := s.nextID()
	rec := Request{Method: r.Method, Key: strings.TrimPrefix(r.URL.Path, "/"), Query: r.URL.Query(), Header: r.Header.Clone()}
	w := &statusWriter{ResponseWriter: rw}
	recorded := false
	defer func() {
		if !recorded {
			rec.Status = w.status
			s.record(rec)
		}
	}()

	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if bucket, _, _ := strings.Cut(host, "."); bucket != s.Bucket {
		writeError(w, r, http.StatusNotFound, "NoSuchBucket", "the bucket does not exist", id)
		return
	}
	k := s.acceptedKeys()
	if err := verifyRequest(r, k[0], k[1], k[2], s.now(), 15*time.Minute); err != nil {
		writeError(w, r, http.StatusForbidden, err.code, err.msg, id)
		return
	}
	switch s.pickFault(rec) {
	case SlowDown:
		rec.Fault = string(SlowDown)
		writeError(w, r, http.StatusServiceUnavailable, "SlowDown", "please reduce your request rate", id)
		return
	case AccessDenied:
		rec.Fault = string(AccessDenied)
		writeError(w, r, http.StatusForbidden, "AccessDenied", "Access Denied.", id)
		return
	case Reset:
		// Recorded before the reset: the client may see the reset (and a test read the record)
		// before this handler returns.
		rec.Fault = string(Reset)
		s.record(rec)
		recorded = true
		resetConnection(w)
		return
	}

	if _, ok := r.URL.Query()["versioning"]; ok && rec.Key == "" {
		s.serveVersioning(w, r, id)
		return
	}
	var body []byte
	if r.Method == http.MethodPut || r.Method == http.MethodPost {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
		if err != nil {
			writeError(w, r, http.StatusBadRequest, "IncompleteBody", "cannot read the body", id)
			return
		}
		if len(b) > maxBody {
			writeError(w, r, http.StatusRequestEntityTooLarge, "EntityTooLarge", "body over the test server limit", id)
			return
		}
		body = b
		if h := r.Header.Get("Content-Md5"); h != "" {
			want, err := base64.StdEncoding.DecodeString(h)
			sum := md5.Sum(body)
			if err != nil || len(want) != md5.Size {
				writeError(w, r, http.StatusBadRequest, "InvalidDigest", "Content-MD5 is not a base64 MD5", id)
				return
			}
			if !bytes.Equal(want, sum[:]) {
				writeError(w, r, http.StatusBadRequest, "BadDigest", "the Content-MD5 you specified did not match what we received", id)
				return
			}
		}
	}
	s.forward(w, r, body, id)
}

// resetConnection closes the client connection with SO_LINGER 0, so the client sees a reset.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(*statusWriter).ResponseWriter.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusInternalServerError) // not reachable with httptest's HTTP/1.1
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

var forwardHeaders = []string{
	"Content-Type", "Content-Md5", "Content-Disposition", "Content-Encoding", "Cache-Control", "Expires",
	"Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
}

var answerHeaders = []string{
	"Content-Type", "Content-Length", "Content-Range", "Content-Disposition", "Content-Encoding",
	"Cache-Control", "Expires", "Etag", "Last-Modified", "Accept-Ranges",
}

const crcMeta = "X-Amz-Meta-Cos-Hash-Crc64ecma"

func (s *Server) forward(w http.ResponseWriter, r *http.Request, body []byte, id string) {
	u := *s.upstream
	u.Path = "/" + s.upBucket + r.URL.Path
	u.RawPath = ""
	q := r.URL.Query()
	for k := range q {
		if strings.HasPrefix(k, "q-") || k == "x-cos-security-token" || k == "sign" {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	up, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		writeError(w, r, http.StatusInternalServerError, "InternalError", err.Error(), id)
		return
	}
	if body == nil {
		up.Body = http.NoBody
	}
	up.ContentLength = int64(len(body))
	for _, h := range forwardHeaders {
		if v := r.Header.Values(h); len(v) > 0 {
			up.Header[h] = v
		}
	}
	// A versioned bucket ignores x-cos-forbid-overwrite: the write adds a version.
	forbid := strings.EqualFold(r.Header.Get("X-Cos-Forbid-Overwrite"), "true") && s.Versioning() != "Enabled"
	if forbid {
		up.Header.Set("If-None-Match", "*")
	}
	for k, v := range r.Header {
		if name, ok := strings.CutPrefix(k, "X-Cos-Meta-"); ok {
			up.Header["X-Amz-Meta-"+name] = v
		}
	}
	var crc uint64
	if r.Method == http.MethodPut {
		crc = crc64.Checksum(body, crc64.MakeTable(crc64.ECMA))
		up.Header.Set(crcMeta, strconv.FormatUint(crc, 10))
	}
	sum := sha256.Sum256(body)
	up.Header.Set("X-Amz-Content-Sha256", hex.EncodeToString(sum[:]))
	if s.upAK != "" {
		up = signer.SignV4(*up, s.upAK, s.upSK, "", "us-east-1")
	}
	resp, err := s.client.Do(up)
	if err != nil {
		writeError(w, r, http.StatusBadGateway, "InternalError", "upstream unreachable", id)
		return
	}
	defer resp.Body.Close()

	if forbid && resp.StatusCode == http.StatusPreconditionFailed {
		writeError(w, r, http.StatusConflict, "FileAlreadyExists", "the object already exists", id)
		return
	}
	out := w.Header()
	for _, h := range answerHeaders {
		if v := resp.Header.Values(h); len(v) > 0 {
			out[h] = v
		}
	}
	for k, v := range resp.Header {
		if k == crcMeta {
			out["X-Cos-Hash-Crc64ecma"] = v
		} else if name, ok := strings.CutPrefix(k, "X-Amz-Meta-"); ok {
			out["X-Cos-Meta-"+name] = v
		}
	}
	if rid := resp.Header.Get("X-Amz-Request-Id"); rid != "" {
		id = rid
	}
	out.Set("X-Cos-Request-Id", id)
	if r.Method == http.MethodPut && resp.StatusCode/100 == 2 {
		out.Set("X-Cos-Hash-Crc64ecma", strconv.FormatUint(crc, 10))
	}
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		io.Copy(w, resp.Body)
	}
}

// versioningConfiguration is the body of GET and PUT ?versioning.
type versioningConfiguration struct {
	XMLName xml.Name `xml:"VersioningConfiguration"`
	Status  string   `xml:"Status,omitempty"`
}

// serveVersioning answers GET ?versioning with the bucket's status and sets it on PUT.
func (s *Server) serveVersioning(w http.ResponseWriter, r *http.Request, id string) {
	w.Header().Set("X-Cos-Request-Id", id)
	switch r.Method {
	case http.MethodGet:
		body, _ := xml.Marshal(versioningConfiguration{Status: s.Versioning()})
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, xml.Header)
		w.Write(body)
	case http.MethodPut:
		var in versioningConfiguration
		if err := xml.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&in); err != nil || (in.Status != "Enabled" && in.Status != "Suspended") {
			writeError(w, r, http.StatusBadRequest, "MalformedXML", "want Status Enabled or Suspended", id)
			return
		}
		s.mu.Lock()
		s.version = in.Status
		s.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	default:
		writeError(w, r, http.StatusMethodNotAllowed, "MethodNotAllowed", "GET or PUT ?versioning", id)
	}
}

// Versioning returns the bucket's versioning status: "", "Enabled" or "Suspended".
func (s *Server) Versioning() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.version
}

// SucceededKeys returns the keys of the requests with the given method that got a 2xx answer,
// in order.
func (s *Server) SucceededKeys(method string) []string {
	var keys []string
	for _, r := range s.Requests() {
		if r.Method == method && r.Status/100 == 2 {
			keys = append(keys, r.Key)
		}
	}
	return keys
}
