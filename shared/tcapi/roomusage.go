package tcapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// DecodeJSON decodes a DescribeTrtcRoomUsage answer (the content of "Response") with the same
// result and errors as json.Unmarshal, but cheaper: the answer carries a whole day's CSV (tens of
// MB) in one JSON string, which encoding/json would unquote into a byte slice and then copy into
// a string. Here it is unquoted once, straight into the string's memory, so the answer costs one
// copy of the CSV instead of two. The API client uses it for every room-usage answer.
func (r *TRTCRoomUsageResponse) DecodeJSON(b []byte) error {
	var env struct {
		Data      rawRef `json:"Data"`
		RequestID string `json:"RequestId"`
	}
	plain := r
	if err := json.Unmarshal(b, &env); err != nil {
		return json.Unmarshal(b, plain) // the standard decoder words the error
	}
	raw := env.Data.b
	if raw == nil || bytes.Equal(raw, []byte("null")) || len(raw) < 2 || raw[0] != '"' {
		return json.Unmarshal(b, plain) // Data absent, null or not a string: nothing to save
	}
	s, ok := unquoteJSON(raw)
	if !ok {
		return json.Unmarshal(b, plain)
	}
	r.Data, r.RequestID = &s, env.RequestID
	return nil
}

// rawRef keeps a reference to a JSON value inside the input being decoded (no copy; only valid
// while that input is).
type rawRef struct{ b []byte }

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawRef) UnmarshalJSON(b []byte) error { r.b = b; return nil }

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
		c := shortEscapes[q[i+1]]
		if c == 0 {
			return "", false
		}
		sb.WriteByte(c)
		q = q[i+2:]
	}
	return sb.String(), true
}

// shortEscapes maps the character after a backslash to what it stands for (0: not a short escape).
var shortEscapes = [256]byte{'"': '"', '\\': '\\', '/': '/', 'n': '\n', 'r': '\r', 't': '\t', 'b': '\b', 'f': '\f'}
