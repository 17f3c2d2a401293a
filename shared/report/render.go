package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed templates
var templateFS embed.FS

// pages parses every page template, once, when the first page is rendered: not at start-up,
// since every function links this package and most invocations render nothing (cold starts stay
// as they were). TestTemplatesParse fails on a broken template.
var pages = sync.OnceValues(parseTemplates)

func parseTemplates() (*template.Template, error) {
	css, err := templateFS.ReadFile("templates/style.css")
	if err != nil {
		return nil, err
	}
	t := template.New("report").Funcs(funcs)
	if _, err := t.New("css").Parse(string(css)); err != nil {
		return nil, err
	}
	return t.ParseFS(templateFS, "templates/*.tmpl")
}

// trendPair is what the "trendrow" template draws: a row and the trend it belongs to.
type trendPair struct {
	T Trend
	R TrendRow
}

var funcs = template.FuncMap{
	"raw":   rawNumber,
	"value": formatValue,
	"unit":  unitLabel,
	"colUnit": func(unit string) string {
		if unit == UnitUnit || unit == UnitCount || unit == UnitSeat {
			return ""
		}
		return unitLabel(unit)
	},
	"num":     formatCount,
	"minutes": formatMinutes,
	"bytes":   formatBytes,
	"count":   func(n int64) string { return formatNumber(float64(n), 0) },
	"inc":     func(i int) int { return i + 1 },
	"minus":   func(a, b float64) float64 { return a - b },
	"pair":    func(t Trend, r TrendRow) trendPair { return trendPair{t, r} },
	"refund": func(v float64) string {
		if v == 0 {
			return "0"
		}
		return formatCount(-v)
	},
	"sub": func(s string) string {
		if s == "" {
			return "(whole application)"
		}
		return s
	},
	"when":       func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"whenDay":    func(t time.Time) string { return t.UTC().Format("2 Jan") },
	"whenClock":  func(t time.Time) string { return t.UTC().Format("15:04") },
	"longDate":   longDate,
	"minusInt":   func(a, b int) int { return a - b },
	"dayOfMonth": func(date string) string { return strings.TrimLeft(date[len(date)-2:], "0") },
	"monthLabel": func(month string) string {
		t, err := time.Parse("2006-01", month)
		if err != nil {
			return month
		}
		return t.Format("January 2006")
	},
	"stateLabel": stateLabel,
	"hours": func(d time.Duration) string {
		return strconv.FormatFloat(math.Round(d.Hours()*10)/10, 'f', -1, 64) + " h"
	},
}

func longDate(date string) string {
	if !validDay(date) {
		return date
	}
	return dayStart(date).Format("Monday, 2 January 2006")
}

func stateLabel(s string) string {
	switch s {
	case StateComplete:
		return "Complete"
	case StatePartial:
		return "Partial"
	case StateWaiting:
		return "Not delivered yet"
	case StateLate:
		return "Late"
	}
	return s
}

// render executes one page template into w, through a buffer so that a failing template writes
// nothing.
func render(w io.Writer, name string, data any) error {
	t, err := pages()
	if err != nil {
		return fmt.Errorf("report: templates: %w", err)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, name, data); err != nil {
		return fmt.Errorf("report: render %s: %w", name, err)
	}
	_, err = buf.WriteTo(w)
	return err
}

// Render writes the day's report as a self-contained HTML page.
func (d *Day) Render(w io.Writer) error { return render(w, "day", d) }
