package tcloud

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

func TestConfigFromEnv(t *testing.T) {
	cfg, err := ConfigFromEnv(mapEnv(map[string]string{
		EnvAPIEndpoint:   "http://127.0.0.1:9000",
		EnvAPIRootDomain: IntlRootDomain,
		EnvAPIRate:       "DescribeTrtcRoomUsage=1/15s, DescribeTelCallInfo=20/s,*=2/m",
		EnvAPITimeout:    "45s",
		EnvAPIRegion:     "ap-singapore",
	}))
	require.NoError(t, err)
	assert.Equal(t, "ap-singapore", cfg.Region)
	assert.Equal(t, "http://127.0.0.1:9000", cfg.Endpoint)
	assert.Equal(t, IntlRootDomain, cfg.RootDomain)
	assert.Equal(t, 45*time.Second, cfg.Timeout)
	assert.Equal(t, map[string]Limit{
		"DescribeTrtcRoomUsage": {Every: 15 * time.Second, Burst: 1},
		"DescribeTelCallInfo":   {Every: 50 * time.Millisecond, Burst: 1},
		DefaultLimitKey:         {Every: 30 * time.Second, Burst: 1},
	}, cfg.Limits)

	empty, err := ConfigFromEnv(mapEnv(nil))
	require.NoError(t, err)
	assert.Equal(t, Config{}, empty)
}

func TestConfigFromEnvErrors(t *testing.T) {
	tests := []struct{ name, variable, value string }{
		{"endpoint scheme", EnvAPIEndpoint, "ftp://host:1"},
		{"endpoint path", EnvAPIEndpoint, "http://host/path"},
		{"endpoint port", EnvAPIEndpoint, "host:99999"},
		{"endpoint empty port", EnvAPIEndpoint, "host:"},
		{"endpoint space", EnvAPIEndpoint, " host:1"},
		{"root domain with scheme", EnvAPIRootDomain, "https://tencentcloudapi.com"},
		{"root domain single label", EnvAPIRootDomain, "localhost"},
		{"rate without period", EnvAPIRate, "DescribeTelCallInfo=20"},
		{"rate zero", EnvAPIRate, "DescribeTelCallInfo=0/s"},
		{"rate bad unit", EnvAPIRate, "DescribeTelCallInfo=1/fortnight"},
		{"rate bad name", EnvAPIRate, "Describe-Tel=1/s"},
		{"rate duplicate", EnvAPIRate, "A=1/s,A=2/s"},
		{"rate empty", EnvAPIRate, ","},
		{"timeout", EnvAPITimeout, "30"},
		{"timeout negative", EnvAPITimeout, "-1s"},
		{"region unknown", EnvAPIRegion, "mars-north-1"},
		{"region no action serves", EnvAPIRegion, "ap-shanghai"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromEnv(mapEnv(map[string]string{tt.variable: tt.value}))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.variable)
			assert.Contains(t, err.Error(), tt.value, "names the bad value")
		})
	}
}

func TestCheckRegion(t *testing.T) {
	assert.NoError(t, CheckRegion("", tcapi.Actions()...), "the default region suits every action")
	assert.NoError(t, CheckRegion("ap-singapore", tcapi.DescribeTrtcRoomUsage, tcapi.DescribeTelCallInfo, tcapi.ChannelDescribeBillUsageDetail))
	err := CheckRegion("ap-singapore", tcapi.DescribeTrtcInteractiveTime, tcapi.DescribeTrtcUsage)
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvAPIRegion)
	assert.Contains(t, err.Error(), "DescribeTrtcInteractiveTime serves only ap-guangzhou")
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct{ in, host, scheme string }{
		{"127.0.0.1:8080", "127.0.0.1:8080", "http"},
		{"[::1]:8080", "[::1]:8080", "http"},
		{"localhost", "localhost", "http"},
		{"api.example.test:8443", "api.example.test:8443", "https"},
		{"api.example.test", "api.example.test", "https"},
		{"http://api.example.test", "api.example.test", "http"},
		{"https://127.0.0.1:9/", "127.0.0.1:9", "https"},
	}
	for _, tt := range tests {
		host, scheme, err := parseEndpoint(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.host, host, tt.in)
		assert.Equal(t, tt.scheme, scheme, tt.in)
	}
}

func mapEnv(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}
