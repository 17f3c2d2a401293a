package function_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/emulator/emulatortest"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// storedSummary reads a day's summary.json from a file sink.
func storedSummary(t *testing.T, dir, date string) *report.Summary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "reports", "dt="+date, "summary.json"))
	require.NoError(t, err)
	var s report.Summary
	require.NoError(t, json.Unmarshal(b, &s))
	return &s
}

func readPage(t *testing.T, dir, date string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "reports", "dt="+date, "index.html"))
	require.NoError(t, err)
	return string(b)
}

// A timer run renders the report of every day it committed, with the figures the API answered,
// and the month page and index beside them.
func TestTimerRunRendersTheReport(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.TelCall)
	_, err := invoke(t, fn, timerEvent(""))
	require.NoError(t, err)

	data := e.emu.Data()
	for _, date := range []string{"2024-05-08", "2024-05-09"} {
		s := storedSummary(t, e.dir, date)
		assert.True(t, s.Rendered, "%s: the page was rendered from its summary", date)
		f := s.Dataset(report.TelCall)
		require.NotNil(t, f, date)
		assert.Equal(t, snapshot.StatusComplete, f.Status)
		for _, app := range []int64{1400000001, 1400000002} {
			want := data.TelCall(app, day(date))
			a := f.App(strconv.FormatInt(app, 10))
			require.NotNil(t, a, "%s app %d", date, app)
			assert.EqualValues(t, want.TelCallOut+want.TelCallIn+want.VOIPCallIn, a.Values[report.MetricCallMinutes], "%s app %d", date, app)
			assert.EqualValues(t, want.SeatUsed, a.Values[report.MetricSeats], "%s app %d", date, app)
		}
		page := readPage(t, e.dir, date)
		assert.True(t, strings.Contains(page, `data-tile="telcall"`), "%s: the page shows telcall's tile", date)
		assert.True(t, strings.Contains(page, `href="../../telcall/v1/dt=`+date+`/_manifest.json"`), "%s: the page links the day's manifest", date)
	}
	for _, p := range []string{"reports/month=2024-05/index.html", "reports/index.html"} {
		assert.FileExists(t, filepath.Join(e.dir, p))
	}
}

// gate is a store that holds chosen writes back until something else happened: the test's way
// of choosing the order in which two functions' commits and renders interleave.
type gate struct {
	snapshot.Store
	before func(key string) // called before a Put of key
	after  func(key string) // called after a successful Put of key
}

func (g gate) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if g.before != nil {
		g.before(key)
	}
	err := g.Store.Put(ctx, key, body, o)
	if err == nil && g.after != nil {
		g.after(key)
	}
	return err
}

// waitFor waits until ch is closed or d has passed.
func waitFor(ch <-chan struct{}, d time.Duration) {
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// Two functions commit the same day and render its report at once, in the worst order: telcall
// reads the day before essbill's manifest lands, and would write its page after essbill's render.
// The reports' lease makes essbill's render wait for telcall's, so the page in the end shows both.
func TestRendersOfTwoFunctionsAtOnceShowBoth(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	const date = "2024-05-09"
	page := "reports/dt=" + date + "/index.html"
	telcallRead, essPage := make(chan struct{}), make(chan struct{})
	var closeRead, closeEss sync.Once
	telcall := gate{before: func(key string) {
		if key == page { // telcall has read the whole day: let essbill commit, and hold the page back
			closeRead.Do(func() { close(telcallRead) })
			waitFor(essPage, 2*time.Second)
		}
	}}
	essbill := gate{
		before: func(key string) {
			if key == "essbill/v2/dt="+date+"/"+snapshot.ManifestName {
				waitFor(telcallRead, 20*time.Second)
			}
		},
		after: func(key string) {
			if key == page {
				closeEss.Do(func() { close(essPage) })
			}
		},
	}
	build := func(spec function.Spec, g gate) *function.Function {
		fn, err := function.New(spec, func(k string) string { return e.vars[k] }, function.Options{
			Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
			WrapStore: func(s snapshot.Store) snapshot.Store { g.Store = s; return g },
		})
		require.NoError(t, err)
		return fn
	}
	fns := []*function.Function{build(function.TelCall, telcall), build(function.ESS, essbill)}
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Go(func() {
			_, err := invoke(t, fn, timerEvent(`{"date":"`+date+`"}`))
			assert.NoError(t, err, fn.Spec.Name)
		})
	}
	wg.Wait()

	s := storedSummary(t, e.dir, date)
	assert.True(t, s.Rendered)
	assert.NotNil(t, s.Dataset(report.TelCall), "the last render shows telcall")
	assert.NotNil(t, s.Dataset(report.ESSBill), "the last render shows essbill")
	html := readPage(t, e.dir, date)
	assert.True(t, strings.Contains(html, `data-tile="telcall"`), "the page shows telcall's tile")
	assert.True(t, strings.Contains(html, `data-tile="essbill"`), "the page shows essbill's tile")
}

