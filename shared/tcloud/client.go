package tcloud

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
	"golang.org/x/time/rate"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/remote"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// Client calls Tencent Cloud API 3.0 actions with signing, pacing and retries. It is safe for
// concurrent use; create one per process so that all goroutines share its rate limiters.
type Client struct {
	creds     *credential.Source
	host      string // SDK HttpProfile.Endpoint; empty for <service>.<rootDomain>
	scheme    string
	root      string
	language  string
	region    string // X-TC-Region for actions that require one ("" = their default)
	timeout   time.Duration
	latency   time.Duration
	retry     RetryPolicy
	limits    map[string]Limit
	perApp    map[string]bool // actions paced per app of the request (Config.PerApp)
	logger    *slog.Logger
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	transport http.RoundTripper

	mu        sync.Mutex
	sdk       map[string]sdkClient     // by region
	limiters  map[string]*rate.Limiter // by pacing key (see paceKey)
	lastCall  map[string]time.Time     // by pacing key: when the last attempt took its token
	notBefore map[string]time.Time     // by pacing key: no attempt before (a hand-over)
	stats     Stats
}

// New validates cfg, fills in the documented defaults and returns a Client.
func New(cfg Config) (*Client, error) {
	src := cfg.Source
	if src == nil {
		var err error
		if src, err = credential.NewSource(cfg.Credentials, nil); err != nil {
			return nil, fmt.Errorf("new tencent cloud client: %w", err)
		}
	}
	if common.DefaultHttpClient != nil {
		// The SDK would share (and reconfigure) that global client instead of ours.
		return nil, errors.New("new tencent cloud client: common.DefaultHttpClient must be nil")
	}
	c := &Client{
		creds:    src,
		scheme:   "https",
		root:     cfg.RootDomain,
		language: cfg.Language,
		region:   cfg.Region,
		timeout:  cfg.Timeout,
		latency:  max(cfg.Latency, 0),
		retry:    cfg.Retry,
		logger:   cfg.Logger,
		now:      cfg.Now,
		sleep:    cfg.Sleep,
		limits:   DefaultLimits(),
		perApp:   maps.Clone(cfg.PerApp),
		sdk:      map[string]sdkClient{},
		limiters: map[string]*rate.Limiter{},
		lastCall: map[string]time.Time{}, notBefore: map[string]time.Time{},
		stats: Stats{ByCode: map[string]int64{}},
	}
	if cfg.Endpoint != "" {
		host, scheme, err := parseEndpoint(cfg.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("new tencent cloud client: endpoint: %w", err)
		}
		c.host, c.scheme = host, scheme
	}
	if c.root == "" {
		c.root = DefaultRootDomain
	} else if err := checkRootDomain(c.root); err != nil {
		return nil, fmt.Errorf("new tencent cloud client: root domain %q: %w", c.root, err)
	}
	if c.language == "" {
		c.language = DefaultLanguage
	}
	if c.region != "" && !slices.Contains(tcapi.APIRegions(), c.region) {
		return nil, fmt.Errorf("new tencent cloud client: region %q: want one of %s", c.region, strings.Join(tcapi.APIRegions(), ", "))
	}
	switch {
	case c.timeout < 0:
		return nil, fmt.Errorf("new tencent cloud client: negative timeout %s", c.timeout)
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	}
	if c.retry.MaxAttempts < 0 || c.retry.BaseDelay < 0 || c.retry.MaxDelay < 0 {
		return nil, fmt.Errorf("new tencent cloud client: negative retry setting %+v", c.retry)
	}
	if c.retry.MaxAttempts == 0 {
		c.retry.MaxAttempts = DefaultMaxAttempts
	}
	if c.retry.BaseDelay == 0 {
		c.retry.BaseDelay = DefaultBaseDelay
	}
	if c.retry.MaxDelay == 0 {
		c.retry.MaxDelay = DefaultMaxDelay
	}
	for name, l := range cfg.Limits {
		if l.Burst < 0 {
			return nil, fmt.Errorf("new tencent cloud client: limit for %s: negative burst %d", name, l.Burst)
		}
		c.limits[name] = l
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.sleep == nil {
		c.sleep = Sleep
	}
	base := cfg.Transport
	if base == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.IdleConnTimeout = 30 * time.Second
		base = t
	}
	c.transport = statusRecorder{next: base}
	return c, nil
}

