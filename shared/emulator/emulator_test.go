package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// yesterday is the last whole Beijing day (inside every data window).
func yesterday() Date { return DateOf(calendartest.Now()).AddDays(-1) }

// validParams returns a valid request of each action.
func validParams(a tcapi.Action) string {
	d := yesterday()
	switch a {
	case tcapi.DescribeTelCallInfo:
		return fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, d.Start().Unix(), d.AddDays(1).Start().Unix()-1)
	case tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage:
		return fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":1400000001}`, d, d)
	case tcapi.DescribeTrtcRoomUsage:
		return fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, d, d)
	case tcapi.ChannelDescribeBillUsageDetail:
		return fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q,"Offset":0,"Limit":50}`, d.Compact(), d.Compact())
	}
	return "{}"
}

func TestSDKSignedRequestsAccepted(t *testing.T) {
	s := newTestServer(t, Config{})
	for _, a := range tcapi.Actions() {
		t.Run(a.Name, func(t *testing.T) {
			raw, err := send(t, sdkClient(t, s, a.Region, testCred(), nil), a, validParams(a))
			require.NoError(t, err)
			var env struct {
				RequestID string `json:"RequestId"`
			}
			require.NoError(t, json.Unmarshal(raw, &env))
			assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, env.RequestID)
		})
	}
	reqs := s.Requests()
	require.Len(t, reqs, len(tcapi.Actions()))
	for i, a := range tcapi.Actions() {
		r := reqs[i]
		assert.Equal(t, a.Name, r.Action)
		assert.Equal(t, a.Service, r.Service)
		assert.Equal(t, a.Version, r.Version)
		assert.Equal(t, a.Region, r.Region)
		assert.Equal(t, s.Addr, r.Host)
		assert.Equal(t, TestSecretID, r.SecretID)
		assert.Empty(t, r.Code)
		assert.NotEmpty(t, r.RequestID)
		assert.JSONEq(t, validParams(a), string(r.Body))
	}
}

func TestAuthFailures(t *testing.T) {
	tokenCred := Credential{SecretID: "AKIDtemporary", SecretKey: "temporary-key", Token: "the-token"}
	cfg := Config{Credentials: []Credential{{SecretID: TestSecretID, SecretKey: TestSecretKey}, tokenCred}}
	s := newTestServer(t, cfg)
	late := newTestServer(t, Config{WallClock: func() time.Time { return time.Now().Add(301 * time.Second) }})
	early := newTestServer(t, Config{WallClock: func() time.Time { return time.Now().Add(-301 * time.Second) }})
	a := tcapi.DescribeTelCallInfo
	cases := []struct {
		name string
		srv  *testServer
		cred common.CredentialIface
		rt   http.RoundTripper
		want string
	}{
		{"valid", s, testCred(), nil, ""},
		{"valid token", s, common.NewTokenCredential(tokenCred.SecretID, tokenCred.SecretKey, tokenCred.Token), nil, ""},
		{"tampered body", s, testCred(), tamper(func(_ *http.Request, b []byte) []byte {
			return []byte(strings.Replace(string(b), "1400000001", "1400000002", 1))
		}), CodeSignatureFailure},
		{"tampered content-type", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Set("Content-Type", "application/json; charset=utf-8")
			return b
		}), CodeSignatureFailure},
		{"tampered host", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Host = "localhost" + strings.TrimPrefix(s.Addr, "127.0.0.1")
			return b
		}), CodeSignatureFailure},
		{"tampered timestamp", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			ts, _ := strconv.ParseInt(r.Header.Get("X-TC-Timestamp"), 10, 64)
			r.Header.Set("X-TC-Timestamp", strconv.FormatInt(ts+1, 10))
			return b
		}), CodeSignatureFailure},
		{"tampered scope service", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "/ccc/", "/trtc/", 1))
			return b
		}), CodeSignatureFailure},
		{"wrong key", s, common.NewCredential(TestSecretID, "not-the-key"), nil, CodeSignatureFailure},
		{"unknown id", s, common.NewCredential("AKIDunknown", TestSecretKey), nil, CodeSecretIDNotFound},
		{"expired (server ahead)", late, testCred(), nil, CodeSignatureExpire},
		{"expired (server behind)", early, testCred(), nil, CodeSignatureExpire},
		{"wrong token", s, common.NewTokenCredential(tokenCred.SecretID, tokenCred.SecretKey, "other-token"), nil, CodeTokenFailure},
		{"missing token", s, common.NewCredential(tokenCred.SecretID, tokenCred.SecretKey), nil, CodeTokenFailure},
		{"token on a permanent key", s, common.NewTokenCredential(TestSecretID, TestSecretKey, "x"), nil, CodeTokenFailure},
		{"malformed authorization", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", "TC3-HMAC-SHA256 Credential=broken")
			return b
		}), CodeInvalidAuthorization},
		{"missing authorization", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Del("Authorization")
			return b
		}), CodeInvalidAuthorization},
		{"host not signed", s, testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), "SignedHeaders=content-type;host", "SignedHeaders=content-type", 1))
			return b
		}), CodeInvalidAuthorization},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := send(t, sdkClient(t, tc.srv, "", tc.cred, tc.rt), a, validParams(a))
			assert.Equal(t, tc.want, codeOf(err))
		})
	}
}

func TestSignedExtraHeadersAndHosts(t *testing.T) {
	s := newTestServer(t, Config{})
	a := tcapi.DescribeTrtcUsage
	cases := []struct {
		name string
		rr   rawRequest
		want string
	}{
		{"x-tc-action signed", rawRequest{action: a, region: "ap-guangzhou", body: validParams(a), signedExtra: []string{"x-tc-action"}}, ""},
		{"x-tc-action and region signed", rawRequest{action: a, region: "ap-guangzhou", body: validParams(a), signedExtra: []string{"x-tc-action", "x-tc-region"}}, ""},
		{"service host", rawRequest{host: "trtc.tencentcloudapi.com", action: a, region: "ap-guangzhou", body: validParams(a)}, ""},
		{"intl service host", rawRequest{host: "trtc.intl.tencentcloudapi.com", action: a, region: "ap-guangzhou", body: validParams(a)}, ""},
		{"host names another service", rawRequest{host: "ccc.tencentcloudapi.com", action: a, region: "ap-guangzhou", body: validParams(a)}, CodeSignatureFailure},
		{"action of another service", rawRequest{host: "ccc.tencentcloudapi.com", service: "ccc", action: a, region: "ap-guangzhou", body: validParams(a)}, CodeInvalidAction},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _ := tc.rr.do(t, s)
			assert.Equal(t, tc.want, code)
		})
	}
}

// TestErrorCodes reaches every documented error code of the emulator.
func TestErrorCodes(t *testing.T) {
	d := yesterday()
	now := calendartest.Now()
	old := NewDate(2023, time.March, 31)
	tel := tcapi.DescribeTelCallInfo
	iat := tcapi.DescribeTrtcInteractiveTime
	use := tcapi.DescribeTrtcUsage
	room := tcapi.DescribeTrtcRoomUsage
	ess := tcapi.ChannelDescribeBillUsageDetail
	day := d.Start().Unix()
	essReq := func(extra string) string {
		return fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"%s},"StartTime":%q,"EndTime":%q}`, extra, d.Compact(), d.Compact())
	}
	cases := []struct {
		name   string
		a      tcapi.Action
		region string // "-" = none
		params string
		want   string
	}{
		{"tel ok", tel, "", validParams(tel), ""},
		{"tel region ok", tel, "ap-guangzhou", validParams(tel), ""},
		{"tel bad region", tel, "mars-1", validParams(tel), CodeUnsupportedRegion},
		{"tel missing list", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d}`, day, day), CodeMissingParameter},
		{"tel null counts as absent", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":null,"SdkAppIdList":[1400000001]}`, day), CodeMissingParameter},
		{"tel string timestamp", tel, "", fmt.Sprintf(`{"StartTimeStamp":"%d","EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, day, day), CodeInvalidParameter},
		{"tel string app", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":["1400000001"]}`, day, day), CodeInvalidParameter},
		{"tel fractional", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d.5,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, day, day), CodeInvalidParameter},
		{"tel unknown field", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001],"SdkAppId":1}`, day, day), CodeUnknownParameter},
		{"tel wrong case field", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIDList":[1400000001]}`, day, day), CodeUnknownParameter},
		{"tel empty list", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[]}`, day, day), CodeInvalidParameter},
		{"tel reversed", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, day, day-1), CodeInvalidParameter},
		{"tel 90 days", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, d.AddDays(-89).Start().Unix(), day+86399), ""},
		{"tel 91 days", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, d.AddDays(-90).Start().Unix(), day+86399), CodeInvalidParameter},
		{"tel unknown app", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001,1499999999]}`, day, day), CodeInstanceNotExist},

		{"iat no region", iat, "-", validParams(iat), CodeMissingParameter},
		{"iat other region", iat, "ap-shanghai", validParams(iat), CodeUnsupportedRegion},
		{"iat no app", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d, d), ""},
		{"iat unknown app", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":42}`, d, d), CodeInvalidSDKAppID},
		{"iat negative app", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":-1}`, d, d), CodeInvalidParameter},
		{"iat bad date", iat, "", fmt.Sprintf(`{"StartTime":"%s 00:00:00","EndTime":%q}`, d, d), CodeInvalidParameter},
		{"iat reversed", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d, d.AddDays(-1)), CodeInvalidParameter},
		{"iat 31 days", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.AddDays(-30), d), ""},
		{"iat 32 days", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.AddDays(-31), d), CodeInvalidParameter},
		{"iat missing end", iat, "", fmt.Sprintf(`{"StartTime":%q}`, d), CodeMissingParameter},
		{"iat future (empty, not an error)", iat, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.AddDays(5), d.AddDays(6)), ""},
		{"usage future (empty, not an error)", use, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.AddDays(5), d.AddDays(5)), ""},
		{"tel future (zeros, not an error)", tel, "", fmt.Sprintf(`{"StartTimeStamp":%d,"EndTimeStamp":%d,"SdkAppIdList":[1400000001]}`, d.AddDays(5).Start().Unix(), d.AddDays(6).Start().Unix()-1), ""},
		{"usage unknown app", use, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q,"SdkAppId":42}`, d, d), CodeInvalidSDKAppID},
		{"usage 32 days", use, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.AddDays(-31), d), CodeInvalidParameter},

		{"room SdkAppId spelling", room, "", fmt.Sprintf(`{"SdkAppId":1400000001,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, d, d), CodeUnknownParameter},
		{"room missing app", room, "", fmt.Sprintf(`{"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, d, d), CodeMissingParameter},
		{"room no region", room, "-", validParams(room), CodeMissingParameter},
		{"room singapore on domestic host", room, "ap-singapore", validParams(room), CodeUnsupportedRegion},
		{"room unknown app", room, "", fmt.Sprintf(`{"SdkAppid":42,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, d, d), CodeSDKAppIDNotExist},
		{"room seconds in time", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 00:00:00","EndTime":"%s 23:59"}`, d, d), CodeInvalidParameter},
		{"room 24h", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 00:00","EndTime":"%s 00:00"}`, d.AddDays(-1), d), ""},
		{"room over 24h", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 00:00","EndTime":"%s 00:01"}`, d.AddDays(-1), d), CodeInvalidParameter},
		{"room empty window", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 10:00","EndTime":"%s 10:00"}`, d, d), CodeInvalidParameter},
		{"room too old (window)", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, d.AddDays(-91), d.AddDays(-91)), CodeInvalidParameter},
		{"room before 2023-04-01", room, "", fmt.Sprintf(`{"SdkAppid":1400017192,"StartTime":"%s 00:00","EndTime":"%s 23:59"}`, old, old), CodeInvalidParameter},
		{"room future", room, "", fmt.Sprintf(`{"SdkAppid":1400000001,"StartTime":%q,"EndTime":%q}`, now.Add(time.Hour).In(beijing).Format(roomTimeLayout), now.Add(2*time.Hour).In(beijing).Format(roomTimeLayout)), CodeInvalidParameter},

		{"ess ok defaults", ess, "", essReq(""), ""},
		{"ess starts after today", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, d.AddDays(2).Compact(), d.AddDays(3).Compact()), CodeInvalidTime},
		{"ess range into the future", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, d.Compact(), d.AddDays(5).Compact()), ""},
		{"ess missing agent", ess, "", fmt.Sprintf(`{"StartTime":%q,"EndTime":%q}`, d.Compact(), d.Compact()), CodeMissingParameter},
		{"ess missing app id", ess, "", fmt.Sprintf(`{"Agent":{},"StartTime":%q,"EndTime":%q}`, d.Compact(), d.Compact()), CodeMissingParameter},
		{"ess empty app id", ess, "", fmt.Sprintf(`{"Agent":{"AppId":""},"StartTime":%q,"EndTime":%q}`, d.Compact(), d.Compact()), CodeMissingParameter},
		{"ess unknown nested field", ess, "", essReq(`,"OrganizationOpenId":"x"`), CodeUnknownParameter},
		{"ess deprecated fields accepted", ess, "", essReq(`,"ProxyOrganizationId":"","ProxyOperator":{"OpenId":"u1","Channel":"","ClientIp":""},"ProxyAppId":""`), ""},
		{"ess unknown app", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"nope"},"StartTime":%q,"EndTime":%q}`, d.Compact(), d.Compact()), CodeNotExistApplication},
		{"ess unknown org", ess, "", essReq(`,"ProxyOrganizationOpenId":"org_nope"`), CodeFailedOperation},
		{"ess bad time", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, d.String(), d.Compact()), CodeInvalidTime},
		{"ess 32 days", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, d.AddDays(-31).Compact(), d.Compact()), CodeInvalidTime},
		{"ess reversed", ess, "", fmt.Sprintf(`{"Agent":{"AppId":"ess_app_demo"},"StartTime":%q,"EndTime":%q}`, d.Compact(), d.AddDays(-1).Compact()), CodeInvalidTime},
		{"ess bad quota type", ess, "", strings.TrimSuffix(essReq(""), "}") + `,"QuotaType":"Gold"}`, CodeInvalidQuotaType},
		{"ess limit 0", ess, "", strings.TrimSuffix(essReq(""), "}") + `,"Limit":0}`, CodeInvalidLimit},
		{"ess limit 51", ess, "", strings.TrimSuffix(essReq(""), "}") + `,"Limit":51}`, CodeInvalidLimit},
		{"ess negative offset", ess, "", strings.TrimSuffix(essReq(""), "}") + `,"Offset":-1}`, CodeInvalidLimit},
		{"ess string limit", ess, "", strings.TrimSuffix(essReq(""), "}") + `,"Limit":"20"}`, CodeInvalidParameter},
	}
	s := newTestServer(t, Config{NoRateLimits: true})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			region := tc.region
			switch region {
			case "-":
				region = ""
			case "":
				region = tc.a.Region
			}
			_, err := send(t, sdkClient(t, s, region, testCred(), nil), tc.a, tc.params)
			assert.Equal(t, tc.want, codeOf(err))
		})
	}
}

// TestErrorCodesBeyondTheSDK reaches the codes a well-formed SDK call does not.
func TestErrorCodesBeyondTheSDK(t *testing.T) {
	tel, iat, use, room := tcapi.DescribeTelCallInfo, tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage, tcapi.DescribeTrtcRoomUsage
	s := newTestServer(t, Config{NoRateLimits: true})
	t.Run("interactive time offline", func(t *testing.T) {
		off := newTestServer(t, Config{InteractiveTimeOffline: true})
		err := callAPI(t, off, iat, validParams(iat), nil)
		assert.Equal(t, CodeActionOffline, codeOf(err))
		assert.NoError(t, callAPI(t, off, use, validParams(use), nil))
	})
	t.Run("body not an object", func(t *testing.T) {
		for _, body := range []string{`[1,2]`, `{"StartTimeStamp":1`, `{} {}`} {
			code, _ := rawRequest{action: tel, body: body}.do(t, s)
			assert.Equal(t, CodeInvalidParameter, code, body)
		}
	})
	t.Run("unknown action", func(t *testing.T) {
		code, _ := rawRequest{action: tcapi.Action{Service: "trtc", Version: "2019-07-22", Name: "DescribeNothing"}, region: "ap-guangzhou", body: "{}"}.do(t, s)
		assert.Equal(t, CodeInvalidAction, code)
	})
	t.Run("no such version", func(t *testing.T) {
		code, _ := rawRequest{action: tcapi.Action{Service: "ccc", Version: "2017-03-12", Name: tel.Name}, body: validParams(tel)}.do(t, s)
		assert.Equal(t, CodeNoSuchVersion, code)
	})
	t.Run("singapore on intl host", func(t *testing.T) {
		code, _ := rawRequest{host: "trtc.intl.tencentcloudapi.com", action: room, region: "ap-singapore", body: validParams(room)}.do(t, s)
		assert.Equal(t, "", code)
	})
	t.Run("singapore for an international account", func(t *testing.T) {
		intl := newTestServer(t, Config{NoRateLimits: true, International: true})
		for _, tc := range []struct {
			a      tcapi.Action
			region string
			want   string
		}{
			{room, "ap-singapore", ""},
			{room, "ap-guangzhou", ""},
			{room, "ap-shanghai", CodeUnsupportedRegion},
			{use, "ap-singapore", CodeUnsupportedRegion}, // DescribeTrtcUsage serves ap-guangzhou only
			{iat, "ap-singapore", CodeUnsupportedRegion},
		} {
			_, err := send(t, sdkClient(t, intl, tc.region, testCred(), nil), tc.a, validParams(tc.a))
			assert.Equal(t, tc.want, codeOf(err), "%s in %s", tc.a.Name, tc.region)
		}
	})
	t.Run("GET", func(t *testing.T) {
		res, err := http.Get(s.URL + "/?Action=DescribeTelCallInfo")
		require.NoError(t, err)
		defer res.Body.Close()
		var env struct{ Response struct{ Error apiError } }
		require.NoError(t, json.NewDecoder(res.Body).Decode(&env))
		assert.Equal(t, CodeUnsupportedProtocol, env.Response.Error.Code)
	})
	t.Run("missing action header", func(t *testing.T) {
		_, err := send(t, sdkClient(t, s, "", testCred(), tamper(func(r *http.Request, b []byte) []byte {
			r.Header.Del("X-TC-Action")
			return b
		})), tel, validParams(tel))
		assert.Equal(t, CodeMissingParameter, codeOf(err))
	})
	t.Run("body too large", func(t *testing.T) {
		_, err := send(t, sdkClient(t, s, "", testCred(), tamper(func(_ *http.Request, _ []byte) []byte {
			return []byte(`{"X":"` + strings.Repeat("a", maxBody) + `"}`)
		})), tel, validParams(tel))
		assert.Equal(t, CodeRequestSizeLimit, codeOf(err))
	})
}

// seedExamples are the examples of the seed documents (/work/shared/seeds), copied from the
// documents' text rather than from fixtures/seeds.json, so that a fixture that drifts from its
// document fails.
var seedExamples = []struct {
	action, request, response string
}{
	{"DescribeTelCallInfo", `{"StartTimeStamp":1773041460,"EndTimeStamp":1773042460,"SdkAppIdList":[140000000]}`,
		`{"TelCallOutCount":0,"TelCallInCount":0,"SeatUsedCount":0,"VOIPCallInCount":0,"AsrOfflineCount":0,"AsrRealtimeCount":0,"RequestId":"sfahfj-fasf"}`},
	{"DescribeTrtcInteractiveTime", `{"SdkAppId":1400243510,"StartTime":"2020-09-07","EndTime":"2020-09-08"}`,
		`{"Usages":[{"TotalNum":2,"SdkAppId":"1400243510","SdkAppIdTrtcTimeUsages":[
		 {"AudioVideoTime":0,"VideoTimeSd":3633229,"VideoTimeHd":7266458,"VideoTimeHdp":10899687,"AudioTime":8435963,"TimeKey":"2020-09-07"},
		 {"AudioVideoTime":0,"VideoTimeSd":8896,"VideoTimeHd":17792,"VideoTimeHdp":26688,"AudioTime":30690,"TimeKey":"2020-09-08"}]}],
		 "RequestId":"644956b8-9f7c-44c5-b833-31d91dba1b24"}`},
	{"DescribeTrtcInteractiveTime", `{"SdkAppId":1400243510,"StartTime":"2020-09-08","EndTime":"2020-09-08"}`,
		`{"Usages":[{"TotalNum":2,"SdkAppId":"1400243510","SdkAppIdTrtcTimeUsages":[
		 {"AudioVideoTime":14706996,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0,"TimeKey":"2020-09-07 09:50:00"},
		 {"AudioVideoTime":56820,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0,"TimeKey":"2020-09-08 09:55:00"}]}],
		 "RequestId":"644956b8-9f7c-44c5-b833-31d91dba1b24"}`},
	{"DescribeTrtcInteractiveTime", `{"StartTime":"2020-09-08","EndTime":"2020-09-08"}`,
		`{"Usages":[{"SdkAppId":"total","SdkAppIdTrtcTimeUsages":[
		 {"TimeKey":"2020-09-08 00:05:00","AudioVideoTime":512916,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0},
		 {"TimeKey":"2020-09-08 00:10:00","AudioVideoTime":523098,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0},
		 {"TimeKey":"2020-09-08 00:15:00","AudioVideoTime":512861,"VideoTimeSd":0,"VideoTimeHd":0,"VideoTimeHdp":0,"AudioTime":0}],
		 "TotalNum":3}],"RequestId":"644956b8-9f7c-44c5-b833-31d91dba1b24"}`},
	{"DescribeTrtcRoomUsage", `{"StartTime":"2023-01-06 00:00","EndTime":"2023-01-06 10:00","SdkAppid":1400017192}`,
		`{"RequestId":"68fccf1c-c2c7-466a-9f14-1db4bed6054b","Data":"RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n"}`},
	{"ChannelDescribeBillUsageDetail", `{"StartTime":"20230902","EndTime":"20230930","Offset":0,"Limit":500,
		 "Agent":{"AppId":"yDwFdUUckpsw******yQ0af8bHosXQtb","ProxyOrganizationOpenId":"org_dianziqian","ProxyOperator":{"OpenId":"n9527"},"ProxyAppId":""}}`,
		`{"Error":{"Code":"InvalidParameter.Limit","Message":"分页参数不合法"},"RequestId":"s169935778xxxxxxx"}`},
	{"ChannelDescribeBillUsageDetail", `{"StartTime":"20230902","EndTime":"20230930","Offset":0,"Limit":20,"Agent":{"AppId":"yDwFdUUckpsw******yQ0af8bHosXQtb"}}`,
		`{"Details":[{"CostTime":1695037514,"CostType":1,"CreateOrganizationName":"典子谦示例企业","FlowId":"yDwFdUUckps******uzcbXwoXbRF6ja3",
		 "FlowName":"典子谦示例合同","OperatorName":"张三;典子谦","QuotaName":"企业版运营礼包","QuotaType":"CloudEnterprise","Remark":"","FlowStatus":"ALL","UseCount":1}],
		 "RequestId":"s16992572741898xxxx","Total":1}`},
	{"ChannelDescribeBillUsageDetail", `{"StartTime":"20230902","EndTime":"20230930","Offset":0,"Limit":20,
		 "Agent":{"AppId":"yDwFdUUckpsw******yQ0af8bHosXQtb","ProxyOrganizationOpenId":"org_dianziqian","ProxyOperator":{"OpenId":"n9527"},"ProxyAppId":""}}`,
		`{"Details":[{"CostTime":1695037514,"CostType":1,"CreateOrganizationName":"典子谦示例企业","FlowId":"yDwFdUUckps******uzcbXwoXbRF6ja3",
		 "FlowName":"典子谦示例合同","OperatorName":"张三;典子谦","QuotaName":"企业版运营礼包","QuotaType":"CloudEnterprise","Remark":"","FlowStatus":"ALL","UseCount":1}],
		 "RequestId":"s16992572741898xxxx","Total":1}`},
}

func TestSeedFixturesReproduced(t *testing.T) {
	s := newTestServer(t, Config{NoRateLimits: true})
	require.Len(t, Fixtures(), len(seedExamples), "one fixture per seed example")
	for i, ex := range seedExamples {
		t.Run(fmt.Sprintf("%d %s", i, ex.action), func(t *testing.T) {
			a, ok := tcapi.ActionNamed(ex.action)
			require.True(t, ok)
			raw, err := send(t, sdkClient(t, s, a.Region, testCred(), nil), a, ex.request)
			var want struct {
				Error     *apiError
				RequestID string `json:"RequestId"`
			}
			require.NoError(t, json.Unmarshal([]byte(ex.response), &want))
			if want.Error != nil {
				assert.Equal(t, want.Error.Code, codeOf(err))
				assert.ErrorContains(t, err, want.RequestID)
				assert.ErrorContains(t, err, want.Error.Message)
				return
			}
			require.NoError(t, err)
			assert.JSONEq(t, ex.response, string(raw))
		})
	}
	// Spot checks against the seed documents' text.
	var room tcapi.TRTCRoomUsageResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTrtcRoomUsage, `{"StartTime":"2023-01-06 00:00","EndTime":"2023-01-06 10:00","SdkAppid":1400017192}`, &room))
	assert.Equal(t, "RoomId,Audio,SD,hd,FullHD,2K,4K\ntest_room,1,2,3,4,5,6\n", *room.Data)
	var tel tcapi.TelCallInfoResponse
	require.NoError(t, callAPI(t, s, tcapi.DescribeTelCallInfo, `{"StartTimeStamp":1773041460,"EndTimeStamp":1773042460,"SdkAppIdList":[140000000]}`, &tel))
	assert.Equal(t, "sfahfj-fasf", tel.RequestID)
	assert.Zero(t, *tel.TelCallOutCount)
	// A request that differs from the example gets generated data (the app is known).
	require.NoError(t, callAPI(t, s, tcapi.DescribeTelCallInfo, `{"StartTimeStamp":1773041460,"EndTimeStamp":1773042461,"SdkAppIdList":[140000000]}`, &tel))
	assert.NotEqual(t, "sfahfj-fasf", tel.RequestID)
	// The seed's Limit 500 failure also follows from the rules.
	err := callAPI(t, s, tcapi.ChannelDescribeBillUsageDetail, `{"StartTime":"20230902","EndTime":"20230930","Offset":0,"Limit":500,"Agent":{"AppId":"yDwFdUUckpsw******yQ0af8bHosXQtb"}}`, nil)
	assert.Equal(t, CodeInvalidLimit, codeOf(err))
}

func TestRateLimits(t *testing.T) {
	cases := []struct {
		a      tcapi.Action
		burst  int
		window time.Duration
		code   string
	}{
		{tcapi.DescribeTelCallInfo, 20, time.Second, CodeRequestLimitExceeded},
		{tcapi.DescribeTrtcInteractiveTime, 20, time.Second, CodeRequestLimitExceeded},
		{tcapi.DescribeTrtcUsage, 5, time.Second, CodeRequestLimitExceeded},
		{tcapi.DescribeTrtcRoomUsage, 1, 15 * time.Second, CodeFreqOverLimit},
		{tcapi.ChannelDescribeBillUsageDetail, 20, time.Second, CodeRequestLimitExceeded},
	}
	for _, tc := range cases {
		t.Run(tc.a.Name, func(t *testing.T) {
			clk := &fakeClock{t: time.Now()} // the wall clock also checks signatures: start at the real time
			const scale = 0.001
			s := newTestServer(t, Config{TimeScale: scale, WallClock: clk.now, Rooms: 5})
			for i := range tc.burst {
				require.NoError(t, callAPI(t, s, tc.a, validParams(tc.a), nil), "call %d", i)
			}
			assert.Equal(t, tc.code, codeOf(callAPI(t, s, tc.a, validParams(tc.a), nil)))
			// One scaled window later the full budget is back.
			clk.advance(time.Duration(float64(tc.window) * scale))
			for i := range tc.burst {
				require.NoError(t, callAPI(t, s, tc.a, validParams(tc.a), nil), "call %d after the window", i)
			}
			assert.Equal(t, tc.code, codeOf(callAPI(t, s, tc.a, validParams(tc.a), nil)))
		})
	}
	t.Run("per account, not per key", func(t *testing.T) {
		clk := &fakeClock{t: time.Now()} // the wall clock also checks signatures: start at the real time
		s := newTestServer(t, Config{WallClock: clk.now, Rooms: 5, Credentials: []Credential{
			{SecretID: TestSecretID, SecretKey: TestSecretKey},                                    // the default account
			{SecretID: "AKIDrotated", SecretKey: "rotated-key", Token: "run-role-token"},          // another key of it
			{SecretID: "AKIDotherAccount", SecretKey: "other-key", Account: "100000000002"},       // another account
			{SecretID: "AKIDotherAccountKey2", SecretKey: "other-key-2", Account: "100000000002"}, // and its second key
		}})
		a := tcapi.DescribeTrtcRoomUsage
		call := func(cred common.CredentialIface) string {
			_, err := send(t, sdkClient(t, s, a.Region, cred, nil), a, validParams(a))
			return codeOf(err)
		}
		require.Equal(t, "", call(testCred()))
		// A rotated (temporary) key of the same account gains nothing: the account's budget is spent.
		assert.Equal(t, CodeFreqOverLimit, call(common.NewTokenCredential("AKIDrotated", "rotated-key", "run-role-token")))
		// Another account has its own budget, shared by its keys.
		assert.Equal(t, "", call(common.NewCredential("AKIDotherAccount", "other-key")))
		assert.Equal(t, CodeFreqOverLimit, call(common.NewCredential("AKIDotherAccountKey2", "other-key-2")))
		reqs := s.Requests()
		require.Len(t, reqs, 4)
		assert.Equal(t, []string{DefaultAccount, DefaultAccount, "100000000002", "100000000002"},
			[]string{reqs[0].Account, reqs[1].Account, reqs[2].Account, reqs[3].Account})
		// Another action of the account has its own bucket.
		assert.Equal(t, "", codeOf(callAPI(t, s, tcapi.DescribeTrtcUsage, validParams(tcapi.DescribeTrtcUsage), nil)))
	})
	t.Run("real scaled time", func(t *testing.T) {
		s := newTestServer(t, Config{TimeScale: 0.0001, Rooms: 5})
		a := tcapi.DescribeTrtcRoomUsage
		require.NoError(t, callAPI(t, s, a, validParams(a), nil))
		// 15 s scaled by 0.0001 is 1.5 ms: wait past it, then the next call is admitted.
		time.Sleep(3 * time.Millisecond)
		assert.NoError(t, callAPI(t, s, a, validParams(a), nil))
	})
}

func TestFaults(t *testing.T) {
	a := tcapi.DescribeTelCallInfo
	cases := []struct {
		kind FaultKind
		want string
	}{
		{FaultInternalError, CodeInternalError},
		{FaultRequestLimitExceeded, CodeRequestLimitExceeded},
		{FaultFreqOverLimit, CodeFreqOverLimit},
		{FaultHTML502, "ClientError.ParseJsonError"},
		{FaultTruncatedJSON, "ClientError.ParseJsonError"},
		{FaultReset, "ClientError.NetworkError"},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			s := newTestServer(t, Config{NoRateLimits: true})
			s.FailNext(a.Name, 2, tc.kind)
			s.FailNext("DescribeTrtcUsage", 1, FaultInternalError) // another action's queue is untouched
			for range 2 {
				assert.Equal(t, tc.want, codeOf(callAPI(t, s, a, validParams(a), nil)))
			}
			assert.NoError(t, callAPI(t, s, a, validParams(a), nil))
			reqs := s.Requests()
			require.Len(t, reqs, 3)
			assert.Equal(t, tc.kind, reqs[0].Fault)
			assert.NotEmpty(t, reqs[0].Code)
			assert.Empty(t, reqs[2].Code)
			assert.Empty(t, reqs[2].Fault)
		})
	}
	t.Run("HTML502 body", func(t *testing.T) {
		s := newTestServer(t, Config{NoRateLimits: true})
		s.FailNext("", 1, FaultHTML502)
		var status int
		_, err := send(t, sdkClient(t, s, "", testCred(), roundTripFunc(func(r *http.Request) (*http.Response, error) {
			res, err := http.DefaultTransport.RoundTrip(r)
			if res != nil {
				status = res.StatusCode
				assert.Equal(t, "text/html", res.Header.Get("Content-Type"))
			}
			return res, err
		})), a, validParams(a))
		assert.Error(t, err)
		assert.Equal(t, http.StatusBadGateway, status)
	})
	t.Run("Slow", func(t *testing.T) {
		s := newTestServer(t, Config{NoRateLimits: true, SlowDelay: time.Hour})
		s.FailNext(a.Name, 1, FaultSlow)
		c := sdkClient(t, s, "", testCred(), nil)
		c.WithHttpTransport(&http.Transport{ResponseHeaderTimeout: 50 * time.Millisecond})
		_, err := send(t, c, a, validParams(a))
		assert.Equal(t, "ClientError.NetworkError", codeOf(err))
		// The next call is normal.
		assert.NoError(t, callAPI(t, s, a, validParams(a), nil))
	})
	t.Run("slow call released by Close", func(t *testing.T) {
		s := newTestServer(t, Config{NoRateLimits: true, SlowDelay: time.Hour})
		s.FailNext(a.Name, 1, FaultSlow)
		done := make(chan error, 1)
		go func() {
			_, err := send(t, sdkClient(t, s, "", testCred(), nil), a, validParams(a))
			done <- err
		}()
		require.Eventually(t, func() bool { return s.faults.pending(a.Name) == 0 }, 5*time.Second, time.Millisecond)
		s.Emulator.Close()
		assert.NoError(t, <-done, "a released slow call answers normally")
	})
	t.Run("random", func(t *testing.T) {
		s := newTestServer(t, Config{NoRateLimits: true, Faults: FaultConfig{Rate: 0.5, Kinds: []FaultKind{FaultInternalError}, Seed: 7}})
		fails := 0
		for range 40 {
			if codeOf(callAPI(t, s, a, validParams(a), nil)) == CodeInternalError {
				fails++
			}
		}
		assert.Greater(t, fails, 5)
		assert.Less(t, fails, 35)
	})
	t.Run("faults come after authentication", func(t *testing.T) {
		s := newTestServer(t, Config{NoRateLimits: true})
		s.FailNext("", 1, FaultInternalError)
		_, err := send(t, sdkClient(t, s, "", common.NewCredential(TestSecretID, "wrong"), nil), a, validParams(a))
		assert.Equal(t, CodeSignatureFailure, codeOf(err))
		assert.Equal(t, CodeInternalError, codeOf(callAPI(t, s, a, validParams(a), nil)))
	})
}

func TestLatencyAndRequestsConcurrent(t *testing.T) {
	s := newTestServer(t, Config{NoRateLimits: true, Latency: time.Millisecond})
	a := tcapi.DescribeTrtcUsage
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { assert.NoError(t, callAPI(t, s, a, validParams(a), nil)) })
	}
	wg.Wait()
	assert.Len(t, s.Requests(), 8)
	s.ClearRequests()
	assert.Empty(t, s.Requests())
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2024-02-28")
	require.NoError(t, err)
	assert.Equal(t, "2024-03-01", d.AddDays(2).String())
	assert.Equal(t, "20240228", d.Compact())
	assert.Equal(t, 2, d.DaysUntil(d.AddDays(2)))
	assert.Equal(t, NewDate(2024, time.February, 29), DateOf(time.Date(2024, time.February, 28, 16, 0, 0, 0, time.UTC)))
	assert.Equal(t, int64(1709049600), d.Start().Unix())
	_, err = ParseDate("2024/02/28")
	assert.Error(t, err)
}

func TestUnsignedPayload(t *testing.T) {
	s := newTestServer(t, Config{})
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = s.Addr
	cpf.HttpProfile.Scheme = "http"
	cpf.UnsignedPayload = true
	a := tcapi.DescribeTelCallInfo
	_, err := send(t, common.NewCommonClient(testCred(), "", cpf), a, validParams(a))
	assert.NoError(t, err)
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- ListenAndServe(ctx, "127.0.0.1:0", Config{}, func(addr string) { addrc <- addr }) }()
	addr := <-addrc
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = addr
	cpf.HttpProfile.Scheme = "http"
	a := tcapi.DescribeTrtcUsage
	raw, err := send(t, common.NewCommonClient(testCred(), a.Region, cpf), a, validParams(a))
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"UsageKey":["Audio","SD","HD","FullHD","2K","4K"]`)
	cancel()
	assert.NoError(t, <-done)
	assert.Error(t, ListenAndServe(t.Context(), "256.0.0.1:bad", Config{}, nil))
}
