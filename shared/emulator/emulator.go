// Package emulator is a faithful local emulator of the Tencent Cloud API 3.0 actions tcusage reads:
// CCC DescribeTelCallInfo, TRTC DescribeTrtcInteractiveTime, DescribeTrtcUsage and
// DescribeTrtcRoomUsage, and ESS ChannelDescribeBillUsageDetail.
//
// It is an http.Handler that speaks the real wire protocol: POST JSON to "/", X-TC-* headers,
// TC3-HMAC-SHA256 signatures (verified by its own implementation), answers wrapped in
// {"Response":{...,"RequestId"}} and errors as {"Response":{"Error":{"Code","Message"},"RequestId"}}
// with HTTP 200. It is deliberately strict: a request it accepts is one the real service accepts
// (unknown fields, wrong JSON types, missing regions and out-of-range dates are refused with the
// real codes), so a client that works here is not relying on leniency.
//
// Data is deterministic (see Data): every number is a hash of app, day and metric, and the answers
// are consistent across actions and windows (5-minute points sum to days, days to ranges,
// DescribeTrtcUsage minutes match DescribeTrtcInteractiveTime seconds, an app's rooms share less
// than its TRTC total, an audio-only app has no video anywhere). It is as irregular as the cloud's:
// sparse 5-minute series with gaps, zero points and short or empty days; from no room to
// thousands per app-day; ESS organisations idle for days; quieter weekends. The official examples
// of the seed documents are reproduced exactly (see Fixtures). Faults (FailNext, Config.Faults),
// rate limits (scaled by Config.TimeScale) and a request log (Requests) support client tests.
//
// Use emulatortest.NewServer in tests, Serve or ListenAndServe for a standalone emulator (tcusage emulate). Point
// the official Go SDK at it with profile.HttpProfile.Endpoint = Server.Addr and Scheme "http";
// the service is then taken from the credential scope. A Host of <service>.tencentcloudapi.com or
// <service>.intl.tencentcloudapi.com (as the Node SDK sends through a custom agent) names the service
// itself and must agree with the scope.
//
// Choices where the real behaviour is not documented:
//   - Business dates and times are Beijing time (UTC+8). "Now" is Config.Now (the business clock):
//     every answer is Data().AsOf(Config.Now()).
//   - DescribeTelCallInfo covers whole Beijing days: from the day of StartTimeStamp to the day of
//     EndTimeStamp, at most 90 days; repeated app IDs count once. Days after today count zero and
//     today counts the minutes used so far: the answer is a sum with no way to say "not yet", and
//     the seed's own example (a range at a date then still ahead) answers all zeros.
//   - DescribeTrtcInteractiveTime and DescribeTrtcUsage accept at most 31 days counting both ends;
//     5-minute TimeKeys name the start of the bucket (00:00:00 to 23:55:00; its end with
//     Config.Readings.TimeKeysLabelEnd). Buckets without usage
//     are left out (the seed's examples answer two or three points), days after today have no
//     points (a range wholly in the future answers an empty list, TotalNum 0) and today only the
//     buckets that ended by now: the documentation warns that the current day "may be inaccurate"
//     and lists no error for dates. A range of several days has one daily point per day with any
//     5-minute point. TotalNum is the number of points, as in the seed.
//     DescribeTrtcUsage answers an unknown app with InvalidParameter.SdkAppId too, and its minutes
//     are Minutes(seconds).
//   - DescribeTrtcRoomUsage's EndTime minute is included: "D 00:00".."D 23:59" is the whole day D
//     (excluded with Config.Readings.RoomUsageEndExclusive).
//     StartTime must be before EndTime, at most 24 h apart, not before the data window (the later of
//     Config.DataStart and today minus Config.RoomDataDays) and not in the future (InvalidParameter).
//     A window reaching past now answers the usage up to the last whole minute. An app with no
//     room on the days of the window answers Data "" (no header row); a window in which none of
//     its rooms is active answers the header only.
//   - ChannelDescribeBillUsageDetail's EndTime day is part of the range (not with
//     Config.Readings.ESSEndTimeExclusive). It answers an unknown ProxyOrganizationOpenId with FailedOperation,
//     a bad Offset (negative) or Limit (outside 1..50) with InvalidParameter.Limit, an empty
//     Agent.AppId with MissingParameter, and a StartTime after today with
//     InvalidParameterValue.InvalidTime (the documented code for illegal times: there is nothing to
//     page through); a range that has begun answers the records up to now.
//   - TRTC without X-TC-Region: MissingParameter; a region the action does not serve:
//     UnsupportedRegion. DescribeTrtcRoomUsage serves ap-singapore besides ap-guangzhou only on
//     the international site (host trtc.intl.tencentcloudapi.com, or Config.International). CCC and
//     ESS take no region; if one is sent it must be a real region name, else UnsupportedRegion.
//   - An action a key's Credential.Denied lists: AuthFailure.UnauthorizedOperation (CAM), before
//     rate limits and parameters.
//   - Malformed or missing Authorization, or SignedHeaders without content-type and host:
//     AuthFailure.InvalidAuthorization. Only POST with Content-Type application/json is served
//     (others: UnsupportedProtocol), which is what the SDKs send.
//   - Rate limits are token buckets per account and action (Credential.Account; keys of one
//     account share them, as Tencent counts them, so rotating temporary keys gains nothing): 20/s
//     (5/s for DescribeTrtcUsage), and one call per 15 s for DescribeTrtcRoomUsage
//     (OperationDenied.FreqOverLimit), per SdkAppid with Config.RoomUsageLimitPerApp.
//   - The same data is served in every region.
package emulator

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// maxBody is the largest request body accepted (the real limit is 10 MB; usage queries are tiny).
const maxBody = 10 << 20

