package job

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// DateLayout is the layout of every date tcusage reads or writes.
const DateLayout = "2006-01-02"

// MaxDays is the longest range one timer override or HTTP request may cover; longer ranges are
// for `tcusage backfill`.
const MaxDays = 31

// ParseDate parses YYYY-MM-DD strictly.
func ParseDate(s string) (time.Time, error) {
	t, err := time.Parse(DateLayout, s)
	if err != nil || t.Format(DateLayout) != s {
		return time.Time{}, fmt.Errorf("%q is not a date in the form YYYY-MM-DD", clip(s))
	}
	return t, nil
}

// APIZone is the zone the usage APIs count days in: China Standard Time (UTC+8). API queries
// and manifest windows always use it; TCUSAGE_TIMEZONE only decides which day is "yesterday".
var APIZone = tcapi.Zone

// DayBounds returns the first and last second of a day in loc (00:00:00 and 23:59:59), as the
// APIs take them, and the exclusive end (the next midnight).
func DayBounds(date string, loc *time.Location) (start, last, end time.Time, err error) {
	d, err := ParseDate(date)
	if err != nil {
		return
	}
	start = time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, loc)
	end = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, loc)
	last = end.Add(-time.Second)
	return
}

// Today returns the current date in loc.
func Today(now time.Time, loc *time.Location) string { return now.In(loc).Format(DateLayout) }

// AddDays returns date moved by n days.
func AddDays(date string, n int) string {
	d, err := ParseDate(date)
	if err != nil {
		return date
	}
	return d.AddDate(0, 0, n).Format(DateLayout)
}

// DateRange returns every date from..to inclusive, ascending.
func DateRange(from, to string) []string {
	var out []string
	for d := from; d <= to; d = AddDays(d, 1) {
		out = append(out, d)
	}
	return out
}

// Window is the dates and apps one run covers.
type Window struct {
	Dates []string // newest first: yesterday is the most valuable if time runs out
	Apps  []string
	// Force fetches app-days already delivered in the current cycle again.
	Force bool
}

// Limits bound what a request may ask for: Earliest is the first date the API serves ("" =
// any), Latest the last complete day (yesterday).
type Limits struct {
	Earliest string
	Latest   string
}

// CheckRange validates a from..to range against the limits and MaxDays. Every error names the
// parameter (field) at fault.
func (l Limits) CheckRange(fromField, toField, from, to string) error {
	f, err := ParseDate(from)
	if err != nil {
		return &InputError{Field: fromField, Problem: err.Error()}
	}
	t, err := ParseDate(to)
	if err != nil {
		return &InputError{Field: toField, Problem: err.Error()}
	}
	if from > to {
		return &InputError{Field: fromField, Problem: fmt.Sprintf("%s is after %s=%s", from, toField, to)}
	}
	if to > l.Latest {
		return &InputError{Field: toField, Problem: fmt.Sprintf("%s is not a complete day yet: the latest complete day is %s", to, l.Latest)}
	}
	if l.Earliest != "" && from < l.Earliest {
		return &InputError{Field: fromField, Problem: fmt.Sprintf("%s is before %s, the earliest day this API serves", from, l.Earliest)}
	}
	// Counted, not listed: a hostile range of centuries must not build a list of its days.
	if n := (t.Unix()-f.Unix())/86400 + 1; n > MaxDays {
		return &InputError{Field: toField, Problem: fmt.Sprintf("the range %s..%s covers %d days; at most %d per run (use tcusage backfill for longer ranges)", from, to, n, MaxDays)}
	}
	return nil
}

// InputError is a problem with a caller's input (timer message or HTTP query): the field at
// fault and what is wrong. It becomes HTTP 400.
type InputError struct {
	Field   string
	Problem string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return e.Problem
	}
	return e.Field + ": " + e.Problem
}

// Override is the JSON object a timer's Message may carry to override the default window.
type Override struct {
	Date        string   `json:"date,omitempty"`
	From        string   `json:"from,omitempty"`
	To          string   `json:"to,omitempty"`
	Apps        []string `json:"apps,omitempty"`
	RestateDays *int     `json:"restate_days,omitempty"`
	// Force re-fetches app-days already delivered today (by default a run skips them).
	Force bool `json:"force,omitempty"`
}

