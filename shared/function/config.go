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
	// figures settle late (TCUSAGE_RESTATE_DAYS, default 2).
	RestateDays int
	// HTTPTokenSHA256 is the SHA-256 of the bearer token HTTP callers must present
	// (TCUSAGE_HTTP_TOKEN_SHA256, hex). Empty: HTTP is refused.
	HTTPTokenSHA256 []byte
	// TRTCAction chooses the TRTC action (TCUSAGE_TRTC_ACTION: auto, interactive, usage).
	TRTCAction source.TRTCMode
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
	var c Config
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }

	switch needs {
	case NeedSDKApps:
		ids, err := ParseSDKAppIDs(getenv(EnvSDKAppIDs))
		if err != nil {
			bad("%s: %v", EnvSDKAppIDs, err)
		}
		c.SDKAppIDs = ids
	case NeedESSApp:
		c.ESSAppID = strings.TrimSpace(getenv(EnvESSAppID))
		if c.ESSAppID == "" {
			bad("%s is not set: give the ESS channel application ID (Agent.AppId)", EnvESSAppID)
		} else if !validESSID(c.ESSAppID) {
			bad("%s=%q: want 1 to 64 letters, digits, '_' or '-'", EnvESSAppID, clip(c.ESSAppID))
		}
		if v := strings.TrimSpace(getenv(EnvESSOrgOpenIDs)); v != "" {
			for _, id := range strings.Split(v, ",") {
				id = strings.TrimSpace(id)
				switch {
				case !validESSID(id):
					bad("%s: %q is not a valid sub-customer ID (1 to 64 letters, digits, '_' or '-')", EnvESSOrgOpenIDs, clip(id))
				case slices.Contains(c.ESSOrgOpenIDs, id):
					bad("%s: %q is listed twice", EnvESSOrgOpenIDs, id)
				default:
					c.ESSOrgOpenIDs = append(c.ESSOrgOpenIDs, id)
				}
			}
			slices.Sort(c.ESSOrgOpenIDs)
		}
		if v := strings.TrimSpace(getenv(EnvESSQuotaType)); v != "" {
			if !slices.Contains(quotaTypes, v) {
				bad("%s=%q: want one of %s", EnvESSQuotaType, clip(v), strings.Join(quotaTypes, ", "))
			}
			c.ESSQuotaType = v
		}
	}

	tz := strings.TrimSpace(getenv(EnvTimeZone))
	if tz == "" {
		tz = "Asia/Shanghai"
	}
	if loc, err := time.LoadLocation(tz); err != nil {
		bad("%s=%q: not a known IANA time zone (for example Asia/Shanghai)", EnvTimeZone, clip(tz))
	} else {
		c.TimeZone = loc
	}

	c.Sink = strings.TrimSpace(getenv(EnvSink))
	if c.Sink == "" {
		if onSCF {
			bad("%s is not set: give the bucket as cos://<bucket>-<appid>/<prefix>?region=<region>", EnvSink)
		}
		c.Sink = sink.DefaultLocalURL
	}

	formats, err := usage.ParseFormats(getenv(EnvFormat))
	if err != nil {
		bad("%s: %v", EnvFormat, err)
	}
	c.Formats = formats

	c.RestateDays = 2
	if v := strings.TrimSpace(getenv(EnvRestateDays)); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > plan.MaxRestateDays {
			bad("%s=%q: want a whole number of days from 0 to %d", EnvRestateDays, clip(v), plan.MaxRestateDays)
		} else {
			c.RestateDays = n
		}
	}

	if v := strings.TrimSpace(getenv(EnvHTTPToken)); v != "" {
		sum, err := hex.DecodeString(v)
		if err != nil || len(sum) != 32 {
			bad("%s: want the 64-character hex SHA-256 of the token (for example: printf %%s \"$TOKEN\" | sha256sum)", EnvHTTPToken)
		} else {
			c.HTTPTokenSHA256 = sum
		}
	}

	c.TRTCAction = source.TRTCAuto
	if v := source.TRTCMode(strings.TrimSpace(getenv(EnvTRTCAction))); v != "" {
		if !slices.Contains(source.TRTCModes, v) {
			bad("%s=%q: want auto, interactive or usage", EnvTRTCAction, clip(string(v)))
		} else {
			c.TRTCAction = v
		}
	}

	if len(errs) > 0 {
		return Config{}, &ConfigError{Problems: errs}
	}
	return c, nil
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

// Apps are the apps the function exports: the SdkAppIds, or the ESS channel application.
func (c Config) Apps() []string {
	if c.ESSAppID != "" {
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
