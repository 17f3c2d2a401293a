package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// publishAll renders the fixture's days one after the other, oldest first, as the functions
// would after each day's first delivery.
func publishAll(t testing.TB, st snapshot.Store, dates ...string) {
	t.Helper()
	for _, d := range dates {
		if _, err := Publish(context.Background(), st, fixPrefix, day(d), fixNow); err != nil {
			t.Fatal(err)
		}
	}
}

func dates(ds []calendar.Day) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

var (
	fix8 = addDays(fixDate, -8)
	fix2 = addDays(fixDate, -2)
	fix1 = addDays(fixDate, -1)
)

// A changed day is rendered with the pages of the 7 days after it that exist (they compare
// themselves with it), not the pages further on; the month page runs through the newest page of
// the month whatever day changed; the index comes last.
func TestRefreshRendersTheDaysAChangeShows(t *testing.T) {
	st := fixture(t)
	publishAll(t, st, fix8, fix2, fix1, fixDate)
	ctx := context.Background()
	cases := []struct {
		changed string
		want    []string
	}{
		{fix2, []string{fix2, fix1, fixDate}},
		{fix8, []string{fix8, fix2, fix1}}, // fixDate is 8 days later
		{fixDate, []string{fixDate}},
	}
	for _, c := range cases {
		p, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(c.changed), Changed: true}}, fixNow)
		if err != nil {
			t.Fatal(err)
		}
		if got := dates(p.Rendered); !slices.Equal(got, c.want) {
			t.Errorf("%s changed: rendered %v, want %v", c.changed, got, c.want)
		}
		if p.Day == nil || p.Day.Date != c.changed {
			t.Errorf("%s changed: Published.Day is %+v", c.changed, p.Day)
		}
		month := "acme/usage/reports/month=2026-03/index.html"
		if !slices.Contains(p.Keys, month) || p.Keys[len(p.Keys)-1] != "acme/usage/reports/index.html" {
			t.Errorf("%s changed: wrote %v, want the month page and the index last", c.changed, p.Keys)
		}
		if page := st.object(t, month); !strings.Contains(page, `href="../dt=`+fixDate+`/index.html"`) {
			t.Errorf("%s changed: the month page no longer runs through %s", c.changed, fixDate)
		}
	}

	// ESS restates the day two days before: the page of the day after compares itself with the
	// new figure.
	putDay(t, st, fixPrefix, ESSBill, fix2, dayData{rows: map[string][]string{"ess_app": {
		essRow(fix2, "org_a", "SignFace", "签署意愿(人脸识别)", 1, 77),
	}}})
	if _, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fix2), Changed: true}}, fixNow); err != nil {
		t.Fatal(err)
	}
	if got := tileBase(t, st.object(t, "acme/usage/reports/dt="+fix1+"/index.html"), ESSBill); got != "77" {
		t.Errorf("the day after a restated day compares its ESS units with %s, want the restated 77", got)
	}
}

// tileBase returns the figure a page's headline tile of dataset compares with (data-base).
func tileBase(t *testing.T, page, dataset string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)data-tile="` + dataset + `".*?data-base="([^"]*)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no %s tile with a base on the page", dataset)
	}
	return m[1]
}

// restateESS restates fixDate's ESS day to one row of net units.
func restateESS(t *testing.T, st snapshot.Store, net int) {
	t.Helper()
	putDay(t, st, fixPrefix, ESSBill, fixDate, dayData{rows: map[string][]string{"ess_app": {
		essRow(fixDate, "org_a", "SignFace", "签署意愿(人脸识别)", 1, net),
	}}})
}

// requireRenders refreshes fixDate for c and requires that its page was rendered again and shows
// net ESS units.
func requireRenders(t *testing.T, st snapshot.Store, c Commit, net float64, what string) {
	t.Helper()
	p, err := Refresh(context.Background(), st, fixPrefix, []Commit{c}, fixNow)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if !slices.Equal(dates(p.Rendered), []string{fixDate}) {
		t.Fatalf("%s: rendered %v", what, p.Rendered)
	}
	if got := valueOf(p.Day.Summary.Dataset(ESSBill), "", MetricNet); got != net {
		t.Errorf("%s: the page shows %v net ESS units, the restated day has %v", what, got, net)
	}
}

