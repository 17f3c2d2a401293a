// Package source fetches one (app, day) of each usage API and writes its rows: the only part of
// the data path that differs between the four functions. Everything around it (planning,
// pacing, retries, encoding, committing, HTTP) is shared.
package source

import (
	"context"
	"fmt"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// Caller calls one API action: tcloud.Client in production. req is a tcapi request struct,
// resp a pointer to the matching response struct.
type Caller interface {
	Call(ctx context.Context, a tcapi.Action, req, resp any) error
}

// Query is one app-day to fetch.
type Query struct {
	// Day is the day to fetch.
	Day calendar.Day
	// App is the app ID: an SdkAppId, or the ESS channel AppId.
	App string
	// Open returns the writer for the rows, given their columns. Fetch calls it exactly once,
	// and only after the whole answer has been received and validated, so that a bad answer
	// never leaves a partial file.
	Open func(columns []string) (usage.RowWriter, error)
	// TempDir is where a source may spill temporary files ("" = the system's).
	TempDir string
}

// Result tells what one Fetch produced.
type Result struct {
	Rows       int64
	Columns    []string
	RequestIDs []string
	// Action is the action whose answer produced the rows (for trtcusage, the fallback when it
	// was used).
	Action tcapi.Action
	// Window is the time window the request of Action named, exactly as sent, with the readings
	// of the documents it rests on; the manifest records it (windows_sent).
	Window tcapi.SentWindow
	// Details are facts for the manifest's source.details, such as why a fallback was taken. A
	// key ending in "/<app>" (DetailPointsOutsideDay) is a fact about the app alone, kept per app
	// in the manifest; other facts are the same for every app of a run.
	Details map[string]string
	// Checks are the quality checks the source made of the app-day's rows (usage.Check); the
	// runner adds the checks every dataset gets (usage.Tally).
	Checks []usage.Check
}

// Source is one usage API.
type Source interface {
	// Schema is the dataset the source produces.
	Schema() usage.Schema
	// Action is the primary action.
	Action() tcapi.Action
	// Earliest is the first day the API serves, given today (the zero Day when unknown).
	Earliest(today calendar.Day) calendar.Day
	// CallsPerApp is how many calls one app-day normally takes; with the action's pacing it
	// bounds how long a run takes.
	CallsPerApp() int
	// Fetch fetches one app-day.
	Fetch(ctx context.Context, api Caller, q Query) (Result, error)
}

// ActionsOf returns every action s may call: its Action, and for a source that falls back to
// others (TRTC), those too.
func ActionsOf(s Source) []tcapi.Action {
	if m, ok := s.(interface{ Actions() []tcapi.Action }); ok {
		return m.Actions()
	}
	return []tcapi.Action{s.Action()}
}

func writeRows(q Query, columns []string, rows []usage.Row) (int64, error) {
	w, err := q.Open(columns)
	if err != nil {
		return 0, err
	}
	for _, r := range rows {
		if err := w.WriteRow(r); err != nil {
			w.Close()
			return 0, fmt.Errorf("write rows: %w", err)
		}
	}
	if err := w.Close(); err != nil {
		return 0, fmt.Errorf("write rows: %w", err)
	}
	return int64(len(rows)), nil
}

// callRows makes the one call an app-day takes, converts the answer into rows with conv (which
// also returns the answer's request ID) and writes them: the shape of every source but ESS.
func callRows[Resp any](ctx context.Context, api Caller, q Query, a tcapi.Action, req any, schema usage.Schema, conv func(*Resp) ([]usage.Row, string, error)) (Result, error) {
	var resp Resp
	if err := api.Call(ctx, a, req, &resp); err != nil {
		return Result{}, err
	}
	rows, requestID, err := conv(&resp)
	if err != nil {
		return Result{}, err
	}
	cols := schema.Names()
	n, err := writeRows(q, cols, rows)
	if err != nil {
		return Result{}, err
	}
	return Result{Rows: n, Columns: cols, RequestIDs: []string{requestID}, Action: a, Window: tcapi.WindowOf(a, req)}, nil
}
