package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/doctor"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/snapshot/costest"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// timeScale makes the emulator's rate-limit windows 50 times shorter: room usage's 15 s is 300
// ms, long enough for the limit probe's two calls to land well inside one window under load.
const timeScale = 0.02

const (
	secretKey = "doctor-test-secret-key-0000000001"
	token     = "doctor-test-session-token-000001"
)

// setup is an emulator and a COS front, and the environment a deployment would have.
type setup struct {
	emu  *emulatortest.Server
	cos  *costest.Server
	vars map[string]string
}

func newSetup(t *testing.T, cfg emulator.Config, cosOpt costest.Options) *setup {
	t.Helper()
	cfg.TimeScale = timeScale
	cfg.Now = calendartest.Clock(calendartest.Now())
	if len(cfg.Credentials) == 0 {
		cfg.Credentials = []emulator.Credential{{SecretID: emulator.TestSecretID, SecretKey: secretKey, Token: token}}
	}
	emu := emulatortest.NewServer(t, cfg)
	cosOpt.SecretID, cosOpt.SecretKey, cosOpt.Token = emulator.TestSecretID, secretKey, token
	cs := costest.New(t, cosOpt)
	apps := busyAtNoon(t, emu)
	var rates []string
	for _, a := range tcapi.Actions() {
		rates = append(rates, fmt.Sprintf("%s=1/%dus", a.Name, int64(float64(a.Limit.Every().Microseconds())*timeScale*1.05)+1))
	}
	return &setup{emu: emu, cos: cs, vars: map[string]string{
		"TENCENTCLOUD_SECRETID":     emulator.TestSecretID,
		"TENCENTCLOUD_SECRETKEY":    secretKey,
		"TENCENTCLOUD_SESSIONTOKEN": token,
		"TCUSAGE_API_ENDPOINT":      emu.Addr,
		"TCUSAGE_API_RATE":          strings.Join(rates, ","),
		"TCUSAGE_SINK":              cs.SinkURL("exports"),
		"TCUSAGE_COS_ENDPOINT":      cs.Endpoint,
		"TCUSAGE_SDK_APP_IDS":       apps,
		"TCUSAGE_ESS_APP_ID":        "ess_app_demo",
		"TCUSAGE_ESS_ORG_OPEN_IDS":  "org_alpha,org_beta,org_gamma",
	}}
}

// busyAtNoon returns two apps, one of which had a room active across noon yesterday, so that the
// room-usage reading can be settled whatever day the tests run on (the emulator's data vary by
// day, and some app-days are idle).
func busyAtNoon(t *testing.T, emu *emulatortest.Server) string {
	t.Helper()
	day := calendar.Of(calendartest.Now(), calendar.Zone).Add(-1)
	noon := day.Start().Add(12 * time.Hour)
	for _, app := range []uint64{1400000001, 1400000002, 1400000003, 1400017192, 1400243510} {
		before := emu.Data().RoomsBetween(app, noon.Add(-time.Minute), noon)
		after := emu.Data().RoomsBetween(app, noon, noon.Add(time.Minute))
		for _, a := range before {
			for _, b := range after {
				if a.RoomID == b.RoomID {
					other := uint64(1400000001)
					if app == other {
						other = 1400000002
					}
					return strconv.FormatUint(app, 10) + "," + strconv.FormatUint(other, 10)
				}
			}
		}
	}
	t.Fatalf("no emulated app has a room active across noon on %s", day)
	return ""
}

