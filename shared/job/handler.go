package job

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
)

// Handler is a function's handler: timer events produce snapshots, HTTP events (API gateway
// and Function URL) answer queries.
type Handler struct {
	Runner *Runner
	// HTTPTokenSHA256 is the SHA-256 of the bearer token; empty refuses every HTTP query.
	HTTPTokenSHA256 []byte
	// RestateDays is how many days before yesterday a timer run re-fetches.
	RestateDays int

	authFailures atomic.Int64
}

// Handle serves one event. Timer runs return a Summary, or an error when anything failed or was
// left pending (so that SCF retries and the next attempt continues). HTTP events always get an
// HTTP response; client mistakes are 4xx, upstream failures 502/504.
func (h *Handler) Handle(ctx context.Context, ev scfevent.Event) (any, error) {
	switch {
	case ev.Timer != nil:
		return h.timer(ctx, ev.Timer)
	case ev.HTTP != nil:
		return h.http(ctx, ev.HTTP), nil
	}
	return nil, errors.New("event is neither a timer nor an HTTP request")
}

// limits are the dates a request may ask for: up to yesterday in the configured zone, but never a
// China day that is not over yet (east of UTC+8, "yesterday" can still be today in China).
func (h *Handler) limits() Limits {
	now := h.Runner.now()
	today := min(Today(now, h.Runner.Zone), Today(now, APIZone))
	return Limits{Earliest: h.Runner.Source.Earliest(today), Latest: AddDays(today, -1)}
}

func (h *Handler) timer(ctx context.Context, t *scfevent.Timer) (any, error) {
	r := h.Runner
	log := r.logger()
	w, err := TimerWindow(t.Message, r.now(), r.Zone, h.RestateDays, r.Apps, h.limits())
	if err != nil {
		log.ErrorContext(ctx, "timer message refused", "trigger", t.TriggerName, "error", err)
		return nil, err
	}
	log.InfoContext(ctx, "timer run", "trigger", t.TriggerName, "dataset", r.Source.Schema().Dataset, "dates", w.Dates, "apps", len(w.Apps))
	sum, err := r.Run(ctx, w, RunOptions{Force: w.Force})
	if err != nil {
		log.ErrorContext(ctx, "timer run incomplete", "error", err, "pending", len(sum.Pending), "failed", len(sum.Failed))
		return nil, fmt.Errorf("%s: %w", r.Source.Schema().Dataset, err)
	}
	return sum, nil
}

