package report

import (
	"math"
	"slices"
)

// datasetTitles are the section headings.
var datasetTitles = map[string]string{
	TRTC:    "TRTC interaction time",
	Rooms:   "TRTC rooms",
	TelCall: "CCC calls",
	ESSBill: "ESS packages",
}

// trendLabels name each dataset's headline figure, and headlineUnit gives its unit.
var (
	trendLabels  = map[string]string{TRTC: "Interaction time", Rooms: "Time in rooms", TelCall: "Calls", ESSBill: "Net units"}
	headlineUnit = map[string]string{TRTC: UnitSecond, Rooms: UnitSecond, TelCall: UnitMinute, ESSBill: UnitUnit}
)

// headlineTrend is buildTrend for the dataset's headline figure.
func headlineTrend(ds string, series []*Summary) Trend {
	return buildTrend(ds, headline[ds], trendLabels[ds], headlineUnit[ds], series)
}

// buildTrend compares the last day of series (oldest first) with the day before and the 7 days
// before, per app of the last day and in total, and charts the daily totals.
func buildTrend(ds, metric, label, unit string, series []*Summary) Trend {
	n := len(series)
	last := series[n-1].Dataset(ds)
	t := Trend{Dataset: ds, Metric: metric, Label: label, Unit: unit, Days: n}
	var apps []string
	if last != nil {
		t.Pending = last.AppsPending
		for _, a := range last.Apps {
			apps = append(apps, a.App)
		}
		for _, a := range last.AppsPending {
			if !slices.Contains(apps, a) {
				apps = append(apps, a)
			}
		}
		slices.SortFunc(apps, compareApps)
	}
	for _, app := range apps {
		vals := make([]float64, n)
		for i, s := range series {
			vals[i] = valueOf(s.Dataset(ds), app, metric)
		}
		t.Rows = append(t.Rows, trendRow(app, vals, unit))
	}
	totals := make([]float64, n)
	for i, s := range series {
		totals[i] = valueOf(s.Dataset(ds), "", metric)
	}
	t.Total = trendRow("", totals, unit)
	t.Chart = trendChart(datasetTitles[ds]+": "+label+" per day", series, ds, totals, unit)
	return t
}

// trendRow compares the last of vals (NaN: no figures) with the one before and the average of
// the 7 before.
func trendRow(app string, vals []float64, unit string) TrendRow {
	n := len(vals)
	v := vals[n-1]
	r := TrendRow{App: app, Has: !math.IsNaN(v), Value: v}
	label := "total"
	if app != "" {
		label = "app " + app
	}
	r.Spark = sparkline(label+", last "+formatCount(float64(n))+" days", displayValues(vals, unit))
	if !r.Has {
		r.Value = 0
		return r
	}
	if n >= 2 {
		r.VsPrev = newChange(v, vals[n-2], !math.IsNaN(vals[n-2]))
	}
	sum, count := 0.0, 0
	for i := max(n-8, 0); i < n-1; i++ {
		if !math.IsNaN(vals[i]) {
			sum += vals[i]
			count++
		}
	}
	if count > 0 {
		r.VsAvg = newChange(v, sum/float64(count), true)
	}
	return r
}

// displayValues converts figures to the unit they are shown in (seconds to minutes).
func displayValues(vals []float64, unit string) []float64 {
	if unit != UnitSecond {
		return vals
	}
	out := make([]float64, len(vals))
	for i, v := range vals {
		out[i] = v / 60
	}
	return out
}

func trendChart(label string, series []*Summary, ds string, totals []float64, unit string) Chart {
	n := len(series)
	titles, classes := make([]string, n), make([]string, n)
	ticks := map[int]string{}
	for i, s := range series {
		day := dayStart(s.Date).Format("Jan 2")
		if i == 0 || i == n-1 || i == n/2 {
			ticks[i] = day
		}
		titles[i] = day + ": " + formatValue(totals[i], unit) + " " + unitLabel(unit)
		if f := s.Dataset(ds); f != nil && f.Status != StateComplete {
			classes[i] = "partial"
			titles[i] += " (partial)"
		}
		if i == n-1 {
			classes[i] += " current"
		}
	}
	return barChart(label, displayValues(totals, unit), titles, classes, ticks)
}
