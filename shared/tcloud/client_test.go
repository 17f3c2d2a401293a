package tcloud

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// newTestClient returns a Client pointed at srv with fast retries; mutate adjusts the Config.
func newTestClient(t *testing.T, srv *tcServer, mutate func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		Credentials: testCreds(""),
		Endpoint:    srv.URL,
		Retry:       RetryPolicy{MaxAttempts: 4, BaseDelay: time.Millisecond, MaxDelay: 2 * time.Millisecond},
		Limits:      map[string]Limit{DefaultLimitKey: {}, "DescribeTrtcRoomUsage": {}, "DescribeTelCallInfo": {}, "DescribeTrtcUsage": {}, "ChannelDescribeBillUsageDetail": {}},
		Timeout:     5 * time.Second,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

// callCase is one action called through the client, its wire body and its decoded answer.
type callCase struct {
	name       string
	action     tcapi.Action
	token      string
	req        any
	answer     string
	resp       any
	wantRegion string
	// wantBody is the request body on the wire, written out with the field names of the seed
	// documents' examples (SdkAppIdList, SdkAppid, SdkAppId, Agent.AppId, Offset, Limit).
	wantBody string
	check    func(t *testing.T, resp any)
}

var callAppID = uint64(1400000001)

// callCases are one call of each shape: CCC with a token, TRTC with its region, an optional app,
// ESS paging.
func callCases() []callCase {
	return []callCase{
		{
			name:   "ccc without region, with token",
			action: tcapi.DescribeTelCallInfo, token: testToken,
			req:      tcapi.TelCallInfoRequest{StartTimeStamp: 1700000000, EndTimeStamp: 1700086399, SDKAppIDList: []int64{1400000000}},
			wantBody: `{"StartTimeStamp":1700000000,"EndTimeStamp":1700086399,"SdkAppIdList":[1400000000]}`,
			answer:   `{"Response":{"TelCallOutCount":9007199254740993,"TelCallInCount":0,"SeatUsedCount":3,"RequestId":"r-ccc"}}`,
			resp:     &tcapi.TelCallInfoResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.TelCallInfoResponse)
				require.NotNil(t, r.TelCallOutCount)
				assert.Equal(t, int64(9007199254740993), *r.TelCallOutCount, "integers beyond 2^53 survive")
				assert.Equal(t, int64(3), *r.SeatUsedCount)
				assert.Nil(t, r.AsrOfflineCount)
				assert.Equal(t, "r-ccc", r.RequestID)
			},
		},
		{
			name:   "trtc with region, no token",
			action: tcapi.DescribeTrtcRoomUsage, wantRegion: "ap-guangzhou",
			req:      tcapi.TRTCRoomUsageRequest{SDKAppID: 1400000000, StartTime: "2024-05-01 00:00", EndTime: "2024-05-01 23:59"},
			wantBody: `{"SdkAppid":1400000000,"StartTime":"2024-05-01 00:00","EndTime":"2024-05-01 23:59"}`,
			answer:   `{"Response":{"Data":"RoomId,Audio\nroom<&>,1\n","RequestId":"r-trtc"}}`,
			resp:     &tcapi.TRTCRoomUsageResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.TRTCRoomUsageResponse)
				require.NotNil(t, r.Data)
				assert.Equal(t, "RoomId,Audio\nroom<&>,1\n", *r.Data)
			},
		},
		{
			name:   "trtc usage with optional app",
			action: tcapi.DescribeTrtcUsage, wantRegion: "ap-guangzhou",
			req:      tcapi.TRTCUsageRequest{StartTime: "2024-05-01", EndTime: "2024-05-02", SDKAppID: &callAppID},
			wantBody: `{"StartTime":"2024-05-01","EndTime":"2024-05-02","SdkAppId":1400000001}`,
			answer:   `{"Response":{"UsageKey":["Audio","SD"],"UsageList":[{"TimeKey":"2024-05-01 00:00:00","TimeStampKey":1714492800,"UsageValue":[1.5,2]}],"RequestId":"r-u"}}`,
			resp:     &tcapi.TRTCUsageResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.TRTCUsageResponse)
				require.Len(t, r.UsageList, 1)
				assert.Equal(t, []float64{1.5, 2}, r.UsageList[0].UsageValue)
				assert.Equal(t, []string{"Audio", "SD"}, r.UsageKey)
			},
		},
		{
			name:     "essbasic",
			action:   tcapi.ChannelDescribeBillUsageDetail,
			req:      tcapi.BillUsageDetailRequest{Agent: tcapi.Agent{AppID: "app"}, StartTime: "20240501", EndTime: "20240531", Limit: 50},
			wantBody: `{"Agent":{"AppId":"app"},"StartTime":"20240501","EndTime":"20240531","Offset":0,"Limit":50}`,
			answer:   `{"Response":{"Total":1,"Details":[{"FlowId":"f1","UseCount":-2,"CostTime":1714492800,"CostType":2}],"RequestId":"r-e"}}`,
			resp:     &tcapi.BillUsageDetailResponse{},
			check: func(t *testing.T, resp any) {
				r := resp.(*tcapi.BillUsageDetailResponse)
				require.Len(t, r.Details, 1)
				assert.Equal(t, int64(-2), r.Details[0].UseCount)
				assert.Equal(t, int64(1), *r.Total)
			},
		},
	}
}