// Sleep waits d or until ctx is done (its error then): the client's pause between attempts and
// pacing slots, and the default Config.Sleep.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Call sends action a with request body req (a tcapi request struct, marshalled with
// encoding/json; nil sends {}) and decodes the content of {"Response":{...}} into resp, a
// non-nil pointer to a tcapi response struct. Every attempt waits for the action's rate limiter
// and is signed afresh. Retryable failures (see Retryable) are retried with backoff within
// Config.Retry and ctx: Call never sleeps past ctx's deadline and returns promptly when ctx ends.
// A failure is an *APIError (use errors.As), possibly wrapped together with ctx's error.
func (c *Client) Call(ctx context.Context, a tcapi.Action, req, resp any) error {
	if a.Service == "" || a.Version == "" || a.Name == "" {
		return fmt.Errorf("call %q: action needs Service, Version and Name", a.String())
	}
	if rv := reflect.ValueOf(resp); resp == nil || rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("call %s: resp must be a non-nil pointer, got %T", a.Name, resp)
	}
	if a.Region != "" && !a.ServesRegion(c.region) {
		return fmt.Errorf("call %s: region %s is not served (only %s)", a.Name, c.region, strings.Join(a.Regions(), ", "))
	}
	body := []byte("{}")
	if req != nil {
		b, err := json.Marshal(req)
		if err != nil {
			return fmt.Errorf("call %s: marshal request: %w", a.Name, err)
		}
		switch {
		case string(b) == "null":
		case len(b) > 0 && b[0] == '{':
			body = b
		default:
			return fmt.Errorf("call %s: request %T does not marshal to a JSON object", a.Name, req)
		}
	}

	c.count(func(s *Stats) { s.Calls++ })
	key := c.paceKey(a, req)
	lim, limit := c.limiter(a.Name, key)
	var last *APIError
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return c.fail(stop(a, "context ended", err, last))
		}
		// Before pacing, so that unusable credentials cost neither a wait nor the rate limit.
		if _, err := c.creds.Get(); err != nil {
			return c.fail(fmt.Errorf("call %s: %w", a.Name, err))
		}
		if err := c.pace(ctx, a, key, lim, last); err != nil {
			return c.fail(err)
		}
		// Again after pacing: the credentials may have been refreshed, refused or expired while
		// this call waited.
		cr, err := c.creds.Get()
		if err != nil {
			return c.fail(fmt.Errorf("call %s: %w", a.Name, err))
		}
		c.count(func(s *Stats) { s.Attempts++ })
		ae := c.attempt(ctx, a, body, resp, cr)
		if ae == nil {
			c.count(func(s *Stats) { s.Succeeded++ })
			return nil
		}
		ae.Attempts = n
		last = ae
		c.count(func(s *Stats) { s.ByCode[ae.Code]++ })
		if err := ctx.Err(); err != nil {
			return c.fail(stop(a, "context ended", err, ae))
		}
		if !retryableCode(ae.Code, ae.HTTPStatus) || n >= c.retry.MaxAttempts {
			c.logger.Debug("tencent cloud api call failed", "action", a.Name, "code", ae.Code,
				"request_id", ae.RequestID, "http_status", ae.HTTPStatus, "attempts", n)
			return c.fail(ae)
		}
		delay := c.backoff(n, ae.Code, limit)
		if dl, ok := ctx.Deadline(); ok && c.now().Add(delay).After(dl) {
			return c.fail(stop(a, fmt.Sprintf("not retrying: waiting %s would pass the context deadline", delay.Round(time.Millisecond)),
				context.DeadlineExceeded, ae))
		}
		c.logger.Warn("tencent cloud api retry", "action", a.Name, "code", ae.Code, "message", ae.Message,
			"request_id", ae.RequestID, "http_status", ae.HTTPStatus, "attempt", n, "delay", delay)
		c.count(func(s *Stats) { s.Retries++; s.BackoffWait += delay })
		if err := c.sleep(ctx, delay); err != nil {
			return c.fail(stop(a, "context ended during backoff", err, ae))
		}
	}
}

// stop builds the error for a call ended by its context; it wraps both cause and last.
func stop(a tcapi.Action, why string, cause error, last *APIError) error {
	if last == nil {
		return fmt.Errorf("call %s: %s: %w", a.Name, why, cause)
	}
	return fmt.Errorf("call %s: %s: %w; last error: %w", a.Name, why, cause, last)
}

func (c *Client) fail(err error) error {
	c.count(func(s *Stats) { s.Failed++ })
	return err
}

