package job

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/source"
	"github.com/tcusage/tcusage/shared/tcapi"
	"github.com/tcusage/tcusage/shared/usage"
)

// slowSource answers each app after its delay (honouring ctx), with one telcall-shaped row.
type slowSource struct{ delay map[string]time.Duration }

func (slowSource) Schema() usage.Schema   { return usage.TelCallSchema }
func (slowSource) Action() tcapi.Action   { return tcapi.DescribeTelCallInfo }
func (slowSource) Earliest(string) string { return "" }
func (slowSource) CallsPerApp() int       { return 1 }
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
	row := usage.Row{usage.Str(q.Date), usage.Str(q.App)}
	for range cols[2:] {
		row = append(row, usage.Int(1))
	}
	if err := w.WriteRow(row); err != nil {
		return source.Result{}, err
	}
	return source.Result{Rows: 1, Columns: cols, RequestIDs: []string{"req-" + q.App}, Action: tcapi.DescribeTelCallInfo}, w.Close()
}

func newTestRunner(t *testing.T, src source.Source, apps []string) *Runner {
	t.Helper()
	st, err := file.New(t.TempDir())
	require.NoError(t, err)
	return &Runner{Source: src, Store: st, Apps: apps, Formats: []string{FormatJSONL}, Zone: APIZone, TempDir: t.TempDir(),
		Latency: time.Millisecond, Margin: 150 * time.Millisecond}
}

// The commit margin is kept for committing: an app still fetching when the fetch deadline comes
// is left pending, and what was fetched is committed.
func TestRunKeepsTheMarginForTheCommit(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 10 * time.Millisecond, "2": time.Hour}}, []string{"1", "2"})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	sum, err := r.Run(ctx, Window{Dates: []string{"2024-05-09"}, Apps: []string{"1", "2"}}, RunOptions{})
	require.ErrorIs(t, err, ErrDeadline)
	assert.NotErrorIs(t, err, ErrStore, "the commit itself had time")
	assert.Equal(t, []AppDay{{Date: "2024-05-09", App: "2"}}, sum.Pending)
	require.Len(t, sum.Partitions, 1)
	assert.Equal(t, snapshot.StatusPartial, sum.Partitions[0].Status)
	m, err := snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", "2024-05-09")
	require.NoError(t, err)
	assert.Equal(t, []string{"1"}, m.Apps)
	assert.Equal(t, []string{"2"}, m.AppsPending)
}

// Dates not started before the fetch deadline are pending; nothing is claimed for them.
func TestRunLeavesDatesNotStartedPending(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 150 * time.Millisecond}}, []string{"1"})
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	sum, err := r.Run(ctx, Window{Dates: []string{"2024-05-09", "2024-05-08", "2024-05-07"}, Apps: []string{"1"}}, RunOptions{})
	require.ErrorIs(t, err, ErrDeadline)
	assert.Equal(t, []AppDay{{"2024-05-08", "1"}, {"2024-05-07", "1"}}, sum.Pending)
	_, err = snapshot.ReadManifest(context.Background(), r.Store, "", "telcall", "2024-05-09")
	assert.NoError(t, err, "the first date was committed")
}

// A run that did everything succeeds, even when its context ends right after.
func TestRunThatFinishedIsNotAnError(t *testing.T) {
	r := newTestRunner(t, slowSource{}, []string{"1"})
	ctx, cancel := context.WithCancel(context.Background())
	sum, err := r.Run(ctx, Window{Dates: []string{"2024-05-09"}, Apps: []string{"1"}}, RunOptions{})
	cancel()
	require.NoError(t, err)
	assert.Equal(t, snapshot.StatusComplete, sum.Partitions[0].Status)
}

