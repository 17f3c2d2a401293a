package report

import (
	"context"
	"fmt"
	"io"
	"math"
	"slices"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Month is the model of a month-to-date page: each dataset's totals per app from the first of
// the month through one day, with a chart of the daily totals.
type Month struct {
	// Month is YYYY-MM; Through is the last day included.
	Month, Through string
	Prefix         string
	GeneratedAt    time.Time
	// Days is the number of days from the first of the month through Through.
	Days     int
	Sections []MonthSection
	// ESS are essbill figures per sub-customer and package type over the month so far.
	ESS      []ESSRow
	ESSTotal ESSGroup
	// Calendar lists the month's days with their reports and states.
	Calendar []IndexDay
	Nav      Nav

	history []*Summary
}

// MonthSection is one dataset's month so far.
type MonthSection struct {
	Dataset, Title, Metric, Label, Unit string
	Rows                                []MonthRow
	Total                               MonthRow
	Chart                               Chart
	// Delivered counts days with a manifest, Complete those whose manifest is complete.
	Delivered, Complete int
}

// MonthRow is one app's (or the total's) month so far.
type MonthRow struct {
	App   string
	Value float64
	// Days counts the days with figures; Average is Value over Days.
	Days    int
	Average float64
}

// BuildMonth builds the month-to-date page of date's month, through date, with the default
// Options.
func BuildMonth(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Month, error) {
	return Options{}.BuildMonth(ctx, store, prefix, date, now)
}

// BuildMonth builds the month-to-date page of date's month, through date.
func (o Options) BuildMonth(ctx context.Context, store snapshot.Store, prefix string, date calendar.Day, now time.Time) (*Month, error) {
	o = o.withDefaults()
	month := date.String()[:7]
	page, err := MonthKey(prefix, month)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	dom := date.Start().Day()
	l := newLoader(store, prefix, o.Workers)
	series, err := l.summaries(ctx, dateRange(date, dom))
	if err != nil {
		return nil, err
	}
	m := &Month{Month: month, Through: date.String(), Prefix: prefix, GeneratedAt: now, Days: dom}
	for _, s := range l.computed {
		m.history = append(m.history, s)
	}
	for _, ds := range Datasets() {
		if active(ds, series) {
			m.Sections = append(m.Sections, monthSection(ds, series))
		}
	}
	m.ESS, m.ESSTotal = monthESS(series)
	pagesOf, err := reportPages(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	for _, s := range series {
		m.Calendar = append(m.Calendar, indexDay(s.Date, s, pagesOf.days[s.Date], page, o.Link))
	}
	slices.Reverse(m.Calendar)
	if key, err := IndexKey(prefix); err == nil {
		m.Nav.Index = o.Link(page, key)
	}
	if key, err := DayKey(prefix, date); err == nil && pagesOf.days[date.String()] != "" {
		m.Nav.Next, m.Nav.NextLabel = o.Link(page, key), date.String()
	}
	return m, nil
}

func monthSection(ds string, series []*Summary) MonthSection {
	metric := headline[ds]
	sec := MonthSection{Dataset: ds, Title: datasetTitles[ds], Metric: metric, Label: trendLabels[ds], Unit: headlineUnit[ds]}
	var apps []string
	totals := make([]float64, len(series))
	for i, s := range series {
		f := s.Dataset(ds)
		totals[i] = valueOf(f, "", metric)
		if f == nil {
			continue
		}
		sec.Delivered++
		if f.Status == StateComplete && len(f.AppsPending) == 0 {
			sec.Complete++
		}
		for _, a := range f.Apps {
			if !slices.Contains(apps, a.App) {
				apps = append(apps, a.App)
			}
		}
	}
	slices.SortFunc(apps, compareApps)
	for _, app := range apps {
		vals := make([]float64, len(series))
		for i, s := range series {
			vals[i] = valueOf(s.Dataset(ds), app, metric)
		}
		sec.Rows = append(sec.Rows, monthRow(app, vals))
	}
	sec.Total = monthRow("", totals)
	sec.Chart = trendChart(sec.Title+": "+sec.Label+" per day", series, ds, totals, sec.Unit)
	return sec
}

func monthRow(app string, vals []float64) MonthRow {
	r := MonthRow{App: app}
	for _, v := range vals {
		if !math.IsNaN(v) {
			r.Value += v
			r.Days++
		}
	}
	if r.Days > 0 {
		r.Average = r.Value / float64(r.Days)
	}
	return r
}

// monthESS adds up essbill groups over the days.
func monthESS(series []*Summary) ([]ESSRow, ESSGroup) {
	groups := map[[3]string]*ESSGroup{}
	var total ESSGroup
	for _, s := range series {
		for _, g := range s.Dataset(ESSBill).essGroups() {
			k := [3]string{g.App, g.SubCustomer, g.QuotaType}
			acc := groups[k]
			if acc == nil {
				acc = &ESSGroup{App: g.App, SubCustomer: g.SubCustomer, QuotaType: g.QuotaType, QuotaName: g.QuotaName}
				groups[k] = acc
			}
			for _, a := range []*ESSGroup{acc, &total} {
				a.Records += g.Records
				a.Deducted += g.Deducted
				a.Refunded += g.Refunded
				a.RefundRecords += g.RefundRecords
			}
		}
	}
	return essRows(sortedGroups(groups)), total
}

func (d *DatasetFigures) essGroups() []ESSGroup {
	if d == nil {
		return nil
	}
	return d.ESS
}

// Key returns the key the month page is stored under.
func (m *Month) Key() (string, error) { return MonthKey(m.Prefix, m.Month) }

// Render writes the month-to-date page as a self-contained HTML page.
func (m *Month) Render(w io.Writer) error { return render(w, "month", m) }
