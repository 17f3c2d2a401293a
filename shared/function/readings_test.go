package function_test

import (
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/tcapi"
)

// Every manifest records the window its requests named, exactly as the API received it, with the
// readings of the documents it rests on.
func TestManifestsRecordTheWindowSent(t *testing.T) {
	for _, spec := range function.All() {
		t.Run(spec.Name, func(t *testing.T) {
			e := newTestEnv(t, emulator.Config{})
			_, err := invoke(t, e.build(spec), timerEvent(`{"date":"2024-05-09"}`))
			require.NoError(t, err)
			m := manifest(t, e.dir, spec.Source(function.Config{}).Schema().Dataset, "2024-05-09")
			reqs := e.emu.Requests()
			require.NotEmpty(t, reqs)
			action := reqs[0].Action
			ws := m.WindowsSent[action]
			require.Len(t, ws, 1, "one window for every app: %v", m.WindowsSent)
			assert.Empty(t, ws[0].Apps)
			for _, r := range reqs {
				var body map[string]json.RawMessage
				require.NoError(t, json.Unmarshal(r.Body, &body))
				for name, v := range ws[0].Fields {
					assert.JSONEq(t, string(body[name]), string(v), "%s as the API received it", name)
				}
				assert.Len(t, ws[0].Fields, 2, "a start and an end")
			}
			a, ok := tcapi.ActionNamed(action)
			require.True(t, ok)
			for _, rd := range tcapi.ReadingsOf(a) {
				assert.Equal(t, rd.Value, ws[0].Readings[rd.Name], "the manifest names the reading %s", rd.Name)
			}
			assert.Len(t, ws[0].Readings, len(tcapi.ReadingsOf(a)))
		})
	}
}

// Against a service whose 5-minute keys name the interval's end, the day's last interval is keyed
// at the next midnight: under tcapi.TimeKeysLabelStart it is counted outside the day, in the
// manifest, which is what tells (as doctor does) that the reading is wrong.
func TestTimeKeyReadingDecidesWhatIsOutsideTheDay(t *testing.T) {
	for _, labelEnd := range []bool{false, true} {
		e := newTestEnv(t, emulator.Config{Readings: emulator.Readings{TimeKeysLabelEnd: labelEnd}})
		_, err := invoke(t, e.build(function.TRTC), timerEvent(`{"date":"2024-05-08"}`))
		require.NoError(t, err)
		m := manifest(t, e.dir, "trtcusage", "2024-05-08")
		want := map[string]string{}
		for _, app := range []uint64{1400000001, 1400000002} {
			for _, p := range e.emu.Data().TRTC5Min(app, day("2024-05-08")) {
				if labelEnd && p.Start.Add(5*time.Minute).Equal(day("2024-05-09").Start()) {
					want["points_outside_day/"+strconv.FormatUint(app, 10)] = "1"
				}
			}
		}
		if labelEnd {
			require.NotEmpty(t, want, "the emulator's day has a last interval for some app")
		}
		assert.Equal(t, want, nonNilMap(m.Origin.Details), "labelEnd=%v", labelEnd)
		assert.Equal(t, tcapi.TimeKeysLabelStart, m.WindowsSent["DescribeTrtcInteractiveTime"][0].Readings["tcapi.TimeKeysLabelStart"])
	}
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// TCUSAGE_ROOM_USAGE_LIMIT=per-app paces room usage per app: against a service counting the
// limit per app, the apps of a day are fetched side by side without a refusal, and the run plans
// with the account's time shared by them.
func TestRoomUsagePacedPerApp(t *testing.T) {
	e := newTestEnv(t, emulator.Config{RoomUsageLimitPerApp: true})
	e.vars["TCUSAGE_SDK_APP_IDS"] = "1400000001,1400000002,1400000003"
	e.vars["TCUSAGE_ROOM_USAGE_LIMIT"] = "per-app"
	fn := e.build(function.Room)
	assert.Equal(t, 20*time.Millisecond/3, fn.Runner.Interval, "one app's interval, shared by three")
	_, err := invoke(t, fn, timerEvent(`{"date":"2024-05-09"}`))
	require.NoError(t, err)
	for _, r := range e.emu.Requests() {
		assert.Empty(t, r.Code, "no call refused")
	}
	assert.Len(t, manifest(t, e.dir, "roomusage", "2024-05-09").Apps, 3)

	e.vars["TCUSAGE_ROOM_USAGE_LIMIT"] = "per-account"
	assert.Equal(t, 20*time.Millisecond, e.build(function.Room).Runner.Interval)
}