func TestCallSignsAndDecodes(t *testing.T) {
	tests := callCases()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTCServer(t, nil, ok(tt.answer))
			c := newTestClient(t, srv, func(cfg *Config) { cfg.Credentials = testCreds(tt.token) })
			require.NoError(t, c.Call(context.Background(), tt.action, tt.req, tt.resp))
			tt.check(t, tt.resp)

			got := srv.requests()
			require.Len(t, got, 1)
			r := got[0]
			assert.Empty(t, r.SigError)
			assert.Equal(t, strings.TrimPrefix(srv.URL, "http://"), r.Host, "Host carries the port")
			assert.Equal(t, tt.action.Service, r.Service, "signing scope service")
			assert.Equal(t, tt.action.Name, r.Header.Get("X-TC-Action"))
			assert.Equal(t, tt.action.Version, r.Header.Get("X-TC-Version"))
			assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
			assert.Equal(t, "zh-CN", r.Header.Get("X-TC-Language"))
			region, hasRegion := r.Header["X-Tc-Region"]
			if tt.wantRegion == "" {
				assert.False(t, hasRegion, "no X-TC-Region header without a region")
			} else {
				assert.Equal(t, []string{tt.wantRegion}, region)
			}
			token, hasToken := r.Header["X-Tc-Token"]
			if tt.token == "" {
				assert.False(t, hasToken)
			} else {
				assert.Equal(t, []string{tt.token}, token)
			}
			assert.JSONEq(t, tt.wantBody, string(r.Body))
		})
	}
}

