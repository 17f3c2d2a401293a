package tcloud

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/tcusage/tcusage/shared/tcapi"
)

// decodeResponse decodes the content of {"Response": ...} into target. A room-usage answer
// carries a whole day's CSV (tens of MB) in one JSON string; encoding/json would unquote it into
// a byte slice and then copy that into a string. decodeRoomUsage unquotes it once, straight into
// the string's memory, so the answer costs one copy of the CSV instead of two.
func decodeResponse(b []byte, target any) error {
	if ru, ok := target.(*tcapi.TRTCRoomUsageResponse); ok {
		return decodeRoomUsage(b, ru)
	}
	return json.Unmarshal(b, target)
}

// rawRef keeps a reference to a JSON value inside the input being decoded (no copy; only valid
// while that input is).
type rawRef struct{ b []byte }

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawRef) UnmarshalJSON(b []byte) error { r.b = b; return nil }

// decodeRoomUsage decodes a DescribeTrtcRoomUsage answer, with the same result (and the same
// errors) as json.Unmarshal.
func decodeRoomUsage(b []byte, out *tcapi.TRTCRoomUsageResponse) error {
	var env struct {
		Data      rawRef `json:"Data"`
		RequestID string `json:"RequestId"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		return json.Unmarshal(b, out) // the standard decoder words the error
	}
	raw := env.Data.b
	if raw == nil {
		// Data absent: only RequestId to set (fields other than Data are decoded as usual).
		return json.Unmarshal(b, out)
	}
	if bytes.Equal(raw, []byte("null")) || len(raw) < 2 || raw[0] != '"' {
		return json.Unmarshal(b, out)
	}
	s, ok := unquoteJSON(raw)
	if !ok {
		return json.Unmarshal(b, out)
	}
	out.Data, out.RequestID = &s, env.RequestID
	return nil
}

// unquoteJSON unquotes a valid JSON string literal (quotes included) holding valid UTF-8 and only
// the short escapes; it reports false for anything else (\u escapes, invalid UTF-8), which the
// caller then leaves to encoding/json.
func unquoteJSON(q []byte) (string, bool) {
	q = q[1 : len(q)-1]
	if !utf8.Valid(q) {
		return "", false
	}
	var sb strings.Builder
	sb.Grow(len(q))
	for len(q) > 0 {
		i := bytes.IndexByte(q, '\\')
		if i < 0 {
			sb.Write(q)
			break
		}
		sb.Write(q[:i])
		if i+1 >= len(q) {
			return "", false
		}
		var c byte
		switch q[i+1] {
		case '"', '\\', '/':
			c = q[i+1]
		case 'n':
			c = '\n'
		case 'r':
			c = '\r'
		case 't':
			c = '\t'
		case 'b':
			c = '\b'
		case 'f':
			c = '\f'
		default:
			return "", false
		}
		sb.WriteByte(c)
		q = q[i+2:]
	}
	return sb.String(), true
}

// maxAnswerBytes is the largest answer the API documents (50 MB), with some room.
const maxAnswerBytes = 64 << 20

// predecodeMin is the answer size from which the transport decodes answers itself.
const predecodeMin = 64 << 10

// predecode decodes a large successful answer straight into the caller's target and hands the
// SDK a small stand-in, {"Response":{"RequestId":...}}. The SDK reads every body whole (twice)
// and parses it four times with a slow scanner; for a 40 MB room-usage answer that is seconds
// of CPU and several copies of the answer in memory. Here the body is read once into a buffer of
// its announced size and decoded once. Anything the SDK must see (errors, other statuses,
// encodings, streams, malformed or unusual bodies, read failures) passes through unchanged.
func predecode(resp *http.Response, info *attemptInfo) {
	if info.target == nil || resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") ||
		(resp.ContentLength >= 0 && resp.ContentLength < predecodeMin) {
		return
	}
	var buf bytes.Buffer
	if resp.ContentLength > 0 {
		// Trust the announced size only up to the API's documented 50 MB answer limit, so that a
		// bogus Content-Length cannot make us allocate gigabytes before reading a byte.
		buf.Grow(int(min(resp.ContentLength, maxAnswerBytes)) + bytes.MinRead)
	}
	_, rerr := buf.ReadFrom(resp.Body)
	resp.Body.Close()
	body := buf.Bytes()
	passThrough := func() {
		var rd io.Reader = bytes.NewReader(body)
		if rerr != nil {
			rd = io.MultiReader(rd, errReader{rerr})
		}
		resp.Body = io.NopCloser(rd)
	}
	if rerr != nil {
		passThrough()
		return
	}
	var env struct {
		Response rawRef          `json:"Response"`
		Code     json.RawMessage `json:"code"` // the deprecated error form
	}
	if json.Unmarshal(body, &env) != nil || env.Code != nil || len(env.Response.b) == 0 || env.Response.b[0] != '{' {
		passThrough()
		return
	}
	var head struct {
		Error     json.RawMessage `json:"Error"`
		RequestID *string         `json:"RequestId"`
	}
	if json.Unmarshal(env.Response.b, &head) != nil || head.Error != nil {
		passThrough()
		return
	}
	stub := []byte(`{"Response":{}}`)
	if head.RequestID != nil {
		id, _ := json.Marshal(*head.RequestID)
		stub = append(append([]byte(`{"Response":{"RequestId":`), id...), "}}"...)
	}
	err := decodeResponse(env.Response.b, info.target)
	info.mu.Lock()
	info.decoded, info.decodeErr = true, err
	info.mu.Unlock()
	resp.Body = io.NopCloser(bytes.NewReader(stub))
	resp.ContentLength = int64(len(stub))
	resp.Header = resp.Header.Clone()
	resp.Header.Set("Content-Length", strconv.Itoa(len(stub)))
}

// errReader fails every read with err.
type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }
