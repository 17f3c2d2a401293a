package query

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// slowSource answers each app after its delay (honouring ctx), with one telcall-shaped row.
type slowSource struct{ delay map[string]time.Duration }

func (slowSource) Schema() usage.Schema               { return usage.TelCallSchema }
func (slowSource) Action() tcapi.Action               { return tcapi.DescribeTelCallInfo }
func (slowSource) Earliest(calendar.Day) calendar.Day { return calendar.Day{} }
func (slowSource) CallsPerApp() int                   { return 1 }
func (s slowSource) Fetch(ctx context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	select {
	case <-time.After(s.delay[q.App]):
	case <-ctx.Done():
		return source.Result{}, ctx.Err()
	}
	cols := usage.TelCallSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	row := usage.Row{usage.Str(q.Day.String()), usage.Str(q.App)}
	for range cols[2:] {
		row = append(row, usage.Int(1))
	}
	if err := w.WriteRow(row); err != nil {
		return source.Result{}, err
	}
	return source.Result{Rows: 1, Columns: cols, RequestIDs: []string{"req-" + q.App}, Action: tcapi.DescribeTelCallInfo}, w.Close()
}

func newTestRunner(t *testing.T, src source.Source, apps []string) *export.Runner {
	t.Helper()
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	return &export.Runner{Source: src, Store: st, Apps: apps, Formats: []usage.Format{usage.JSONL}, Zone: calendar.Zone, TempDir: t.TempDir(),
		Latency: time.Millisecond, Margin: 150 * time.Millisecond}
}

// An HTTP save cut short by the deadline answers 504 Timeout, even when some apps were committed.
func TestHTTPSaveCutByTheDeadlineIsATimeout(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 10 * time.Millisecond, "2": time.Hour}}, []string{"1", "2"})
	r.Now = func() time.Time { return time.Date(2024, 5, 10, 3, 0, 0, 0, calendar.Zone) }
	sum := sha256.Sum256([]byte("tok"))
	h := &Handler{Runner: r, TokenSHA256: sum[:]}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	req := &scfevent.HTTPRequest{Method: http.MethodGet, Query: map[string][]string{"date": {"2024-05-09"}, "save": {"true"}, "format": {"json"}},
		Header: http.Header{"Authorization": {"Bearer tok"}}}
	// Room for the range check: the estimate is small with a 1 ms latency.
	resp := h.Serve(ctx, req)
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, resp.Body)
	var e struct{ Error struct{ Code string } }
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &e))
	assert.Equal(t, "Timeout", e.Error.Code)
}

// bigSource writes rows until told to stop: an answer too large for an SCF response.
type bigSource struct{ slowSource }

func (bigSource) Fetch(ctx context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	cols := usage.TelCallSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	row := usage.Row{usage.Str(q.Day.String()), usage.Str(strings.Repeat("x", 200))}
	for range cols[2:] {
		row = append(row, usage.Int(1))
	}
	for i := 0; i < 1_000_000; i++ {
		if err := w.WriteRow(row); err != nil {
			w.Close()
			return source.Result{}, fmt.Errorf("write rows: %w", err)
		}
	}
	return source.Result{}, w.Close()
}

func TestHTTPAnswerStopsGrowingAtTheLimit(t *testing.T) {
	r := newTestRunner(t, bigSource{}, []string{"1"})
	r.Now = func() time.Time { return time.Date(2024, 5, 10, 3, 0, 0, 0, calendar.Zone) }
	sum := sha256.Sum256([]byte("tok"))
	h := &Handler{Runner: r, TokenSHA256: sum[:]}
	for _, format := range []string{"json", "csv"} {
		req := &scfevent.HTTPRequest{Method: http.MethodGet, Query: map[string][]string{"date": {"2024-05-09"}, "format": {format}},
			Header: http.Header{"Authorization": {"Bearer tok"}}}
		resp := h.Serve(context.Background(), req)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, format)
		assert.Contains(t, resp.Body, "AnswerTooLarge")
	}
}