// A configured region (TCUSAGE_API_REGION) goes to the actions that require one, replacing their
// default; actions that take no region get none, and an action that does not serve the region is
// refused before anything is sent.
func TestConfiguredRegion(t *testing.T) {
	srv := newTCServer(t, nil)
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Region = "ap-singapore" })
	ctx := context.Background()
	require.NoError(t, c.Call(ctx, tcapi.DescribeTrtcRoomUsage, tcapi.TRTCRoomUsageRequest{SDKAppID: 1}, &tcapi.TRTCRoomUsageResponse{}))
	require.NoError(t, c.Call(ctx, tcapi.DescribeTelCallInfo, tcapi.TelCallInfoRequest{SDKAppIDList: []int64{1}}, &tcapi.TelCallInfoResponse{}))
	err := c.Call(ctx, tcapi.DescribeTrtcUsage, tcapi.TRTCUsageRequest{}, &tcapi.TRTCUsageResponse{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ap-singapore")
	got := srv.requests()
	require.Len(t, got, 2, "the refused call was not sent")
	assert.Equal(t, []string{"ap-singapore"}, got[0].Header["X-Tc-Region"])
	assert.NotContains(t, got[1].Header, "X-Tc-Region", "CCC takes no region")

	// Without a configured region, each action's own.
	def := newTestClient(t, srv, nil)
	require.NoError(t, def.Call(ctx, tcapi.DescribeTrtcUsage, tcapi.TRTCUsageRequest{}, &tcapi.TRTCUsageResponse{}))
	assert.Equal(t, []string{"ap-guangzhou"}, srv.requests()[2].Header["X-Tc-Region"])

	_, err = New(Config{Credentials: testCreds(""), Region: "ap-mars"})
	assert.ErrorContains(t, err, "ap-mars")
}

func TestRetryRequestsAreFreshlySigned(t *testing.T) {
	clock := newFakeClock()
	srv := newTCServer(t, clock.Now, apiErr("RequestLimitExceeded"), apiErr("OperationDenied.FreqOverLimit"), ok(`{"Response":{"RequestId":"done"}}`))
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
		cfg.Limits = map[string]Limit{"DescribeTrtcRoomUsage": {Every: 2 * time.Second, Burst: 1}}
	})
	var resp tcapi.TRTCRoomUsageResponse
	require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, tcapi.TRTCRoomUsageRequest{SDKAppID: 1}, &resp))
	assert.Equal(t, "done", resp.RequestID)

	got := srv.requests()
	require.Len(t, got, 3)
	for i, r := range got {
		assert.Empty(t, r.SigError, "attempt %d must verify", i+1)
		if i > 0 {
			assert.GreaterOrEqual(t, r.Timestamp-got[i-1].Timestamp, int64(2), "attempt %d has a fresh timestamp", i+1)
			assert.NotEqual(t, got[i-1].Signature, r.Signature, "attempt %d is re-signed", i+1)
		}
	}
	st := c.Stats()
	assert.Equal(t, int64(3), st.Attempts)
	assert.Equal(t, int64(2), st.Retries)
	assert.Equal(t, int64(1), st.ByCode["RequestLimitExceeded"])
	assert.Equal(t, int64(1), st.ByCode["OperationDenied.FreqOverLimit"])
	assert.GreaterOrEqual(t, st.BackoffWait, 4*time.Second, "rate-limit retries wait at least the pacing interval")
}

