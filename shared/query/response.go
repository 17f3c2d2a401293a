package query

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// errorBody is the JSON error answer: {"error":{"code","message","request_id"}}.
type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		// Field names the parameter at fault, for InvalidParameter answers.
		Field     string `json:"field,omitempty"`
		RequestID string `json:"request_id,omitempty"`
	} `json:"error"`
}

func jsonResponse(status int, v any) scfevent.HTTPResponse {
	// Without HTML escaping, rows come out byte for byte as in the JSON Lines files.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":{"code":"InternalError","message":"cannot encode the answer"}}`)
	}
	return scfevent.HTTPResponse{StatusCode: status, Headers: map[string]string{"Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store"}, Body: string(b)}
}

func errorResponse(status int, code, message, requestID string) scfevent.HTTPResponse {
	var e errorBody
	e.Error.Code, e.Error.Message, e.Error.RequestID = code, message, requestID
	r := jsonResponse(status, e)
	if status == http.StatusUnauthorized {
		r.Headers["WWW-Authenticate"] = `Bearer realm="tcusage"`
	}
	return r
}

// invalidParameter answers 400 InvalidParameter for a caller's mistake, naming the field at fault
// when err is an *InputError.
func invalidParameter(err error) scfevent.HTTPResponse {
	var e errorBody
	e.Error.Code, e.Error.Message = "InvalidParameter", err.Error()
	var ie *plan.InputError
	if errors.As(err, &ie) {
		e.Error.Field = ie.Field
	}
	return jsonResponse(http.StatusBadRequest, e)
}

// checkAuth enforces deny-by-default bearer-token auth. It returns nil when the caller may pass.
func checkAuth(want []byte, header http.Header) *scfevent.HTTPResponse {
	if len(want) == 0 {
		r := errorResponse(http.StatusForbidden, "HTTPDisabled",
			"HTTP queries are disabled: set TCUSAGE_HTTP_TOKEN_SHA256 to the hex SHA-256 of a bearer token to enable them", "")
		return &r
	}
	auth := header.Get("Authorization")
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		r := errorResponse(http.StatusUnauthorized, "Unauthorized", "send Authorization: Bearer <token>", "")
		return &r
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(token)))
	if subtle.ConstantTimeCompare(got[:], want) != 1 {
		r := errorResponse(http.StatusUnauthorized, "Unauthorized", "the bearer token is not valid", "")
		return &r
	}
	return nil
}

// upstreamResponse turns a run's failure into 502 (the API failed or answered nonsense), 503
// (the snapshot store failed), 504 (out of time) or 500 (the function's own machinery), with the
// upstream code and request ID but no internal detail: store and local errors name no bucket, key
// or path (the log has them).
func upstreamResponse(ctx context.Context, err error) scfevent.HTTPResponse {
	// Out of time first: a store or API error caused by the deadline is a timeout.
	if errors.Is(err, export.ErrDeadline) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return errorResponse(http.StatusGatewayTimeout, "Timeout", "the function ran out of time; ask for fewer days or apps", "")
	}
	var ae *tcloud.APIError
	if errors.As(err, &ae) {
		status := http.StatusBadGateway
		if errors.Is(err, tcloud.ErrAttemptTimeout) {
			status = http.StatusGatewayTimeout
		}
		msg := ae.Message // the service's own words
		if strings.HasPrefix(ae.Code, "ClientError.") {
			// Our side of the call: its message names addresses and transport internals.
			msg = "the API could not be reached or its answer could not be read"
		}
		return errorResponse(status, "Upstream."+ae.Code, fmt.Sprintf("%s failed: %s", ae.Action, clipMessage(msg)), ae.RequestID)
	}
	if errors.Is(err, export.ErrStore) {
		return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "the snapshot store failed; try again later", "")
	}
	if errors.Is(err, export.ErrLocal) {
		return errorResponse(http.StatusInternalServerError, "InternalError", "the function failed; its log says why", "")
	}
	return errorResponse(http.StatusBadGateway, "UpstreamInvalidAnswer", clipMessage(err.Error()), "")
}

func clipMessage(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// rowsAnswer is the JSON answer of a query.
type rowsAnswer struct {
	Dataset       string       `json:"dataset"`
	SchemaVersion string       `json:"schema_version"`
	From          calendar.Day `json:"from"`
	To            calendar.Day `json:"to"`
	Apps          []string     `json:"apps"`
	// Group, Top, By and Measures describe summed rows: per group, "rows" (how many rows were
	// summed) and the sum of each measure.
	Group    Group    `json:"group,omitempty"`
	Top      int      `json:"top,omitempty"`
	By       string   `json:"by,omitempty"`
	Measures []string `json:"measures,omitempty"`
	// Days says where each day came from.
	Days []DaySource       `json:"days"`
	Rows []json.RawMessage `json:"rows"`
	// RequestIDs are the API requests behind the days fetched live (with save=true, the saved
	// days').
	RequestIDs []string `json:"request_ids"`
	Saved      []string `json:"saved,omitempty"`
}

func splitJSONL(b []byte, into []json.RawMessage) []json.RawMessage {
	for len(b) > 0 {
		line, rest, _ := bytes.Cut(b, []byte{'\n'})
		if len(line) > 0 {
			into = append(into, json.RawMessage(line))
		}
		b = rest
	}
	return into
}

// durationText rounds a duration for a message.
func durationText(d time.Duration) string {
	if d > time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(100 * time.Millisecond).String()
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
