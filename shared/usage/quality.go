package usage

import (
	"fmt"
	"strings"
)

// Check statuses, from best to worst. A check reports facts (ok, with what it found: a series'
// gaps, say) and flags only what the API should never produce: warn for the implausible that may
// still be right, fail for what cannot be right. A failed check marks the day; it never stops a
// delivery.
const (
	CheckOK   = "ok"
	CheckWarn = "warn"
	CheckFail = "fail"
)

// Check is the outcome of one quality check of an app-day's data, computed while the rows were
// written (so nothing is read again), and recorded in the day's manifest.
type Check struct {
	// Name is the check (CheckNonNegative, ...; each dataset's are in its Schema.Checks).
	Name string `json:"name"`
	// App is the app-day checked; empty for a check of the whole day.
	App string `json:"app,omitempty"`
	// Status is CheckOK, CheckWarn or CheckFail.
	Status string `json:"status"`
	// Detail says what was found, in a sentence people read (gaps of a series, counts).
	Detail string `json:"detail,omitempty"`
}

// String renders a check on one line.
func (c Check) String() string {
	s := c.Status + " " + c.Name
	if c.App != "" {
		s += " app " + c.App
	}
	if c.Detail != "" {
		s += ": " + c.Detail
	}
	return s
}

// CheckSpec documents a check a dataset's data gets (docs/schemas.md).
type CheckSpec struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// The checks.
const (
	// CheckNonNegative: no measure the API never gives negative is negative (every dataset with
	// such measures; ESS refunds are legitimately negative and not checked here).
	CheckNonNegative = "non_negative"
	// CheckSeriesCoverage: how much of the day's 5-minute series arrived, and its gaps (trtcusage).
	CheckSeriesCoverage = "series_coverage"
	// CheckPointsOutsideDay: points whose time falls outside the day queried (trtcusage).
	CheckPointsOutsideDay = "points_outside_day"
	// CheckRowsMatchTotal: the rows written equal the API's Total (essbill).
	CheckRowsMatchTotal = "rows_match_total"
	// CheckRefundSigns: deductions are not negative and refunds not positive (essbill).
	CheckRefundSigns = "refund_signs"
	// CheckRoomWithinTRTC: an app's room usage stays within its TRTC total of the day, checked
	// across datasets by readers of both manifests (see CrossChecks).
	CheckRoomWithinTRTC = "room_within_trtc"
)

var nonNegativeSpec = CheckSpec{Name: CheckNonNegative,
	Description: "fail when a measure the API never gives negative has a negative value (counted per column)."}

// rank orders statuses: ok, warn, fail; unknown statuses rank as fail.
func rank(status string) int {
	switch status {
	case CheckOK:
		return 0
	case CheckWarn:
		return 1
	}
	return 2
}

// Worst returns the worst status of checks (fail over warn over ok), or "" when there are none.
func Worst(checks []Check) string {
	worst := ""
	for _, c := range checks {
		if worst == "" || rank(c.Status) > rank(worst) {
			worst = c.Status
		}
	}
	return worst
}

// ValidCheck reports whether c is recordable: a name and a known status.
func ValidCheck(c Check) error {
	switch {
	case c.Name == "":
		return fmt.Errorf("check without a name (app %q)", clipText(c.App))
	case c.Status != CheckOK && c.Status != CheckWarn && c.Status != CheckFail:
		return fmt.Errorf("check %s: status %q (want ok, warn or fail)", clipText(c.Name), clipText(c.Status))
	}
	return nil
}

// listed renders at most n items, then how many more there are.
func listed(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}

// listedEnds renders the first head and the last tail items, with how many lie between.
func listedEnds(items []string, head, tail int) string {
	if len(items) <= head+tail {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s, … %d more …, %s", strings.Join(items[:head], ", "), len(items)-head-tail, strings.Join(items[len(items)-tail:], ", "))
}