func TestEndpointForms(t *testing.T) {
	tests := []struct {
		endpoint, root string
		action         tcapi.Action
		wantURL        string
		wantHost       string
	}{
		{"", "", tcapi.DescribeTrtcUsage, "https://trtc.tencentcloudapi.com/", "trtc.tencentcloudapi.com"},
		{"", IntlRootDomain, tcapi.DescribeTelCallInfo, "https://ccc.intl.tencentcloudapi.com/", "ccc.intl.tencentcloudapi.com"},
		{"127.0.0.1:8080", "", tcapi.DescribeTelCallInfo, "http://127.0.0.1:8080/", "127.0.0.1:8080"},
		{"localhost:9", "", tcapi.DescribeTelCallInfo, "http://localhost:9/", "localhost:9"},
		{"api.example.test:8443", "", tcapi.DescribeTelCallInfo, "https://api.example.test:8443/", "api.example.test:8443"},
		{"http://api.example.test:9000", "", tcapi.ChannelDescribeBillUsageDetail, "http://api.example.test:9000/", "api.example.test:9000"},
		{"https://api.example.test/", IntlRootDomain, tcapi.DescribeTrtcUsage, "https://api.example.test/", "api.example.test"},
	}
	for _, tt := range tests {
		t.Run(tt.endpoint+"|"+tt.root, func(t *testing.T) {
			var gotURL, gotHost, auth string
			rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
				gotURL, gotHost, auth = r.URL.String(), r.Host, r.Header.Get("Authorization")
				return jsonResponse(200, `{"Response":{"RequestId":"x"}}`), nil
			})
			c, err := New(Config{Credentials: testCreds(""), Endpoint: tt.endpoint, RootDomain: tt.root, Transport: rt})
			require.NoError(t, err)
			require.NoError(t, c.Call(context.Background(), tt.action, nil, &struct{}{}))
			assert.Equal(t, tt.wantURL, gotURL)
			assert.Equal(t, tt.wantHost, gotHost)
			assert.Contains(t, auth, "/"+tt.action.Service+"/tc3_request")
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func jsonResponse(status int, body string) *http.Response {
	return &http.Response{
		StatusCode: status, Status: http.StatusText(status), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/json"}},
		Body:   io.NopCloser(strings.NewReader(body)),
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		code   string
		status int
		want   bool
	}{
		{"RequestLimitExceeded", 200, true},
		{"RequestLimitExceeded.UinLimitExceeded", 200, true},
		{"RequestLimitExceeded.GlobalRegionUinLimitExceeded", 200, true},
		{"OperationDenied.FreqOverLimit", 200, true},
		{"InternalError", 200, true},
		{"InternalError.DBError", 200, true},
		{"ServiceUnavailable", 200, true},
		{CodeNetworkError, 0, true},
		{CodeIOError, 200, true},
		{CodeParseJSONError, 200, true},
		{CodeParseJSONError, 502, true},
		{CodeParseJSONError, 404, false},
		{CodeParseJSONError, 429, true},
		{CodeHTTPStatusCodeError, 503, true},
		{CodeHTTPStatusCodeError, 400, false},
		{CodeDecodeError, 200, false},
		{"AuthFailure.SignatureFailure", 200, false},
		{"AuthFailure.SignatureExpire", 200, false},
		{"AuthFailure.SecretIdNotFound", 200, false},
		{"InvalidParameter", 200, false},
		{"InvalidParameter.Limit", 200, false},
		{"InvalidParameterValue.InvalidTime", 200, false},
		{"MissingParameter", 200, false},
		{"UnknownParameter", 200, false},
		{"UnauthorizedOperation", 200, false},
		{"UnauthorizedOperation.CamNoAuth", 200, false},
		{"InvalidAction", 200, false},
		{"ActionOffline", 200, false},
		{"ResourceNotFound.NotExistApplication", 200, false},
		{"ResourceUnavailable", 200, false},
		{"FailedOperation", 200, false},
		{"FailedOperation.SdkAppIdNotExist", 200, false},
		{"LimitExceeded", 200, false},
		{"OperationDenied", 200, false},
		{"SomethingNew", 200, false},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			err := error(&APIError{Code: tt.code, HTTPStatus: tt.status})
			assert.Equal(t, tt.want, Retryable(err))
			assert.Equal(t, tt.want, Retryable(errors.Join(errors.New("wrapped"), err)), "through wrapping")
		})
	}
	assert.False(t, Retryable(nil))
	assert.False(t, Retryable(context.Canceled))
	assert.False(t, Retryable(errors.Join(context.DeadlineExceeded, &APIError{Code: "InternalError"})), "a context end is final")
	assert.False(t, Retryable(errors.New("plain")))
}

func TestRetriesThenSucceeds(t *testing.T) {
	success := ok(`{"Response":{"TelCallOutCount":7,"RequestId":"fine"}}`)
	tests := []struct {
		name     string
		failure  reply
		wantCode string
	}{
		{"internal error", apiErr("InternalError"), "InternalError"},
		{"service unavailable", apiErr("ServiceUnavailable"), "ServiceUnavailable"},
		{"uin rate limit", apiErr("RequestLimitExceeded.UinLimitExceeded"), "RequestLimitExceeded.UinLimitExceeded"},
		{"502 html", raw(502, "text/html", "<html><body>Bad Gateway</body></html>"), CodeParseJSONError},
		{"503 json without error", raw(503, "application/json", `{"oops":true}`), CodeHTTPStatusCodeError},
		{"truncated json", raw(200, "application/json", `{"Response":{"TelCallOutCount":7,"Req`), CodeParseJSONError},
		{"no Response object", raw(200, "application/json", `{"Other":{}}`), CodeParseJSONError},
		{"connection reset", hangup, CodeNetworkError},
		{"body cut short", cutBody, CodeParseJSONError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTCServer(t, nil, tt.failure, tt.failure, success)
			c := newTestClient(t, srv, nil)
			var resp tcapi.TelCallInfoResponse
			require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, tcapi.TelCallInfoRequest{}, &resp))
			assert.Equal(t, int64(7), *resp.TelCallOutCount)
			assert.Len(t, srv.requests(), 3)
			st := c.Stats()
			assert.Equal(t, int64(3), st.Attempts)
			assert.Equal(t, int64(2), st.Retries)
			assert.Equal(t, int64(2), st.ByCode[tt.wantCode], "codes: %v", st.ByCode)
			assert.Equal(t, int64(1), st.Succeeded)
		})
	}
}

