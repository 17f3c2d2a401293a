package tcloud

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// With room usage paced per app, calls for different apps do not wait for each other; calls for
// one app still go one per interval. Per account (the default), every call waits its turn.
func TestRoomUsagePacedPerAppOrPerAccount(t *testing.T) {
	room := func(app uint64) tcapi.TRTCRoomUsageRequest { return tcapi.TRTCRoomUsageRequest{SDKAppID: app} }
	for _, perApp := range []bool{false, true} {
		clock := newFakeClock()
		srv := newTCServer(t, clock.Now)
		c := newTestClient(t, srv, func(cfg *Config) {
			cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
			cfg.Limits = map[string]Limit{"DescribeTrtcRoomUsage": {Every: 15 * time.Second, Burst: 1}}
			if perApp {
				cfg.PerApp = map[string]bool{"DescribeTrtcRoomUsage": true}
			}
		})
		start := clock.Now()
		for _, app := range []uint64{1400000001, 1400000002, 1400000003} {
			require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, room(app), &tcapi.TRTCRoomUsageResponse{}))
		}
		if perApp {
			assert.Less(t, clock.Now().Sub(start), time.Second, "three apps at once")
			require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, room(1400000001), &tcapi.TRTCRoomUsageResponse{}))
			assert.GreaterOrEqual(t, clock.Now().Sub(start), 15*time.Second-limiterSlack, "the same app again waits its interval")
			next := c.NextCalls()
			assert.Contains(t, next, "DescribeTrtcRoomUsage/1400000002", "hand-over per app")
			assert.NotContains(t, next, "DescribeTrtcRoomUsage")
		} else {
			assert.GreaterOrEqual(t, clock.Now().Sub(start), 30*time.Second-limiterSlack, "one call per 15 s across apps")
			assert.Contains(t, c.NextCalls(), "DescribeTrtcRoomUsage")
		}
	}
}

// A per-account hand-over holds every app of a per-app client.
func TestHandOverOfTheActionHoldsEveryApp(t *testing.T) {
	clock := newFakeClock()
	srv := newTCServer(t, clock.Now)
	c := newTestClient(t, srv, func(cfg *Config) {
		cfg.Now, cfg.Sleep = clock.Now, clock.Sleep
		cfg.PerApp = map[string]bool{"DescribeTrtcRoomUsage": true}
	})
	start := clock.Now()
	c.NotBefore(map[string]time.Time{"DescribeTrtcRoomUsage": start.Add(10 * time.Second)})
	require.NoError(t, c.Call(context.Background(), tcapi.DescribeTrtcRoomUsage, tcapi.TRTCRoomUsageRequest{SDKAppID: 7}, &tcapi.TRTCRoomUsageResponse{}))
	assert.GreaterOrEqual(t, clock.Now().Sub(start), 10*time.Second)
}

func TestRoomUsageLimitFromEnv(t *testing.T) {
	for v, want := range map[string]map[string]bool{"": nil, "per-account": nil, "per-app": {"DescribeTrtcRoomUsage": true}} {
		cfg, err := ConfigFromEnv(func(k string) string {
			if k == EnvRoomUsageLimit {
				return v
			}
			return ""
		})
		require.NoError(t, err, v)
		assert.Equal(t, want, cfg.PerApp, v)
	}
	_, err := ConfigFromEnv(func(k string) string {
		if k == EnvRoomUsageLimit {
			return "per-sdkappid"
		}
		return ""
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), EnvRoomUsageLimit)
}