// backoff returns the delay before attempt n+1: full jitter over the exponential ceiling, and
// at least the pacing interval after a rate-limit error.
func (c *Client) backoff(n int, code string, limit Limit) time.Duration {
	ceiling := c.retry.MaxDelay
	if shift := n - 1; shift < 32 {
		if d := c.retry.BaseDelay << shift; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	delay := time.Duration(rand.Int64N(int64(ceiling) + 1))
	if isRateLimitCode(code) && delay < limit.Every {
		delay = limit.Every
	}
	return delay
}

// paceKey is what a call of a is paced by: the action, counted per account as Tencent documents
// its limits; or the action and the request's app for an action paced per app (Config.PerApp).
func (c *Client) paceKey(a tcapi.Action, req any) string {
	if c.perApp[a.Name] {
		if ar, ok := req.(tcapi.AppRequest); ok {
			return a.Name + "/" + ar.RequestApp()
		}
	}
	return a.Name
}

// actionOfKey is the action name of a pacing key.
func actionOfKey(key string) string {
	name, _, _ := strings.Cut(key, "/")
	return name
}

// limiter returns the shared limiter of a pacing key of action name, creating it on first use.
func (c *Client) limiter(name, key string) (*rate.Limiter, Limit) {
	c.mu.Lock()
	defer c.mu.Unlock()
	l, ok := c.limits[name]
	if !ok {
		l = c.limits[DefaultLimitKey]
	}
	if lim, ok := c.limiters[key]; ok {
		return lim, l
	}
	burst := max(l.Burst, 1)
	r := rate.Inf
	if l.Every > 0 {
		r = rate.Every(l.Every)
	}
	lim := rate.NewLimiter(r, burst)
	c.limiters[key] = lim
	return lim, l
}

// pace takes one token from lim, waiting for it unless the wait plus the expected latency would
// pass ctx's deadline: then the attempt is not started.
func (c *Client) pace(ctx context.Context, a tcapi.Action, key string, lim *rate.Limiter, last *APIError) error {
	if err := c.waitHandOver(ctx, a, key, last); err != nil {
		return err
	}
	now := c.now()
	r := lim.ReserveN(now, 1)
	if !r.OK() {
		return fmt.Errorf("call %s: rate limiter refused a token", a.Name)
	}
	d := max(r.DelayFrom(now), 0)
	if dl, ok := ctx.Deadline(); ok && now.Add(d+c.latency).After(dl) {
		r.CancelAt(now)
		return stop(a, fmt.Sprintf("pacing wait of %s and an answer would pass the context deadline", d.Round(time.Millisecond)), context.DeadlineExceeded, last)
	}
	if d > 0 {
		c.count(func(s *Stats) { s.PacingWait += d })
		if err := c.sleep(ctx, d); err != nil {
			r.CancelAt(c.now())
			return stop(a, "context ended while pacing", err, last)
		}
	}
	return c.space(ctx, a, key, last)
}

// space keeps calls of a pacing key (an action, or an action's app) at least its interval apart
// by the time they are actually sent, and records the send: the limiter spaces the times it
// hands out, but a sleep that overruns (a busy machine, a pause) would send one call late and the
// next on time, closer than the service counts (room usage: one call per 15 s, each refused call
// losing a slot). Actions allowed a burst keep the limiter's spacing only.
func (c *Client) space(ctx context.Context, a tcapi.Action, key string, last *APIError) error {
	_, limit := c.limiter(a.Name, key)
	for {
		c.mu.Lock()
		now := c.now()
		prev, ok := c.lastCall[key]
		wait := time.Duration(0)
		if ok && limit.Burst <= 1 {
			wait = prev.Add(limit.Every).Sub(now)
		}
		if wait <= 0 {
			c.lastCall[key] = now
			c.mu.Unlock()
			return nil
		}
		c.mu.Unlock()
		c.count(func(s *Stats) { s.PacingWait += wait })
		if err := c.sleep(ctx, wait); err != nil {
			return stop(a, "context ended while pacing", err, last)
		}
	}
}

// waitHandOver waits until the time NotBefore set for the pacing key (or its whole action), if
// any: another process's last call must be an interval ago before this one calls.
func (c *Client) waitHandOver(ctx context.Context, a tcapi.Action, key string, last *APIError) error {
	c.mu.Lock()
	nb := c.notBefore[key]
	if t := c.notBefore[a.Name]; t.After(nb) {
		nb = t
	}
	c.mu.Unlock()
	now := c.now()
	d := nb.Sub(now)
	if d <= 0 {
		return nil
	}
	if dl, ok := ctx.Deadline(); ok && now.Add(d+c.latency).After(dl) {
		return stop(a, fmt.Sprintf("waiting %s for the previous writer's pacing would pass the context deadline", d.Round(time.Millisecond)), context.DeadlineExceeded, last)
	}
	c.count(func(s *Stats) { s.PacingWait += d })
	if err := c.sleep(ctx, d); err != nil {
		return stop(a, "context ended while pacing", err, last)
	}
	return nil
}

// NextCalls tells, for every action this client has called, when its next call may go at the
// action's pacing: the hand-over a writer leaves to the next one (who passes it to NotBefore), so
// that two processes one after the other stay within the per-account rate limit. Keys are action
// names, or "<action>/<app>" for an action paced per app.
func (c *Client) NextCalls() map[string]time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]time.Time{}
	for key, t := range c.lastCall {
		l, ok := c.limits[actionOfKey(key)]
		if !ok {
			l = c.limits[DefaultLimitKey]
		}
		out[key] = t.Add(l.Every).UTC()
	}
	return out
}