func TestNonRetryableReturnsAtOnce(t *testing.T) {
	for _, code := range []string{"AuthFailure.SignatureFailure", "InvalidParameter.Limit", "MissingParameter", "UnknownParameter",
		"UnauthorizedOperation", "InvalidAction", "ActionOffline", "ResourceNotFound.NotExistApplication", "FailedOperation"} {
		t.Run(code, func(t *testing.T) {
			srv := newTCServer(t, nil, apiErr(code), ok(`{"Response":{"RequestId":"never"}}`))
			c := newTestClient(t, srv, nil)
			err := c.Call(context.Background(), tcapi.ChannelDescribeBillUsageDetail, tcapi.BillUsageDetailRequest{}, &tcapi.BillUsageDetailResponse{})
			var ae *APIError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, code, ae.Code)
			assert.Equal(t, "scripted "+code, ae.Message)
			assert.Equal(t, "rid-"+code, ae.RequestID)
			assert.Equal(t, "ChannelDescribeBillUsageDetail", ae.Action)
			assert.Equal(t, 200, ae.HTTPStatus)
			assert.Equal(t, 1, ae.Attempts)
			assert.False(t, Retryable(err))
			assert.Len(t, srv.requests(), 1)
			assert.Contains(t, err.Error(), code)
			assert.Contains(t, err.Error(), "rid-"+code)
		})
	}
}

func TestGivesUpAfterMaxAttempts(t *testing.T) {
	srv := newTCServer(t, nil, raw(500, "text/html", "<html>down</html>"))
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Retry.MaxAttempts = 3 })
	err := c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, CodeParseJSONError, ae.Code)
	assert.Equal(t, 500, ae.HTTPStatus)
	assert.Equal(t, 3, ae.Attempts)
	assert.True(t, Retryable(err), "the error itself stays retryable for a later call")
	assert.Len(t, srv.requests(), 3)
	st := c.Stats()
	assert.Equal(t, int64(1), st.Failed)
	assert.Equal(t, int64(1), st.Calls)
}

func TestDecodeErrorIsFinal(t *testing.T) {
	srv := newTCServer(t, nil, ok(`{"Response":{"TelCallOutCount":"many","RequestId":"r-dec"}}`))
	c := newTestClient(t, srv, nil)
	err := c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, CodeDecodeError, ae.Code)
	assert.Contains(t, ae.Message, "TelCallOutCount")
	assert.Len(t, srv.requests(), 1)
}

func TestDeadlineBoundsRetries(t *testing.T) {
	clock := newFakeClock()
	srv := newTCServer(t, clock.Now, apiErr("RequestLimitExceeded"))
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
		cfg.Retry = RetryPolicy{MaxAttempts: 100, BaseDelay: time.Second, MaxDelay: time.Second}
		cfg.Limits = map[string]Limit{"DescribeTelCallInfo": {Every: 3 * time.Second, Burst: 1}}
	})
	ctx, cancel := context.WithDeadline(context.Background(), clock.Now().Add(10*time.Second))
	defer cancel()
	err := c.Call(ctx, tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NoError(t, ctx.Err(), "Call returned before the deadline instead of sleeping into it")
	var ae *APIError
	require.ErrorAs(t, err, &ae, "the last API error stays reachable")
	assert.Equal(t, "RequestLimitExceeded", ae.Code)
	assert.Contains(t, err.Error(), "deadline")
	assert.LessOrEqual(t, clock.total(), 10*time.Second, "no sleep past the deadline")
	n := len(srv.requests())
	assert.GreaterOrEqual(t, n, 3, "retried while time allowed")
	assert.LessOrEqual(t, n, 4, "at most 10s/3s+1 attempts")
}

