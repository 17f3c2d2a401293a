package enginetest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// The apps the functions export: the emulator's demo apps, as `tcusage demo` uses them.
var (
	sdkApps = []int64{1400000001, 1400000002, 1400000003}
	essApp  = "ess_app_demo"
	essOrgs = []string{"org_alpha", "org_beta", "org_gamma", "org_delta", "org_epsilon"}
)

// restateDays is TCUSAGE_RESTATE_DAYS for the timer run: yesterday plus this many days before it.
const restateDays = 2

// datasets are the four datasets, in the order of function.All.
var datasets = []string{"telcall", "trtcusage", "roomusage", "essbill"}

// exported is what produceSnapshots wrote.
type exported struct {
	dir  string   // the file sink's directory
	days []string // the exported days, oldest first (YYYY-MM-DD, China Standard Time)
	data emulator.Data
	// manifests holds the final manifest of every dataset and day: manifests[dataset][day].
	manifests map[string]map[string]*snapshot.Manifest
	// restated is the day that was fetched a second time; before holds every manifest as the
	// first run left them: before[dataset][day]. The first run fetched it while the API still
	// answered it in part, as of partialAt.
	restated  string
	before    map[string]map[string]*snapshot.Manifest
	partialAt time.Time
}

// produceSnapshots runs the four functions in-process against the embedded emulator, the way the
// deployed timer does: one plain timer run (yesterday and restateDays days before it, as
// TCUSAGE_RESTATE_DAYS asks) while the API still answers yesterday in part (the emulator's clock
// in the middle of that day), then, once its figures are final, a forced re-run of yesterday, as an
// operator's restatement would: every dataset's yesterday changes. The days come from the current
// clock: the room-usage API serves only the last 90 days.
func produceSnapshots(t *testing.T) *exported {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	now := middayClock()
	// The emulator's clock runs behind the functions' until the restatement: at first it is
	// yesterday 13:02:30, two and a half minutes into a 5-minute bucket.
	var behind atomic.Int64
	behind.Store(int64(22*time.Hour + 57*time.Minute + 30*time.Second))
	emuNow := func() time.Time { return now().Add(-time.Duration(behind.Load())) }
	// TimeScale shortens the emulator's rate-limit windows 1000× (room usage: 15 ms instead of
	// 15 s); the client is paced a little slower than that so that no call is refused.
	// Five busy sub-customers: ESS organisations are idle for days now and then, and the checks
	// need refunds (negative use_count) among the records of any three days.
	emu := emulatortest.NewServer(t, emulator.Config{TimeScale: 0.001, Now: emuNow,
		ESSApps: map[string][]string{essApp: essOrgs}, ESSRecordsPerDay: 60})
	dir := t.TempDir()
	env := map[string]string{
		"TENCENTCLOUD_SECRET_ID":   emulator.TestSecretID,
		"TENCENTCLOUD_SECRET_KEY":  emulator.TestSecretKey,
		"TCUSAGE_API_ENDPOINT":     emu.Addr,
		"TCUSAGE_API_RATE":         "*=1/1ms,DescribeTrtcRoomUsage=1/16ms",
		"TCUSAGE_SINK":             "file://" + dir,
		"TCUSAGE_FORMAT":           "all",
		"TCUSAGE_SDK_APP_IDS":      "1400000001,1400000002,1400000003",
		"TCUSAGE_ESS_APP_ID":       essApp,
		"TCUSAGE_ESS_ORG_OPEN_IDS": strings.Join(essOrgs, ","),
		"TCUSAGE_RESTATE_DAYS":     strconv.Itoa(restateDays),
	}
	fns := make(map[string]*function.Function)
	for _, spec := range function.All() {
		fn, err := function.New(spec, func(k string) string { return env[k] }, function.Options{
			Home: t.TempDir(), TempDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler), Now: now,
		})
		require.NoError(t, err, spec.Name)
		fns[spec.Name] = fn
	}
	require.ElementsMatch(t, datasets, keys(fns), "function.All() has one function per dataset")

	yesterday := calendar.Of(now(), calendar.Zone).Add(-1).String()
	days := make([]string, 0, restateDays+1)
	for i := restateDays; i >= 0; i-- {
		days = append(days, addDays(yesterday, -i))
	}

	run := func(message string) {
		t.Helper()
		ev := scfevent.Event{Timer: &scfevent.Timer{
			Type: "Timer", TriggerName: "enginetest", Time: now().UTC().Truncate(time.Second), Message: message,
		}}
		for _, name := range datasets {
			_, err := fns[name].Handle(ctx, ev)
			require.NoError(t, err, "%s timer run %q", name, message)
		}
	}

	// The daily timer: an empty Message exports yesterday and restates the days before it.
	run("")
	e := &exported{dir: dir, days: days, data: emu.Data(), restated: days[len(days)-1], partialAt: emuNow()}
	e.before = readManifests(t, dir, days)

	// A restatement: yesterday, final now, fetched again. App-days already fetched in the current
	// cycle are skipped unless forced, so it is forced.
	behind.Store(0)
	msg, err := json.Marshal(plan.Override{Date: e.restated, Force: true})
	require.NoError(t, err)
	run(string(msg))

	e.manifests = readManifests(t, dir, days)
	return e
}

// readManifests reads the manifest of every dataset and day, each of which must be complete.
func readManifests(t *testing.T, dir string, days []string) map[string]map[string]*snapshot.Manifest {
	t.Helper()
	out := make(map[string]map[string]*snapshot.Manifest)
	for _, name := range datasets {
		out[name] = make(map[string]*snapshot.Manifest)
		for _, day := range days {
			m := readManifest(t, dir, name, day)
			require.Equal(t, snapshot.StatusComplete, m.Status, "%s %s", name, day)
			out[name][day] = m
		}
	}
	return out
}

// middayClock returns a clock that starts at 12:00 Beijing time on today's date and runs in real
// time. The functions and the emulator share it, so that "yesterday" cannot change while a test
// runs across midnight, whatever the date.
func middayClock() func() time.Time {
	y, m, d := calendartest.Now().In(emulator.Beijing()).Date()
	return calendartest.Clock(time.Date(y, m, d, 12, 0, 0, 0, emulator.Beijing()))
}

// readManifest reads one partition's manifest from the file sink.
func readManifest(t *testing.T, dir, dataset, day string) *snapshot.Manifest {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, dataset, snapshot.Version(dataset), "dt="+day, "_manifest.json"))
	require.NoError(t, err)
	defer f.Close()
	m, err := snapshot.DecodeManifest(f)
	require.NoError(t, err)
	return m
}

// files returns the paths of the files of one dataset and format that the manifests list, over
// every exported day.
func (e *exported) files(dataset string, format usage.Format) []string {
	var out []string
	for _, day := range e.days {
		for _, f := range e.manifests[dataset][day].Files {
			if f.Format == format {
				out = append(out, filepath.Join(e.dir, filepath.FromSlash(f.Key)))
			}
		}
	}
	return out
}

// emuDay converts a YYYY-MM-DD day to the emulator's Date.
func emuDay(t *testing.T, day string) emulator.Date {
	t.Helper()
	d, err := emulator.ParseDate(day)
	require.NoError(t, err)
	return d
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// addDays moves a YYYY-MM-DD day by n days.
func addDays(day string, n int) string {
	d, err := calendar.Parse(day)
	if err != nil {
		panic(err)
	}
	return d.Add(n).String()
}
