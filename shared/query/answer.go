package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/usage"
)

// answer collects the rows of a query, refusing to grow past what an SCF response can carry.
type answer struct {
	rowsAnswer
	format    usage.Format
	csv       bytes.Buffer
	csvHeader string
	size      int
}

// newAnswer starts the answer of q over days (live days fetched).
func (h *Handler) newAnswer(q Query, days []*dayPlan) *answer {
	schema := h.Runner.Source.Schema()
	a := &answer{format: q.Format, rowsAnswer: rowsAnswer{Dataset: schema.Dataset, SchemaVersion: schema.Version,
		From: q.From, To: q.To, Apps: q.Apps, Rows: []json.RawMessage{}, RequestIDs: []string{}}}
	for _, d := range days {
		a.Days = append(a.Days, d.source())
		for _, ans := range d.answers {
			a.RequestIDs = append(a.RequestIDs, ans.RequestIDs...)
		}
	}
	return a
}

// add appends one file's rows (JSON Lines, or CSV with its header); it answers 413 as soon as the
// answer cannot fit, and 422 when CSV files have different columns.
func (a *answer) add(b []byte) *httpAnswer {
	if a.size += len(b); a.size > MaxResponseBytes {
		return tooLarge(Query{})
	}
	if a.format == usage.JSONL {
		a.Rows = splitJSONL(b, a.Rows)
		return nil
	}
	header, body, _ := strings.Cut(string(b), "\n")
	switch {
	case a.csvHeader == "":
		a.csvHeader = header
		a.csv.WriteString(header + "\n")
	case header != a.csvHeader:
		resp := errorResponse(http.StatusUnprocessableEntity, "ColumnsDiffer",
			"the days or apps asked for have different columns; ask for format=json, one app at a time, or sums with group=", "")
		return &resp
	}
	a.csv.WriteString(body)
	return nil
}

// groupKeys are the key columns of a group's rows.
func groupKeys(g Group) []string {
	switch g {
	case GroupDay:
		return []string{"date"}
	case GroupApp:
		return []string{"app"}
	}
	return []string{"app", "room_id"}
}

// setGroups renders summed groups as the answer's rows: the group's keys, "rows" (how many rows
// were summed), each measure's sum, and "total" when the groups are ranked by it.
func (a *answer) setGroups(q Query, ms *measureSet, groups []*groupRow) {
	names, pos := ms.ordered()
	a.Group, a.Top, a.By, a.Measures = q.Group, q.Top, q.By, names
	cols := append(append(groupKeys(q.Group), "rows"), names...)
	if q.By == ByTotal {
		cols = append(cols, ByTotal)
	}
	var buf bytes.Buffer
	w, _ := usage.NewWriter(a.format, &buf, usage.Schema{}, cols) // JSON Lines or CSV: never an error
	row := make(usage.Row, 0, len(cols))
	for _, g := range groups {
		row = row[:0]
		switch q.Group {
		case GroupDay:
			row = append(row, usage.Str(g.date.String()))
		case GroupApp:
			row = append(row, usage.Str(g.app))
		default:
			row = append(row, usage.Str(g.app), usage.Str(g.room))
		}
		row = append(row, usage.Int(g.rows))
		for _, m := range pos {
			row = append(row, usage.Value{Text: g.measure(m).String(), Number: true})
		}
		if q.By == ByTotal {
			row = append(row, usage.Value{Text: ranking{total: true}.value(g).String(), Number: true})
		}
		_ = w.WriteRow(row) // a bytes.Buffer does not fail
	}
	_ = w.Close()
	a.size = buf.Len()
	if a.format == usage.JSONL {
		a.Rows = splitJSONL(buf.Bytes(), a.Rows)
		return
	}
	a.csv = buf
}

// response is the answer as JSON or CSV; 413 when, escaped inside SCF's answer, it is too large.
func (a *answer) response(q Query) scfevent.HTTPResponse {
	resp := jsonResponse(http.StatusOK, a.rowsAnswer)
	if a.format == usage.CSV {
		name := fmt.Sprintf("%s_%s_%s", a.Dataset, a.From, a.To)
		if q.Group != GroupNone {
			name += "_by_" + string(q.Group)
		}
		resp = scfevent.HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{
			"Content-Type":        "text/csv; charset=utf-8",
			"Content-Disposition": fmt.Sprintf(`attachment; filename="%s.csv"`, name),
			"Cache-Control":       noStore,
		}, Body: a.csv.String()}
	}
	// The body travels as a JSON string inside SCF's answer: count it as escaped there.
	if escapedLen(resp.Body) > MaxResponseBytes {
		return *tooLarge(q)
	}
	return resp
}