func TestContextCancelReturnsPromptly(t *testing.T) {
	t.Run("during backoff", func(t *testing.T) {
		first := make(chan struct{}, 10)
		srv := newTCServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
			first <- struct{}{}
			apiErr("InternalError")(w, r)
		})
		c := newTestClient(t, srv, func(cfg *Config) {
			cfg.Retry = RetryPolicy{MaxAttempts: 3, BaseDelay: time.Hour, MaxDelay: time.Hour}
		})
		ctx, cancel := context.WithCancel(context.Background())
		go func() { <-first; cancel() }()
		err := c.Call(ctx, tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
		assert.ErrorIs(t, err, context.Canceled)
		var ae *APIError
		assert.ErrorAs(t, err, &ae)
		assert.False(t, Retryable(err))
	})
	t.Run("while pacing", func(t *testing.T) {
		srv := newTCServer(t, nil)
		c := newTestClient(t, srv, func(cfg *Config) {
			cfg.Limits = map[string]Limit{"DescribeTelCallInfo": {Every: time.Hour, Burst: 1}}
		})
		require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{}))
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(10*time.Millisecond, cancel)
		err := c.Call(ctx, tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
		assert.ErrorIs(t, err, context.Canceled)
		assert.Len(t, srv.requests(), 1)
	})
	t.Run("pacing past deadline", func(t *testing.T) {
		srv := newTCServer(t, nil)
		c := newTestClient(t, srv, func(cfg *Config) {
			cfg.Limits = map[string]Limit{"DescribeTelCallInfo": {Every: time.Hour, Burst: 1}}
		})
		require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{}))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := c.Call(ctx, tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.NoError(t, ctx.Err(), "returned at once, not at the deadline")
	})
}

func TestAttemptTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	var mu sync.Mutex
	calls := 0
	srv := newTCServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		ok(`{"Response":{"RequestId":"second"}}`)(w, r)
	})
	c := newTestClient(t, srv, func(cfg *Config) { cfg.Timeout = 50 * time.Millisecond })
	var resp tcapi.TelCallInfoResponse
	require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &resp))
	assert.Equal(t, "second", resp.RequestID)
	assert.Equal(t, int64(1), c.Stats().ByCode[CodeNetworkError])
}

// limiterSlack absorbs the rate limiter's float rounding (nanoseconds) in lower-bound assertions.
const limiterSlack = time.Millisecond

func TestPacingSequential(t *testing.T) {
	clock := newFakeClock()
	srv := newTCServer(t, clock.Now)
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
		cfg.Limits = map[string]Limit{"DescribeTrtcRoomUsage": {Every: 20 * time.Millisecond, Burst: 1}}
	})
	const n = 10
	start := clock.Now()
	for range n {
		require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, nil, &tcapi.TRTCRoomUsageResponse{}))
	}
	// The other action has its own limiter (unlimited here) and does not wait.
	require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{}))
	assert.GreaterOrEqual(t, clock.Now().Sub(start), (n-1)*20*time.Millisecond-limiterSlack)
	assert.GreaterOrEqual(t, c.Stats().PacingWait, (n-1)*20*time.Millisecond-limiterSlack)
	assert.Len(t, srv.requests(), n+1)
}

