package tcloud

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/endpoint"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvAPIEndpoint   = "TCUSAGE_API_ENDPOINT"
	EnvAPIRootDomain = "TCUSAGE_API_ROOT_DOMAIN"
	EnvAPIRate       = "TCUSAGE_API_RATE"
	EnvAPITimeout    = "TCUSAGE_API_TIMEOUT"
	EnvAPIRegion     = "TCUSAGE_API_REGION"
	// EnvRoomUsageLimit says how DescribeTrtcRoomUsage's one call per 15 s is counted:
	// LimitPerAccount (the default) or LimitPerApp. `tcusage doctor` finds out which.
	EnvRoomUsageLimit = "TCUSAGE_ROOM_USAGE_LIMIT"
)

// The values of TCUSAGE_ROOM_USAGE_LIMIT.
const (
	LimitPerAccount = "per-account"
	LimitPerApp     = "per-app"
)

// Defaults used for zero Config fields.
const (
	DefaultRootDomain  = "tencentcloudapi.com"
	IntlRootDomain     = "intl.tencentcloudapi.com"
	DefaultTimeout     = 30 * time.Second
	DefaultLanguage    = "zh-CN"
	DefaultMaxAttempts = 6
	DefaultBaseDelay   = 200 * time.Millisecond
	DefaultMaxDelay    = 20 * time.Second
)

// DefaultLimitKey is the Limits key whose Limit applies to actions without their own entry.
const DefaultLimitKey = "*"

// Limit paces one action: at most one request per Every, with up to Burst requests at once.
// Every <= 0 means no pacing; Burst < 1 means 1.
type Limit struct {
	Every time.Duration
	Burst int
}

// DefaultLimits returns the documented rate limit of every action tcusage calls (tcapi.Action's
// Limit) as evenly spaced calls (burst 1), plus the DefaultLimitKey entry (tcapi.DefaultRate) for
// any other action.
func DefaultLimits() map[string]Limit {
	out := map[string]Limit{DefaultLimitKey: {Every: tcapi.DefaultRate.Every(), Burst: 1}}
	for _, a := range tcapi.Actions() {
		out[a.Name] = Limit{Every: Pacing(a), Burst: 1}
	}
	return out
}

// Pacing is the default interval between calls of a: its documented limit, plus 1 % for actions
// allowed one call per second or fewer (room usage: 15.15 s instead of 15 s). The service counts
// calls as they arrive; calls sent exactly an interval apart arrive closer by the network's
// jitter now and then, and a refused call costs a whole slot and a backoff. 1 % (150 ms at 15 s)
// is more than a kept-alive connection's usual jitter, and costs 57 of room usage's 5,760 calls a
// day.
func Pacing(a tcapi.Action) time.Duration {
	every := a.Limit.Every()
	if every >= time.Second {
		every += every / 100
	}
	return every
}

// RetryPolicy bounds retries: at most MaxAttempts attempts per Call (0 = DefaultMaxAttempts,
// 1 = no retry), with full-jitter exponential backoff: before retry n the delay is uniform in
// [0, min(MaxDelay, BaseDelay*2^(n-1))] (0 = DefaultBaseDelay / DefaultMaxDelay). After a
// rate-limit error the delay is at least the action's pacing interval.
type RetryPolicy struct {
	MaxAttempts int
	BaseDelay   time.Duration
	MaxDelay    time.Duration
}