// tileBase returns the figure a page's headline tile of dataset compares with.
func tileBase(t *testing.T, page, dataset string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)data-tile="` + dataset + `".*?data-base="([^"]*)"`).FindStringSubmatch(page)
	require.NotNil(t, m, "no %s tile with a base on the page", dataset)
	return m[1]
}

// When the API restates a day (more records on a second fetch), the day's page is rendered
// again, and so is the page of the day after, which compares itself with it.
func TestRestatementRendersTheDaysItChanges(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	fn := e.build(function.ESS)
	_, err := invoke(t, fn, timerEvent(`{"from":"2024-05-08","to":"2024-05-09"}`))
	require.NoError(t, err)
	before := storedSummary(t, e.dir, "2024-05-08")
	pageAfter := readPage(t, e.dir, "2024-05-09")
	net := func(s *report.Summary) float64 {
		var n float64
		for _, a := range s.Dataset(report.ESSBill).Apps {
			n += a.Values[report.MetricNet]
		}
		return n
	}
	require.Equal(t, jsonFloat(net(before)), tileBase(t, pageAfter, report.ESSBill))

	// The same account, answering more records for the 8th now.
	restated := emulatortest.NewServer(t, emulator.Config{Now: clock, TimeScale: 0.001, ESSRecordsPerDay: 90})
	e.vars["TCUSAGE_API_ENDPOINT"] = restated.Addr
	fn = e.build(function.ESS)
	_, err = invoke(t, fn, timerEvent(`{"date":"2024-05-08","force":true}`))
	require.NoError(t, err)

	after := storedSummary(t, e.dir, "2024-05-08")
	require.True(t, after.Rendered)
	require.NotEqual(t, net(before), net(after), "the restatement changed the day's figures")
	m := manifest(t, e.dir, "essbill", "2024-05-08")
	var records int64
	for _, f := range m.Files {
		if f.Format == "jsonl" {
			records += f.Rows
		}
	}
	var shown float64
	for _, a := range after.Dataset(report.ESSBill).Apps {
		shown += a.Values[report.MetricRecords]
	}
	assert.EqualValues(t, records, shown, "the page counts the restated day's records")
	assert.Equal(t, jsonFloat(net(after)), tileBase(t, readPage(t, e.dir, "2024-05-09"), report.ESSBill),
		"the day after compares itself with the restated figure")
}

func jsonFloat(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// failingReports is a store on which writing report pages fails while fail is set.
type failingReports struct {
	snapshot.Store
	fail *atomic.Bool
}

func (s failingReports) Put(ctx context.Context, key string, body io.ReadSeeker, o snapshot.PutOptions) error {
	if s.fail.Load() && strings.HasPrefix(key, "reports/dt=") {
		return errors.New("injected: the bucket refused the page")
	}
	return s.Store.Put(ctx, key, body, o)
}

// A run whose render fails still delivers its data and fails loudly; the next timer run, which
// has nothing to fetch, renders the pages that are behind.
func TestFailedRenderIsCaughtUpByTheNextRun(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	var fail atomic.Bool
	fail.Store(true)
	fn, err := function.New(function.TelCall, func(k string) string { return e.vars[k] }, function.Options{
		Home: t.TempDir(), Now: clock, TempDir: t.TempDir(),
		WrapStore: func(s snapshot.Store) snapshot.Store { return failingReports{Store: s, fail: &fail} },
	})
	require.NoError(t, err)
	_, err = invoke(t, fn, timerEvent(""))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "publish")
	assert.Equal(t, snapshot.StatusComplete, manifest(t, e.dir, "telcall", "2024-05-09").Status, "the data is delivered")
	assert.NoFileExists(t, filepath.Join(e.dir, "reports", "dt=2024-05-09", "index.html"))

	fail.Store(false)
	calls := len(e.emu.Requests())
	_, err = invoke(t, fn, timerEvent(""))
	require.NoError(t, err)
	assert.Len(t, e.emu.Requests(), calls, "nothing fetched again")
	for _, date := range []string{"2024-05-08", "2024-05-09"} {
		assert.True(t, storedSummary(t, e.dir, date).Rendered, date)
	}
}

// TCUSAGE_REPORTS=off: the data is delivered, no report is rendered, and nothing under reports/
// is read or written.
func TestReportsOff(t *testing.T) {
	e := newTestEnv(t, emulator.Config{})
	e.vars["TCUSAGE_REPORTS"] = "off"
	fn := e.build(function.TelCall)
	for range 2 { // a run with commits, then one that catches up nothing
		_, err := invoke(t, fn, timerEvent(""))
		require.NoError(t, err)
	}
	assert.Equal(t, snapshot.StatusComplete, manifest(t, e.dir, "telcall", "2024-05-09").Status)
	assert.NoDirExists(t, filepath.Join(e.dir, "reports"))
}
