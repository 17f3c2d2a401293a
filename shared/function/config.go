package function

import (
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // SCF images may lack zoneinfo; Asia/Shanghai must always load.

	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/snapshot/sink"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// Config is a function's configuration, read from environment variables by FromEnv. Fields not
// used by a function are left at their zero values.
type Config struct {
	// SDKAppIDs are the CCC/TRTC applications to export (TCUSAGE_SDK_APP_IDS), each checked
	// with tcapi.ParseSDKAppID and written in its canonical decimal form, in numeric order.
	SDKAppIDs []string
	// ESSAppID is the ESS channel application (TCUSAGE_ESS_APP_ID).
	ESSAppID string
	// ESSOrgOpenIDs are the sub-customers queried one by one (TCUSAGE_ESS_ORG_OPEN_IDS); empty
	// means the whole application in one query.
	ESSOrgOpenIDs []string
	// ESSQuotaType optionally filters ESS records by package type (TCUSAGE_ESS_QUOTA_TYPE).
	ESSQuotaType string
	// TimeZone decides what "yesterday" is and when a new cycle of timer runs begins
	// (TCUSAGE_TIMEZONE, default Asia/Shanghai). Days themselves are always China Standard Time
	// days (APIZone), as the APIs count them.
	TimeZone *time.Location
	// Sink is the snapshot store URL (TCUSAGE_SINK); default sink.DefaultLocalURL outside SCF.
	Sink string
	// Formats to write (TCUSAGE_FORMAT: jsonl, csv, parquet, a comma-separated list, both (csv and
	// jsonl) or all; default both).
	Formats []usage.Format
	// RestateDays is how many days before yesterday each timer run re-fetches, since Tencent's
	// figures settle late (TCUSAGE_RESTATE_DAYS); nil leaves the function's own default
	// (Spec.RestateDays).
	RestateDays *int
	// DaySettles is the time of day, in TimeZone, from which yesterday's figures are fetched: a
	// cycle of timer runs starts then (TCUSAGE_DAY_SETTLES_AT, HH:MM; default 00:00). TRTC
	// advises 09:00.
	DaySettles time.Duration
	// LeaseTTL is how long a run's hold on the dataset lasts without renewal
	// (TCUSAGE_LEASE_TTL, default 60 s): how soon another writer may take over after a crash.
	LeaseTTL time.Duration
	// LateAfter is how long after a day ends it may stay incomplete before status calls it late
	// (TCUSAGE_LATE_AFTER, default 12 h).
	LateAfter time.Duration
	// HTTPTokenSHA256 is the SHA-256 of the bearer token HTTP callers must present
	// (TCUSAGE_HTTP_TOKEN_SHA256, hex). Empty: HTTP is refused.
	HTTPTokenSHA256 []byte
	// TRTCAction chooses the TRTC action (TCUSAGE_TRTC_ACTION: auto, interactive, usage).
	TRTCAction source.TRTCMode
	// Reports renders the daily reports under <prefix>/reports/ after each run's commits
	// (TCUSAGE_REPORTS: on, the default, or off).
	Reports bool
}

// Environment variable names.
const (
	EnvSDKAppIDs     = "TCUSAGE_SDK_APP_IDS"
	EnvESSAppID      = "TCUSAGE_ESS_APP_ID"
	EnvESSOrgOpenIDs = "TCUSAGE_ESS_ORG_OPEN_IDS"
	EnvESSQuotaType  = "TCUSAGE_ESS_QUOTA_TYPE"
	EnvTimeZone      = "TCUSAGE_TIMEZONE"
	EnvSink          = sink.EnvName
	EnvFormat        = "TCUSAGE_FORMAT"
	EnvRestateDays   = "TCUSAGE_RESTATE_DAYS"
	EnvHTTPToken     = "TCUSAGE_HTTP_TOKEN_SHA256"
	EnvTRTCAction    = "TCUSAGE_TRTC_ACTION"
	EnvLeaseTTL      = "TCUSAGE_LEASE_TTL"
	EnvLateAfter     = "TCUSAGE_LATE_AFTER"
	EnvDaySettles    = "TCUSAGE_DAY_SETTLES_AT"
	EnvReports       = "TCUSAGE_REPORTS"
)

// Needs says which application settings a function requires.
type Needs int

// What a function needs.
const (
	NeedSDKApps Needs = iota // telcall, trtcusage, roomusage
	NeedESSApp               // essbill
)

// FromEnv reads and validates the configuration. Every error names the variable and says what
// is wrong with its value. onSCF makes TCUSAGE_SINK required (a function must not write to its
// own ephemeral disk by accident).
func FromEnv(getenv func(string) string, needs Needs, onSCF bool) (Config, error) {
	e := &envReader{getenv: getenv}
	var c Config
	switch needs {
	case NeedSDKApps:
		ids, err := ParseSDKAppIDs(getenv(EnvSDKAppIDs))
		if err != nil {
			e.bad("%s: %v", EnvSDKAppIDs, err)
		}
		c.SDKAppIDs = ids
	case NeedESSApp:
		e.ess(&c)
	}
	e.output(&c, onSCF)
	e.schedule(&c)
	if v := e.get(EnvHTTPToken); v != "" {
		sum, err := hex.DecodeString(v)
		if err != nil || len(sum) != 32 {
			e.bad("%s: want the 64-character hex SHA-256 of the token (for example: printf %%s \"$TOKEN\" | sha256sum)", EnvHTTPToken)
		} else {
			c.HTTPTokenSHA256 = sum
		}
	}
	c.TRTCAction = source.TRTCAuto
	if v := source.TRTCMode(e.get(EnvTRTCAction)); v != "" {
		if !slices.Contains(source.TRTCModes, v) {
			e.bad("%s=%q: want auto, interactive or usage", EnvTRTCAction, clip(string(v)))
		} else {
			c.TRTCAction = v
		}
	}
	if len(e.errs) > 0 {
		return Config{}, &ConfigError{Problems: e.errs}
	}
	return c, nil
}

// envReader reads variables and collects every problem.
type envReader struct {
	getenv func(string) string
	errs   []string
}

func (e *envReader) get(name string) string { return strings.TrimSpace(e.getenv(name)) }

func (e *envReader) bad(format string, a ...any) { e.errs = append(e.errs, fmt.Sprintf(format, a...)) }

// ess reads the ESS channel application, its sub-customers and the package filter.
func (e *envReader) ess(c *Config) {
	c.ESSAppID = e.get(EnvESSAppID)
	if c.ESSAppID == "" {
		e.bad("%s is not set: give the ESS channel application ID (Agent.AppId)", EnvESSAppID)
	} else if !validESSID(c.ESSAppID) {
		e.bad("%s=%q: want 1 to 64 letters, digits, '_' or '-'", EnvESSAppID, clip(c.ESSAppID))
	}
	if v := e.get(EnvESSOrgOpenIDs); v != "" {
		for _, id := range strings.Split(v, ",") {
			id = strings.TrimSpace(id)
			switch {
			case !validESSID(id):
				e.bad("%s: %q is not a valid sub-customer ID (1 to 64 letters, digits, '_' or '-')", EnvESSOrgOpenIDs, clip(id))
			case slices.Contains(c.ESSOrgOpenIDs, id):
				e.bad("%s: %q is listed twice", EnvESSOrgOpenIDs, id)
			default:
				c.ESSOrgOpenIDs = append(c.ESSOrgOpenIDs, id)
			}
		}
		slices.Sort(c.ESSOrgOpenIDs)
	}
	if v := e.get(EnvESSQuotaType); v != "" {
		if !slices.Contains(quotaTypes, v) {
			e.bad("%s=%q: want one of %s", EnvESSQuotaType, clip(v), strings.Join(quotaTypes, ", "))
		}
		c.ESSQuotaType = v
	}
}

// output reads where snapshots go, in which formats, and whether reports are rendered.
func (e *envReader) output(c *Config, onSCF bool) {
	c.Sink = e.get(EnvSink)
	if c.Sink == "" {
		if onSCF {
			e.bad("%s is not set: give the bucket as cos://<bucket>-<appid>/<prefix>?region=<region>", EnvSink)
		}
		c.Sink = sink.DefaultLocalURL
	}
	formats, err := usage.ParseFormats(e.getenv(EnvFormat))
	if err != nil {
		e.bad("%s: %v", EnvFormat, err)
	}
	c.Formats = formats
	switch v := e.get(EnvReports); v {
	case "", "on":
		c.Reports = true
	case "off":
	default:
		e.bad("%s=%q: want on (render the daily reports after each run) or off", EnvReports, clip(v))
	}
}

// schedule reads the zone, the restatement window, when a day settles, the lease and lateness.
func (e *envReader) schedule(c *Config) {
	tz := e.get(EnvTimeZone)
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	if loc, err := time.LoadLocation(tz); err != nil {
		e.bad("%s=%q: not a known IANA time zone (for example Asia/Shanghai)", EnvTimeZone, clip(tz))
	} else {
		c.TimeZone = loc
	}
	if v := e.get(EnvRestateDays); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > plan.MaxRestateDays {
			e.bad("%s=%q: want a whole number of days from 0 to %d", EnvRestateDays, clip(v), plan.MaxRestateDays)
		} else {
			c.RestateDays = &n
		}
	}
	c.LeaseTTL = e.duration(EnvLeaseTTL, time.Minute, 3*time.Second, 15*time.Minute)
	c.LateAfter = e.duration(EnvLateAfter, 12*time.Hour, time.Minute, 7*24*time.Hour)
	if v := e.get(EnvDaySettles); v != "" {
		t, err := time.Parse("15:04", v)
		if err != nil {
			e.bad("%s=%q: want a time of day HH:MM, for example 09:00", EnvDaySettles, clip(v))
		} else {
			c.DaySettles = time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
		}
	}
}

