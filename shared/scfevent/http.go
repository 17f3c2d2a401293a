package scfevent

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
)

// Size limits. SCF refuses synchronous events and responses over 6 MB, so
// anything larger cannot be a genuine event.
const (
	// MaxEventBytes is the largest event [Event] decodes.
	MaxEventBytes = 6 << 20
	// MaxBodyBytes is the largest HTTP body, after base64 decoding.
	MaxBodyBytes = 6 << 20
)

// ErrTooLarge is wrapped by errors for events or bodies over the limits.
var ErrTooLarge = errors.New("too large")

// Trigger names the trigger that sent an HTTP event.
type Trigger string

// The HTTP triggers.
const (
	TriggerAPIGateway  Trigger = "apigw"
	TriggerFunctionURL Trigger = "url"
)

// HTTPRequest is a trigger-neutral view of an HTTP event.
type HTTPRequest struct {
	// Trigger is the trigger kind: "apigw" or "url".
	Trigger Trigger
	// Method is the request method.
	Method string
	// Path is the request path.
	Path string
	// Query holds the query; repeated keys keep all their values and a bare
	// key has one empty value.
	Query url.Values
	// Header holds the headers under canonical names (use Header.Get).
	Header http.Header
	// Body is the request body, base64-decoded when the event says so.
	Body []byte
	// SourceIP is the client address when the trigger reports it.
	SourceIP string
	// RequestID is the gateway's request ID, when the trigger sends one.
	RequestID string
	// APIGateway is the event as received, when Source is "apigw".
	APIGateway *APIGatewayRequest
	// FunctionURL is the event as received, when Source is "url".
	FunctionURL *FunctionURLRequest
}

// decodeBody returns the body bytes, decoding base64 when flagged, and
// enforces MaxBodyBytes.
func decodeBody(body string, isBase64 bool) ([]byte, error) {
	if !isBase64 {
		if len(body) > MaxBodyBytes {
			return nil, fmt.Errorf("body of %d bytes is over the %d byte limit: %w", len(body), MaxBodyBytes, ErrTooLarge)
		}
		return []byte(body), nil
	}
	if n := base64.StdEncoding.DecodedLen(len(body)); n > MaxBodyBytes+2 {
		return nil, fmt.Errorf("body of about %d bytes is over the %d byte limit: %w", n, MaxBodyBytes, ErrTooLarge)
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		return nil, fmt.Errorf("body flagged isBase64Encoded is not base64: %w", err)
	}
	if len(b) > MaxBodyBytes {
		return nil, fmt.Errorf("body of %d bytes is over the %d byte limit: %w", len(b), MaxBodyBytes, ErrTooLarge)
	}
	return b, nil
}

// HTTPResponse is what a function returns to an HTTP trigger: the API
// Gateway integration response, which a Function URL also understands.
// Body must be a string; set IsBase64Encoded for binary bodies.
type HTTPResponse struct {
	// IsBase64Encoded says that Body is base64.
	IsBase64Encoded bool `json:"isBase64Encoded"`
	// StatusCode is the HTTP status.
	StatusCode int `json:"statusCode"`
	// Headers are the response headers.
	Headers map[string]string `json:"headers"`
	// Body is the response body.
	Body string `json:"body"`
}
