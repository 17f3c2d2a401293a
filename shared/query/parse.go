package query

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

// MaxDays is the longest range a query may cover: days with a complete snapshot are read from
// the store, so a year (a leap year too) can be asked for at once. Days fetched live stay within
// plan.MaxDays.
const MaxDays = 366

// MaxTop is the largest top=N.
const MaxTop = 10_000

// Group is what a query's rows are summed by.
type Group string

// The groups.
const (
	GroupNone Group = ""     // the rows as stored
	GroupDay  Group = "day"  // one row per day
	GroupApp  Group = "app"  // one row per app
	GroupRoom Group = "room" // one row per room of an app (room usage)
)

// ByTotal ranks groups by the sum of every measure: allowed when the measures share one unit.
const ByTotal = "total"

// Query is a parsed query.
type Query struct {
	From, To calendar.Day
	Apps     []string
	Format   usage.Format // JSONL (format=json) or CSV
	Save     bool
	// Fresh fetches every day live, even days with a complete snapshot.
	Fresh bool
	// Group sums the rows per group; Top keeps the Top largest groups by the measure By (0: every
	// group, in key order).
	Group Group
	Top   int
	By    string
}

// Live reports whether every day of q is fetched live (fresh=true or save=true).
func (q Query) Live() bool { return q.Fresh || q.Save }

var queryParams = []string{"date", "from", "to", "app", "format", "save", "fresh", "group", "top", "by"}

// ParseQuery validates a query of dataset s: date or from/to (default yesterday; at most MaxDays
// days, and at most plan.MaxDays from the API's first day on with fresh=true or save=true), app
// (repeated or comma-separated; default every configured app), format=json|csv,
// save=true|false, fresh=true|false, group=day|app|room, top=N, by=<measure>|total. Unknown or
// repeated parameters are errors naming them. Days before the API's first day are refused later,
// and only when they must be fetched live (see Handler.Answer).
func ParseQuery(q map[string][]string, s usage.Schema, apps []string, lim plan.Limits) (Query, error) {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(queryParams, k) {
			return Query{}, &plan.InputError{Field: plan.FieldName(k), Problem: "unknown parameter; known: " + strings.Join(queryParams, ", ")}
		}
		if k != "app" && len(q[k]) > 1 {
			return Query{}, &plan.InputError{Field: k, Problem: "given more than once"}
		}
	}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	var out Query
	var err error
	for _, f := range []struct {
		name string
		into *bool
	}{{"save", &out.Save}, {"fresh", &out.Fresh}} {
		if *f.into, err = parseBool(f.name, get(f.name)); err != nil {
			return Query{}, err
		}
	}
	if err := parseRange(q, get, lim, &out); err != nil {
		return Query{}, err
	}
	if out.Apps, err = parseApps(q, apps); err != nil {
		return Query{}, err
	}
	switch f := strings.ToLower(get("format")); f {
	case "", "json":
		out.Format = usage.JSONL
	case "csv":
		out.Format = usage.CSV
	default:
		return Query{}, &plan.InputError{Field: "format", Problem: fmt.Sprintf("%q: want json or csv", clip(f))}
	}
	if err := parseGroup(get, s, &out); err != nil {
		return Query{}, err
	}
	return out, nil
}

func parseBool(field, v string) (bool, error) {
	switch strings.ToLower(v) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, &plan.InputError{Field: field, Problem: fmt.Sprintf("%q: want true or false", clip(v))}
}

