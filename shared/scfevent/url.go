package scfevent

import (
	"errors"
	"fmt"
)

// RemoteAddrHeader is the header in which a Function URL passes the client
// address.
const RemoteAddrHeader = "X-Scf-Remote-Addr"

// FunctionURLRequest is the event a Function URL sends to an event function.
// It keeps the gateway's top-level keys without requestContext and the
// *Parameters maps.
type FunctionURLRequest struct {
	// HTTPMethod is the request method, e.g. "POST".
	HTTPMethod string `json:"httpMethod"`
	// Path is the request path.
	Path string `json:"path"`
	// Headers holds the request headers as sent (lower case in practice).
	Headers Values `json:"headers,omitzero"`
	// QueryString holds the parsed query.
	QueryString Values `json:"queryString,omitzero"`
	// Body is the request body.
	Body string `json:"body,omitempty"`
	// IsBase64Encoded is not documented for Function URLs; it is honoured
	// when present so that binary bodies are not silently mangled.
	IsBase64Encoded bool `json:"isBase64Encoded,omitempty"`
}

// HTTPRequest returns the normalised view of r. SourceIP comes from the
// x-scf-remote-addr header. RequestID stays empty: the event carries none.
func (r *FunctionURLRequest) HTTPRequest() (*HTTPRequest, error) {
	if r.HTTPMethod == "" {
		return nil, errors.New("function url event: httpMethod is empty")
	}
	body, err := decodeBody(r.Body, r.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("function url event: %w", err)
	}
	header := r.Headers.Header()
	return &HTTPRequest{
		Trigger:     TriggerFunctionURL,
		Method:      r.HTTPMethod,
		Path:        r.Path,
		Query:       r.QueryString.URLValues(),
		Header:      header,
		Body:        body,
		SourceIP:    header.Get(RemoteAddrHeader),
		FunctionURL: r,
	}, nil
}
