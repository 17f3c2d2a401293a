package emulator

import (
	"log/slog"
	"maps"
	"slices"
	"time"
)

// Test credentials: the default Config accepts exactly this SecretId/SecretKey pair (no token), so
// tests and the demo need no real credentials. They are not secret.
const (
	TestSecretID  = "AKIDtcusageEmulatorTestSecretId0000"
	TestSecretKey = "tcusageEmulatorTestSecretKey0000"
)

// Seed-document apps: the IDs used by the official examples, known by default so that the
// examples work (see fixtures.go).
const (
	SeedCCCApp      uint64 = 140000000
	SeedTRTCApp     uint64 = 1400243510
	SeedRoomApp     uint64 = 1400017192
	SeedESSApp             = "yDwFdUUckpsw******yQ0af8bHosXQtb"
	SeedESSOrg             = "org_dianziqian"
	defaultDataDays        = 90
)

// DefaultAccount is the account (UIN) of every Credential that names none.
const DefaultAccount = "100000000001"

// Credential is one API key the emulator accepts. When Token is non-empty the key is temporary:
// every request must carry exactly this X-TC-Token. When Token is empty, a request carrying any
// X-TC-Token is rejected with AuthFailure.TokenFailure.
type Credential struct {
	SecretID  string
	SecretKey string
	Token     string
	// Account is the account (UIN) the key belongs to. Rate limits are counted per account and
	// action, as Tencent Cloud counts them: every key of an account (a sub-user's permanent key,
	// each rotation of an SCF run role's temporary keys) shares the account's budget.
	// Empty: DefaultAccount.
	Account string
	// Denied names the actions (e.g. "DescribeTrtcUsage") the key's CAM policy does not allow:
	// they are answered AuthFailure.UnauthorizedOperation, as for a run role whose policy lacks
	// them.
	Denied []string
}

// Config configures an Emulator. The zero Config is usable: every field documents its zero value.
type Config struct {
	// Credentials are the accepted keys. Zero: one key, TestSecretID/TestSecretKey, no token.
	Credentials []Credential
	// SDKAppIDs are the known CCC and TRTC apps. Zero: 1400000001, 1400000002, 1400000003 and the
	// seed-document apps SeedCCCApp, SeedTrtcApp and SeedRoomApp.
	SDKAppIDs []uint64
	// ESSApps maps each known ESS channel AppId to its sub-customers' ProxyOrganizationOpenIds.
	// Zero: "ess_app_demo" with org_alpha, org_beta and org_gamma, plus SeedESSApp with SeedESSOrg
	// and org_demo.
	ESSApps map[string][]string
	// Rooms is the typical number of rooms of a TRTC app on a weekday in DescribeTrtcRoomUsage.
	// Each app-day varies around it (see Data.RoomCount): apps differ in size, weekends are
	// quieter, some app-days have no room or only a few, and a rare busy app-day has about
	// BusyRooms. Zero: 50.
	Rooms int
	// BusyRooms is about the number of rooms of a busy app-day (about one app-day in thirty has
	// half to all of it). Zero: 3000, which keeps tests quick; a million works (the answer is then
	// about 40 MB).
	BusyRooms int
	// ESSRecordsPerDay is the typical number of ESS consumption records of a sub-customer on a
	// weekday. Each organisation-day varies around it (see Data.ESSRecords): organisations differ
	// in size, weekends are quieter and an organisation is now and then idle for days. Zero: 30.
	ESSRecordsPerDay int
	// TimeScale multiplies every rate-limit window (1 = real time; tests use e.g. 0.001 so that the
	// 15 s DescribeTrtcRoomUsage window lasts 15 ms). Zero: 1.
	TimeScale float64
	// NoRateLimits turns the rate limits off.
	NoRateLimits bool
	// RoomUsageLimitPerApp counts DescribeTrtcRoomUsage's one call per 15 s per SdkAppid of the
	// account instead of per account (the default, and tcusage's default pacing): the other
	// answer to the question `tcusage doctor` settles (TCUSAGE_ROOM_USAGE_LIMIT).
	RoomUsageLimitPerApp bool
	// Latency is added to every answer. Zero: none.
	Latency time.Duration
	// SlowDelay is how long a FaultSlow call stalls before answering normally (it stops early when
	// the client gives up or the emulator is closed). Zero: 65 s, above the SDK's 60 s timeout.
	SlowDelay time.Duration
	// Now is the business clock: what "today" is for the data windows, and request records.
	// Zero: time.Now.
	Now func() time.Time
	// WallClock is the clock for signature expiry and rate-limit windows, as the real service's own
	// clock. Zero: time.Now (so a shifted or frozen Now neither expires signatures nor freezes
	// the windows).
	WallClock func() time.Time
	// International makes the account one of the international site (tencentcloud.com), whose
	// DescribeTrtcRoomUsage also serves ap-singapore whatever the host name (the international
	// site's API host is trtc.tencentcloudapi.com too). Without it, ap-singapore is served only
	// through the host trtc.intl.tencentcloudapi.com.
	International bool
	// InteractiveTimeOffline makes DescribeTrtcInteractiveTime answer ActionOffline ("接口已下线"),
	// as the real service may do now that the action is removed from the SDKs.
	InteractiveTimeOffline bool
	// Readings chooses how the emulator reads the questions the documents leave open. Zero: as
	// tcusage reads them (tcapi's reading constants).
	Readings Readings
	// Faults injects random failures. Zero: none.
	Faults FaultConfig
	// DataStart is the earliest day DescribeTrtcRoomUsage has data for. Zero: 2023-04-01.
	DataStart Date
	// RoomDataDays is how many days back from today (Beijing) DescribeTrtcRoomUsage has data for.
	// Zero: 90 (the documented "about three months").
	RoomDataDays int
	// Logger receives one debug line per call. Zero: logging off.
	Logger *slog.Logger
}

