package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// sdkClient returns an official SDK client pointed at s.
func sdkClient(t *testing.T, s *testServer, region string, cred common.CredentialIface, rt http.RoundTripper) *common.Client {
	t.Helper()
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = s.Addr
	cpf.HttpProfile.Scheme = "http"
	cpf.HttpProfile.ReqTimeout = 10
	c := common.NewCommonClient(cred, region, cpf)
	if rt != nil {
		c.WithHttpTransport(rt)
	}
	return c
}

// testCred is the default test credential.
func testCred() *common.Credential { return common.NewCredential(TestSecretID, TestSecretKey) }

// regionOf returns the region the SDK should send for an action.
func regionOf(a tcapi.Action) string { return a.Region }

// send calls an action through the SDK with JSON parameters and returns the body of Response.
func send(t *testing.T, c *common.Client, a tcapi.Action, params string) (json.RawMessage, error) {
	t.Helper()
	req := tchttp.NewCommonRequest(a.Service, a.Version, a.Name)
	require.NoError(t, req.SetActionParameters(params))
	resp := tchttp.NewCommonResponse()
	if err := c.Send(req, resp); err != nil {
		return nil, err
	}
	var env struct {
		Response json.RawMessage `json:"Response"`
	}
	require.NoError(t, json.Unmarshal(resp.GetBody(), &env))
	return env.Response, nil
}

// callAPI sends params to a (default credential, the action's region) and decodes the answer into out.
func callAPI(t *testing.T, s *testServer, a tcapi.Action, params string, out any) error {
	t.Helper()
	raw, err := send(t, sdkClient(t, s, regionOf(a), testCred(), nil), a, params)
	if err != nil {
		return err
	}
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
	return nil
}

// codeOf returns the API error code of an SDK error ("" for nil).
func codeOf(err error) string {
	if err == nil {
		return ""
	}
	var se *tcerr.TencentCloudSDKError
	if errors.As(err, &se) {
		return se.Code
	}
	return "not-an-sdk-error: " + err.Error()
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// tamper returns a transport that lets mutate change the SDK's signed request before sending it.
func tamper(mutate func(r *http.Request, body []byte) []byte) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		body = mutate(r, body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.GetBody = nil
		return http.DefaultTransport.RoundTrip(r)
	})
}

// rawRequest is a hand-built API call, signed with this package's signer (for the cases the SDK
// cannot produce: extra signed headers, custom hosts).
type rawRequest struct {
	host        string // Host header; "" = the server address
	service     string // credential scope service
	action      tcapi.Action
	region      string
	body        string
	signedExtra []string // extra headers to sign, lower case
	secretID    string
	secretKey   string
	ts          time.Time
}

// do sends rr to s and returns the decoded answer.
func (rr rawRequest) do(t *testing.T, s *testServer) (code string, resp map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.URL+"/", strings.NewReader(rr.body))
	require.NoError(t, err)
	if rr.host != "" {
		req.Host = rr.host
	} else {
		req.Host = s.Addr
	}
	if rr.secretID == "" {
		rr.secretID, rr.secretKey = TestSecretID, TestSecretKey
	}
	if rr.service == "" {
		rr.service = rr.action.Service
	}
	if rr.ts.IsZero() {
		rr.ts = time.Now()
	}
	ts := strconv.FormatInt(rr.ts.Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-TC-Action", rr.action.Name)
	req.Header.Set("X-TC-Version", rr.action.Version)
	req.Header.Set("X-TC-Timestamp", ts)
	if rr.region != "" {
		req.Header.Set("X-TC-Region", rr.region)
	}
	signed := append([]string{"content-type", "host"}, rr.signedExtra...)
	slices.Sort(signed)
	canon := canonicalRequest(http.MethodPost, signed, func(n string) string {
		if n == "host" {
			return req.Host
		}
		return req.Header.Get(n)
	}, sha256Hex([]byte(rr.body)))
	date := rr.ts.UTC().Format(time.DateOnly)
	scope := date + "/" + rr.service + "/tc3_request"
	sig := signature(rr.secretKey, date, rr.service, stringToSign(ts, scope, canon))
	req.Header.Set("Authorization", "TC3-HMAC-SHA256 Credential="+rr.secretID+"/"+scope+", SignedHeaders="+strings.Join(signed, ";")+", Signature="+sig)
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	var env struct {
		Response map[string]any `json:"Response"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&env))
	if e, ok := env.Response["Error"].(map[string]any); ok {
		return e["Code"].(string), env.Response
	}
	return "", env.Response
}

// testServer is an emulator on a loopback port for this package's own tests, which cannot use
// package emulatortest (it imports this one).
type testServer struct {
	*Emulator
	URL, Addr string
}

func newTestServer(t testing.TB, cfg Config) *testServer {
	t.Helper()
	if cfg.Now == nil {
		cfg.Now = calendartest.Clock(calendartest.Now()) // the tests' "now", which CI moves
	}
	e := New(cfg)
	ts := httptest.NewServer(e)
	t.Cleanup(func() { e.Close(); ts.Close() })
	return &testServer{Emulator: e, URL: ts.URL, Addr: ts.Listener.Addr().String()}
}

// fakeClock is a settable clock for rate-limit tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
