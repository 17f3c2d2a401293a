package report

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// maxIndexStates bounds how many days of the index show their datasets' states (each needs one
// small read); older days are listed with their link only.
const maxIndexStates = 400

// Index is the model of the page that lists every report, newest first, by month.
type Index struct {
	Prefix      string
	GeneratedAt time.Time
	Months      []IndexMonth
}

// IndexMonth is one month of the index, with its month-to-date page when there is one.
type IndexMonth struct {
	Month, Label, Href string
	Days               []IndexDay
}

// IndexDay is one day with a report (Href) and its datasets' states as of that report.
type IndexDay struct {
	Date, Label, Weekday, Href string
	States                     []DayState
}

// DayState is one dataset's state on a day: StateComplete, StatePartial, or "" when the day has no
// manifest for it.
type DayState struct {
	Dataset, Title, State string
}

// reportsFound are the report pages in the store: hrefs-to-be by date and by month (keys).
type reportsFound struct {
	days, months map[string]string
}

// reportPages lists the report pages stored under prefix.
func reportPages(ctx context.Context, store snapshot.Store, prefix string) (reportsFound, error) {
	found := reportsFound{days: map[string]string{}, months: map[string]string{}}
	dir, err := reportsDir(prefix)
	if err != nil {
		return found, err
	}
	objs, err := store.List(ctx, dir)
	if err != nil {
		return found, fmt.Errorf("report: list %s: %w", dir, err)
	}
	for _, o := range objs {
		rest, ok := strings.CutSuffix(strings.TrimPrefix(o.Key, dir), "/index.html")
		if !ok {
			continue
		}
		if d, ok := strings.CutPrefix(rest, "dt="); ok && validDay(d) {
			found.days[d] = o.Key
		} else if m, ok := strings.CutPrefix(rest, "month="); ok && validMonth(m) == nil {
			found.months[m] = o.Key
		}
	}
	return found, nil
}

// indexDay describes one day for the index or a month's calendar (s nil: states unknown).
func indexDay(date string, s *Summary, key, page string, link func(string, string) string) IndexDay {
	t := dayStart(date)
	d := IndexDay{Date: date, Label: t.Format("2 Jan"), Weekday: t.Format("Mon")}
	if key != "" {
		d.Href = link(page, key)
	}
	if s == nil {
		return d
	}
	for _, ds := range Datasets() {
		st := DayState{Dataset: ds, Title: datasetTitles[ds]}
		if f := s.Dataset(ds); f != nil {
			st.State = StatePartial
			if f.Status == StateComplete && len(f.AppsPending) == 0 {
				st.State = StateComplete
			}
		}
		d.States = append(d.States, st)
	}
	return d
}

// BuildIndex builds the index of every report stored under prefix.
func BuildIndex(ctx context.Context, store snapshot.Store, prefix string, now time.Time) (*Index, error) {
	return Options{}.BuildIndex(ctx, store, prefix, now)
}

// BuildIndex builds the index of every report stored under prefix. Each day's states come from
// its stored summary.json (as of its last report).
func (o Options) BuildIndex(ctx context.Context, store snapshot.Store, prefix string, now time.Time) (*Index, error) {
	o = o.withDefaults()
	page, err := IndexKey(prefix)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	found, err := reportPages(ctx, store, prefix)
	if err != nil {
		return nil, err
	}
	dates := make([]string, 0, len(found.days))
	for d := range found.days {
		dates = append(dates, d)
	}
	slices.Sort(dates)
	slices.Reverse(dates)
	var recent []calendar.Day
	for _, d := range dates[:min(len(dates), maxIndexStates)] {
		day, _ := calendar.Parse(d) // checked by reportPages
		recent = append(recent, day)
	}
	summaries := newLoader(store, prefix, o.Workers).storedMany(ctx, recent)
	idx := &Index{Prefix: prefix, GeneratedAt: now}
	for i, d := range dates {
		var s *Summary
		if i < len(summaries) {
			s = summaries[i]
		}
		if n := len(idx.Months); n == 0 || idx.Months[n-1].Month != d[:7] {
			m := IndexMonth{Month: d[:7], Label: dayStart(d).Format("January 2006")}
			if key := found.months[m.Month]; key != "" {
				m.Href = o.Link(page, key)
			}
			idx.Months = append(idx.Months, m)
		}
		m := &idx.Months[len(idx.Months)-1]
		m.Days = append(m.Days, indexDay(d, s, found.days[d], page, o.Link))
	}
	return idx, nil
}

// Key returns the key the index is stored under.
func (x *Index) Key() (string, error) { return IndexKey(x.Prefix) }

// Render writes the index as a self-contained HTML page.
func (x *Index) Render(w io.Writer) error { return render(w, "index", x) }