// An unchanged commit whose page is current renders nothing, takes no lease and reads no data;
// once another dataset's day changed without its page being rendered (its refresh failed), the
// next unchanged commit of any dataset renders it.
func TestRefreshSkipsCurrentPagesAndCatchesUp(t *testing.T) {
	st := fixture(t)
	publishAll(t, st, fixDate)
	ctx := context.Background()
	dataKey, _ := snapshot.DataKey(fixPrefix, Rooms, day(fixDate), fixApp1, usage.JSONL)
	leases := func() int {
		objs, _ := st.List(ctx, fixPrefix+"/reports/_lease/")
		return len(objs)
	}
	reads, leaseObjs := st.gets[dataKey], leases()
	p, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rendered) != 0 || len(p.Keys) != 0 || !slices.Equal(dates(p.Skipped), []string{fixDate}) {
		t.Errorf("a current page: rendered %v, wrote %v, skipped %v", p.Rendered, p.Keys, p.Skipped)
	}
	if st.gets[dataKey] != reads || leases() != leaseObjs {
		t.Errorf("a current page: %d data reads, %d lease objects; want none", st.gets[dataKey]-reads, leases()-leaseObjs)
	}

	// ESS restates the day, and its refresh never happens; telcall's unchanged commit catches up.
	restateESS(t, st, 40)
	requireRenders(t, st, Commit{Day: day(fixDate)}, 40, "a page behind its manifests")
	p, err = Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow)
	if err != nil || len(p.Rendered) != 0 {
		t.Errorf("caught up: rendered %v again (%v)", p.Rendered, err)
	}
}

// On a store with entity tags (COS), a page is known current from one HEAD per manifest: no
// manifest is read. A manifest that changed has another tag, and the page is rendered again.
func TestCurrentPagesAreToldByTheManifestTags(t *testing.T) {
	st := fixture(t)
	st.tagged = true
	publishAll(t, st, fixDate)
	ctx := context.Background()
	manifestReads := func() int {
		n := 0
		for _, ds := range Datasets() {
			for _, v := range snapshot.Versions(ds) {
				k, _ := snapshot.ManifestKeyAt(fixPrefix, ds, v, day(fixDate))
				n += st.gets[k]
			}
		}
		return n
	}
	reads, heads := manifestReads(), st.heads
	p, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rendered) != 0 || !slices.Equal(dates(p.Skipped), []string{fixDate}) {
		t.Errorf("a current page: rendered %v, skipped %v", p.Rendered, p.Skipped)
	}
	if got := manifestReads() - reads; got != 0 || st.heads == heads {
		t.Errorf("a current page: %d manifest reads and %d HEADs, want none and some", got, st.heads-heads)
	}

	restateESS(t, st, 40)
	requireRenders(t, st, Commit{Day: day(fixDate)}, 40, "a page whose ESS manifest changed")
	reads = manifestReads()
	if p, err = Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow); err != nil || len(p.Rendered) != 0 {
		t.Errorf("caught up: rendered %v again (%v)", p.Rendered, err)
	}
	if got := manifestReads() - reads; got != 0 {
		t.Errorf("caught up: %d manifest reads, want none", got)
	}

	// A role that may not HEAD the manifests: the page is told current by reading them.
	st.headDenied = true
	reads = manifestReads()
	if p, err = Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow); err != nil {
		t.Fatalf("HEAD denied: %v", err)
	}
	if len(p.Rendered) != 0 {
		t.Errorf("HEAD denied: rendered %v, want the page told current", p.Rendered)
	}
	if manifestReads() == reads {
		t.Error("HEAD denied: the manifests were not read")
	}
	restateESS(t, st, 41)
	requireRenders(t, st, Commit{Day: day(fixDate), Changed: true}, 41, "HEAD denied, a changed day")
}

