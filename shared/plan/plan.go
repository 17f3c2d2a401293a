// Package plan decides which days and apps a run covers: the default window of a timer run
// (yesterday plus the restatement days), a timer Message's override, and the range a caller may
// ask for (up to the last complete China day, from the first day the API serves). Every date a
// caller gives is checked here, once, and becomes a calendar.Day.
package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tcusage/tcusage/shared/calendar"
)

// MaxDays is the longest range one timer override or HTTP request may cover; longer ranges are
// for `tcusage backfill`.
const MaxDays = 31

// MaxRestateDays bounds the restatement window.
const MaxRestateDays = 30

// Window is the days and apps one run covers.
type Window struct {
	Days []calendar.Day // newest first: yesterday is the most valuable if time runs out
	Apps []string
	// Force fetches app-days already delivered in the current cycle again.
	Force bool
}

// Limits bound what a run may cover: Earliest is the first day the API serves (zero: no floor),
// Latest the last complete day.
type Limits struct {
	Earliest calendar.Day
	Latest   calendar.Day
}

// LimitsAt returns the limits at now: up to yesterday in zone, but never a China day that is not
// over yet (east of UTC+8, "yesterday" can still be today in China), and from earliest(today)
// on, where earliest is the API's first day given today (nil: no floor).
func LimitsAt(now time.Time, zone *time.Location, earliest func(today calendar.Day) calendar.Day) Limits {
	today := calendar.Of(now, zone)
	if china := calendar.Of(now, calendar.Zone); china.Before(today) {
		today = china
	}
	lim := Limits{Latest: today.Add(-1)}
	if earliest != nil {
		lim.Earliest = earliest(today)
	}
	return lim
}

// CycleAt returns the cycle of timer runs now is in: it starts each day in zone when the figures
// of the day before have settled (settles after midnight; 0 for midnight) and lasts a day. An
// app-day fetched since the cycle's start is done for the cycle; latest is the newest day the
// cycle fetches (the day before the cycle started, never a China day not over yet).
func CycleAt(now time.Time, zone *time.Location, settles time.Duration) (start time.Time, latest calendar.Day) {
	t := now.In(zone).Add(-settles)
	start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, zone).Add(settles)
	latest = calendar.Of(t, zone).Add(-1)
	if china := calendar.Of(now, calendar.Zone).Add(-1); china.Before(latest) {
		latest = china
	}
	return start, latest
}

// Contains reports whether day is within the limits.
func (l Limits) Contains(day calendar.Day) bool {
	return !day.After(l.Latest) && (l.Earliest.IsZero() || !day.Before(l.Earliest))
}

// Range parses and checks a from..to range given by a caller against the limits and MaxDays.
// Every error is an *InputError naming the field at fault.
func (l Limits) Range(fromField, toField, from, to string) (calendar.Day, calendar.Day, error) {
	f, err := calendar.Parse(from)
	if err != nil {
		return f, f, &InputError{Field: fromField, Problem: err.Error()}
	}
	t, err := calendar.Parse(to)
	if err != nil {
		return f, t, &InputError{Field: toField, Problem: err.Error()}
	}
	return f, t, l.Check(fromField, toField, f, t)
}

// Check checks a from..to range of days against the limits (Within) and MaxDays.
func (l Limits) Check(fromField, toField string, from, to calendar.Day) error {
	if err := l.Within(fromField, toField, from, to); err != nil {
		return err
	}
	if n := to.Sub(from) + 1; n > MaxDays {
		return &InputError{Field: toField, Problem: fmt.Sprintf("the range %s..%s covers %d days; at most %d per run (use tcusage backfill for longer ranges)", from, to, n, MaxDays)}
	}
	return nil
}

// Within checks that from..to is a range (from not after to) inside the limits, however long.
func (l Limits) Within(fromField, toField string, from, to calendar.Day) error {
	switch {
	case from.After(to):
		return &InputError{Field: fromField, Problem: fmt.Sprintf("%s is after %s=%s", from, toField, to)}
	case to.After(l.Latest):
		return &InputError{Field: toField, Problem: fmt.Sprintf("%s is not a complete day yet: the latest complete day is %s", to, l.Latest)}
	case !l.Earliest.IsZero() && from.Before(l.Earliest):
		return &InputError{Field: fromField, Problem: fmt.Sprintf("%s is before %s, the earliest day this API serves", from, l.Earliest)}
	}
	return nil
}

