package function

import (
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzFromEnv feeds arbitrary values to the configuration variables: never a panic; a refusal
// names the variable at fault.
func FuzzFromEnv(f *testing.F) {
	f.Add("1400000001,1400000002", "ess_app_demo", "org_a,org_b", "Asia/Shanghai", "both", "2", "auto")
	f.Add("1400000001,1400000001", "../../etc", "org_a,org_a", "Mars/Base", "xml", "-1", "maybe")
	f.Add("abc", "", "", "", "", "31", "")
	f.Add("18446744073709551616", "a\x00b", "\n", "UTC", "csv,jsonl", "1e3", "usage")
	f.Fuzz(func(t *testing.T, apps, essApp, orgs, tz, format, restate, trtc string) {
		env := map[string]string{
			EnvSDKAppIDs: apps, EnvESSAppID: essApp, EnvESSOrgOpenIDs: orgs, EnvTimeZone: tz,
			EnvFormat: format, EnvRestateDays: restate, EnvTRTCAction: trtc,
		}
		for _, needs := range []Needs{NeedSDKApps, NeedESSApp} {
			c, err := FromEnv(func(k string) string { return env[k] }, needs, false)
			if err != nil {
				var ce *ConfigError
				require.True(t, errors.As(err, &ce))
				require.NotEmpty(t, ce.Problems)
				for _, p := range ce.Problems {
					require.True(t, strings.HasPrefix(p, "TCUSAGE_"), "a problem must name its variable: %q", p)
					require.LessOrEqual(t, len(p), 400, "a problem must quote values clipped: %q", p)
				}
				continue
			}
			require.NotNil(t, c.TimeZone)
			require.NotEmpty(t, c.Formats)
			if needs == NeedSDKApps {
				require.NotEmpty(t, c.SDKAppIDs)
			} else {
				require.NotEmpty(t, c.ESSAppID)
			}
		}
	})
}