// A pacing sleep that overruns (a busy machine) sends that call late; the next call still goes
// a whole interval after it, by the times the calls were sent, not the times the limiter handed
// out: the service counts arrivals, and a call closer than its interval is refused.
func TestPacingSpacesCallsAsSent(t *testing.T) {
	clock := newFakeClock()
	var mu sync.Mutex
	var sent []time.Time
	srv := newTCServer(t, clock.Now, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		sent = append(sent, clock.Now())
		mu.Unlock()
		ok(`{"Response":{"RequestId":"x"}}`)(w, r)
	})
	const every, overrun = 15 * time.Second, 4 * time.Second
	sleeps := 0
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now = clock.Now
		cfg.Sleep = func(ctx context.Context, d time.Duration) error {
			sleeps++
			if sleeps == 1 {
				d += overrun // the first pacing wait oversleeps
			}
			return clock.Sleep(ctx, d)
		}
		cfg.Limits = map[string]Limit{"DescribeTrtcRoomUsage": {Every: every, Burst: 1}}
	})
	for range 4 {
		require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, nil, &tcapi.TRTCRoomUsageResponse{}))
	}
	require.Len(t, sent, 4)
	for i := 1; i < len(sent); i++ {
		assert.GreaterOrEqual(t, sent[i].Sub(sent[i-1]), every-limiterSlack, "call %d came %s after the one before", i+1, sent[i].Sub(sent[i-1]))
	}
	next := c.NextCalls()["DescribeTrtcRoomUsage"]
	assert.True(t, next.Equal(sent[3].Add(every)), "the hand-over counts from the last call sent: next %s, last sent %s", next, sent[3])
}

func TestPacingRetriesTakeTokens(t *testing.T) {
	clock := newFakeClock()
	srv := newTCServer(t, clock.Now, apiErr("InternalError"), apiErr("InternalError"), ok(`{"Response":{"RequestId":"x"}}`))
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
		cfg.Limits = map[string]Limit{"DescribeTelCallInfo": {Every: time.Second, Burst: 1}}
	})
	require.NoError(t, c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{}))
	// Backoff is at most 2ms, so the attempts are spaced by the limiter.
	assert.GreaterOrEqual(t, clock.total(), 2*time.Second-limiterSlack)
	assert.Greater(t, c.Stats().PacingWait, time.Second)
}

func TestPacingConcurrent(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := newTCServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		ok(`{"Response":{"RequestId":"x"}}`)(w, r)
	})
	const every, n = 15 * time.Millisecond, 8
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Limits = map[string]Limit{"DescribeTrtcUsage": {Every: every, Burst: 1}}
	})
	start := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			assert.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcUsage, nil, &tcapi.TRTCUsageResponse{}))
		})
	}
	wg.Wait()
	require.Len(t, arrivals, n)
	latest := arrivals[0]
	for _, a := range arrivals {
		if a.After(latest) {
			latest = a
		}
	}
	// Lower bound only: the n-th token cannot be granted before start + (n-1)*every.
	assert.GreaterOrEqual(t, latest.Sub(start), (n-1)*every-limiterSlack)
}

func TestDefaultLimits(t *testing.T) {
	c, err := New(Config{Credentials: testCreds(""), Limits: map[string]Limit{"DescribeTelCallInfo": {Every: time.Second, Burst: 2}}})
	require.NoError(t, err)
	tests := []struct {
		action string
		every  time.Duration
		burst  int
	}{
		{"DescribeTrtcRoomUsage", 15*time.Second + 150*time.Millisecond, 1}, // 1 % for arrival jitter
		{"DescribeTrtcUsage", 200 * time.Millisecond, 1},
		{"ChannelDescribeBillUsageDetail", 50 * time.Millisecond, 1},
		{"DescribeTrtcInteractiveTime", 50 * time.Millisecond, 1},
		{"DescribeTelCallInfo", time.Second, 2}, // overridden
		{"SomeOtherAction", 50 * time.Millisecond, 1},
	}
	for _, tt := range tests {
		lim, l := c.limiter(tt.action, tt.action)
		assert.Equal(t, tt.every, l.Every, tt.action)
		assert.Equal(t, tt.burst, lim.Burst(), tt.action)
		assert.InDelta(t, float64(time.Second)/float64(tt.every), float64(lim.Limit()), 1e-9, tt.action)
	}
}