// NotBefore makes the client wait, for each action (or "<action>/<app>"), until the given time
// before its next call (see NextCalls); a time for an action holds every app of it. Earlier times
// than the client's own pacing change nothing.
func (c *Client) NotBefore(next map[string]time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, t := range next {
		if t.After(c.notBefore[name]) {
			c.notBefore[name] = t
		}
	}
}

// regionFor returns the X-TC-Region of a call of a: the configured region for an action that
// requires one, when set; else the action's own ("" for none).
func (c *Client) regionFor(a tcapi.Action) string {
	if a.Region != "" && c.region != "" {
		return c.region
	}
	return a.Region
}

// sdkClient is an SDK client and the credentials it signs with (the SDK client holds them).
type sdkClient struct {
	client *common.Client
	creds  credential.Credentials
}

// sdkClient returns the SDK client for a region ("" = no X-TC-Region header) signing with cr; a
// rotation builds new ones.
func (c *Client) sdkClient(region string, cr credential.Credentials) *common.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sc, ok := c.sdk[region]; ok && sc.creds.Same(cr) {
		return sc.client
	}
	p := profile.NewClientProfile()
	p.HttpProfile.ReqMethod = http.MethodPost
	p.HttpProfile.ReqTimeout = 0 // each attempt is bounded by its context instead
	p.HttpProfile.Scheme = c.scheme
	p.HttpProfile.Endpoint = c.host
	p.HttpProfile.RootDomain = c.root
	p.Language = c.language
	p.DisableRegionBreaker = true
	p.NetworkFailureMaxRetries = 0
	p.RateLimitExceededMaxRetries = 0
	cred := common.NewTokenCredential(cr.SecretID, cr.SecretKey, cr.Token)
	sc := common.NewCommonClient(cred, region, p).WithHttpTransport(c.transport)
	c.sdk[region] = sdkClient{client: sc, creds: cr}
	return sc
}

// attempt sends one freshly built request, signed with cr.
func (c *Client) attempt(ctx context.Context, a tcapi.Action, body []byte, out any, cr credential.Credentials) *APIError {
	actx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	info := &attemptInfo{target: out}
	actx = context.WithValue(actx, attemptKey{}, info)

	req := &apiRequest{BaseRequest: &tchttp.BaseRequest{}, body: body}
	req.Init().WithApiInfo(a.Service, a.Version, a.Name)
	req.SetContext(actx)
	// The SDK signs with the X-TC-Timestamp header when the request carries one; setting it
	// from the injected clock keeps signing and pacing on one time source.
	req.SetHeader(map[string]string{"X-TC-Timestamp": strconv.FormatInt(c.now().Unix(), 10)})
	resp := &apiResponse{BaseResponse: &tchttp.BaseResponse{}, target: out, info: info}

	err := c.sdkClient(c.regionFor(a), cr).Send(req, resp)
	ae := &APIError{Action: a.Name, HTTPStatus: info.status()}
	switch {
	case err == nil && resp.decodeErr != nil:
		ae.Code, ae.Message = CodeDecodeError, cleanMessage(resp.decodeErr.Error(), cr)
		ae.RequestID = info.requestID()
	case err == nil && !resp.seen:
		ae.Code, ae.Message = CodeParseJSONError, "response has no Response object"
		ae.RequestID = info.requestID()
	case err == nil:
		c.boundRequestID(out, cr)
		return nil
	default:
		var se *tcerr.TencentCloudSDKError
		if errors.As(err, &se) {
			ae.Code, ae.Message, ae.RequestID, ae.cause = se.Code, cleanMessage(se.Message, cr), se.RequestId, se.Unwrap()
			if ae.cause != nil {
				ae.Message = cleanMessage(se.Message+": "+ae.cause.Error(), cr)
			}
		} else {
			ae.Code, ae.Message, ae.cause = CodeIOError, cleanMessage(err.Error(), cr), err
		}
		if actx.Err() != nil && ctx.Err() == nil {
			ae.Code, ae.Message, ae.cause = CodeNetworkError, fmt.Sprintf("attempt timed out after %s", c.timeout), ErrAttemptTimeout
		}
	}
	// The code and request ID came from the remote: bounded like the message before anything
	// logs, answers or stores them.
	ae.Code, ae.RequestID = remote.Code(cr.Scrub(ae.Code)), remote.ID(cr.Scrub(ae.RequestID))
	if ae.Code == CodeTokenFailure && cr.Token != "" {
		// The session token is refused (expired or revoked): every client sharing the credentials
		// stops using it, rather than each finding out with calls of its own.
		c.creds.Reject(cr, ae.Code)
	}
	return ae
}