// maxSkew is the allowed difference between X-TC-Timestamp and the server clock.
const maxSkew = 300 * time.Second

// knownRegions are region names accepted where a region is optional.
var knownRegions = []string{
	"ap-guangzhou", "ap-shanghai", "ap-beijing", "ap-chengdu", "ap-chongqing", "ap-nanjing",
	"ap-hongkong", "ap-singapore", "ap-tokyo", "ap-seoul", "ap-bangkok", "ap-jakarta", "na-siliconvalley",
	"na-ashburn", "eu-frankfurt", "sa-saopaulo",
}

// Request is one recorded call.
type Request struct {
	// Time is when the call arrived (Config.Now).
	Time time.Time
	// Service, Action, Version and Region are as resolved from the headers ("" if not reached).
	Service, Action, Version, Region string
	// Host is the Host header as sent.
	Host string
	// SecretID is the key ID from the Authorization header ("" if unparsable).
	SecretID string
	// Account is the account of the key ("" until the key is found).
	Account string
	// Body is the request body.
	Body []byte
	// Code is the API error code answered ("" = success). Transport faults record "Fault." + kind.
	Code string
	// RequestID is the answered RequestId ("" for transport faults).
	RequestID string
	// Fault is the injected fault, if any.
	Fault FaultKind
}

// Emulator is the API emulator, an http.Handler. Make one with New. It is safe for concurrent use.
type Emulator struct {
	cfg      Config
	data     Data
	fixtures fixtureSet
	faults   *faults

	limMu sync.Mutex
	lims  map[string]*rate.Limiter

	recMu sync.Mutex
	reqs  []Request

	closing   chan struct{}
	closeOnce sync.Once
}

// New returns an emulator configured by cfg (zero fields take their documented defaults).
func New(cfg Config) *Emulator {
	c := cfg.withDefaults()
	return &Emulator{
		cfg:      c,
		data:     NewData(c),
		fixtures: newFixtureSet(),
		faults:   newFaults(c.Faults),
		lims:     map[string]*rate.Limiter{},
		closing:  make(chan struct{}),
	}
}

// Data returns the ground truth behind the answers: the final figures of every day. An answer is
// Data().AsOf(t) for the business clock's t (Config.Now) when the call arrived.
func (e *Emulator) Data() Data { return e.data }