// duration reads a Go duration within [lo, hi], or def when the variable is unset.
func (e *envReader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := e.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < lo || d > hi {
		e.bad("%s=%q: want a duration from %s to %s, for example %s", name, clip(v), lo, hi, def)
		return def
	}
	return d
}

// ConfigError lists every configuration problem found at once.
type ConfigError struct{ Problems []string }

func (e *ConfigError) Error() string {
	return "configuration: " + strings.Join(e.Problems, "; ")
}

// ParseSDKAppIDs parses a comma-separated list of SdkAppIds (see tcapi.ParseSDKAppID), without
// duplicates. The result is in numeric order, each ID in its canonical decimal form.
func ParseSDKAppIDs(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, fmt.Errorf("not set: give a comma-separated list of SdkAppIds, for example 1400000001,1400000002")
	}
	var ids []uint64
	for _, s := range strings.Split(v, ",") {
		id, err := tcapi.ParseSDKAppID(strings.TrimSpace(s))
		if err != nil {
			return nil, err
		}
		if slices.Contains(ids, id) {
			return nil, fmt.Errorf("%d is listed twice", id)
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strconv.FormatUint(id, 10)
	}
	return out, nil
}

// Apps are the units the function exports, each its own app= partition: the SdkAppIds; for ESS
// the sub-customers when they are listed, else the channel application.
func (c Config) Apps() []string {
	switch {
	case len(c.ESSOrgOpenIDs) > 0:
		return c.ESSOrgOpenIDs
	case c.ESSAppID != "":
		return []string{c.ESSAppID}
	}
	return c.SDKAppIDs
}

func validESSID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

var quotaTypes = tcapi.QuotaTypes