func (s *setup) run(t *testing.T, specs ...function.Spec) *doctor.Report {
	t.Helper()
	explicit := len(specs) > 0
	if !explicit {
		specs = function.All()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := doctor.Run(ctx, doctor.Options{Functions: specs, Explicit: explicit, Getenv: func(k string) string { return s.vars[k] },
		Home: t.TempDir(), Now: calendartest.Clock(calendartest.Now())})
	var out bytes.Buffer
	require.NoError(t, r.Write(&out))
	t.Log("\n" + out.String())
	js, err := json.Marshal(r)
	require.NoError(t, err)
	for _, secret := range []string{secretKey, token, emulator.TestSecretID} {
		assert.NotContains(t, out.String(), secret, "the report never prints a secret")
		assert.NotContains(t, string(js), secret)
	}
	return r
}

// status returns the status of a check, failing the test when there is none.
func status(t *testing.T, r *doctor.Report, fn, name string) doctor.Check {
	t.Helper()
	c, ok := r.Find(fn, name)
	require.True(t, ok, "no check %s %q", fn, name)
	return c
}

func TestDefaultEmulatorIsAllOK(t *testing.T) {
	s := newSetup(t, emulator.Config{}, costest.Options{})
	r := s.run(t)
	for _, c := range r.Checks {
		assert.Equal(t, doctor.OK, c.Status, "%s %s: %s", c.Function, c.Name, c.Detail)
	}
	assert.False(t, r.Failed())
	for _, fn := range []string{"telcall", "trtcusage", "roomusage", "essbill"} {
		for _, name := range []string{"configuration", "bucket writable", "create-if-absent"} {
			status(t, r, fn, name)
		}
	}
	for _, want := range [][2]string{
		{"trtcusage", "live TRTC action"},
		{"trtcusage", "reading tcapi.TimeKeysLabelStart"},
		{"roomusage", "reading tcapi.RoomUsageEndInclusive"},
		{"roomusage", "room usage limit"},
		{"essbill", "reading tcapi.ESSEndTimeInclusive"},
		{"telcall", "bucket versioning off"},
	} {
		status(t, r, want[0], want[1])
	}
	assert.Contains(t, status(t, r, "roomusage", "room usage limit").Detail, "per account")
	assert.Empty(t, s.cos.Versioning())
	put, deleted := s.cos.SucceededKeys("PUT"), s.cos.SucceededKeys("DELETE")
	assert.Len(t, put, 4, "one probe object per dataset")
	assert.ElementsMatch(t, put, deleted, "each removed after")
	for _, req := range s.cos.Requests() {
		assert.False(t, req.Method == "PUT" && req.Query.Has("versioning"), "doctor never changes the bucket's settings")
		if req.Method == "PUT" {
			assert.Contains(t, req.Key, "/_doctor/probe-", "doctor writes only its probe objects")
		}
	}
}

// Against a service that reads each open question the other way, doctor says which constant to
// change, and fails.
func TestOtherReadingsNameTheConstantToChange(t *testing.T) {
	s := newSetup(t, emulator.Config{Readings: emulator.Readings{
		ESSEndTimeExclusive: true, RoomUsageEndExclusive: true, TimeKeysLabelEnd: true,
	}}, costest.Options{})
	r := s.run(t)
	assert.True(t, r.Failed())
	for fn, rd := range map[string]tcapi.Reading{
		"trtcusage": tcapi.ReadingTimeKeysLabels,
		"roomusage": tcapi.ReadingRoomUsageEnd,
		"essbill":   tcapi.ReadingESSEndTime,
	} {
		c := status(t, r, fn, "reading "+rd.Name)
		assert.Equal(t, doctor.Fail, c.Status, c.Detail)
		assert.Contains(t, c.Fix, "change "+rd.Name+" to "+strconv.FormatBool(!rd.Value))
	}
	assert.Equal(t, 3, r.Count(doctor.Fail), "only the readings fail")
}

// One reading at a time: each emulator switch fails its own check only.
func TestEachReadingIsSettledOnItsOwn(t *testing.T) {
	for _, tc := range []struct {
		readings emulator.Readings
		fn       function.Spec
		reading  tcapi.Reading
	}{
		{emulator.Readings{ESSEndTimeExclusive: true}, function.ESS, tcapi.ReadingESSEndTime},
		{emulator.Readings{RoomUsageEndExclusive: true}, function.Room, tcapi.ReadingRoomUsageEnd},
		{emulator.Readings{TimeKeysLabelEnd: true}, function.TRTC, tcapi.ReadingTimeKeysLabels},
	} {
		t.Run(tc.reading.Name, func(t *testing.T) {
			r := newSetup(t, emulator.Config{Readings: tc.readings}, costest.Options{}).run(t, tc.fn)
			c := status(t, r, tc.fn.Name, "reading "+tc.reading.Name)
			assert.Equal(t, doctor.Fail, c.Status)
			assert.Equal(t, 1, r.Count(doctor.Fail), "only the reading fails")
		})
	}
}

func TestRoomUsageLimitModel(t *testing.T) {
	perApp := newSetup(t, emulator.Config{RoomUsageLimitPerApp: true}, costest.Options{})
	c := status(t, perApp.run(t, function.Room), "roomusage", "room usage limit")
	assert.Equal(t, doctor.Warn, c.Status, "per app, paced per account: a missed opportunity, not a failure")
	assert.Contains(t, c.Fix, "TCUSAGE_ROOM_USAGE_LIMIT=per-app")

	perApp.vars["TCUSAGE_ROOM_USAGE_LIMIT"] = "per-app"
	c = status(t, perApp.run(t, function.Room), "roomusage", "room usage limit")
	assert.Equal(t, doctor.OK, c.Status, c.Detail)

	perAccount := newSetup(t, emulator.Config{}, costest.Options{})
	perAccount.vars["TCUSAGE_ROOM_USAGE_LIMIT"] = "per-app"
	r := perAccount.run(t, function.Room)
	c = status(t, r, "roomusage", "room usage limit")
	assert.Equal(t, doctor.Fail, c.Status, "paced per app against a per-account limit")
	assert.Contains(t, c.Fix, "unset TCUSAGE_ROOM_USAGE_LIMIT")

	perAccount.vars["TCUSAGE_SDK_APP_IDS"] = strings.Split(perAccount.vars["TCUSAGE_SDK_APP_IDS"], ",")[0]
	c = status(t, perAccount.run(t, function.Room), "roomusage", "room usage limit")
	assert.Equal(t, doctor.Warn, c.Status, "one app cannot tell")
}

func TestMissingCAMPermission(t *testing.T) {
	s := newSetup(t, emulator.Config{Credentials: []emulator.Credential{{SecretID: emulator.TestSecretID, SecretKey: secretKey, Token: token,
		Denied: []string{"DescribeTrtcUsage", "ChannelDescribeBillUsageDetail"}}}}, costest.Options{})
	r := s.run(t, function.TRTC)
	c := status(t, r, "trtcusage", "CAM allows trtc:DescribeTrtcUsage")
	assert.Equal(t, doctor.Fail, c.Status)
	assert.Contains(t, c.Fix, "deploy/trtcusage/cam-policy.json")
	assert.Equal(t, doctor.OK, status(t, r, "trtcusage", "CAM allows trtc:DescribeTrtcInteractiveTime").Status)
	assert.True(t, r.Failed())

	r = s.run(t, function.ESS)
	assert.Equal(t, doctor.Fail, status(t, r, "essbill", "CAM allows essbasic:ChannelDescribeBillUsageDetail").Status)
}

func TestUnwritableAndVersionedBuckets(t *testing.T) {
	denied := newSetup(t, emulator.Config{}, costest.Options{})
	denied.cos.Inject(costest.Fault{Kind: costest.AccessDenied, Rate: 1, Match: func(r costest.Request) bool {
		return r.Method == "PUT" || r.Query.Has("versioning")
	}})
	r := denied.run(t, function.TelCall)
	c := status(t, r, "telcall", "bucket writable")
	assert.Equal(t, doctor.Fail, c.Status)
	assert.Contains(t, c.Fix, "exports/telcall/")
	assert.True(t, r.Failed())

	versioned := newSetup(t, emulator.Config{}, costest.Options{Versioning: "Enabled"})
	r = versioned.run(t, function.TelCall)
	assert.Equal(t, doctor.Fail, status(t, r, "telcall", "create-if-absent").Status, "the overwrite was not refused")
	c = status(t, r, "telcall", "bucket versioning off")
	assert.Equal(t, doctor.Fail, c.Status)
	assert.Contains(t, c.Fix, "suspend versioning")

	// Credentials without cos:GetBucketVersioning: a warning; the create-if-absent probe decides.
	noRead := newSetup(t, emulator.Config{}, costest.Options{})
	noRead.cos.Inject(costest.Fault{Kind: costest.AccessDenied, Rate: 1, Match: func(r costest.Request) bool { return r.Query.Has("versioning") }})
	r = noRead.run(t, function.TelCall)
	assert.Equal(t, doctor.Warn, status(t, r, "telcall", "bucket versioning off").Status)
	assert.False(t, r.Failed())
}

func TestExpiredCredentialsAreRefusedBeforeAnyCall(t *testing.T) {
	s := newSetup(t, emulator.Config{}, costest.Options{})
	delete(s.vars, "TENCENTCLOUD_SECRETID")
	delete(s.vars, "TENCENTCLOUD_SECRETKEY")
	delete(s.vars, "TENCENTCLOUD_SESSIONTOKEN")
	s.vars["TENCENTCLOUD_SECRET_ID"], s.vars["TENCENTCLOUD_SECRET_KEY"], s.vars["TENCENTCLOUD_SESSION_TOKEN"] = emulator.TestSecretID, secretKey, token
	s.vars[credential.EnvExpireAt] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	r := s.run(t)
	c := status(t, r, "", "credentials")
	assert.Equal(t, doctor.Fail, c.Status)
	assert.Contains(t, c.Detail, "TENCENTCLOUD_SESSION_TOKEN")
	assert.Contains(t, c.Detail, credential.EnvExpireAt)
	assert.Len(t, r.Checks, 1, "nothing else is tried")
	assert.Empty(t, s.emu.Requests())
	assert.Empty(t, s.cos.Requests())

	s.vars[credential.EnvExpireAt] = time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r = s.run(t, function.TelCall)
	assert.Contains(t, status(t, r, "", "credentials").Detail, "valid until")
	assert.False(t, r.Failed())
}

func TestUnconfiguredFunctions(t *testing.T) {
	s := newSetup(t, emulator.Config{}, costest.Options{})
	delete(s.vars, "TCUSAGE_ESS_APP_ID")
	delete(s.vars, "TCUSAGE_ESS_ORG_OPEN_IDS")
	r := s.run(t, function.TelCall, function.ESS)
	c := status(t, r, "essbill", "configuration")
	assert.Equal(t, doctor.Fail, c.Status, "named but not configured")
	assert.Contains(t, c.Detail, "TCUSAGE_ESS_APP_ID")

	ctx := context.Background()
	r = doctor.Run(ctx, doctor.Options{Functions: []function.Spec{function.ESS}, Getenv: func(k string) string { return s.vars[k] }, Home: t.TempDir()})
	assert.Equal(t, doctor.Skip, status(t, r, "essbill", "configuration").Status, "not named: skipped")
	assert.False(t, r.Failed())

	s.vars["TCUSAGE_SDK_APP_IDS"] = "1400009999"
	r = s.run(t, function.TelCall)
	c = status(t, r, "telcall", "DescribeTelCallInfo answers")
	assert.Equal(t, doctor.Fail, c.Status)
	assert.Contains(t, c.Fix, "TCUSAGE_SDK_APP_IDS")
}