// FailNext makes the next n calls of action (e.g. "DescribeTrtcRoomUsage"; "" = any action) that
// pass authentication fail with kind. Queued faults for the action come before those for "".
func (e *Emulator) FailNext(action string, n int, kind FaultKind) { e.faults.failNext(action, n, kind) }

// Requests returns a copy of every call recorded so far, in arrival order.
func (e *Emulator) Requests() []Request {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	out := slices.Clone(e.reqs)
	for i := range out {
		out[i].Body = slices.Clone(out[i].Body)
	}
	return out
}

// ClearRequests forgets the recorded calls.
func (e *Emulator) ClearRequests() {
	e.recMu.Lock()
	defer e.recMu.Unlock()
	e.reqs = nil
}

// Close releases calls stalled by FaultSlow or Latency (they then answer at once). The emulator
// keeps serving; Close only ends waits.
func (e *Emulator) Close() { e.closeOnce.Do(func() { close(e.closing) }) }

// answer is a complete HTTP answer.
type answer struct {
	body      []byte
	code      string
	requestID string
}

// ServeHTTP serves one API call.
func (e *Emulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Time: e.cfg.Now(), Host: r.Host}
	ans, fault := e.handle(w, r, &rec)
	rec.Fault = fault
	rec.Code, rec.RequestID = ans.code, ans.requestID
	switch fault {
	case FaultHTML502, FaultReset, FaultTruncatedJSON:
		rec.Code, rec.RequestID = "Fault."+string(fault), ""
	}
	e.wait(r.Context(), e.cfg.Latency)
	if fault == FaultSlow {
		e.wait(r.Context(), e.cfg.SlowDelay)
	}
	// Record before answering, so that a client that has its answer also finds the record.
	e.cfg.Logger.Debug("emulator call", "action", rec.Action, "code", rec.Code, "fault", string(fault), "requestId", rec.RequestID)
	e.recMu.Lock()
	e.reqs = append(e.reqs, rec)
	e.recMu.Unlock()

	switch fault {
	case FaultHTML502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>stgw</center>\r\n</body>\r\n</html>\r\n")
	case FaultReset:
		e.reset(w)
	case FaultTruncatedJSON:
		half := ans.body[:len(ans.body)/2]
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(half)))
		_, _ = w.Write(half)
	default:
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(ans.body)))
		_, _ = w.Write(ans.body)
	}
}

// wait sleeps for d, or less if the client goes away or the emulator is closed.
func (e *Emulator) wait(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	case <-e.closing:
	}
}

// reset closes the client's connection abruptly (RST where possible).
func (e *Emulator) reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort the response instead.
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// call is an authenticated request being handled.
type call struct {
	action    tcapi.Action
	region    string
	intl      bool
	account   string
	requestID string
	app       string    // the SdkAppid of a room-usage call, for a limit counted per app
	fault     FaultKind // an injected fault the action itself carries out (FaultTruncatedSeries)
}

// limitApp returns the SdkAppid a DescribeTrtcRoomUsage call names ("" for other actions, or when
// the body does not say): the key of its limit when Config.RoomUsageLimitPerApp counts it per app.
func limitApp(a tcapi.Action, body []byte) string {
	if a != tcapi.DescribeTrtcRoomUsage {
		return ""
	}
	var p struct {
		SdkAppid json.Number `json:"SdkAppid"`
	}
	if json.Unmarshal(body, &p) != nil {
		return ""
	}
	return p.SdkAppid.String()
}

