package scfevent

import (
	"errors"
	"fmt"
)

// APIGatewayRequest is the integration request an API Gateway trigger sends
// to an event function.
//
// Maps that the gateway sends as {} stay non-nil empty maps, so that a
// round trip through JSON keeps them (the fields use omitzero: only an absent
// key is omitted). Keys this type does not declare are dropped.
type APIGatewayRequest struct {
	// HTTPMethod is the request method, e.g. "GET".
	HTTPMethod string `json:"httpMethod"`
	// Path is the request path.
	Path string `json:"path"`
	// Headers holds the request headers as sent, with their original case.
	Headers Values `json:"headers,omitzero"`
	// QueryString holds the parsed query (see Values for the quirks).
	QueryString Values `json:"queryString,omitzero"`
	// Body is the request body; base64 when IsBase64Encoded is true.
	Body string `json:"body,omitempty"`
	// IsBase64Encoded says that Body is base64 (the API enables Base64).
	IsBase64Encoded bool `json:"isBase64Encoded,omitempty"`
	// HeaderParameters holds headers the API declares as parameters.
	HeaderParameters Values `json:"headerParameters,omitzero"`
	// PathParameters holds values of path variables such as {path}.
	PathParameters map[string]string `json:"pathParameters,omitzero"`
	// QueryStringParameters holds query keys the API declares as parameters.
	QueryStringParameters Values `json:"queryStringParameters,omitzero"`
	// StageVariables holds the stage's variables.
	StageVariables map[string]string `json:"stageVariables,omitzero"`
	// RequestContext describes the API and the caller.
	RequestContext *APIGatewayRequestContext `json:"requestContext,omitempty"`
}

// APIGatewayRequestContext is the requestContext of an
// [APIGatewayRequest].
type APIGatewayRequestContext struct {
	// ServiceID is the API Gateway service, e.g. "service-f94sy04v".
	ServiceID string `json:"serviceId,omitempty"`
	// Path is the API's configured path, e.g. "/test/{path}".
	Path string `json:"path,omitempty"`
	// HTTPMethod is the API's configured method, often "ANY".
	HTTPMethod string `json:"httpMethod,omitempty"`
	// RequestID is the gateway's request ID, when sent.
	RequestID string `json:"requestId,omitempty"`
	// Identity is present ({}) on every request; SecretID is set only
	// with key authentication.
	Identity *APIGatewayIdentity `json:"identity,omitempty"`
	// SourceIP is the client address.
	SourceIP string `json:"sourceIp,omitempty"`
	// Stage is the release environment, e.g. "release" or "test".
	Stage string `json:"stage,omitempty"`
	// WebsocketEnable is set by websocket APIs only.
	WebsocketEnable *bool `json:"websocketEnable,omitempty"`
}

// APIGatewayIdentity identifies the caller of an API with key
// authentication.
type APIGatewayIdentity struct {
	// SecretID is the ID (not the secret) of the caller's API key.
	SecretID string `json:"secretId,omitempty"`
}

// HTTPRequest returns the normalised view of r. It fails when the body is
// flagged base64 but is not valid base64, or is over [MaxBodyBytes].
func (r *APIGatewayRequest) HTTPRequest() (*HTTPRequest, error) {
	if r.HTTPMethod == "" {
		return nil, errors.New("api gateway event: httpMethod is empty")
	}
	body, err := decodeBody(r.Body, r.IsBase64Encoded)
	if err != nil {
		return nil, fmt.Errorf("api gateway event: %w", err)
	}
	h := &HTTPRequest{
		Trigger:    TriggerAPIGateway,
		Method:     r.HTTPMethod,
		Path:       r.Path,
		Query:      r.QueryString.URLValues(),
		Header:     r.Headers.Header(),
		Body:       body,
		APIGateway: r,
	}
	if rc := r.RequestContext; rc != nil {
		h.SourceIP = rc.SourceIP
		h.RequestID = rc.RequestID
	}
	return h, nil
}