// Readings selects, for each reading of the documents that tcusage makes (see tcapi's reading
// constants), how the emulator answers: the zero value answers as tcusage reads them, and each
// field switches to the other reading, so that tests and tcusage doctor run against both.
type Readings struct {
	// ESSEndTimeExclusive: ChannelDescribeBillUsageDetail's EndTime is not part of the range
	// (StartTime to the day before EndTime), so a query with StartTime = EndTime answers nothing.
	// The other side of tcapi.ESSEndTimeInclusive.
	ESSEndTimeExclusive bool
	// RoomUsageEndExclusive: DescribeTrtcRoomUsage covers [StartTime, EndTime), without the end
	// minute. The other side of tcapi.RoomUsageEndInclusive.
	RoomUsageEndExclusive bool
	// TimeKeysLabelEnd: 5-minute TimeKeys name the end of their interval (a day's run from
	// 00:05:00 to the next day's 00:00:00). The other side of tcapi.TimeKeysLabelStart.
	TimeKeysLabelEnd bool
}

// withDefaults returns a copy of c with every zero field set to its default.
func (c Config) withDefaults() Config {
	if len(c.Credentials) == 0 {
		c.Credentials = []Credential{{SecretID: TestSecretID, SecretKey: TestSecretKey}}
	} else {
		c.Credentials = slices.Clone(c.Credentials)
	}
	for i := range c.Credentials {
		if c.Credentials[i].Account == "" {
			c.Credentials[i].Account = DefaultAccount
		}
	}
	if len(c.SDKAppIDs) == 0 {
		c.SDKAppIDs = []uint64{1400000001, 1400000002, 1400000003, SeedCCCApp, SeedTRTCApp, SeedRoomApp}
	} else {
		c.SDKAppIDs = slices.Clone(c.SDKAppIDs)
	}
	if len(c.ESSApps) == 0 {
		c.ESSApps = map[string][]string{
			"ess_app_demo": {"org_alpha", "org_beta", "org_gamma"},
			SeedESSApp:     {SeedESSOrg, "org_demo"},
		}
	} else {
		m := make(map[string][]string, len(c.ESSApps))
		for k, v := range maps.All(c.ESSApps) {
			m[k] = slices.Clone(v)
		}
		c.ESSApps = m
	}
	if c.Rooms <= 0 {
		c.Rooms = 50
	}
	if c.BusyRooms <= 0 {
		c.BusyRooms = 3000
	}
	if c.ESSRecordsPerDay <= 0 {
		c.ESSRecordsPerDay = 30
	}
	if c.TimeScale <= 0 {
		c.TimeScale = 1
	}
	if c.SlowDelay <= 0 {
		c.SlowDelay = 65 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.WallClock == nil {
		c.WallClock = time.Now
	}
	if c.DataStart == (Date{}) {
		c.DataStart = NewDate(2023, time.April, 1)
	}
	if c.RoomDataDays <= 0 {
		c.RoomDataDays = defaultDataDays
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