// handle authenticates and answers a call. A non-empty fault is a transport fault for the caller
// to act on; ans is then the answer the fault distorts.
func (e *Emulator) handle(w http.ResponseWriter, r *http.Request, rec *Request) (answer, FaultKind) {
	reqID := newRequestID()
	fail := func(err *apiError) (answer, FaultKind) { return errorAnswer(reqID, err), "" }
	body, aerr := readCall(w, r, rec)
	if aerr != nil {
		return fail(aerr)
	}
	signer, aerr := e.authenticate(r, body, rec)
	if aerr != nil {
		return fail(aerr)
	}
	action, aerr := e.resolve(signer.service, rec, signer.intl)
	if aerr != nil {
		return fail(aerr)
	}
	if cred, _ := e.credential(signer.secretID); slices.Contains(cred.Denied, action.Name) {
		return fail(errorf(CodeUnauthorized, "You are not authorized to perform operation (%s:%s). Check the CAM policy of the key.", action.Service, action.Name))
	}
	c := &call{action: action, region: rec.Region, intl: signer.intl, account: signer.account, requestID: reqID, app: limitApp(action, body)}
	// Faults, then rate limits, then the action itself.
	fault := e.faults.next(action.Name)
	c.fault = fault
	if code := fault.apiCode(); code != "" {
		return errorAnswer(reqID, errorf(code, "Injected fault %s.", fault)), fault
	}
	if aerr := e.allow(c); aerr != nil {
		return fail(aerr)
	}
	return e.dispatch(c, body), fault
}

// readCall reads the body and checks the protocol: POST, JSON, and the X-TC-* headers every call
// carries.
func readCall(w http.ResponseWriter, r *http.Request, rec *Request) ([]byte, *apiError) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	rec.Body = body
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, errorf(CodeRequestSizeLimit, "The request body exceeds %d bytes.", maxBody)
		}
		return nil, errorf(CodeInvalidParameter, "The request body could not be read: %v.", err)
	}
	if r.Method != http.MethodPost {
		return nil, errorf(CodeUnsupportedProtocol, "The emulator serves only POST requests (got %s).", r.Method)
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, errorf(CodeUnsupportedProtocol, "The emulator serves only Content-Type application/json.")
	}
	rec.Action = r.Header.Get("X-TC-Action")
	rec.Version = r.Header.Get("X-TC-Version")
	rec.Region = r.Header.Get("X-TC-Region")
	for _, hp := range [][2]string{{"X-TC-Action", "Action"}, {"X-TC-Version", "Version"}, {"X-TC-Timestamp", "Timestamp"}} {
		if r.Header.Get(hp[0]) == "" {
			return nil, errorf(CodeMissingParameter, "The request is missing a required parameter `%s`.", hp[1])
		}
	}
	return body, nil
}

// signer is who signed a call (key and account), for which service, through which site.
type signer struct {
	secretID, account, service string
	intl                       bool
}

// authenticate checks the TC3-HMAC-SHA256 signature of a call, its timestamp and its token.
func (e *Emulator) authenticate(r *http.Request, body []byte, rec *Request) (signer, *apiError) {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return signer{}, errorf(CodeInvalidAuthorization, "The Authorization header is missing.")
	}
	auth, perr := parseAuthorization(authz)
	if perr != nil {
		return signer{}, errorf(CodeInvalidAuthorization, "The Authorization header is malformed: %v.", perr)
	}
	rec.SecretID = auth.SecretID
	tsText := r.Header.Get("X-TC-Timestamp")
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return signer{}, errorf(CodeInvalidParameter, "The parameter `Timestamp` must be unix seconds.")
	}
	signedAt := time.Unix(ts, 0)
	if skew := e.cfg.WallClock().Sub(signedAt); skew > maxSkew || skew < -maxSkew {
		return signer{}, errorf(CodeSignatureExpire, "Signature expired. Timestamp and server time cannot differ by more than five minutes.")
	}
	cred, ok := e.credential(auth.SecretID)
	if !ok {
		return signer{}, errorf(CodeSecretIDNotFound, "The SecretId is not found, please ensure that your SecretId is correct.")
	}
	hostname := r.Host
	if hn, _, err := net.SplitHostPort(r.Host); err == nil {
		hostname = hn
	}
	rec.Account = cred.Account
	s := signer{secretID: auth.SecretID, account: cred.Account, service: auth.Service}
	if hs, hi, ok := hostService(hostname); ok {
		s.service, s.intl = hs, hi
	}
	rec.Service = s.service
	payloadHash := sha256Hex(body)
	if r.Header.Get("X-TC-Content-SHA256") == "UNSIGNED-PAYLOAD" {
		payloadHash = sha256Hex([]byte("UNSIGNED-PAYLOAD"))
	}
	canon := canonicalRequest(r.Method, auth.SignedHeaders, func(name string) string {
		if name == "host" {
			return r.Host
		}
		return r.Header.Get(name)
	}, payloadHash)
	// The server signs with its own view of the date and service; a scope that disagrees fails.
	date := signedAt.UTC().Format(time.DateOnly)
	want := signature(cred.SecretKey, date, s.service, stringToSign(tsText, date+"/"+s.service+"/tc3_request", canon))
	if !hmac.Equal([]byte(want), []byte(auth.Signature)) || auth.Date != date || auth.Service != s.service {
		return signer{}, errorf(CodeSignatureFailure, "The provided credentials could not be validated. Please check your signature is correct.")
	}
	if tok := r.Header.Get("X-TC-Token"); tok != cred.Token {
		return signer{}, errorf(CodeTokenFailure, "The token is invalid or does not match the SecretId.")
	}
	return s, nil
}

