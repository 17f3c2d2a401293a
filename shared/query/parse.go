package query

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/usage"
)

// Query is a parsed HTTP query.
type Query struct {
	From, To calendar.Day
	Apps     []string
	Format   usage.Format // JSONL (format=json) or CSV
	Save     bool
}

var queryParams = []string{"date", "from", "to", "app", "format", "save"}

// ParseQuery validates an HTTP query: date or from/to (default yesterday), app (repeated or
// comma-separated; default every configured app), format=json|csv, save=true|false. Unknown or
// repeated parameters are errors naming them.
func ParseQuery(q map[string][]string, apps []string, lim plan.Limits) (Query, error) {
	var out Query
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
	date, from, to := get("date"), get("from"), get("to")
	_, hasDate := q["date"]
	_, hasFrom := q["from"]
	_, hasTo := q["to"]
	switch {
	case hasDate && (hasFrom || hasTo):
		return Query{}, &plan.InputError{Field: "date", Problem: "give either date or from/to, not both"}
	case hasDate:
		from, to = date, date
	case hasFrom != hasTo:
		return Query{}, &plan.InputError{Field: "from", Problem: "from and to go together"}
	case !hasFrom:
		from, to = lim.Latest.String(), lim.Latest.String()
	}
	fromField, toField := "from", "to"
	if hasDate {
		fromField, toField = "date", "date"
	}
	var err error
	if out.From, out.To, err = lim.Range(fromField, toField, from, to); err != nil {
		return Query{}, err
	}

	out.Apps = apps
	if vs, ok := q["app"]; ok {
		var req []string
		for _, v := range vs {
			for _, a := range strings.Split(v, ",") {
				if a = strings.TrimSpace(a); a != "" {
					req = append(req, a)
				}
			}
		}
		if len(req) == 0 {
			return Query{}, &plan.InputError{Field: "app", Problem: "is empty"}
		}
		sel, err := plan.SelectApps("app", req, apps)
		if err != nil {
			return Query{}, err
		}
		out.Apps = sel
	}

	switch f := strings.ToLower(get("format")); f {
	case "", "json":
		out.Format = usage.JSONL
	case "csv":
		out.Format = usage.CSV
	default:
		return Query{}, &plan.InputError{Field: "format", Problem: fmt.Sprintf("%q: want json or csv", clip(f))}
	}
	switch s := strings.ToLower(get("save")); s {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		out.Save = true
	default:
		return Query{}, &plan.InputError{Field: "save", Problem: fmt.Sprintf("%q: want true or false", clip(s))}
	}
	return out, nil
}

// clip shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
