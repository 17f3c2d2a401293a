package report

import (
	"math"
	"time"

	"github.com/tcusage/tcusage/shared/snapshot"
)

// Options tune what the pages show. The zero Options are the defaults.
type Options struct {
	// TopRooms is how many of the day's largest rooms are listed (default 20; negative: none). Memory for them
	// is proportional to this number, whatever the number of rooms.
	TopRooms int
	// TrendDays is the length of trend charts, the day included (default 30).
	TrendDays int
	// LateAfter is how long after the end of a day (China Standard Time) a dataset that is not
	// complete is shown as late rather than still being filled (default 12 h).
	LateAfter time.Duration
	// Link turns a store key into the href a page links it with. Nil links relatively to the
	// page, which works on a file sink and on a bucket read as a website; a caller can return
	// presigned URLs instead. Pages never link anything else.
	Link func(fromPage, key string) string
	// Workers is how many past days are read at once (default 4).
	Workers int
	// Holder names the writer in the reports' lease (default: this process, by PID and host),
	// and Lease tunes that lease (zero: snapshot.LeaseConfig's defaults). See Refresh.
	Holder string
	Lease  snapshot.LeaseConfig

	// rendering holds the days a refresh renders: their pages are linked before they exist.
	rendering map[string]bool
}

func (o Options) withDefaults() Options {
	if o.TopRooms == 0 {
		o.TopRooms = 20
	}
	if o.TrendDays <= 0 {
		o.TrendDays = 30
	}
	if o.LateAfter <= 0 {
		o.LateAfter = 12 * time.Hour
	}
	if o.Link == nil {
		o.Link = relativeLink
	}
	if o.Workers <= 0 {
		o.Workers = 4
	}
	return o
}

// Freshness states of a dataset's day.
const (
	StateComplete = "complete" // every app is in
	StatePartial  = "partial"  // some apps are still pending, and it is not late yet
	StateWaiting  = "waiting"  // no manifest yet, and it is not late yet
	StateLate     = "late"     // not complete after Options.LateAfter
)

// Freshness says how complete one dataset's day is and where its files are.
type Freshness struct {
	Dataset string
	Title   string
	State   string
	// Delivered is false when the day has no manifest.
	Delivered   bool
	Pending     []string
	Apps        int
	GeneratedAt time.Time
	// Action is the API action the data came from (with the fallback, if one was used).
	Action       string
	ManifestKey  string
	ManifestHref string
	Files        []FileLink
}

// FileLink is one data file of a day, as its manifest lists it.
type FileLink struct {
	App, Format string
	Rows, Bytes int64
	Key, Href   string
}

// Tile is a headline figure at the top of the day's page.
type Tile struct {
	Dataset, Title string
	Value          float64
	Unit           string
	// Note is a second line, e.g. the figure in hours.
	Note   string
	VsPrev Change
	Anchor string
}

// Change compares a figure with a base (the day before, or the previous 7 days' average).
type Change struct {
	// Valid is false when there is no base to compare with.
	Valid bool
	Base  float64
	// Ratio is (value - base) / base; +Inf when the base is zero and the value is not.
	Ratio float64
}

func newChange(v float64, base float64, ok bool) Change {
	if !ok || math.IsNaN(base) {
		return Change{}
	}
	c := Change{Valid: true, Base: base}
	switch {
	case base != 0:
		c.Ratio = (v - base) / math.Abs(base)
	case v != 0:
		c.Ratio = math.Inf(1)
	}
	return c
}

// Text writes the change for people: "+12.3 %", "−4.0 %", "±0 %", "new" or "–".
func (c Change) Text() string {
	switch {
	case !c.Valid:
		return "–"
	case math.IsInf(c.Ratio, 0):
		return "new"
	case math.Abs(c.Ratio) < 0.0005:
		return "±0 %"
	case c.Ratio > 0:
		return "+" + formatNumber(c.Ratio*100, 1) + " %"
	}
	return formatNumber(c.Ratio*100, 1) + " %"
}

// Direction is "up", "down" or "flat" (for styling), or "" without a base.
func (c Change) Direction() string {
	switch {
	case !c.Valid:
		return ""
	case math.Abs(c.Ratio) < 0.0005:
		return "flat"
	case c.Ratio > 0:
		return "up"
	}
	return "down"
}

// Trend is a dataset's headline figure per app for the day, compared with the day before and
// with the average of the 7 days before, plus its daily history.
type Trend struct {
	Dataset, Metric, Label, Unit string
	// Pending lists the day's apps still pending: the day's total lacks them.
	Pending []string
	Rows    []TrendRow
	Total   TrendRow
	// Chart shows the daily total over the trend window; Days is its length.
	Chart Chart
	Days  int
}

// TrendRow is one app's (or the total's) line of a Trend.
type TrendRow struct {
	App string
	// Has is false when the app has no figures for the day (pending).
	Has           bool
	Value         float64
	VsPrev, VsAvg Change
	Spark         Chart
}

// Matrix is a table of figures per app and column.
type Matrix struct {
	Dataset string
	Cols    []Col
	Rows    []MatrixRow
	Total   MatrixRow
}

// Col is a column of a Matrix: a metric key, its header and unit.
type Col struct {
	Key, Label, Unit string
}

// MatrixRow is one app's line of a Matrix; Cells follow Cols.
type MatrixRow struct {
	App   string
	Cells []float64
}

// Warning is a quality-check finding about the day, shown on the page when set (filled by a
// later quality check; the report does not compute any).
type Warning struct {
	Dataset, App, Message string
}

// Restatement notes that a figure of a day changed since it was first delivered: a measure's
// total before and after a restatement (Date is when it was restated, China Standard Time).
type Restatement struct {
	Dataset, Date, App, Metric string
	Before, After              float64
	Unit                       string
}