// TimerWindow plans a timer run: yesterday in the configured zone plus restateDays before it,
// unless message overrides the dates or apps. message must be empty or a JSON object with only
// the fields of Override.
func TimerWindow(message string, now time.Time, loc *time.Location, restateDays int, apps []string, lim Limits) (Window, error) {
	var o Override
	if m := strings.TrimSpace(message); m != "" {
		dec := json.NewDecoder(bytes.NewReader([]byte(m)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return Window{}, &InputError{Field: "Message", Problem: "want empty or a JSON object with date, from, to, apps, restate_days, force: " + jsonProblem(err)}
		}
		if _, err := dec.Token(); err != io.EOF {
			return Window{}, &InputError{Field: "Message", Problem: "trailing data after the JSON object"}
		}
		if k, ok := repeatedKey(m); ok {
			return Window{}, &InputError{Field: "Message." + k, Problem: "given more than once"}
		}
	}
	w := Window{Apps: apps, Force: o.Force}
	if len(o.Apps) > 0 {
		sel, err := SelectApps("Message.apps", o.Apps, apps)
		if err != nil {
			return Window{}, err
		}
		w.Apps = sel
	}
	if o.RestateDays != nil {
		if *o.RestateDays < 0 || *o.RestateDays > 30 {
			return Window{}, &InputError{Field: "Message.restate_days", Problem: "want 0 to 30"}
		}
		restateDays = *o.RestateDays
	}
	switch {
	case o.Date != "" && (o.From != "" || o.To != ""):
		return Window{}, &InputError{Field: "Message.date", Problem: "give either date or from/to, not both"}
	case o.Date != "":
		if err := lim.CheckRange("Message.date", "Message.date", o.Date, o.Date); err != nil {
			return Window{}, err
		}
		w.Dates = []string{o.Date}
	case o.From != "" || o.To != "":
		if o.From == "" || o.To == "" {
			return Window{}, &InputError{Field: "Message.from", Problem: "from and to go together"}
		}
		if err := lim.CheckRange("Message.from", "Message.to", o.From, o.To); err != nil {
			return Window{}, err
		}
		w.Dates = DateRange(o.From, o.To)
	default:
		yesterday := AddDays(Today(now, loc), -1)
		if lim.Latest != "" && yesterday > lim.Latest {
			yesterday = lim.Latest // east of China, "yesterday" can be a China day not over yet
		}
		for i := 0; i <= restateDays; i++ {
			d := AddDays(yesterday, -i)
			if lim.Earliest != "" && d < lim.Earliest {
				break
			}
			w.Dates = append(w.Dates, d)
		}
		slices.Reverse(w.Dates)
	}
	slices.Reverse(w.Dates) // newest first
	return w, nil
}

// repeatedKey reports a key given twice in the JSON object m (compared as encoding/json matches
// fields, ignoring case), which encoding/json would otherwise resolve silently to the last value.
func repeatedKey(m string) (string, bool) {
	dec := json.NewDecoder(strings.NewReader(m))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", false
		}
		k, _ := t.(string)
		k = strings.ToLower(k)
		if seen[k] {
			return k, true
		}
		seen[k] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// SelectApps checks that every requested app is configured and returns them sorted, without
// duplicates.
func SelectApps(field string, requested, configured []string) ([]string, error) {
	var out []string
	for _, a := range requested {
		a = strings.TrimSpace(a)
		if !slices.Contains(configured, a) {
			return nil, &InputError{Field: field, Problem: fmt.Sprintf("%q is not a configured app (configured: %s)", clip(a), strings.Join(configured, ","))}
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, compareApps)
	return out, nil
}

// compareApps orders numeric app IDs numerically and others as text.
func compareApps(a, b string) int {
	x, errA := strconv.ParseUint(a, 10, 64)
	y, errB := strconv.ParseUint(b, 10, 64)
	if errA == nil && errB == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(a, b)
}

func jsonProblem(err error) string {
	s := err.Error()
	return strings.TrimPrefix(s, "json: ")
}