// boundRequestID bounds the request ID a successful answer put into out (every tcapi response
// has a RequestID field), as attempt bounds an error's.
func (c *Client) boundRequestID(out any, cr credential.Credentials) {
	v := reflect.ValueOf(out).Elem()
	if v.Kind() != reflect.Struct {
		return
	}
	if f := v.FieldByName("RequestID"); f.IsValid() && f.Kind() == reflect.String && f.CanSet() {
		f.SetString(remote.ID(cr.Scrub(f.String())))
	}
}

// Credentials returns the source the client signs with: the one it shares with the COS store,
// where a rotation (SCF renews run-role keys while a warm instance lives on) is set once for both.
func (c *Client) Credentials() *credential.Source { return c.creds }

// apiRequest is the SDK request: BaseRequest supplies the plumbing, body the JSON payload.
type apiRequest struct {
	*tchttp.BaseRequest
	body []byte
}

// MarshalJSON returns the pre-marshalled payload (the SDK marshals the request to sign and send it).
func (r *apiRequest) MarshalJSON() ([]byte, error) { return r.body, nil }

// apiResponse decodes {"Response": ...} straight into the caller's struct: no intermediate map,
// and integers stay integers. BaseResponse supplies ParseErrorFromHTTPResponse.
type apiResponse struct {
	*tchttp.BaseResponse
	target    any
	info      *attemptInfo // set when the transport may have decoded the answer already
	seen      bool
	decodeErr error
}

// UnmarshalJSON decodes the Response member into the target.
func (r *apiResponse) UnmarshalJSON(b []byte) error {
	env := struct {
		Response responseField `json:"Response"`
	}{responseField{r}}
	return json.Unmarshal(b, &env)
}

type responseField struct{ r *apiResponse }

// UnmarshalJSON decodes into the target; a decode error is kept aside so that the SDK does not
// turn it into a message quoting the whole body.
func (f responseField) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		return nil
	}
	f.r.seen = true
	if f.r.info != nil {
		if done, err := f.r.info.predecoded(); done {
			f.r.decodeErr = err
			return nil
		}
	}
	if err := decodeResponse(b, f.r.target); err != nil {
		f.r.decodeErr = err
	}
	return nil
}

// attemptInfo collects what the transport saw of one attempt's response, and carries the
// caller's target so that the transport can decode a large answer itself (see predecode).
type attemptInfo struct {
	target any

	mu        sync.Mutex
	code      int
	header    http.Header
	decoded   bool
	decodeErr error
}

func (i *attemptInfo) predecoded() (bool, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.decoded, i.decodeErr
}

func (i *attemptInfo) status() int {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.code
}

func (i *attemptInfo) requestID() string {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.header.Get("X-TC-RequestId")
}

type attemptKey struct{}

// statusRecorder records the response status of each attempt (the SDK's errors omit it).
type statusRecorder struct{ next http.RoundTripper }

// RoundTrip implements http.RoundTripper.
func (s statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(r)
	if info, ok := r.Context().Value(attemptKey{}).(*attemptInfo); ok && resp != nil {
		info.mu.Lock()
		info.code, info.header = resp.StatusCode, resp.Header
		info.mu.Unlock()
		if err == nil {
			predecode(resp, info)
		}
	}
	return resp, err
}

// String describes the client without its credentials' secrets.
func (c *Client) String() string {
	target := c.scheme + "://" + c.host
	if c.host == "" {
		target = c.scheme + "://<service>." + c.root
	}
	return fmt.Sprintf("tcloud.Client{%s, credentials %s}", target, c.creds.Current())
}

// Format implements fmt.Formatter so that no verb prints the client's fields (which hold the
// credentials) directly.
func (c *Client) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, c.String()) }