// Config configures a Client. The zero value of every field except Source or Credentials is
// usable.
type Config struct {
	// Source provides the credentials of every request, read at each attempt: share it with the
	// COS store so that both see a rotation, a failed refresh or an expiry at once. Nil: a Source
	// holding Credentials.
	Source *credential.Source

	// Credentials sign every request when Source is nil (see credential.Load).
	Credentials credential.Credentials

	// Endpoint, when set, replaces <service>.<RootDomain> for every service. Accepted forms:
	// "host[:port]" and "http://host[:port]" or "https://host[:port]". A bare host[:port] uses
	// HTTPS unless the host is loopback (127.0.0.0/8, ::1, localhost), where it uses plain HTTP.
	// Empty: the real service endpoints.
	Endpoint string

	// RootDomain is the domain under which <service>.<RootDomain> is built when Endpoint is empty.
	// Empty: DefaultRootDomain; IntlRootDomain selects the international site.
	RootDomain string

	// Transport carries the HTTP requests (tests inject one). Nil: a clone of
	// http.DefaultTransport owned by the Client.
	Transport http.RoundTripper

	// Region is sent as X-TC-Region to the actions that require a region (the TRTC actions), in
	// place of their default (tcapi.Action.Region). It must be one the action serves
	// (tcapi.Action.Regions), or the call fails without being sent. Actions that take no region
	// (CCC, ESS) are sent none. Empty: each action's default.
	Region string

	// Timeout bounds each attempt, including reading the body. Zero: DefaultTimeout.
	Timeout time.Duration

	// Latency is a typical answer time. An attempt whose pacing wait plus Latency would pass the
	// context's deadline is not started: its answer could not arrive in time, and the call would
	// only spend the rate limit. Zero: no allowance.
	Latency time.Duration

	// Limits overrides pacing per action name (DefaultLimitKey for all others). Entries are
	// merged over DefaultLimits; nil keeps the defaults.
	Limits map[string]Limit

	// PerApp names the actions whose rate limit is counted per app rather than per account: each
	// app a request names (tcapi.AppRequest) is paced on its own, at the action's Limit. Nil:
	// every action is paced per account, as Tencent documents its limits.
	PerApp map[string]bool

	// Retry bounds retries; the zero value means the defaults documented on RetryPolicy.
	Retry RetryPolicy

	// Logger receives retry and failure logs (never credentials). Nil: discard.
	Logger *slog.Logger

	// Language is sent as X-TC-Language ("zh-CN" or "en-US"). Empty: DefaultLanguage.
	Language string

	// Now is the clock used for pacing, backoff deadline checks and X-TC-Timestamp. Nil: time.Now.
	Now func() time.Time

	// Sleep waits d or until ctx is done (returning ctx.Err()). Nil: a timer. Tests pair a fake
	// Sleep with a fake Now to run backoff and pacing without waiting.
	Sleep func(ctx context.Context, d time.Duration) error
}

// Every returns the interval between calls of action a at the configured pacing (of one app, for
// an action paced per app): the Limits entry for a, else Pacing(a).
func (cfg Config) Every(a tcapi.Action) time.Duration {
	if l, ok := cfg.Limits[a.Name]; ok {
		return l.Every
	}
	return Pacing(a)
}

// ConfigFromEnv builds a Config from TCUSAGE_API_ENDPOINT, TCUSAGE_API_ROOT_DOMAIN,
// TCUSAGE_API_RATE (e.g. "DescribeTrtcRoomUsage=1/15s,DescribeTelCallInfo=20/s", "*" for all
// other actions), TCUSAGE_API_TIMEOUT (a Go duration such as "45s") and TCUSAGE_API_REGION (a
// region some action serves: tcapi.APIRegions; whether the function's own actions serve it is
// for the caller to check, with CheckRegion). Unset variables keep the defaults. It does not load
// credentials; the caller sets Config.Credentials.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	var cfg Config
	if v := getenv(EnvAPIEndpoint); v != "" {
		if _, _, err := parseEndpoint(v); err != nil {
			return Config{}, fmt.Errorf("%s=%s: %w", EnvAPIEndpoint, endpoint.Shown(v), err)
		}
		cfg.Endpoint = v
	}
	if v := getenv(EnvAPIRootDomain); v != "" {
		if err := checkRootDomain(v); err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", EnvAPIRootDomain, v, err)
		}
		cfg.RootDomain = v
	}
	if v := getenv(EnvAPIRate); v != "" {
		limits, err := ParseRates(v)
		if err != nil {
			return Config{}, fmt.Errorf("%s=%q: %w", EnvAPIRate, v, err)
		}
		cfg.Limits = limits
	}
	if v := strings.TrimSpace(getenv(EnvAPIRegion)); v != "" {
		if !slices.Contains(tcapi.APIRegions(), v) {
			return Config{}, fmt.Errorf("%s=%q: want one of %s", EnvAPIRegion, clipRegion(v), strings.Join(tcapi.APIRegions(), ", "))
		}
		cfg.Region = v
	}
	switch v := strings.TrimSpace(getenv(EnvRoomUsageLimit)); v {
	case "", LimitPerAccount:
	case LimitPerApp:
		cfg.PerApp = map[string]bool{tcapi.DescribeTrtcRoomUsage.Name: true}
	default:
		return Config{}, fmt.Errorf("%s: want %s (the default) or %s", EnvRoomUsageLimit, LimitPerAccount, LimitPerApp)
	}
	if v := getenv(EnvAPITimeout); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return Config{}, fmt.Errorf("%s=%q: want a positive duration such as 30s", EnvAPITimeout, v)
		}
		cfg.Timeout = d
	}
	return cfg, nil
}

var actionNameRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9]*|\*)$`)

// ParseRates parses comma-separated "Action=N/period" entries, where period is a unit ("s",
// "m", "h") or a Go duration ("15s", "500ms"): "DescribeTrtcRoomUsage=1/15s" allows one request
// every 15 s, "DescribeTelCallInfo=20/s" one every 50 ms. Every Limit has burst 1. The action
// "*" sets the limit of actions without their own entry.
func ParseRates(s string) (map[string]Limit, error) {
	out := map[string]Limit{}
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		name, rate, ok := strings.Cut(entry, "=")
		name, rate = strings.TrimSpace(name), strings.TrimSpace(rate)
		if !ok || !actionNameRE.MatchString(name) {
			return nil, fmt.Errorf("entry %q: want Action=N/period", entry)
		}
		count, period, ok := strings.Cut(rate, "/")
		n, err := strconv.Atoi(strings.TrimSpace(count))
		if !ok || err != nil || n <= 0 {
			return nil, fmt.Errorf("entry %q: want a positive count before /", entry)
		}
		period = strings.TrimSpace(period)
		if period != "" && (period[0] < '0' || period[0] > '9') {
			period = "1" + period
		}
		d, err := time.ParseDuration(period)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("entry %q: want a period such as s, m or 15s after /", entry)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("entry %q: %s given twice", entry, name)
		}
		out[name] = Limit{Every: d / time.Duration(n), Burst: 1}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no Action=N/period entries")
	}
	return out, nil
}

// parseEndpoint splits an endpoint into the SDK's host[:port] and scheme ("http" or "https"): a
// bare host[:port] means HTTPS, except on loopback.
func parseEndpoint(s string) (host, scheme string, err error) {
	e, err := endpoint.Parse(s)
	if err != nil {
		return "", "", err
	}
	switch {
	case e.Scheme != "":
		return e.Host, e.Scheme, nil
	case e.Loopback():
		return e.Host, "http", nil
	}
	return e.Host, "https", nil
}

var domainRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$`)

func checkRootDomain(s string) error {
	if !domainRE.MatchString(s) {
		return fmt.Errorf("want a domain name such as %s (no scheme, port or path)", DefaultRootDomain)
	}
	return nil
}

// CheckRegion returns an error naming TCUSAGE_API_REGION when region is set and an action in
// actions that requires a region does not serve it (actions that take no region are sent none).
func CheckRegion(region string, actions ...tcapi.Action) error {
	for _, a := range actions {
		if a.Region != "" && !a.ServesRegion(region) {
			return fmt.Errorf("%s=%q: %s serves only %s", EnvAPIRegion, region, a.Name, strings.Join(a.Regions(), ", "))
		}
	}
	return nil
}

// clipRegion shortens a bad region quoted in an error.
func clipRegion(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
