package report

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Content types of what Write stores.
const (
	HTMLContentType = "text/html; charset=utf-8"
	JSONContentType = "application/json"
)

// ReportsDir is the folder, below the store's prefix, that holds every report.
const ReportsDir = "reports"

// DayKey returns the key of a day's report: <prefix>/reports/dt=YYYY-MM-DD/index.html.
func DayKey(prefix string, date calendar.Day) (string, error) {
	return dayObject(prefix, date, "index.html")
}

// SummaryKey returns the key of a day's figures: <prefix>/reports/dt=YYYY-MM-DD/summary.json.
func SummaryKey(prefix string, date calendar.Day) (string, error) {
	return dayObject(prefix, date, "summary.json")
}

// MonthKey returns the key of a month's page: <prefix>/reports/month=YYYY-MM/index.html.
func MonthKey(prefix, month string) (string, error) {
	if err := validMonth(month); err != nil {
		return "", err
	}
	dir, err := reportsDir(prefix)
	if err != nil {
		return "", err
	}
	return dir + "month=" + month + "/index.html", nil
}

// IndexKey returns the key of the index of every report: <prefix>/reports/index.html.
func IndexKey(prefix string) (string, error) {
	dir, err := reportsDir(prefix)
	if err != nil {
		return "", err
	}
	return dir + "index.html", nil
}

func dayObject(prefix string, date calendar.Day, name string) (string, error) {
	if date.IsZero() {
		return "", fmt.Errorf("%w: no day", snapshot.ErrInvalidKey)
	}
	dir, err := reportsDir(prefix)
	if err != nil {
		return "", err
	}
	return dir + "dt=" + date.String() + "/" + name, nil
}

func reportsDir(prefix string) (string, error) {
	p, err := snapshot.CleanPrefix(prefix)
	if err != nil {
		return "", err
	}
	if p == "" {
		return ReportsDir + "/", nil
	}
	return p + "/" + ReportsDir + "/", nil
}

func validMonth(month string) error {
	t, err := time.Parse("2006-01", month)
	if err != nil || t.Format("2006-01") != month {
		return fmt.Errorf("%w: month %q (want YYYY-MM)", snapshot.ErrInvalidKey, month)
	}
	return nil
}

// relativeLink returns the path of key as seen from a page stored at from (both store keys).
func relativeLink(from, key string) string {
	fromDir := path.Dir(from)
	common := fromDir
	ups := 0
	for common != "." && !strings.HasPrefix(key, common+"/") {
		common = path.Dir(common)
		ups++
	}
	rest := key
	if common != "." {
		rest = strings.TrimPrefix(key, common+"/")
	}
	return strings.Repeat("../", ups) + rest
}

// validDay reports whether date is a day written YYYY-MM-DD.
func validDay(date string) bool {
	_, err := calendar.Parse(date)
	return err == nil
}

// dayStart is the first instant of a day the model holds as text (already checked: the zero time
// for anything else).
func dayStart(date string) time.Time {
	d, _ := calendar.Parse(date)
	return d.Start()
}
