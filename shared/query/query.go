// Package query answers a function's HTTP queries (API gateway and Function URL events): it
// checks the bearer token, parses and bounds the query, fetches the days live through the export
// runner (or, with save=true, runs and commits them first and answers from the store), and maps
// every outcome to an HTTP answer: 4xx for the caller's mistakes, 502/503/504 for upstream
// failures, never a partial answer.
package query

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// MaxResponseBytes keeps HTTP answers under SCF's 6 MB synchronous response limit, leaving room
// for the envelope.
const MaxResponseBytes = 5 << 20

// Handler serves one function's HTTP queries.
type Handler struct {
	Runner *export.Runner
	// TokenSHA256 is the SHA-256 of the bearer token; empty refuses every query.
	TokenSHA256 []byte
	// Logger receives one line per answer and every refusal (default: the runner's).
	Logger *slog.Logger
	// Holder names a save in the dataset's lease (default: the runner's default).
	Holder func(ctx context.Context) string
	// LateAfter is how long after its end a day may stay incomplete before the status answer
	// calls it late.
	LateAfter time.Duration

	authFailures atomic.Int64
}

func (h *Handler) logger() *slog.Logger {
	if h.Logger != nil {
		return h.Logger
	}
	if h.Runner.Logger != nil {
		return h.Runner.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve answers one HTTP request. Every outcome is an HTTP answer; nothing is an error.
func (h *Handler) Serve(ctx context.Context, req *scfevent.HTTPRequest) scfevent.HTTPResponse {
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		resp := errorResponse(http.StatusMethodNotAllowed, "MethodNotAllowed", "only GET and HEAD are supported", "")
		resp.Headers["Allow"] = "GET, HEAD"
		return resp
	}
	if denied := checkAuth(h.TokenSHA256, req.Header); denied != nil {
		if denied.StatusCode == http.StatusUnauthorized {
			n := h.authFailures.Add(1)
			h.logger().WarnContext(ctx, "HTTP query refused: bad or missing bearer token", "source_ip", req.SourceIP, "trigger", req.Trigger, "failed_auth_total", n)
		}
		return headless(req, *denied)
	}
	if isStatus(req.Path) {
		return headless(req, h.status(ctx, req))
	}
	q, err := ParseQuery(req.Query, h.Runner.Apps, h.Runner.Limits())
	if err == nil && q.Save && req.Method == http.MethodHead {
		err = &plan.InputError{Field: "save", Problem: "HEAD never changes anything: send GET to save"}
	}
	if err != nil {
		return headless(req, invalidParameter(err))
	}
	if resp := h.checkTime(ctx, q); resp != nil {
		return headless(req, *resp)
	}
	a := h.newAnswer(q)
	var stop *scfevent.HTTPResponse
	if q.Save {
		stop = h.save(ctx, q, a)
	} else {
		stop = h.live(ctx, q, a)
	}
	if stop != nil {
		return headless(req, *stop)
	}
	resp := headless(req, a.response())
	h.logger().InfoContext(ctx, "HTTP query answered", "from", q.From, "to", q.To, "apps", len(q.Apps), "format", q.Format, "save", q.Save, "bytes", len(resp.Body))
	return resp
}

func (h *Handler) holder(ctx context.Context) string {
	if h.Holder == nil {
		return ""
	}
	return h.Holder(ctx)
}

// isStatus reports whether the request asks for the dataset's status (a path ending in /status).
func isStatus(path string) bool { return path == "/status" || strings.HasSuffix(path, "/status") }

// status answers where the dataset stands (export.Status): 200 when no day is late, 503 with the
// same body when one is, so that a monitor can alarm on the code alone.
func (h *Handler) status(ctx context.Context, req *scfevent.HTTPRequest) scfevent.HTTPResponse {
	if len(req.Query) > 0 {
		for k := range req.Query {
			return invalidParameter(&plan.InputError{Field: plan.FieldName(k), Problem: "the status takes no parameters"})
		}
	}
	st, err := h.Runner.Status(ctx, 0, h.LateAfter)
	if err != nil {
		h.logger().ErrorContext(ctx, "status unreadable", "error", err)
		return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "the snapshot store failed; try again later", "")
	}
	code := http.StatusOK
	if len(st.Late) > 0 {
		code = http.StatusServiceUnavailable
	}
	return jsonResponse(code, st)
}

