package tcapi

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseSDKAppID(t *testing.T) {
	for _, ok := range []struct {
		in   string
		want uint64
	}{{"1400000001", 1400000001}, {"1", 1}, {"9223372036854775807", 9223372036854775807}, {"01400000001", 1400000001}} {
		got, err := ParseSDKAppID(ok.in)
		require.NoError(t, err, ok.in)
		assert.Equal(t, ok.want, got, ok.in)
	}
	// CCC takes SdkAppId as an int64: a number past 2^63-1 passes a uint64 parse but names no app.
	for _, bad := range []string{"", "0", "-1", "+1", " 1", "1.0", "1e9", "9223372036854775808", "18446744073709551615", "184467440737095516150", "abc"} {
		_, err := ParseSDKAppID(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// The documented rate limits (seed documents: DescribeTrtcRoomUsage one call per 15 s,
// DescribeTrtcUsage 5 per second, the others 20 per second).
func TestActionsCarryTheirDocumentedLimits(t *testing.T) {
	want := map[string]time.Duration{
		"DescribeTelCallInfo":            50 * time.Millisecond,
		"DescribeTrtcInteractiveTime":    50 * time.Millisecond,
		"DescribeTrtcUsage":              200 * time.Millisecond,
		"DescribeTrtcRoomUsage":          15 * time.Second,
		"ChannelDescribeBillUsageDetail": 50 * time.Millisecond,
	}
	require.Len(t, Actions(), len(want))
	for _, a := range Actions() {
		assert.Equal(t, want[a.Name], a.Limit.Every(), a.Name)
		got, ok := ActionNamed(a.Name)
		assert.True(t, ok)
		assert.Equal(t, a, got)
	}
	_, ok := ActionNamed("DescribeNothing")
	assert.False(t, ok)
	assert.Equal(t, time.Duration(0), Rate{}.Every())
}

// The regions each action serves (seed documents 001 and 002, tcapi.md §5): TRTC's daily actions
// only ap-guangzhou, room usage also ap-singapore; CCC and ESS take none.
func TestActionsServeTheirDocumentedRegions(t *testing.T) {
	want := map[string][]string{
		"DescribeTelCallInfo":            nil,
		"DescribeTrtcInteractiveTime":    {"ap-guangzhou"},
		"DescribeTrtcUsage":              {"ap-guangzhou"},
		"DescribeTrtcRoomUsage":          {"ap-guangzhou", "ap-singapore"},
		"ChannelDescribeBillUsageDetail": nil,
	}
	for _, a := range Actions() {
		assert.Equal(t, want[a.Name], a.Regions(), a.Name)
		assert.True(t, a.ServesRegion(""), "%s: the default region", a.Name)
		if a.Region != "" {
			assert.Equal(t, a.Region, a.Regions()[0], "%s: the default comes first", a.Name)
		}
	}
	assert.True(t, DescribeTrtcRoomUsage.ServesRegion("ap-singapore"))
	assert.False(t, DescribeTrtcUsage.ServesRegion("ap-singapore"))
	assert.False(t, DescribeTelCallInfo.ServesRegion("ap-guangzhou"), "no region is sent to CCC")
	assert.Equal(t, []string{"ap-guangzhou", "ap-singapore"}, APIRegions())
}
