package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Day is the model of one day's report: built from the store by BuildDay, written by Render.
type Day struct {
	// Date is the day reported on (a China Standard Time day, as the APIs count days).
	Date    string
	Weekday string
	// Prefix is the store prefix the report was built from.
	Prefix string
	// GeneratedAt is when the report was built (the caller's clock).
	GeneratedAt time.Time
	// Status sums up Freshness: StateComplete when every dataset is, StateLate when any is late,
	// StatePartial otherwise.
	Status    string
	Freshness []Freshness
	// LateAfter is Options.LateAfter: how long after the day a dataset that is not complete is late.
	LateAfter time.Duration
	Tiles     []Tile
	// Sections are nil for datasets with no delivered day in the trend window.
	TRTC  *TRTCSection
	Rooms *RoomSection
	Calls *CallSection
	ESS   *ESSSection
	// Summary holds the day's figures, as stored in summary.json.
	Summary *Summary
	// Warnings are the manifests' quality checks that warn or fail, and the checks across
	// datasets; Restatements the figures restatements moved (manifest changes). At most 50 each.
	Warnings     []Warning
	Restatements []Restatement
	// Nav links to the neighbouring days that have a report, the month and the index.
	Nav Nav

	// history are past days' summaries that had to be computed from the data (Publish stores
	// them so the next report reuses them).
	history []*Summary
	// detail is what the page shows beyond its summary, as stored in detail.json.
	detail *storedDetail
}

// Nav holds the links between pages (hrefs; empty when there is no such page).
type Nav struct {
	Prev, Next, Month, Index       string
	PrevLabel, NextLabel, MonthLbl string
}

// TRTCSection is the TRTC interaction-time part of a day.
type TRTCSection struct {
	Trend Trend
	// Types holds each app's seconds per usage type.
	Types Matrix
	// Curves are the day's 5-minute curves, one per app with 5-minute points.
	Curves []Curve
	// DailyOnly lists apps whose data has daily points only (no curve).
	DailyOnly []string
}

// Curve is one app's 5-minute curve of the day.
type Curve struct {
	App    string
	Chart  Chart
	Total  float64
	Peak   float64
	PeakAt string
}

// RoomSection is the TRTC room-usage part of a day.
type RoomSection struct {
	Trend Trend
	// Matrix holds each app's rooms and seconds per usage column.
	Matrix Matrix
	// Top are the day's largest rooms over all apps, largest first; TopCols their columns.
	Top     []TopRoom
	TopCols []Col
	TopN    int
	// RoomsSeen counts every room row read.
	RoomsSeen int64
}

// CallSection is the CCC part of a day.
type CallSection struct {
	Trend  Trend
	Matrix Matrix
}

// ESSSection is the ESS part of a day.
type ESSSection struct {
	Trend Trend
	// Groups are the figures per sub-customer and package type: each sub-customer's heading,
	// its package types, and its subtotal when it has more than one.
	Groups []ESSRow
	Total  ESSGroup
}

// ESSRow is one line of the ESS table: a sub-customer's heading, one package type, or the
// sub-customer's subtotal.
type ESSRow struct {
	ESSGroup
	Heading, Subtotal bool
}

// BuildDay builds the report of one day with the default Options.
func BuildDay(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Day, error) {
	return Options{}.BuildDay(ctx, store, prefix, date, now)
}

// BuildDay builds the report of one day from the manifests of date and of the days before it
// in the trend window, streaming the data files they list.
func (o Options) BuildDay(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Day, error) {
	o = o.withDefaults()
	page, err := DayKey(prefix, date)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	l := newLoader(store, prefix, o.Workers)
	ms, err := l.pageManifests(ctx, date)
	if err != nil {
		return nil, err
	}
	det := newDetail(o.TopRooms)
	today, kept, err := o.dayFigures(ctx, l, date, ms, det)
	if err != nil {
		return nil, err
	}
	l.stamp(today)
	past, err := l.summaries(ctx, dateRange(date.Add(-1), o.TrendDays-1))
	if err != nil {
		return nil, err
	}
	series := append(past, today)
	d := &Day{Date: date.String(), Weekday: date.Start().Weekday().String(), Prefix: prefix, GeneratedAt: now, Summary: today, LateAfter: o.LateAfter, detail: kept}
	for _, s := range l.computed {
		d.history = append(d.history, s)
	}
	slices.SortFunc(d.history, func(a, b *Summary) int { return compareStrings(a.Date, b.Date) })
	for _, ds := range Datasets() {
		if !active(ds, series) {
			continue
		}
		d.Freshness = append(d.Freshness, o.freshness(ds, ms[ds], prefix, date, now, page))
		d.addSection(ds, series, det)
	}
	d.Status = overall(d.Freshness)
	d.Warnings, d.Restatements = notes(ms)
	d.Nav = dayNav(ctx, store, prefix, date, page, o.Link, o.rendering)
	return d, nil
}