// headless drops the body of an answer to HEAD, whatever its status: HEAD answers carry headers
// only.
func headless(req *scfevent.HTTPRequest, resp scfevent.HTTPResponse) scfevent.HTTPResponse {
	if req.Method == http.MethodHead {
		resp.Body = ""
	}
	return resp
}

// checkTime refuses a query whose app-days cannot be fetched before the function's timeout at
// the API's pacing.
func (h *Handler) checkTime(ctx context.Context, q Query) *scfevent.HTTPResponse {
	dl, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	units := (q.To.Sub(q.From) + 1) * len(q.Apps)
	need, left := h.Runner.Estimate(units), time.Until(dl)
	if need <= left {
		return nil
	}
	resp := errorResponse(http.StatusBadRequest, "RangeTooLarge", fmt.Sprintf(
		"%d app-day(s) take about %s at the API's rate limit, more than the %s left before the function's timeout; ask for fewer days or apps, or use tcusage backfill",
		units, durationText(need), durationText(left)), "")
	return &resp
}

// live fetches every day of the query into memory.
func (h *Handler) live(ctx context.Context, q Query, a *answer) *scfevent.HTTPResponse {
	for _, day := range calendar.Days(q.From, q.To) {
		for _, f := range h.Runner.Fetch(ctx, day, q.Apps, q.Format, MaxResponseBytes) {
			switch {
			case f.Pending:
				return timeout()
			case errors.Is(f.Err, export.ErrAnswerTooLarge):
				return tooLarge()
			case f.Err != nil:
				h.logger().ErrorContext(ctx, "HTTP query failed", "date", f.Date, "app", f.App, "error", f.Err)
				resp := upstreamResponse(ctx, f.Err)
				return &resp
			}
			a.RequestIDs = append(a.RequestIDs, f.RequestIDs...)
			if resp := a.add(f.Body); resp != nil {
				return resp
			}
		}
	}
	return nil
}

// save runs and commits the query's days, then answers from what the store holds: exactly what
// the manifests now list.
func (h *Handler) save(ctx context.Context, q Query, a *answer) *scfevent.HTTPResponse {
	r := h.Runner
	log := h.logger()
	if !slices.Contains(r.Formats, q.Format) {
		resp := invalidParameter(&plan.InputError{Field: "format", Problem: fmt.Sprintf("this function writes only %s (TCUSAGE_FORMAT); ask for that format with save=true", formatNames(r.Formats))})
		return &resp
	}
	sum, err := r.Run(ctx, plan.Window{Days: calendar.Days(q.From, q.To), Apps: q.Apps}, export.Options{Force: true, Holder: h.holder(ctx)})
	if sum != nil && sum.Busy != nil {
		log.InfoContext(ctx, "HTTP save refused: another writer holds the dataset's lease", "holder", sum.Busy.Holder, "lease_expires_at", sum.Busy.ExpiresAt)
		resp := errorResponse(http.StatusConflict, "DatasetBusy", fmt.Sprintf("another writer (%s) holds the dataset until %s; try again later, or ask without save=true",
			sum.Busy.Holder, sum.Busy.ExpiresAt.UTC().Format(time.RFC3339)), "")
		resp.Headers["Retry-After"] = strconv.Itoa(max(1, int(time.Until(sum.Busy.ExpiresAt).Seconds())+1))
		return &resp
	}
	if err != nil {
		log.ErrorContext(ctx, "HTTP save failed", "error", err)
		resp := upstreamResponse(ctx, err)
		return &resp
	}
	for _, ps := range sum.Partitions {
		a.Saved = append(a.Saved, ps.ManifestKey)
		m, err := snapshot.ReadManifest(ctx, r.Store, r.Prefix, a.Dataset, ps.Date)
		if err != nil {
			log.ErrorContext(ctx, "HTTP save: cannot read back the manifest", "date", ps.Date, "error", err)
			return storeUnavailable()
		}
		for _, app := range q.Apps {
			a.RequestIDs = append(a.RequestIDs, m.AppRequestIDs[app]...)
		}
		if resp := h.addSaved(ctx, q, m, a); resp != nil {
			return resp
		}
	}
	return nil
}

