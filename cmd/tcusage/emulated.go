package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// demoTimeScale makes the emulator's rate-limit windows 1000× shorter, so that the demo's room
// usage (one call per 15 s on the real service) takes milliseconds; the client paces to match.
const demoTimeScale = 0.001

// DemoToken is the bearer token HTTP events are checked against when a command runs with the
// embedded emulator and no TCUSAGE_HTTP_TOKEN_SHA256 is set; the sample events in events/ carry it.
// It guards nothing real: it exists so that local HTTP invocations work out of the box.
const DemoToken = "demo-token"

// demoTokenSHA256 is the hex SHA-256 of DemoToken.
var demoTokenSHA256 = func() string {
	sum := sha256.Sum256([]byte(DemoToken))
	return hex.EncodeToString(sum[:])
}()

// startEmulator serves the embedded emulator on a loopback port until ctx ends and returns its
// address.
func startEmulator(ctx context.Context, cfg emulator.Config) (string, <-chan error, error) {
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- emulator.ListenAndServe(ctx, "127.0.0.1:0", cfg, func(a string) { ready <- a }) }()
	select {
	case a := <-ready:
		return a, done, nil
	case err := <-done:
		return "", nil, fmt.Errorf("start the emulator: %w", err)
	case <-time.After(10 * time.Second):
		return "", nil, fmt.Errorf("start the emulator: not listening after 10 s")
	}
}

// emulatorEnv is the environment that points every function at the emulator with its test
// credentials and demo apps. Values the user set win, except credentials and the endpoint.
func emulatorEnv(addr string, base func(string) string) func(string) string {
	fixed := map[string]string{
		"TCUSAGE_API_ENDPOINT":    addr,
		"TENCENTCLOUD_SECRET_ID":  emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY": emulator.TestSecretKey,
		"TCUSAGE_API_RATE":        scaledRates(demoTimeScale),
	}
	defaults := map[string]string{
		"TCUSAGE_HTTP_TOKEN_SHA256": demoTokenSHA256,
		"TCUSAGE_SDK_APP_IDS":       "1400000001,1400000002,1400000003",
		"TCUSAGE_ESS_APP_ID":        "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS":  "org_alpha,org_beta,org_gamma",
	}
	return func(k string) string {
		if v, ok := fixed[k]; ok {
			return v
		}
		switch k {
		case "TENCENTCLOUD_SECRETID", "TENCENTCLOUD_SECRETKEY", "TENCENTCLOUD_SESSIONTOKEN", "TENCENTCLOUD_SESSION_TOKEN",
			"TENCENTCLOUD_CREDENTIALS_FILE", "TCCLI_PROFILE", "TENCENTCLOUD_RUNENV", "TCUSAGE_COS_ENDPOINT":
			return "" // real credentials never go to the emulator
		}
		if v := base(k); v != "" {
			return v
		}
		return defaults[k]
	}
}

// scaledRates paces the client like the emulator's scaled limits (a little slower, so that no
// call is refused): each action's documented limit, scaled.
func scaledRates(scale float64) string {
	var rates []string
	for _, a := range tcapi.Actions() {
		every := float64(a.Limit.Every().Microseconds()) * scale * 1.05
		rates = append(rates, fmt.Sprintf("%s=1/%dus", a.Name, int64(every)+1))
	}
	return strings.Join(rates, ",")
}

func mapEnv(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
