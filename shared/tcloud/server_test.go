package tcloud

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/credential"
)

// Test credentials (not real keys).
const (
	testSecretID  = "AKIDtestabcdefghijklmnop1234"
	testSecretKey = "testSecretKeyValue0123456789abcd"
	testToken     = "testSessionTokenValue-zyxwvutsrq"
)

func testCreds(token string) credential.Credentials {
	return credential.Credentials{SecretID: testSecretID, SecretKey: testSecretKey, Token: token, Source: "test"}
}

// seen is what the test server recorded of one request.
type seen struct {
	Header    http.Header
	Host      string
	Body      []byte
	Timestamp int64
	Service   string
	SecretID  string
	Signature string
	SigError  string // non-empty when the signature did not verify
}

// reply is what the test server's script tells it to do for one request.
type reply func(w http.ResponseWriter, r *http.Request)

// tcServer is a loopback HTTP server that verifies TC3-HMAC-SHA256 signatures the documented way
// and answers with a scripted reply per request (the last one repeats).
type tcServer struct {
	*httptest.Server
	now func() time.Time

	mu      sync.Mutex
	seen    []seen
	replies []reply
}

func newTCServer(t *testing.T, now func() time.Time, replies ...reply) *tcServer {
	t.Helper()
	if now == nil {
		now = time.Now
	}
	s := &tcServer{now: now, replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

var authRE = regexp.MustCompile(`^TC3-HMAC-SHA256 Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([a-z0-9]+)/tc3_request, SignedHeaders=([a-z;-]+), Signature=([0-9a-f]{64})$`)

func (s *tcServer) handle(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := seen{Header: r.Header.Clone(), Host: r.Host, Body: body}
	rec.SigError = s.verify(r, body, &rec)

	s.mu.Lock()
	s.seen = append(s.seen, rec)
	n := len(s.seen)
	var rp reply
	if len(s.replies) > 0 {
		rp = s.replies[min(n, len(s.replies))-1]
	}
	s.mu.Unlock()

	if rec.SigError != "" {
		writeJSON(w, 200, fmt.Sprintf(`{"Response":{"Error":{"Code":"AuthFailure.SignatureFailure","Message":%q},"RequestId":"sig-%d"}}`, rec.SigError, n))
		return
	}
	if rp == nil {
		writeJSON(w, 200, fmt.Sprintf(`{"Response":{"RequestId":"req-%d"}}`, n))
		return
	}
	rp(w, r)
}

// verify checks the request's signature per the documented recipe and returns why it fails.
func (s *tcServer) verify(r *http.Request, body []byte, rec *seen) string {
	m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return "malformed Authorization"
	}
	rec.SecretID, rec.Service, rec.Signature = m[1], m[3], m[5]
	date, signed := m[2], m[4]
	if m[1] != testSecretID {
		return "unknown secret id"
	}
	if signed != "content-type;host" {
		return "unexpected signed headers " + signed
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
	if err != nil {
		return "bad X-TC-Timestamp"
	}
	rec.Timestamp = ts
	if time.Unix(ts, 0).UTC().Format("2006-01-02") != date {
		return "credential date does not match timestamp"
	}
	if d := s.now().Unix() - ts; d > 300 || d < -300 {
		return "signature expired"
	}
	canonical := r.Method + "\n/\n\n" +
		"content-type:" + r.Header.Get("Content-Type") + "\nhost:" + r.Host + "\n\n" +
		signed + "\n" + sha256Hex(body)
	want := tc3Signature(testSecretKey, date, m[3], r.Header.Get("X-TC-Timestamp"), canonical)
	if !hmac.Equal([]byte(want), []byte(m[5])) {
		return "signature mismatch"
	}
	return ""
}

// tc3Signature computes a TC3-HMAC-SHA256 signature from its documented steps.
func tc3Signature(secretKey, date, service, timestamp, canonicalRequest string) string {
	scope := date + "/" + service + "/tc3_request"
	toSign := "TC3-HMAC-SHA256\n" + timestamp + "\n" + scope + "\n" + sha256Hex([]byte(canonicalRequest))
	k := hmacSHA256([]byte("TC3"+secretKey), date)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, "tc3_request")
	return hex.EncodeToString(hmacSHA256(k, toSign))
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *tcServer) requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.seen...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// Scripted replies.

func ok(body string) reply {
	return func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, 200, body) }
}

func apiErr(code string) reply {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, 200, fmt.Sprintf(`{"Response":{"Error":{"Code":%q,"Message":"scripted %s"},"RequestId":"rid-%s"}}`, code, code, code))
	}
}

func raw(status int, contentType, body string) reply {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// hangup closes the connection without any response (a connection reset as the client sees it).
func hangup(w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = conn.Close()
}

// cutBody promises a longer body than it sends, then ends the connection.
func cutBody(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(200)
	_, _ = io.WriteString(w, `{"Response":{"TelCallOutCount":7,`)
}

// fakeClock is an injectable clock whose Sleep advances time instantly.
type fakeClock struct {
	mu    sync.Mutex
	t     time.Time
	slept []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Now()} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.t
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.t = f.t.Add(d)
	f.slept = append(f.slept, d)
	return nil
}

func (f *fakeClock) total() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var sum time.Duration
	for _, d := range f.slept {
		sum += d
	}
	return sum
}

// TestVerifierMatchesOfficialExample pins the test server's signing code to the published example,
// so that it checks the documented algorithm rather than mirroring the SDK.
func TestVerifierMatchesOfficialExample(t *testing.T) {
	payload := `{"Limit": 1, "Filters": [{"Values": ["\u672a\u547d\u540d"], "Name": "instance-name"}]}`
	canonical := "POST\n/\n\ncontent-type:application/json; charset=utf-8\nhost:cvm.tencentcloudapi.com\n\ncontent-type;host\n" + sha256Hex([]byte(payload))
	got := tc3Signature("Gu5t9xGARNpq86cd98joQYCN3EXAMPLE", "2019-02-25", "cvm", "1551113065", canonical)
	if got != "72e494ea809ad7a8c8f7a4507b9bddcbaa8e581f516e8da2f66e2c5a96525168" {
		t.Fatalf("signature %s does not match the documented example", got)
	}
}
