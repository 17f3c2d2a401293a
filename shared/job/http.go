package job

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/tcloud"
)

// MaxResponseBytes keeps HTTP answers under SCF's 6 MB synchronous response limit, leaving room
// for the envelope.
const MaxResponseBytes = 5 << 20

// Query is a parsed HTTP query.
type Query struct {
	From, To string
	Apps     []string
	Format   string // json or csv
	Save     bool
}

var queryParams = []string{"date", "from", "to", "app", "format", "save"}

// ParseQuery validates an HTTP query: date or from/to (default yesterday), app (repeated or
// comma-separated; default every configured app), format=json|csv, save=true|false. Unknown or
// repeated parameters are errors naming them.
func ParseQuery(q map[string][]string, apps []string, lim Limits) (Query, error) {
	var out Query
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !slices.Contains(queryParams, k) {
			return Query{}, &InputError{Field: fieldName(k), Problem: "unknown parameter; known: " + strings.Join(queryParams, ", ")}
		}
		if k != "app" && len(q[k]) > 1 {
			return Query{}, &InputError{Field: k, Problem: "given more than once"}
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
		return Query{}, &InputError{Field: "date", Problem: "give either date or from/to, not both"}
	case hasDate:
		from, to = date, date
	case hasFrom != hasTo:
		return Query{}, &InputError{Field: "from", Problem: "from and to go together"}
	case !hasFrom:
		from, to = lim.Latest, lim.Latest
	}
	fromField, toField := "from", "to"
	if hasDate {
		fromField, toField = "date", "date"
	}
	if err := lim.CheckRange(fromField, toField, from, to); err != nil {
		return Query{}, err
	}
	out.From, out.To = from, to

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
			return Query{}, &InputError{Field: "app", Problem: "is empty"}
		}
		sel, err := SelectApps("app", req, apps)
		if err != nil {
			return Query{}, err
		}
		out.Apps = sel
	}

	switch f := strings.ToLower(get("format")); f {
	case "", "json":
		out.Format = "json"
	case "csv":
		out.Format = "csv"
	default:
		return Query{}, &InputError{Field: "format", Problem: fmt.Sprintf("%q: want json or csv", clip(f))}
	}
	switch s := strings.ToLower(get("save")); s {
	case "", "false", "0", "no":
	case "true", "1", "yes":
		out.Save = true
	default:
		return Query{}, &InputError{Field: "save", Problem: fmt.Sprintf("%q: want true or false", clip(s))}
	}
	return out, nil
}

// fieldName shows a caller's parameter name: clipped, and quoted when it is empty or holds
// anything but printable characters, so that it is never blank and never breaks a log line.
func fieldName(k string) string {
	k = clip(k)
	if k == "" || strings.IndexFunc(k, func(r rune) bool { return !unicode.IsPrint(r) || r == '"' }) >= 0 || !utf8.ValidString(k) {
		return strconv.Quote(k)
	}
	return k
}

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
	var ie *InputError
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
	if errors.Is(err, ErrDeadline) || errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
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
	if errors.Is(err, ErrStore) {
		return errorResponse(http.StatusServiceUnavailable, "StoreUnavailable", "the snapshot store failed; try again later", "")
	}
	if errors.Is(err, errLocal) {
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
	Dataset       string            `json:"dataset"`
	SchemaVersion string            `json:"schema_version"`
	From          string            `json:"from"`
	To            string            `json:"to"`
	Apps          []string          `json:"apps"`
	Rows          []json.RawMessage `json:"rows"`
	RequestIDs    []string          `json:"request_ids"`
	Saved         []string          `json:"saved,omitempty"`
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