// A summary.json stored before its head held the manifests' tags (the figures first, "rendered"
// last) still tells a current page from one that is behind, by the manifests themselves.
func TestSummariesWithoutTagsAreReadWhole(t *testing.T) {
	st := fixture(t)
	st.tagged = true
	publishAll(t, st, fixDate)
	key, err := SummaryKey(fixPrefix, day(fixDate))
	if err != nil {
		t.Fatal(err)
	}
	var s Summary
	if err := json.Unmarshal([]byte(st.object(t, key)), &s); err != nil || !s.Rendered || len(s.Manifests) != 4 {
		t.Fatalf("the stored summary: rendered %v, tags %v (%v)", s.Rendered, s.Manifests, err)
	}
	old, err := json.Marshal(struct {
		SchemaVersion int              `json:"schema_version"`
		Date          string           `json:"date"`
		Datasets      []DatasetFigures `json:"datasets"`
		Rendered      bool             `json:"rendered"`
	}{s.SchemaVersion, s.Date, s.Datasets, true})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Put(context.Background(), key, bytes.NewReader(old), snapshot.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := Refresh(context.Background(), st, fixPrefix, []Commit{{Day: day(fixDate)}}, fixNow)
	if err != nil || len(p.Rendered) != 0 {
		t.Errorf("a current page with an older summary: rendered %v (%v)", p.Rendered, err)
	}
	restateESS(t, st, 40)
	if err := st.Put(context.Background(), key, bytes.NewReader(old), snapshot.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	requireRenders(t, st, Commit{Day: day(fixDate)}, 40, "a page behind its manifests, with an older summary")
}

// A page new to the store renders the day before again, so that it links forward to it.
func TestRefreshLinksTheDayBeforeToANewDay(t *testing.T) {
	st := fixture(t)
	publishAll(t, st, fix2)
	p, err := Publish(context.Background(), st, fixPrefix, day(fix1), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dates(p.Rendered), []string{fix2, fix1}) {
		t.Errorf("rendered %v, want the day before too", p.Rendered)
	}
	page := st.object(t, "acme/usage/reports/dt="+fix2+"/index.html")
	if !strings.Contains(page, `href="../dt=`+fix1+`/index.html"`) {
		t.Error("the day before does not link to the new day")
	}
}

// Refresh waits for another holder of the reports' lease, and renders once it is released; with
// a deadline that comes first it fails naming the lease and writes nothing.
func TestRefreshWaitsForTheReportsLease(t *testing.T) {
	st := fixture(t)
	ctx := context.Background()
	other, err := snapshot.AcquireLease(ctx, st, fixPrefix, LeaseName, "another function", snapshot.LeaseConfig{TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	page := "acme/usage/reports/dt=" + fixDate + "/index.html"
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	_, err = Publish(short, st, fixPrefix, day(fixDate), fixNow)
	if !errors.Is(err, snapshot.ErrLeaseHeld) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("while the lease is held until the deadline: %v, want ErrLeaseHeld and the deadline", err)
	}
	if _, err := st.Head(ctx, page); err == nil {
		t.Error("a page was written without the lease")
	}

	done := make(chan error, 1)
	go func() {
		_, err := Publish(ctx, st, fixPrefix, day(fixDate), fixNow)
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("rendered while another held the lease (%v)", err)
	case <-time.After(300 * time.Millisecond):
	}
	if err := other.Release(ctx, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting 10 s after the lease was released")
	}
	if _, err := st.Head(ctx, page); err != nil {
		t.Errorf("no page after the lease was released: %v", err)
	}
	if rec, err := snapshot.ReadLease(ctx, st, fixPrefix, LeaseName); err != nil || rec == nil || !rec.Released {
		t.Errorf("the reports' lease is not released after the refresh: %+v, %v", rec, err)
	}
}

// commitDuringRead is a store on which another function commits telcall's day (new files, then
// its manifest) while the report reads the day's first telcall file: the report has the old
// manifest and gets a file that no longer matches it.
type commitDuringRead struct {
	*memStore
	t      *testing.T
	key    string
	once   sync.Once
	commit func()
}

func (s *commitDuringRead) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if key == s.key {
		s.once.Do(s.commit)
	}
	return s.memStore.Get(ctx, key)
}

// A data file replaced by a commit while the day is read sends the report back to the day's new
// manifest; the page shows the new figures, not a mix and not an error.
func TestCommitDuringTheReadIsReadAgain(t *testing.T) {
	st := fixture(t)
	key, _ := snapshot.DataKey(fixPrefix, TelCall, day(fixDate), fixApp1, usage.JSONL)
	s := &commitDuringRead{memStore: st, t: t, key: key}
	s.commit = func() {
		putDay(t, st, fixPrefix, TelCall, fixDate, dayData{rows: map[string][]string{
			fixApp1: {telRow(fixDate, fixApp1, 1000, 0, 0, 0, 0, 1)},
			fixApp2: {telRow(fixDate, fixApp2, 7, 0, 0, 0, 0, 1)},
		}})
	}
	d, err := BuildDay(context.Background(), s, fixPrefix, day(fixDate), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	f := d.Summary.Dataset(TelCall)
	if got := valueOf(f, "", MetricCallMinutes); got != 1007 {
		t.Errorf("call minutes %v after the commit during the read, want 1007 (the new day)", got)
	}
	m, _ := snapshot.ReadManifest(context.Background(), st, fixPrefix, TelCall, day(fixDate))
	if f.Fingerprint != fingerprint(m) {
		t.Error("the figures do not come from the manifest now in force")
	}
	if st.gets[key] < 2 {
		t.Errorf("the replaced file was read %d time(s), want it read again", st.gets[key])
	}
}

// Two refreshes at once, as two functions run them after their commits, both complete, one
// after the other: each takes the reports' lease and releases it.
func TestRefreshesRunOneAtATime(t *testing.T) {
	st := fixture(t)
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			_, err := Options{Holder: fmt.Sprint("function ", i)}.Publish(context.Background(), st, fixPrefix, day(fixDate), fixNow)
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	rec, err := snapshot.ReadLease(context.Background(), st, fixPrefix, LeaseName)
	if err != nil {
		t.Fatal(err)
	}
	// Each refresh writes a generation to take the lease and one to release it.
	if rec == nil || !rec.Released || rec.Generation < 4 {
		t.Errorf("last lease generation %+v: the two refreshes did not each take and release the lease", rec)
	}
}

// renderDay builds and renders a day's page.
func renderDay(t *testing.T, st snapshot.Store, o Options, date string) string {
	t.Helper()
	d, err := o.BuildDay(context.Background(), st, fixPrefix, day(date), fixNow)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := d.Render(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A day rendered again takes the datasets whose files did not change from its stored summary and
// detail.json, without reading their files, and draws the very same page as from the files; a
// dataset whose files changed, or a different number of top rooms, is read again.
func TestRenderAgainReadsOnlyWhatChanged(t *testing.T) {
	st := fixture(t)
	publishAll(t, st, fixDate)
	ctx := context.Background()
	dataKey := func(ds string, app string) string {
		k, _ := snapshot.DataKey(fixPrefix, ds, day(fixDate), app, usage.JSONL)
		return k
	}
	rooms, trtc, ess := dataKey(Rooms, fixApp1), dataKey(TRTC, fixApp1), dataKey(ESSBill, "ess_app")
	reads := func() [3]int { return [3]int{st.gets[rooms], st.gets[trtc], st.gets[ess]} }

	before := reads()
	fromCache := renderDay(t, st, Options{}, fixDate)
	if got := reads(); got != before {
		t.Errorf("data files read again (rooms, trtc, ess: %v, then %v) though nothing changed", before, got)
	}
	fresh := newMemStore() // the same data, without the stored reports
	for k, b := range st.objs {
		if !strings.HasPrefix(k, fixPrefix+"/reports/") {
			fresh.objs[k] = b
		}
	}
	if fromData := renderDay(t, fresh, Options{}, fixDate); fromData != fromCache {
		t.Error("the page drawn from the stored summary and detail differs from the page drawn from the files")
	}

	restateESS(t, st, 40)
	before = reads()
	p, err := Refresh(ctx, st, fixPrefix, []Commit{{Day: day(fixDate), Changed: true}}, fixNow)
	if err != nil {
		t.Fatal(err)
	}
	got := reads()
	if got[0] != before[0] || got[1] != before[1] || got[2] != before[2]+1 {
		t.Errorf("after ESS changed: reads (rooms, trtc, ess) went from %v to %v, want only ESS read", before, got)
	}
	if p.Day.TRTC == nil || len(p.Day.TRTC.Curves) == 0 || len(p.Day.Rooms.Top) != 4 || p.Day.Rooms.RoomsSeen != 4 {
		t.Errorf("curves and top rooms not restored: %+v %+v", p.Day.TRTC, p.Day.Rooms)
	}

	before = reads()
	renderDay(t, st, Options{TopRooms: 2}, fixDate)
	if got := reads(); got[0] == before[0] {
		t.Error("the top 2 rooms were taken from a detail that kept 20")
	}
}
