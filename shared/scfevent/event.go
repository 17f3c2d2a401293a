package scfevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrUnknownEvent is wrapped by the error for JSON that is none of the
// supported event shapes.
var ErrUnknownEvent = errors.New("unrecognised event")

// Kinds of [Event], as returned by [Event.Kind].
const (
	KindTimer       = "timer"
	KindAPIGateway  = string(TriggerAPIGateway)
	KindFunctionURL = string(TriggerFunctionURL)
)

// apigwOnlyKeys are keys an API Gateway event has and a Function URL event
// does not.
var apigwOnlyKeys = []string{"requestContext", "headerParameters", "queryStringParameters", "pathParameters"}

// Event is any event a tcusage function accepts: exactly one of Timer and
// HTTP is set after a successful decode.
//
// Use it as a handler's input type; decoding fails with a descriptive error
// for anything that is not a timer, API Gateway or Function URL event.
type Event struct {
	// Timer is set for a timer event.
	Timer *Timer
	// HTTP is set for an API Gateway or Function URL event.
	HTTP *HTTPRequest
}

// Kind returns "timer", "apigw", "url", or "" for a zero Event.
func (e Event) Kind() string {
	switch {
	case e.Timer != nil:
		return KindTimer
	case e.HTTP != nil:
		return string(e.HTTP.Trigger)
	default:
		return ""
	}
}

// DecodeEvent decodes data as an [Event]; see [Event.UnmarshalJSON].
func DecodeEvent(data []byte) (Event, error) {
	var e Event
	if err := e.UnmarshalJSON(data); err != nil {
		return Event{}, err
	}
	return e, nil
}

// UnmarshalJSON decodes an event and tells its kind from the top-level
// keys (case-sensitive, as the platform writes them):
//
//   - "Type" → a timer event; Type must be "Timer" and Time an RFC 3339 time.
//   - "httpMethod" → an HTTP event. If any of requestContext,
//     headerParameters, queryStringParameters or pathParameters is present it
//     is an API Gateway event, otherwise a Function URL event.
//   - anything else, including both "Type" and "httpMethod", a non-object
//     or an object from another trigger (COS, CMQ...) → an error wrapping
//     [ErrUnknownEvent].
//
// Input over [MaxEventBytes] is refused with an error wrapping
// [ErrTooLarge]. On error e is left unchanged.
func (e *Event) UnmarshalJSON(data []byte) error {
	if len(data) > MaxEventBytes {
		return fmt.Errorf("event of %d bytes is over the %d byte limit: %w", len(data), MaxEventBytes, ErrTooLarge)
	}
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return fmt.Errorf("%w: empty input", ErrUnknownEvent)
	}
	if trimmed[0] != '{' {
		if !json.Valid(trimmed) {
			return fmt.Errorf("decode event: %w", syntaxError(trimmed))
		}
		return fmt.Errorf("%w: got %s, want a JSON object", ErrUnknownEvent, describe(trimmed))
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &keys); err != nil {
		return fmt.Errorf("decode event: %w", err)
	}
	_, hasType := keys["Type"]
	_, hasMethod := keys["httpMethod"]
	switch {
	case hasType && hasMethod:
		return fmt.Errorf("%w: has both \"Type\" and \"httpMethod\"", ErrUnknownEvent)
	case hasType:
		var typ string
		if err := json.Unmarshal(keys["Type"], &typ); err != nil {
			return fmt.Errorf("%w: \"Type\" is %s, want a string", ErrUnknownEvent, describe(bytes.TrimSpace(keys["Type"])))
		}
		if typ != TimerType {
			return fmt.Errorf("%w: unsupported Type %q (only %q is supported)", ErrUnknownEvent, typ, TimerType)
		}
		var t Timer
		if err := json.Unmarshal(trimmed, &t); err != nil {
			return fmt.Errorf("decode timer event: %w", err)
		}
		if err := t.Validate(); err != nil {
			return err
		}
		*e = Event{Timer: &t}
		return nil
	case hasMethod:
		h, err := decodeHTTP(trimmed, keys)
		if err != nil {
			return err
		}
		*e = Event{HTTP: h}
		return nil
	default:
		return fmt.Errorf("%w: no \"Type\" or \"httpMethod\" key (keys: %s)", ErrUnknownEvent, keyList(keys))
	}
}

// decodeHTTP decodes an event that has httpMethod.
func decodeHTTP(data []byte, keys map[string]json.RawMessage) (*HTTPRequest, error) {
	for _, k := range apigwOnlyKeys {
		if _, ok := keys[k]; ok {
			var r APIGatewayRequest
			if err := json.Unmarshal(data, &r); err != nil {
				return nil, fmt.Errorf("decode api gateway event: %w", err)
			}
			return r.HTTPRequest()
		}
	}
	var r FunctionURLRequest
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode function url event: %w", err)
	}
	return r.HTTPRequest()
}

// MarshalJSON writes the event as the trigger sent it: the Timer, or the
// APIGatewayRequest / FunctionURLRequest behind HTTP. A zero Event, or an
// HTTPRequest without its raw event, is an error.
func (e Event) MarshalJSON() ([]byte, error) {
	switch {
	case e.Timer != nil:
		return json.Marshal(e.Timer)
	case e.HTTP != nil && e.HTTP.APIGateway != nil:
		return json.Marshal(e.HTTP.APIGateway)
	case e.HTTP != nil && e.HTTP.FunctionURL != nil:
		return json.Marshal(e.HTTP.FunctionURL)
	default:
		return nil, errors.New("marshal event: no timer or raw http event set")
	}
}

// syntaxError returns the error json.Unmarshal reports for invalid data.
func syntaxError(data []byte) error {
	var v any
	err := json.Unmarshal(data, &v)
	if err == nil {
		return errors.New("invalid JSON")
	}
	return err
}

// keyList lists up to 8 keys of an object for error messages.
func keyList(keys map[string]json.RawMessage) string {
	if len(keys) == 0 {
		return "none"
	}
	names := make([]string, 0, len(keys))
	for k := range keys {
		names = append(names, fmt.Sprintf("%q", k))
	}
	slices.Sort(names)
	if len(names) > 8 {
		names = append(names[:8], "...")
	}
	return strings.Join(names, ", ")
}
