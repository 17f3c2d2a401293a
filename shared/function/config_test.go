package function

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/usage"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{EnvSDKAppIDs: " 1400000002, 1400000001 "}), NeedSDKApps, false)
	require.NoError(t, err)
	assert.Equal(t, []string{"1400000001", "1400000002"}, c.SDKAppIDs)
	assert.Equal(t, "Asia/Shanghai", c.TimeZone.String())
	assert.Equal(t, "file://snapshots", c.Sink)
	assert.Equal(t, []usage.Format{usage.CSV, usage.JSONL}, c.Formats)
	assert.Nil(t, c.RestateDays, "unset: the function's own default")
	assert.Equal(t, time.Minute, c.LeaseTTL)
	assert.Equal(t, 12*time.Hour, c.LateAfter)
	assert.Equal(t, time.Duration(0), c.DaySettles)
	assert.Equal(t, source.TRTCAuto, c.TRTCAction)
	assert.Empty(t, c.HTTPTokenSHA256)
	assert.True(t, c.Reports, "reports are on unless turned off")
}

func TestFromEnvESS(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{EnvESSAppID: "ess_app_demo", EnvESSOrgOpenIDs: "org_b,org_a", EnvESSQuotaType: "SignFace"}), NeedESSApp, false)
	require.NoError(t, err)
	assert.Equal(t, "ess_app_demo", c.ESSAppID)
	assert.Equal(t, []string{"org_a", "org_b"}, c.ESSOrgOpenIDs)
	assert.Equal(t, "SignFace", c.ESSQuotaType)
}

func TestFromEnvErrorsNameTheVariable(t *testing.T) {
	base := map[string]string{EnvSDKAppIDs: "1400000001"}
	cases := []struct {
		name  string
		set   map[string]string
		needs Needs
		scf   bool
		want  string
	}{
		{"apps unset", map[string]string{EnvSDKAppIDs: ""}, NeedSDKApps, false, EnvSDKAppIDs},
		{"apps not numeric", map[string]string{EnvSDKAppIDs: "14000,abc"}, NeedSDKApps, false, EnvSDKAppIDs},
		{"apps zero", map[string]string{EnvSDKAppIDs: "0"}, NeedSDKApps, false, EnvSDKAppIDs},
		{"app past what CCC takes (int64)", map[string]string{EnvSDKAppIDs: "18446744073709551615"}, NeedSDKApps, false, EnvSDKAppIDs},
		{"apps duplicate", map[string]string{EnvSDKAppIDs: "1,1"}, NeedSDKApps, false, EnvSDKAppIDs},
		{"apps traversal", map[string]string{EnvSDKAppIDs: "../1"}, NeedSDKApps, false, EnvSDKAppIDs},
		{"ess unset", map[string]string{}, NeedESSApp, false, EnvESSAppID},
		{"ess bad", map[string]string{EnvESSAppID: "a/b"}, NeedESSApp, false, EnvESSAppID},
		{"ess org bad", map[string]string{EnvESSAppID: "a", EnvESSOrgOpenIDs: "ok,x\ny"}, NeedESSApp, false, EnvESSOrgOpenIDs},
		{"ess quota", map[string]string{EnvESSAppID: "a", EnvESSQuotaType: "Everything"}, NeedESSApp, false, EnvESSQuotaType},
		{"zone", map[string]string{EnvTimeZone: "Mars/Base"}, NeedSDKApps, false, EnvTimeZone},
		{"format", map[string]string{EnvFormat: "parquet,xml"}, NeedSDKApps, false, EnvFormat},
		{"restate", map[string]string{EnvRestateDays: "-1"}, NeedSDKApps, false, EnvRestateDays},
		{"restate text", map[string]string{EnvRestateDays: "two"}, NeedSDKApps, false, EnvRestateDays},
		{"lease too short", map[string]string{EnvLeaseTTL: "1s"}, NeedSDKApps, false, EnvLeaseTTL},
		{"lease not a duration", map[string]string{EnvLeaseTTL: "60"}, NeedSDKApps, false, EnvLeaseTTL},
		{"late after", map[string]string{EnvLateAfter: "-1h"}, NeedSDKApps, false, EnvLateAfter},
		{"day settles", map[string]string{EnvDaySettles: "9am"}, NeedSDKApps, false, EnvDaySettles},
		{"day settles out of range", map[string]string{EnvDaySettles: "25:00"}, NeedSDKApps, false, EnvDaySettles},
		{"token", map[string]string{EnvHTTPToken: "abc"}, NeedSDKApps, false, EnvHTTPToken},
		{"trtc", map[string]string{EnvTRTCAction: "both"}, NeedSDKApps, false, EnvTRTCAction},
		{"sink on scf", map[string]string{}, NeedSDKApps, true, EnvSink},
		{"reports", map[string]string{EnvReports: "yes"}, NeedSDKApps, false, EnvReports},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tc.set {
				env[k] = v
			}
			_, err := FromEnv(envOf(env), tc.needs, tc.scf)
			require.Error(t, err)
			var ce *ConfigError
			require.True(t, errors.As(err, &ce))
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestFromEnvReportsEveryProblem(t *testing.T) {
	_, err := FromEnv(envOf(map[string]string{EnvTimeZone: "Nowhere", EnvFormat: "xml"}), NeedSDKApps, false)
	var ce *ConfigError
	require.True(t, errors.As(err, &ce))
	assert.Len(t, ce.Problems, 3)
}

func TestFromEnvSchedule(t *testing.T) {
	c, err := FromEnv(envOf(map[string]string{EnvSDKAppIDs: "1", EnvRestateDays: "0", EnvLeaseTTL: "90s", EnvDaySettles: "09:30", EnvLateAfter: "30h"}), NeedSDKApps, false)
	require.NoError(t, err)
	require.NotNil(t, c.RestateDays)
	assert.Equal(t, 0, *c.RestateDays)
	assert.Equal(t, 90*time.Second, c.LeaseTTL)
	assert.Equal(t, 9*time.Hour+30*time.Minute, c.DaySettles)
	assert.Equal(t, 30*time.Hour, c.LateAfter)

	c, err = FromEnv(envOf(map[string]string{EnvSDKAppIDs: "1", EnvReports: "off"}), NeedSDKApps, false)
	require.NoError(t, err)
	assert.False(t, c.Reports)
}