// resolve finds the call's action and checks its version and region.
func (e *Emulator) resolve(service string, rec *Request, intl bool) (tcapi.Action, *apiError) {
	action, ok := findAction(service, rec.Action)
	switch {
	case !ok:
		return action, errorf(CodeInvalidAction, "The action `%s` is not found for service `%s`.", rec.Action, service)
	case rec.Version != action.Version:
		return action, errorf(CodeNoSuchVersion, "The version `%s` of action `%s` does not exist.", rec.Version, rec.Action)
	case action == tcapi.DescribeTrtcInteractiveTime && e.cfg.InteractiveTimeOffline:
		return action, errorf(CodeActionOffline, "接口已下线 (the action DescribeTrtcInteractiveTime is offline).")
	}
	return action, checkRegion(action, rec.Region, intl || e.cfg.International)
}

// hostService returns the service named by a <service>[.intl|.<region>].tencentcloudapi.com host.
func hostService(hostname string) (service string, intl bool, ok bool) {
	hn := strings.ToLower(strings.TrimSuffix(hostname, "."))
	rest, found := strings.CutSuffix(hn, ".tencentcloudapi.com")
	if !found || rest == "" {
		return "", false, false
	}
	labels := strings.Split(rest, ".")
	return labels[0], len(labels) > 1 && labels[1] == "intl", true
}

// findAction returns the emulated action named name in service.
func findAction(service, name string) (tcapi.Action, bool) {
	for _, a := range tcapi.Actions() {
		if a.Service == service && a.Name == name {
			return a, true
		}
	}
	return tcapi.Action{}, false
}

// checkRegion applies the region rules of an action; intl is true for a call to the
// international site.
func checkRegion(a tcapi.Action, region string, intl bool) *apiError {
	if a.Region == "" {
		if region != "" && !slices.Contains(knownRegions, region) {
			return errorf(CodeUnsupportedRegion, "The region `%s` is not supported.", region)
		}
		return nil
	}
	if region == "" {
		return errorf(CodeMissingParameter, "The request is missing a required parameter `Region`.")
	}
	allowed := []string{a.Region}
	if intl {
		allowed = a.Regions() // DescribeTrtcRoomUsage: also ap-singapore
	}
	if !slices.Contains(allowed, region) {
		return errorf(CodeUnsupportedRegion, "The action `%s` does not support region `%s` (supported: %s).", a.Name, region, strings.Join(allowed, ", "))
	}
	return nil
}

// credential returns the configured key with the given SecretId.
func (e *Emulator) credential(id string) (Credential, bool) {
	for _, c := range e.cfg.Credentials {
		if c.SecretID == id {
			return c, true
		}
	}
	return Credential{}, false
}