func TestErrorsAndLogsHoldNoSecrets(t *testing.T) {
	// A misbehaving proxy echoing the request headers, and a long body.
	echo := func(w http.ResponseWriter, r *http.Request) {
		body := "<html>" + strings.Repeat("x", 500) + " token=" + r.Header.Get("X-TC-Token") + " key=" + testSecretKey +
			" id=" + testSecretID + "</html>"
		raw(502, "text/html", body)(w, r)
	}
	srv := newTCServer(t, nil, echo)
	var logs bytes.Buffer
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Credentials = testCreds(testToken)
		cfg.Retry.MaxAttempts = 2
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	err := c.Call(context.Background(), tcapi.DescribeTelCallInfo, nil, &tcapi.TelCallInfoResponse{})
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.LessOrEqual(t, len(ae.Message), maxMessage+len("…"))
	assert.Contains(t, logs.String(), `"attempt":1`)
	assert.Contains(t, logs.String(), `"action":"DescribeTelCallInfo"`)
	assert.Contains(t, logs.String(), `"delay":`)
	assert.Contains(t, logs.String(), CodeParseJSONError)
	printed := fmt.Sprintf("%v %+v %#v %d", c, c, c, c)
	assert.Contains(t, printed, "AKID****")
	for _, out := range []string{err.Error(), ae.Message, logs.String(), c.Stats().String(), printed} {
		assert.NotContains(t, out, testSecretKey)
		assert.NotContains(t, out, testToken)
		assert.NotContains(t, out, testSecretID)
	}

	// Scrubbing applies before truncation, so a secret early in a message is removed too.
	msg := cleanMessage("Fail: "+testSecretKey+" and "+testToken+" by "+testSecretID, testCreds(testToken))
	assert.Equal(t, "Fail: [redacted] and [redacted] by AKID****1234", msg)
}

func TestCallRejectsBadArguments(t *testing.T) {
	srv := newTCServer(t, nil)
	c := newTestClient(t, srv, nil)
	ctx := context.Background()
	var resp tcapi.TelCallInfoResponse
	assert.ErrorContains(t, c.Call(ctx, tcapi.Action{Name: "X"}, nil, &resp), "Service")
	assert.ErrorContains(t, c.Call(ctx, tcapi.DescribeTelCallInfo, nil, resp), "non-nil pointer")
	assert.ErrorContains(t, c.Call(ctx, tcapi.DescribeTelCallInfo, nil, nil), "non-nil pointer")
	assert.ErrorContains(t, c.Call(ctx, tcapi.DescribeTelCallInfo, []int{1}, &resp), "JSON object")
	assert.ErrorContains(t, c.Call(ctx, tcapi.DescribeTelCallInfo, map[string]any{"f": func() {}}, &resp), "marshal request")
	assert.Empty(t, srv.requests())
}

func TestNewValidates(t *testing.T) {
	good := testCreds("")
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no credentials", Config{}, "SecretID"},
		{"key with space", Config{Credentials: credential.Credentials{SecretID: "AKID1", SecretKey: "a b"}}, "SecretKey contains whitespace"},
		{"bad endpoint", Config{Credentials: good, Endpoint: "ftp://x"}, "scheme"},
		{"endpoint with path", Config{Credentials: good, Endpoint: "http://x/api"}, "endpoint"},
		{"bad root domain", Config{Credentials: good, RootDomain: "https://x.com"}, "root domain"},
		{"negative timeout", Config{Credentials: good, Timeout: -time.Second}, "timeout"},
		{"negative retry", Config{Credentials: good, Retry: RetryPolicy{MaxAttempts: -1}}, "retry"},
		{"negative burst", Config{Credentials: good, Limits: map[string]Limit{"A": {Burst: -1}}}, "burst"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), testSecretKey)
		})
	}
}
