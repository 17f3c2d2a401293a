// Package calendartest gives tests the "now" their dates derive from, so that the suite can be
// run as if on another day: TCUSAGE_TEST_NOW (RFC 3339, for example 2032-02-29T10:00:00+08:00)
// moves it, and CI runs the date-sensitive tests that way on a leap day years ahead. Without the
// variable it is the real clock.
//
// Only the business clock moves (which day is yesterday, the APIs' windows); signatures, rate
// limits, deadlines and file times keep the real one.
package calendartest

import (
	"fmt"
	"os"
	"time"
)

// EnvNow is the variable that moves the tests' "now".
const EnvNow = "TCUSAGE_TEST_NOW"

var start = time.Now()

// Now is the tests' current time: TCUSAGE_TEST_NOW plus the time elapsed since the test binary
// started, or the real clock. An unparsable TCUSAGE_TEST_NOW panics, naming it, so that a
// mistyped date never runs the suite on the real clock unnoticed.
func Now() time.Time {
	v := os.Getenv(EnvNow)
	if v == "" {
		return time.Now()
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		panic(fmt.Sprintf("%s=%q: want RFC 3339, such as 2032-02-29T10:00:00+08:00: %v", EnvNow, v, err))
	}
	return t.Add(time.Since(start))
}

// Clock returns a clock that starts at at and advances in real time, so that pacing and
// deadlines behave.
func Clock(at time.Time) func() time.Time {
	origin := time.Now()
	return func() time.Time { return at.Add(time.Since(origin)) }
}