func (h *Handler) http(ctx context.Context, req *scfevent.HTTPRequest) scfevent.HTTPResponse {
	r := h.Runner
	log := r.logger()
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET is supported", "")
		resp.Headers["Allow"] = "GET, HEAD"
		return resp
	}
	if denied := checkAuth(h.HTTPTokenSHA256, req.Header); denied != nil {
		if denied.StatusCode == http.StatusUnauthorized {
			n := h.authFailures.Add(1)
			log.WarnContext(ctx, "HTTP query refused: bad or missing bearer token", "source_ip", req.SourceIP, "failed_auth_total", n)
		}
		return *denied
	}
	q, err := ParseQuery(req.Query, r.Apps, h.limits())
	if err != nil {
		return invalidParameter(err)
	}
	dates := DateRange(q.From, q.To)
	units := len(dates) * len(q.Apps)
	if dl, ok := ctx.Deadline(); ok {
		need := r.Estimate(units)
		if left := time.Until(dl); need > left {
			return errorResponse(http.StatusBadRequest, "RangeTooLarge", fmt.Sprintf(
				"%d app-day(s) take about %s at the API's rate limit, more than the %s left before the function's timeout; ask for fewer days or apps, or use tcusage backfill",
				units, durationText(need), durationText(left)), "")
		}
	}
	ans := rowsAnswer{Dataset: r.Source.Schema().Dataset, SchemaVersion: r.Source.Schema().Version, From: q.From, To: q.To, Apps: q.Apps, Rows: []json.RawMessage{}}
	var csvOut bytes.Buffer
	var csvHeader string
	var size int
	tooLarge := func(n int) *scfevent.HTTPResponse {
		resp := errorResponse(http.StatusRequestEntityTooLarge, "AnswerTooLarge", fmt.Sprintf(
			"the answer is over %d bytes, more than an SCF response may carry; ask for fewer days or apps, or save=true and read the snapshot from the store", n), "")
		return &resp
	}
	add := func(format string, b []byte) *scfevent.HTTPResponse {
		// Stop as soon as the answer cannot fit, instead of building it whole in memory.
		if size += len(b); size > MaxResponseBytes {
			return tooLarge(MaxResponseBytes)
		}
		if format == FormatJSONL {
			ans.Rows = splitJSONL(b, ans.Rows)
			return nil
		}
		header, body, _ := strings.Cut(string(b), "\n")
		switch {
		case csvHeader == "":
			csvHeader = header
			csvOut.WriteString(header + "\n")
		case header != csvHeader:
			resp := errorResponse(http.StatusUnprocessableEntity, "ColumnsDiffer", "the apps asked for have different columns; ask for format=json or one app at a time", "")
			return &resp
		}
		csvOut.WriteString(body)
		return nil
	}
	want := FormatJSONL
	if q.Format == "csv" {
		want = FormatCSV
	}
	if q.Save {
		if !contains(r.Formats, want) {
			return invalidParameter(&InputError{Field: "format", Problem: fmt.Sprintf("this function writes only %s (TCUSAGE_FORMAT); ask for that format with save=true", strings.Join(r.Formats, ","))})
		}
		sum, err := r.Run(ctx, Window{Dates: dates, Apps: q.Apps}, RunOptions{Force: true})
		if err != nil {
			log.ErrorContext(ctx, "HTTP save failed", "error", err)
			return upstreamResponse(ctx, err)
		}
		for _, ps := range sum.Partitions {
			ans.Saved = append(ans.Saved, ps.ManifestKey)
			m, err := snapshot.ReadManifest(ctx, r.Store, r.Prefix, ans.Dataset, ps.Date)
			if err != nil {
				log.ErrorContext(ctx, "HTTP save: cannot read back the manifest", "date", ps.Date, "error", err)
				return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "cannot read back the snapshot just written; try again later", "")
			}
			for _, app := range q.Apps {
				ans.RequestIDs = append(ans.RequestIDs, m.AppRequestIDs[app]...)
			}
			for _, f := range m.Files {
				if string(f.Format) != want || !contains(q.Apps, f.App) {
					continue
				}
				if int64(size)+f.Bytes > MaxResponseBytes {
					return *tooLarge(MaxResponseBytes) // known from the manifest: no need to read it
				}
				b, err := snapshot.ReadObject(ctx, r.Store, f.Key)
				if err != nil {
					log.ErrorContext(ctx, "HTTP save: cannot read back a data file", "key", f.Key, "error", err)
					return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "cannot read back the snapshot just written; try again later", "")
				}
				if resp := add(want, b); resp != nil {
					return *resp
				}
			}
		}
	} else {
		for _, d := range dates {
			results := r.fetchAll(ctx, d, q.Apps, []string{want}, true)
			for _, f := range results {
				if f.queued {
					return errorResponse(http.StatusGatewayTimeout, "Timeout", "the function ran out of time; ask for fewer days or apps", "")
				}
				if errors.Is(f.err, errAnswerTooLarge) {
					return *tooLarge(MaxResponseBytes)
				}
				if f.err != nil {
					log.ErrorContext(ctx, "HTTP query failed", "date", f.unit.Date, "app", f.unit.App, "error", f.err)
					return upstreamResponse(ctx, f.err)
				}
				ans.RequestIDs = append(ans.RequestIDs, f.res.RequestIDs...)
				for _, ef := range f.files {
					if resp := add(want, ef.mem.Bytes()); resp != nil {
						return *resp
					}
				}
			}
		}
	}
	var resp scfevent.HTTPResponse
	if q.Format == "csv" {
		resp = scfevent.HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{
			"Content-Type":        "text/csv; charset=utf-8",
			"Content-Disposition": fmt.Sprintf(`attachment; filename="%s_%s_%s.csv"`, ans.Dataset, q.From, q.To),
			"Cache-Control":       "no-store",
		}, Body: csvOut.String()}
	} else {
		resp = jsonResponse(http.StatusOK, ans)
	}
	// The body travels as a JSON string inside SCF's answer: count it as escaped there.
	if escapedLen(resp.Body) > MaxResponseBytes {
		return *tooLarge(MaxResponseBytes)
	}
	if req.Method == http.MethodHead {
		resp.Body = ""
	}
	log.InfoContext(ctx, "HTTP query answered", "from", q.From, "to", q.To, "apps", len(q.Apps), "format", q.Format, "save", q.Save, "bytes", len(resp.Body))
	return resp
}

// margin is the time kept before the deadline to commit: Margin, or by default 5 s plus 200 ms
// for each file a day of every configured app writes (a PUT and a HEAD each on COS).
func (r *Runner) margin() time.Duration {
	if r.Margin > 0 {
		return r.Margin
	}
	files := len(r.Apps) * max(1, len(r.Formats))
	return 5*time.Second + time.Duration(files)*200*time.Millisecond
}

// escapedLen is the length of s once encoded as a JSON string by encoding/json (which also
// escapes <, > and &).
func escapedLen(s string) int {
	n := len(s) + 2
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t':
			n++
		case c < 0x20 || c == '<' || c == '>' || c == '&':
			n += 5
		}
	}
	return n
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
