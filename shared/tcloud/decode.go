package tcloud

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// selfDecoder is a response type that decodes its answer itself, more cheaply than encoding/json
// would (tcapi.TRTCRoomUsageResponse, whose answer holds tens of MB in one string).
type selfDecoder interface {
	DecodeJSON(b []byte) error
}

// decodeResponse decodes the content of {"Response": ...} into target.
func decodeResponse(b []byte, target any) error {
	if d, ok := target.(selfDecoder); ok {
		return d.DecodeJSON(b)
	}
	return json.Unmarshal(b, target)
}

// rawRef keeps a reference to a JSON value inside the input being decoded (no copy; only valid
// while that input is).
type rawRef struct{ b []byte }

// UnmarshalJSON implements json.Unmarshaler.
func (r *rawRef) UnmarshalJSON(b []byte) error { r.b = b; return nil }

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