// InputError is a problem with a caller's input (timer message, HTTP query, command line): the
// field at fault and what is wrong. It becomes HTTP 400.
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

// Timer plans a timer run: the latest complete day plus restateDays before it (not before the
// API's first day), unless message overrides the days or apps. message must be empty or a JSON
// object with only the fields of Override, each at most once.
func Timer(message string, restateDays int, apps []string, lim Limits) (Window, error) {
	o, err := parseOverride(message)
	if err != nil {
		return Window{}, err
	}
	w := Window{Apps: apps, Force: o.Force}
	if len(o.Apps) > 0 {
		if w.Apps, err = SelectApps("Message.apps", o.Apps, apps); err != nil {
			return Window{}, err
		}
	}
	if o.RestateDays != nil {
		if *o.RestateDays < 0 || *o.RestateDays > MaxRestateDays {
			return Window{}, &InputError{Field: "Message.restate_days", Problem: fmt.Sprintf("want 0 to %d", MaxRestateDays)}
		}
		restateDays = *o.RestateDays
	}
	from, to := lim.Latest.Add(-restateDays), lim.Latest
	if !lim.Earliest.IsZero() && from.Before(lim.Earliest) {
		from = lim.Earliest
	}
	switch {
	case o.Date != "" && (o.From != "" || o.To != ""):
		return Window{}, &InputError{Field: "Message.date", Problem: "give either date or from/to, not both"}
	case o.Date != "":
		from, to, err = lim.Range("Message.date", "Message.date", o.Date, o.Date)
	case o.From != "" || o.To != "":
		if o.From == "" || o.To == "" {
			return Window{}, &InputError{Field: "Message.from", Problem: "from and to go together"}
		}
		from, to, err = lim.Range("Message.from", "Message.to", o.From, o.To)
	}
	if err != nil {
		return Window{}, err
	}
	w.Days = calendar.Days(from, to)
	slices.Reverse(w.Days) // newest first
	return w, nil
}

// parseOverride decodes a timer Message strictly: empty, or one JSON object with known fields,
// none given twice.
func parseOverride(message string) (Override, error) {
	var o Override
	m := strings.TrimSpace(message)
	if m == "" {
		return o, nil
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(m)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, &InputError{Field: "Message", Problem: "want empty or a JSON object with date, from, to, apps, restate_days, force: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if _, err := dec.Token(); err != io.EOF {
		return o, &InputError{Field: "Message", Problem: "trailing data after the JSON object"}
	}
	if k, ok := repeatedKey(m); ok {
		return o, &InputError{Field: "Message." + k, Problem: "given more than once"}
	}
	return o, nil
}

// repeatedKey reports a key given twice in the JSON object m, compared as encoding/json matches
// keys to fields (Unicode case folding: "ſ" matches "s", "K" matches "k"), which encoding/json
// would otherwise resolve silently to the last value.
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
		folded := foldKey(k)
		if seen[folded] {
			for _, name := range overrideFields {
				if foldKey(name) == folded {
					return name, true
				}
			}
			return FieldName(k), true
		}
		seen[folded] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// overrideFields are the JSON names of Override's fields.
var overrideFields = []string{"date", "from", "to", "apps", "restate_days", "force"}

// foldKey maps every rune of k to the smallest rune of its case-folding orbit, so that two keys
// fold alike exactly when strings.EqualFold (the comparison encoding/json uses) holds.
func foldKey(k string) string {
	var b strings.Builder
	for _, r := range k {
		least := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			least = min(least, f)
		}
		b.WriteRune(least)
	}
	return b.String()
}

// SelectApps checks that every requested app is configured and returns them in CompareApps
// order, without duplicates.
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
	slices.SortFunc(out, CompareApps)
	return out, nil
}

// CompareApps orders numeric app IDs numerically and others as text.
func CompareApps(a, b string) int {
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

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

// FieldName shows a caller's field name: clipped, and quoted when it is empty or holds anything
// but printable characters, so that it is never blank and never breaks a log line.
func FieldName(k string) string {
	k = clip(k)
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) >= 0 || !utf8.ValidString(k) {
		return strconv.Quote(k)
	}
	return k
}
