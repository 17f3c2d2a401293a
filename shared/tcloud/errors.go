package tcloud

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/remote"
)

// Client-side error codes. The first four are the SDK's own; CodeDecodeError is this package's.
const (
	CodeNetworkError        = "ClientError.NetworkError"
	CodeParseJSONError      = "ClientError.ParseJsonError"
	CodeHTTPStatusCodeError = "ClientError.HttpStatusCodeError"
	CodeIOError             = "ClientError.IOError"
	// CodeDecodeError: the body is valid JSON but does not fit the response struct.
	CodeDecodeError = "ClientError.DecodeError"
)

// CodeTokenFailure is the service's answer to a session token it refuses (wrong, expired or
// revoked): the credentials' source stops handing them out (credential.Source.Reject).
const CodeTokenFailure = "AuthFailure.TokenFailure"

// maxMessage bounds APIError.Message: the SDK puts whole response bodies into some messages.
const maxMessage = 200

// APIError is a failed Call: either the service's error (Code, Message and RequestID from
// {"Response":{"Error":...}}) or a client-side failure (Code "ClientError.*", no RequestID).
// Message is at most about 200 bytes and never holds credentials. Use errors.As to get it.
type APIError struct {
	Action     string // action name, e.g. DescribeTelCallInfo
	Code       string // e.g. AuthFailure.SignatureFailure or ClientError.NetworkError
	Message    string
	RequestID  string
	HTTPStatus int // status of the last response; 0 if none arrived
	Attempts   int // attempts made by the Call

	cause error
}

// ErrAttemptTimeout is the cause of an APIError whose last attempt ran past Config.Timeout.
var ErrAttemptTimeout = errors.New("attempt timed out")

// Error returns "tencent cloud <action>: <code>: <message> (request id ..., HTTP n, n attempts)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tencent cloud %s: %s", e.Action, e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	var extra []string
	if e.RequestID != "" {
		extra = append(extra, "request id "+e.RequestID)
	}
	if e.HTTPStatus != 0 {
		extra = append(extra, fmt.Sprintf("HTTP %d", e.HTTPStatus))
	}
	if e.Attempts > 1 {
		extra = append(extra, fmt.Sprintf("%d attempts", e.Attempts))
	}
	if len(extra) > 0 {
		b.WriteString(" (" + strings.Join(extra, ", ") + ")")
	}
	return b.String()
}

// Unwrap returns the underlying cause (a network error, a per-attempt timeout), if any.
func (e *APIError) Unwrap() error { return e.cause }

// Retryable reports whether err is worth another attempt: rate limiting (RequestLimitExceeded*,
// OperationDenied.FreqOverLimit), server trouble (InternalError*, ServiceUnavailable), network
// failures and timeouts, unparseable or truncated bodies, and HTTP 5xx/408/429. Everything else
// is final, including AuthFailure*, InvalidParameter*, MissingParameter, UnknownParameter,
// UnauthorizedOperation*, InvalidAction, ActionOffline, ResourceNotFound*, FailedOperation*,
// LimitExceeded (a quota) and ResourceUnavailable (a resource's state, which does not change within
// a backoff window). Unknown codes are not retried. Context cancellation is never retryable.
func Retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return retryableCode(ae.Code, ae.HTTPStatus)
	}
	var ne net.Error
	return errors.As(err, &ne)
}

func retryableCode(code string, status int) bool {
	switch {
	case isRateLimitCode(code),
		code == "InternalError" || strings.HasPrefix(code, "InternalError."),
		code == "ServiceUnavailable" || strings.HasPrefix(code, "ServiceUnavailable."),
		code == CodeNetworkError, code == CodeIOError:
		return true
	case code == CodeParseJSONError:
		// A non-JSON or truncated body: a proxy's error page or a cut connection. Only a clear
		// client error status (a wrong endpoint answering 404, say) is final.
		return status < 400 || status >= 500 || status == 408 || status == 429
	case code == CodeHTTPStatusCodeError:
		return status >= 500 || status == 408 || status == 429
	}
	return false
}

// isRateLimitCode reports the codes after which the next attempt waits at least the pacing interval.
func isRateLimitCode(code string) bool {
	return code == "RequestLimitExceeded" || strings.HasPrefix(code, "RequestLimitExceeded.") ||
		code == "OperationDenied.FreqOverLimit"
}

// cleanMessage removes credentials from s and bounds it as a remote's message.
func cleanMessage(s string, creds credential.Credentials) string {
	return remote.Message(creds.Scrub(s))
}
