package emulator

import (
	"fmt"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
)

// beijing is UTC+8, the zone of every business date and time of the emulated APIs.
var beijing = calendar.Zone

// Beijing returns the fixed UTC+8 zone the emulator uses for all business dates and times
// (Asia/Shanghai has had no DST since 1991).
func Beijing() *time.Location { return beijing }

// Date is a calendar day in Beijing time. The zero Date is 0000-00-00 and is not valid; make one
// with NewDate, DateOf or ParseDate.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// NewDate returns the date y-m-d, normalised like time.Date (2024-02-30 becomes 2024-03-01).
func NewDate(y int, m time.Month, d int) Date {
	return DateOf(time.Date(y, m, d, 0, 0, 0, 0, beijing))
}

// DateOf returns the Beijing calendar day that contains t.
func DateOf(t time.Time) Date {
	y, m, d := t.In(beijing).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, beijing)
	if err != nil {
		return Date{}, fmt.Errorf("parse date %q: want YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// Start returns midnight (00:00:00) of the day in Beijing time.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, beijing) }

// AddDays returns the date n days later (earlier when n is negative).
func (d Date) AddDays(n int) Date { return NewDate(d.Year, d.Month, d.Day+n) }

// Before reports whether d is an earlier day than o.
func (d Date) Before(o Date) bool { return d.Start().Before(o.Start()) }

// DaysUntil returns the number of days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int { return int(o.Start().Sub(d.Start()).Hours()) / 24 }

// String formats the day as "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// Compact formats the day as "yyyymmdd" (the ESS format).
func (d Date) Compact() string { return fmt.Sprintf("%04d%02d%02d", d.Year, int(d.Month), d.Day) }

// dayNumber is the number of days since 1970-01-01, used to seed the data generator.
func (d Date) dayNumber() uint64 {
	return uint64(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}