// parseRange sets the query's days: date, or from and to, or yesterday.
func parseRange(q map[string][]string, get func(string) string, lim plan.Limits, out *Query) error {
	date, from, to := get("date"), get("from"), get("to")
	_, hasDate := q["date"]
	_, hasFrom := q["from"]
	_, hasTo := q["to"]
	switch {
	case hasDate && (hasFrom || hasTo):
		return &plan.InputError{Field: "date", Problem: "give either date or from/to, not both"}
	case hasDate:
		from, to = date, date
	case hasFrom != hasTo:
		return &plan.InputError{Field: "from", Problem: "from and to go together"}
	case !hasFrom:
		from, to = lim.Latest.String(), lim.Latest.String()
	}
	fromField, toField := "from", "to"
	if hasDate {
		fromField, toField = "date", "date"
	}
	var err error
	if out.From, err = calendar.Parse(from); err != nil {
		return &plan.InputError{Field: fromField, Problem: err.Error()}
	}
	if out.To, err = calendar.Parse(to); err != nil {
		return &plan.InputError{Field: toField, Problem: err.Error()}
	}
	if out.Live() {
		// Every day is fetched: the API's limits hold.
		return lim.Check(fromField, toField, out.From, out.To)
	}
	// Days with a snapshot need not be within the API's window: only from ≤ to ≤ latest.
	if err := (plan.Limits{Latest: lim.Latest}).Within(fromField, toField, out.From, out.To); err != nil {
		return err
	}
	if n := out.To.Sub(out.From) + 1; n > MaxDays {
		return &plan.InputError{Field: toField, Problem: fmt.Sprintf("the range %s..%s covers %d days; at most %d per query", out.From, out.To, n, MaxDays)}
	}
	return nil
}

// parseApps returns the apps asked for (default: every configured app).
func parseApps(q map[string][]string, apps []string) ([]string, error) {
	vs, ok := q["app"]
	if !ok {
		return apps, nil
	}
	var req []string
	for _, v := range vs {
		for _, a := range strings.Split(v, ",") {
			if a = strings.TrimSpace(a); a != "" {
				req = append(req, a)
			}
		}
	}
	if len(req) == 0 {
		return nil, &plan.InputError{Field: "app", Problem: "is empty"}
	}
	return plan.SelectApps("app", req, apps)
}

// measureRE is what a further column's name looks like.
var measureRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// parseGroup sets group, top and by.
func parseGroup(get func(string) string, s usage.Schema, out *Query) error {
	switch g := Group(strings.ToLower(get("group"))); g {
	case GroupNone, GroupDay, GroupApp:
		out.Group = g
	case GroupRoom:
		if !slices.Contains(s.Names(), "room_id") {
			return &plan.InputError{Field: "group", Problem: fmt.Sprintf("room: %s has no rooms; want day or app (room is for roomusage)", s.Dataset)}
		}
		out.Group = g
	default:
		return &plan.InputError{Field: "group", Problem: fmt.Sprintf("%q: want day, app or room", clip(string(g)))}
	}
	if v := get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTop {
			return &plan.InputError{Field: "top", Problem: fmt.Sprintf("%q: want a whole number from 1 to %d", clip(v), MaxTop)}
		}
		if out.Group == GroupNone {
			return &plan.InputError{Field: "top", Problem: "keeps the largest groups: give group=day, app or room too"}
		}
		out.Top = n
	}
	by := strings.ToLower(get("by"))
	switch {
	case by == "" && out.Top > 0:
		out.By = defaultBy(s)
	case by == "":
	case out.Top == 0:
		return &plan.InputError{Field: "by", Problem: "ranks the groups top=N keeps: give top=N too"}
	case by == ByTotal && sharedUnit(s) == "":
		return &plan.InputError{Field: "by", Problem: fmt.Sprintf("total: the measures of %s have different units; want one of %s", s.Dataset, strings.Join(s.Measures(), ", "))}
	case by == ByTotal, slices.Contains(s.Measures(), by), s.Open && measureRE.MatchString(by) && strings.HasSuffix(by, "_seconds"):
		out.By = by // an open schema's further columns are named <name>_seconds
	default:
		return &plan.InputError{Field: "by", Problem: fmt.Sprintf("%q: want one of %s%s", clip(by), strings.Join(s.Measures(), ", "), totalHint(s))}
	}
	return nil
}

// defaultBy is the measure top=N ranks by when by is not given: the total when the measures share
// a unit, else the first measure.
func defaultBy(s usage.Schema) string {
	if sharedUnit(s) != "" {
		return ByTotal
	}
	return s.Measures()[0]
}

// sharedUnit is the unit every measure of s has ("" when they differ). An open schema's further
// columns are in its listed measures' unit (seconds).
func sharedUnit(s usage.Schema) string {
	unit := ""
	for _, c := range s.Columns {
		if !s.IsMeasure(c.Name) {
			continue
		}
		if unit != "" && c.Unit != unit {
			return ""
		}
		unit = c.Unit
	}
	return unit
}

func totalHint(s usage.Schema) string {
	if sharedUnit(s) == "" {
		return ""
	}
	return " or total"
}

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
