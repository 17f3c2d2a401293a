// Package calendar is tcusage's notion of a day: a China Standard Time (UTC+8) calendar day, as
// every usage API counts days. A Day is parsed and checked once, with its bounds computed then;
// everything downstream (plans, API queries, partition keys, manifests) passes the Day itself.
package calendar

import (
	"errors"
	"fmt"
	"time"
)

// Zone is the zone the usage APIs count days in: China Standard Time, UTC+8. It is a fixed
// offset named after the IANA zone that has kept UTC+8 all year since 1991 (so manifests keep
// naming it), and needs no zone database.
var Zone = time.FixedZone("Asia/Shanghai", 8*3600)

// Layout is how a Day is written: YYYY-MM-DD.
const Layout = time.DateOnly

// Day is one China Standard Time calendar day. The zero Day is no day (IsZero); make one with
// Parse, Of or Date. Days compare with == and order with Compare.
type Day struct {
	date  string    // YYYY-MM-DD
	start time.Time // 00:00:00 in Zone
}

// Date returns the day y-m-d (normalised as time.Date does).
func Date(y int, m time.Month, d int) Day {
	start := time.Date(y, m, d, 0, 0, 0, 0, Zone)
	return Day{date: start.Format(Layout), start: start}
}

// Parse parses a day written YYYY-MM-DD, strictly (2024-2-3 and 2024-02-30 are errors).
func Parse(s string) (Day, error) {
	t, err := time.ParseInLocation(Layout, s, Zone)
	if err != nil || t.Format(Layout) != s {
		return Day{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", clip(s))
	}
	return Day{date: s, start: t}, nil
}

// Of returns the China day with the calendar date that t has in loc: Of(now, loc) is "today" in
// loc, which east of China can still be a China day in progress.
func Of(t time.Time, loc *time.Location) Day {
	y, m, d := t.In(loc).Date()
	return Date(y, m, d)
}

// String returns the day as YYYY-MM-DD ("" for the zero Day).
func (d Day) String() string { return d.date }

// IsZero reports whether d is the zero Day.
func (d Day) IsZero() bool { return d.date == "" }

// Start is the day's first instant, 00:00:00 UTC+8.
func (d Day) Start() time.Time { return d.start }

// Last is the day's last whole second, 23:59:59 UTC+8, as the APIs that take inclusive
// second-granularity ends want it.
func (d Day) Last() time.Time { return d.End().Add(-time.Second) }

// End is the next day's first instant: the exclusive end of the day.
func (d Day) End() time.Time { return d.start.AddDate(0, 0, 1) }

// Add returns the day n days after d (before, for negative n).
func (d Day) Add(n int) Day {
	y, m, dd := d.start.Date()
	return Date(y, m, dd+n)
}

// Compare returns -1, 0 or +1 as d is before, the same as or after e.
func (d Day) Compare(e Day) int { return d.start.Compare(e.start) }

// Before reports whether d is before e.
func (d Day) Before(e Day) bool { return d.Compare(e) < 0 }

// After reports whether d is after e.
func (d Day) After(e Day) bool { return d.Compare(e) > 0 }

// Sub returns the number of days from e to d (d - e).
func (d Day) Sub(e Day) int { return int(d.start.Sub(e.start).Round(time.Hour) / (24 * time.Hour)) }

// Days returns every day from from to to, both included, in order; none when to is before from.
func Days(from, to Day) []Day {
	var out []Day
	for d := from; !d.After(to); d = d.Add(1) {
		out = append(out, d)
	}
	return out
}

// MarshalText writes the day as YYYY-MM-DD.
func (d Day) MarshalText() ([]byte, error) {
	if d.IsZero() {
		return nil, errors.New("calendar: cannot write the zero Day")
	}
	return []byte(d.date), nil
}

// UnmarshalText reads a day written YYYY-MM-DD.
func (d *Day) UnmarshalText(b []byte) error {
	day, err := Parse(string(b))
	if err != nil {
		return err
	}
	*d = day
	return nil
}

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
