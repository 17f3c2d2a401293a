package scfevent

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
)

// Values is a multi-valued string map as the API Gateway sends it in
// "queryString" and "headers".
//
// In JSON a value may be a string ("x": "y"), an array of strings for a
// repeated key ("a": ["b", "c"]) or the literal true for a bare key without
// "=" ("i": true). They decode to one value, the array's values, and a
// present key with no values (an empty, non-nil slice) respectively.
// MarshalJSON writes them back the same way: no values → true, one value →
// a string, more → an array. The only normalisation is that an array of one
// element is written back as a plain string.
type Values map[string][]string

// UnmarshalJSON decodes a JSON object whose values are strings, arrays of
// strings or true. Any other value (a number, false, null, nested object)
// is an error naming the key.
func (v *Values) UnmarshalJSON(data []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	if raw == nil { // JSON null
		*v = nil
		return nil
	}
	out := make(Values, len(raw))
	for key, msg := range raw {
		vals, err := decodeValue(msg)
		if err != nil {
			return fmt.Errorf("value of %q: %w", key, err)
		}
		out[key] = vals
	}
	*v = out
	return nil
}

// decodeValue decodes one value of a Values object.
func decodeValue(msg json.RawMessage) ([]string, error) {
	trimmed := bytes.TrimSpace(msg)
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("empty value")
	}
	switch trimmed[0] {
	case '"':
		var s string
		if err := json.Unmarshal(trimmed, &s); err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var ss []string
		if err := json.Unmarshal(trimmed, &ss); err != nil {
			return nil, err
		}
		if ss == nil {
			ss = []string{}
		}
		return ss, nil
	case 't':
		var b bool
		if err := json.Unmarshal(trimmed, &b); err != nil {
			return nil, err
		}
		return []string{}, nil
	default:
		return nil, fmt.Errorf("got %s, want a string, an array of strings or true", describe(trimmed))
	}
}

// describe names the JSON kind of a raw value for error messages.
func describe(msg []byte) string {
	if len(msg) == 0 {
		return "nothing"
	}
	switch msg[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	default:
		return "a number"
	}
}

// MarshalJSON writes the values in the gateway's shape: true for a key with
// no values, a string for one value and an array for several. Keys are
// written in sorted order.
func (v Values) MarshalJSON() ([]byte, error) {
	if v == nil {
		return []byte("null"), nil
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, key := range slices.Sorted(maps.Keys(v)) {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(key)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		var val any
		switch vals := v[key]; len(vals) {
		case 0:
			val = true
		case 1:
			val = vals[0]
		default:
			val = vals
		}
		b, err := json.Marshal(val)
		if err != nil {
			return nil, err
		}
		buf.Write(b)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Get returns the first value of key, or "" when the key is absent or bare.
// The key is matched exactly.
func (v Values) Get(key string) string {
	if vals := v[key]; len(vals) > 0 {
		return vals[0]
	}
	return ""
}

// URLValues converts the values to url.Values. A bare key (JSON true)
// becomes a single empty value, as url.ParseQuery does for "?i". Values are
// copied.
func (v Values) URLValues() url.Values {
	out := make(url.Values, len(v))
	for key, vals := range v {
		if len(vals) == 0 {
			out[key] = []string{""}
			continue
		}
		out[key] = slices.Clone(vals)
	}
	return out
}

// Header converts the values to an http.Header with canonical names, so
// that lookups with Header.Get work whatever case the gateway used. Keys
// that differ only in case are merged in sorted key order. Values are copied.
func (v Values) Header() http.Header {
	out := make(http.Header, len(v))
	for _, key := range slices.Sorted(maps.Keys(v)) {
		vals := v[key]
		if len(vals) == 0 {
			vals = []string{""}
		}
		ck := http.CanonicalHeaderKey(key)
		out[ck] = append(out[ck], vals...)
	}
	return out
}