// allow applies the documented rate limit of the call's action (tcapi.Action.Limit, a token bucket
// holding Calls tokens) for its account: every key of an account draws on the same bucket.
func (e *Emulator) allow(c *call) *apiError {
	if e.cfg.NoRateLimits {
		return nil
	}
	limit := c.action.Limit
	key := c.account + "\x00" + c.action.String()
	if e.cfg.RoomUsageLimitPerApp && c.action == tcapi.DescribeTrtcRoomUsage {
		key += "\x00" + c.app
	}
	e.limMu.Lock()
	lim, ok := e.lims[key]
	if !ok {
		scaled := time.Duration(float64(limit.Per) * e.cfg.TimeScale)
		lim = rate.NewLimiter(rate.Every(scaled/time.Duration(limit.Calls)), limit.Calls)
		e.lims[key] = lim
	}
	e.limMu.Unlock()
	if lim.AllowN(e.cfg.WallClock(), 1) {
		return nil
	}
	if c.action == tcapi.DescribeTrtcRoomUsage {
		return errorf(CodeFreqOverLimit, "请求频率超限，请稍后再试 (one call per 15 s).")
	}
	return errorf(CodeRequestLimitExceeded, "Your request frequency exceeds the limit of %d per %s for action %s.", limit.Calls, limit.Per, c.action.Name)
}

// dispatch answers an authenticated, admitted call: a matching seed fixture, else the action.
func (e *Emulator) dispatch(c *call, body []byte) answer {
	var s schema
	switch c.action {
	case tcapi.DescribeTelCallInfo:
		s = telCallSchema
	case tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage:
		s = trtcDatesSchema
	case tcapi.DescribeTrtcRoomUsage:
		s = roomUsageSchema
	case tcapi.ChannelDescribeBillUsageDetail:
		s = billUsageSchema
	}
	params, aerr := parseParams(body, s)
	if aerr != nil {
		return errorAnswer(c.requestID, aerr)
	}
	if fx := e.fixtures.lookup(c.action.Name, params); fx != nil {
		return fixtureAnswer(fx)
	}
	var resp any
	switch c.action {
	case tcapi.DescribeTelCallInfo:
		resp, aerr = e.telCall(c, params)
	case tcapi.DescribeTrtcInteractiveTime:
		resp, aerr = e.interactiveTime(c, params)
	case tcapi.DescribeTrtcUsage:
		resp, aerr = e.trtcUsage(c, params)
	case tcapi.DescribeTrtcRoomUsage:
		resp, aerr = e.roomUsage(c, params)
	case tcapi.ChannelDescribeBillUsageDetail:
		resp, aerr = e.billUsage(c, params)
	}
	if aerr != nil {
		return errorAnswer(c.requestID, aerr)
	}
	return answer{body: encodeResponse(resp), requestID: c.requestID}
}

// encodeResponse renders {"Response": resp} without HTML escaping.
func encodeResponse(resp any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(struct {
		Response any `json:"Response"`
	}{resp}); err != nil {
		// Responses are plain structs of strings and numbers; this cannot happen.
		panic(fmt.Sprintf("emulator: encode response: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// errorAnswer renders an error answer.
func errorAnswer(reqID string, err *apiError) answer {
	body := encodeResponse(struct {
		Error     *apiError `json:"Error"`
		RequestID string    `json:"RequestId"`
	}{err, reqID})
	return answer{body: body, code: err.Code, requestID: reqID}
}

// fixtureAnswer renders a fixture's response object.
func fixtureAnswer(resp []byte) answer {
	var meta struct {
		Error     *apiError `json:"Error"`
		RequestID string    `json:"RequestId"`
	}
	_ = json.Unmarshal(resp, &meta) // fixtures are validated by the tests
	a := answer{body: []byte(`{"Response":` + string(resp) + `}`), requestID: meta.RequestID}
	if meta.Error != nil {
		a.code = meta.Error.Code
	}
	return a
}

// newRequestID returns a random version-4 UUID.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
