package report_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/tcusage/tcusage/shared/calendar/calendartest"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
)

// The real-browser test. It runs when a Chromium binary is found: TCUSAGE_CHROMIUM names one,
// otherwise /usr/bin/chromium (Debian's, installed by .ci/chromium.sh). TCUSAGE_REPORT_STORE
// names a file-sink directory to report on (e.g. the demo's output); without it the test makes
// its own from a demo-like emulated run. TCUSAGE_SCREENSHOTS names a directory to write
// report-375.png and report-1280.png into (make screenshots).

func chromiumBinary() string {
	if p := os.Getenv("TCUSAGE_CHROMIUM"); p != "" {
		return p
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// pageFigure is one element of the page that carries a figure in data- attributes.
type pageFigure struct {
	Dataset     string `json:"dataset"`
	App         string `json:"app"`
	Metric      string `json:"metric"`
	SubCustomer string `json:"subCustomer"`
	QuotaType   string `json:"quotaType"`
	Room        string `json:"room"`
	Tile        string `json:"tile"`
	Value       string `json:"value"`
	Text        string `json:"text"`
}

const readFigures = `Array.from(document.querySelectorAll('[data-value]')).map(e => ({
  dataset: e.dataset.dataset || '', app: e.dataset.app || '', metric: e.dataset.metric || '',
  subCustomer: e.dataset.subCustomer || '', quotaType: e.dataset.quotaType || '',
  room: e.dataset.room || '', tile: e.dataset.tile || '', value: e.dataset.value,
  text: (e.firstChild && e.firstChild.nodeType === 3 ? e.firstChild.textContent : e.textContent).trim()}))`

// browserStore returns the file-sink directory to report on and its days, oldest first.
func browserStore(t *testing.T) (string, []string) {
	if dir := os.Getenv("TCUSAGE_REPORT_STORE"); dir != "" {
		st, err := file.New(dir)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := snapshot.ListPartitions(context.Background(), st, "", report.TRTC)
		if err != nil {
			t.Fatal(err)
		}
		var dates []string
		for _, p := range parts {
			if p.HasManifest {
				dates = append(dates, p.Date.String())
			}
		}
		if len(dates) == 0 {
			t.Fatalf("TCUSAGE_REPORT_STORE=%s holds no trtcusage day", dir)
		}
		return dir, dates
	}
	dir := t.TempDir()
	return dir, emulatedDays(t, dir, 9)
}

func TestReportInChromium(t *testing.T) {
	bin := chromiumBinary()
	if bin == "" {
		const how = "no Chromium: run .ci/chromium.sh (installs /usr/bin/chromium) or set TCUSAGE_CHROMIUM"
		if os.Getenv("CI") == "true" {
			t.Fatal(how) // CI must render the report, never skip it
		}
		t.Skip(how)
	}
	dir, dates := browserStore(t)
	st, err := file.New(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The functions rendered the pages after their commits; render the last day again here, so
	// that a store written with TCUSAGE_REPORTS=off (or before reports) works too.
	date := dates[len(dates)-1]
	if _, err := report.Publish(context.Background(), st, "", mustDay(date), calendartest.Now()); err != nil {
		t.Fatal(err)
	}
	key, _ := report.DayKey("", mustDay(date))
	pageURL := "file://" + filepath.ToSlash(filepath.Join(dir, key))
	want := independentTotals(t, dir, date)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND"),
	)...)
	defer cancel()
	for _, width := range []int64{375, 1280} {
		t.Run(fmt.Sprintf("width=%d", width), func(t *testing.T) {
			checkPage(t, alloc, pageURL, width, want)
		})
	}
}

// browserLog collects what the page did that it must not: console errors, exceptions and
// requests for anything but the page itself.
type browserLog struct {
	mu       sync.Mutex
	problems []string
}

func (b *browserLog) listen(page string) func(ev any) {
	return func(ev any) {
		var p string
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				p = fmt.Sprintf("console.%s called", e.Type)
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + e.ExceptionDetails.Text
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				p = fmt.Sprintf("browser log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
			}
		case *network.EventRequestWillBeSent:
			if u := e.Request.URL; u != page {
				p = "request leaving the page: " + u
			}
		}
		if p != "" {
			b.mu.Lock()
			b.problems = append(b.problems, p)
			b.mu.Unlock()
		}
	}
}

func checkPage(t *testing.T, alloc context.Context, pageURL string, width int64, want map[figureKey]float64) {
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTimeout()
	var blog browserLog
	if err := chromedp.Listen(ctx, blog.listen(pageURL)); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Navigate(pageURL)); err != nil {
		t.Fatal(err)
	}
	scrollWidth, err := chromedp.Run(ctx, chromedp.Evaluate[int]("document.scrollingElement.scrollWidth"))
	if err != nil {
		t.Fatal(err)
	}
	if scrollWidth > int(width) {
		t.Errorf("the page is %d px wide in a %d px viewport: it overflows horizontally", scrollWidth, width)
	}
	figures, err := chromedp.Run(ctx, chromedp.Evaluate[[]pageFigure](readFigures))
	if err != nil {
		t.Fatal(err)
	}
	checkFigures(t, figures, want)
	if dir := os.Getenv("TCUSAGE_SCREENSHOTS"); dir != "" {
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, fmt.Sprintf("report-%d.png", width))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s (%d bytes)", path, len(png))
	}
	blog.mu.Lock()
	defer blog.mu.Unlock()
	for _, p := range blog.problems {
		t.Error(p)
	}
}

// checkFigures compares every figure on the page with the independent sums, both its exact
// data-value and the number people read.
func checkFigures(t *testing.T, figures []pageFigure, want map[figureKey]float64) {
	t.Helper()
	seen := map[string]int{}
	for _, f := range figures {
		k := figureKey{Dataset: f.Dataset, App: f.App, Metric: f.Metric, SubCustomer: f.SubCustomer, QuotaType: f.QuotaType, Room: f.Room, Tile: f.Tile}
		if f.Room != "" {
			k.Metric = ""
		}
		w, ok := want[k]
		if _, idle := want[delivered(f.Dataset, f.App)]; !ok && idle && f.App != "" && f.Room == "" && f.Value == "0" {
			ok = true // a delivered app with no such rows: zero
		}
		if !ok {
			t.Errorf("the page shows %+v, which the data files do not have", f)
			continue
		}
		v, err := strconv.ParseFloat(f.Value, 64)
		if err != nil || !closeTo(v, w) {
			t.Errorf("%+v: data-value %s, the data files add up to %v", k, f.Value, w)
		}
		seen[f.Dataset+f.Tile]++
		shown := w
		if f.Metric == "seconds" || strings.HasPrefix(f.Metric, "type:") || strings.HasPrefix(f.Metric, "col:") || f.Room != "" || f.Tile == report.TRTC {
			shown = w / 60 // durations are shown in minutes
		}
		if f.Metric == "refunded" {
			shown = -w // refunds are shown as what they take off
		}
		if !textShows(f.Text, shown) {
			t.Errorf("%+v shows %q, want about %v", k, f.Text, shown)
		}
	}
	for _, ds := range report.Datasets() {
		if seen[ds] < 3 || seen[ds] == 0 {
			t.Errorf("only %d figures of %s on the page", seen[ds], ds)
		}
	}
}

// textShows reports whether text (thousands separators, true minus sign) is v rounded as shown:
// to a whole number, or to one decimal.
func textShows(text string, v float64) bool {
	s := strings.ReplaceAll(strings.ReplaceAll(text, ",", ""), "−", "-")
	got, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return false
	}
	return math.Abs(got-v) <= 0.5+1e-9
}