// dayFigures returns the day's figures of every dataset with a manifest in ms, collecting the
// page's detail into det, and that detail as detail.json keeps it. A dataset whose stored summary
// and detail come from the files its manifest lists is taken from them; the others are read from
// their files (ms is updated when a dataset's manifest changed while it was read).
func (o Options) dayFigures(ctx context.Context, l *loader, date calendar.Day, ms map[string]*snapshot.Manifest, det *detail) (*Summary, *storedDetail, error) {
	today := &Summary{SchemaVersion: SummaryVersion, Date: date.String()}
	kept := &storedDetail{SchemaVersion: detailVersion, Date: date.String(), Datasets: map[string]*datasetDetail{}}
	stored, storedDet := l.stored(ctx, date), l.storedDetailOf(ctx, date)
	for _, ds := range Datasets() {
		m := ms[ds]
		if m == nil {
			continue
		}
		if f, dd := cached(stored, storedDet, m); f != nil && det.restore(ds, dd) {
			today.Datasets = append(today.Datasets, *f)
			kept.Datasets[ds] = dd
			continue
		}
		f, read, err := figuresOf(ctx, l.store, l.prefix, m, det)
		if err != nil {
			return nil, nil, err
		}
		if ms[ds] = read; f != nil {
			today.Datasets = append(today.Datasets, *f)
			kept.Datasets[ds] = det.export(ds, f.Fingerprint)
		}
	}
	return today, kept, nil
}

// active reports whether ds has a delivered day in the window.
func active(ds string, series []*Summary) bool {
	return slices.ContainsFunc(series, func(s *Summary) bool { return s.Dataset(ds) != nil })
}

func (d *Day) addSection(ds string, series []*Summary, det *detail) {
	f := d.Summary.Dataset(ds)
	switch ds {
	case TRTC:
		d.TRTC = trtcSection(series, f, det)
		d.Tiles = append(d.Tiles, tile(d.TRTC.Trend, "TRTC minutes", "trtc", "= "+formatHours(d.TRTC.Trend.Total.Value)+" h"))
	case Rooms:
		d.Rooms = roomSection(series, f, det)
		rooms := buildTrend(Rooms, MetricRooms, "Rooms", UnitCount, series)
		d.Tiles = append(d.Tiles, tile(rooms, "TRTC rooms", "rooms", formatMinutes(d.Rooms.Trend.Total.Value)+" min in rooms"))
	case TelCall:
		d.Calls = callSection(series, f)
		seats := valueOf(f, "", MetricSeats)
		d.Tiles = append(d.Tiles, tile(d.Calls.Trend, "CCC call minutes", "ccc", formatCount(seats)+" seats used"))
	case ESSBill:
		d.ESS = essSection(series, f)
		note := formatCount(d.ESS.Total.Deducted) + " deducted, " + formatCount(d.ESS.Total.Refunded) + " refunded"
		d.Tiles = append(d.Tiles, tile(d.ESS.Trend, "ESS units, net", "ess", note))
	}
}

func tile(t Trend, title, anchor, note string) Tile {
	return Tile{Dataset: t.Dataset, Title: title, Value: t.Total.Value, Unit: t.Unit, Note: note, VsPrev: t.Total.VsPrev, Anchor: anchor}
}

// valueOf sums metric over f's apps (app "") or returns one app's value.
func valueOf(f *DatasetFigures, app, metric string) float64 {
	if f == nil {
		return math.NaN()
	}
	if app != "" {
		a := f.App(app)
		if a == nil {
			return math.NaN()
		}
		return a.Values[metric]
	}
	sum := 0.0
	for _, a := range f.Apps {
		sum += a.Values[metric]
	}
	return sum
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