// An HTTP save cut short by the deadline answers 504 Timeout, even when some apps were committed.
func TestHTTPSaveCutByTheDeadlineIsATimeout(t *testing.T) {
	r := newTestRunner(t, slowSource{delay: map[string]time.Duration{"1": 10 * time.Millisecond, "2": time.Hour}}, []string{"1", "2"})
	r.Now = func() time.Time { return time.Date(2024, 5, 10, 3, 0, 0, 0, APIZone) }
	sum := sha256.Sum256([]byte("tok"))
	h := &Handler{Runner: r, HTTPTokenSHA256: sum[:]}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	req := &scfevent.HTTPRequest{Method: http.MethodGet, Query: map[string][]string{"date": {"2024-05-09"}, "save": {"true"}, "format": {"json"}},
		Header: http.Header{"Authorization": {"Bearer tok"}}}
	// Room for the range check: the estimate is small with a 1 ms latency.
	out, err := h.Handle(ctx, scfevent.Event{HTTP: req})
	require.NoError(t, err)
	resp := out.(scfevent.HTTPResponse)
	require.Equal(t, http.StatusGatewayTimeout, resp.StatusCode, resp.Body)
	var e struct{ Error struct{ Code string } }
	require.NoError(t, json.Unmarshal([]byte(resp.Body), &e))
	assert.Equal(t, "Timeout", e.Error.Code)
}

func TestOutOfTime(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	refused := errors.New("pacing would pass the deadline: " + context.DeadlineExceeded.Error())
	assert.True(t, outOfTime(ctx, errors.Join(refused, context.DeadlineExceeded)), "the client refusing to wait past the deadline")
	assert.False(t, outOfTime(ctx, errors.New("InternalError")))
	assert.False(t, outOfTime(context.Background(), context.DeadlineExceeded), "no deadline: a timeout is a failure")
	done, cancel2 := context.WithCancel(context.Background())
	cancel2()
	assert.True(t, outOfTime(done, context.Canceled))
}

// bigSource writes rows until told to stop: an answer too large for an SCF response.
type bigSource struct{ slowSource }

func (bigSource) Fetch(ctx context.Context, _ source.Caller, q source.Query) (source.Result, error) {
	cols := usage.TelCallSchema.Names()
	w, err := q.Open(cols)
	if err != nil {
		return source.Result{}, err
	}
	row := usage.Row{usage.Str(q.Date), usage.Str(strings.Repeat("x", 200))}
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
	r.Now = func() time.Time { return time.Date(2024, 5, 10, 3, 0, 0, 0, APIZone) }
	sum := sha256.Sum256([]byte("tok"))
	h := &Handler{Runner: r, HTTPTokenSHA256: sum[:]}
	for _, format := range []string{"json", "csv"} {
		req := &scfevent.HTTPRequest{Method: http.MethodGet, Query: map[string][]string{"date": {"2024-05-09"}, "format": {format}},
			Header: http.Header{"Authorization": {"Bearer tok"}}}
		out, err := h.Handle(context.Background(), scfevent.Event{HTTP: req})
		require.NoError(t, err)
		resp := out.(scfevent.HTTPResponse)
		assert.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode, format)
		assert.Contains(t, resp.Body, "AnswerTooLarge")
	}
}

// East of China, "yesterday" in the configured zone can be a China day not over yet: it is never
// exported or served.
func TestNoChinaDayBeforeItIsOver(t *testing.T) {
	kiritimati, err := time.LoadLocation("Pacific/Kiritimati") // UTC+14
	require.NoError(t, err)
	r := newTestRunner(t, slowSource{}, []string{"1"})
	r.Zone = kiritimati
	r.Now = func() time.Time { return time.Date(2024, 5, 10, 22, 0, 0, 0, APIZone) } // 2024-05-11 04:00 there
	h := &Handler{Runner: r}
	assert.Equal(t, "2024-05-09", h.limits().Latest)
	w, err := TimerWindow("", r.Now(), kiritimati, 0, []string{"1"}, h.limits())
	require.NoError(t, err)
	assert.Equal(t, []string{"2024-05-09"}, w.Dates)
}