// addSaved adds the files of a saved day's manifest in the query's format and apps.
func (h *Handler) addSaved(ctx context.Context, q Query, m *snapshot.Manifest, a *answer) *scfevent.HTTPResponse {
	for _, f := range m.Files {
		if f.Format != q.Format || !slices.Contains(q.Apps, f.App) {
			continue
		}
		if int64(a.size)+f.Bytes > MaxResponseBytes {
			return tooLarge() // known from the manifest: no need to read it
		}
		b, err := snapshot.ReadObject(ctx, h.Runner.Store, f.Key)
		if err != nil {
			h.logger().ErrorContext(ctx, "HTTP save: cannot read back a data file", "key", f.Key, "error", err)
			return storeUnavailable()
		}
		if resp := a.add(b); resp != nil {
			return resp
		}
	}
	return nil
}

// answer collects the rows of a query, refusing to grow past what an SCF response can carry.
type answer struct {
	rowsAnswer
	format    usage.Format
	csv       bytes.Buffer
	csvHeader string
	size      int
}

func (h *Handler) newAnswer(q Query) *answer {
	schema := h.Runner.Source.Schema()
	return &answer{format: q.Format, rowsAnswer: rowsAnswer{Dataset: schema.Dataset, SchemaVersion: schema.Version,
		From: q.From, To: q.To, Apps: q.Apps, Rows: []json.RawMessage{}}}
}

// add appends one file's rows (JSON Lines, or CSV with its header); it answers 413 as soon as the
// answer cannot fit, and 422 when CSV files have different columns.
func (a *answer) add(b []byte) *scfevent.HTTPResponse {
	if a.size += len(b); a.size > MaxResponseBytes {
		return tooLarge()
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
		resp := errorResponse(http.StatusUnprocessableEntity, "ColumnsDiffer", "the apps asked for have different columns; ask for format=json or one app at a time", "")
		return &resp
	}
	a.csv.WriteString(body)
	return nil
}

// response is the answer as JSON or CSV; 413 when, escaped inside SCF's answer, it is too large.
func (a *answer) response() scfevent.HTTPResponse {
	resp := jsonResponse(http.StatusOK, a.rowsAnswer)
	if a.format == usage.CSV {
		resp = scfevent.HTTPResponse{StatusCode: http.StatusOK, Headers: map[string]string{
			"Content-Type":        "text/csv; charset=utf-8",
			"Content-Disposition": fmt.Sprintf(`attachment; filename="%s_%s_%s.csv"`, a.Dataset, a.From, a.To),
			"Cache-Control":       "no-store",
		}, Body: a.csv.String()}
	}
	// The body travels as a JSON string inside SCF's answer: count it as escaped there.
	if escapedLen(resp.Body) > MaxResponseBytes {
		return *tooLarge()
	}
	return resp
}

func tooLarge() *scfevent.HTTPResponse {
	resp := errorResponse(http.StatusRequestEntityTooLarge, "AnswerTooLarge", fmt.Sprintf(
		"the answer is over %d bytes, more than an SCF response may carry; ask for fewer days or apps, or save=true and read the snapshot from the store", MaxResponseBytes), "")
	return &resp
}

func timeout() *scfevent.HTTPResponse {
	resp := errorResponse(http.StatusGatewayTimeout, "Timeout", "the function ran out of time; ask for fewer days or apps", "")
	return &resp
}

func storeUnavailable() *scfevent.HTTPResponse {
	resp := errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "cannot read back the snapshot just written; try again later", "")
	return &resp
}

func formatNames(fs []usage.Format) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = string(f)
	}
	return strings.Join(names, ",")
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
