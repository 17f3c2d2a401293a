package scf

// The RPC messages of the Go1 runtime. They travel as gob, which matches
// struct fields by name and ignores Go type names, so the field names below
// are the platform's, letter for letter. Several break Go's initialism
// style (RequestId, TraceId, MemoryLimitInMb, TencentcloudAppID...): they
// cannot be renamed without the platform silently dropping the field.
// [InvocationContext] offers the same data under idiomatic names. The type
// names are ours (the platform's contain underscores).

// PingRequest is the argument of Function.Ping. It has no fields.
type PingRequest struct{}

// PingResponse is the reply of Function.Ping. It has no fields.
type PingResponse struct{}

// Timestamp is an absolute time as seconds and nanoseconds since the Unix
// epoch.
type Timestamp struct {
	Seconds int64
	Nanos   int64
}

// InvokeRequest is the argument of Function.Invoke: one invocation.
type InvokeRequest struct {
	// Payload is the event JSON.
	Payload []byte
	// RequestId is the invocation's request ID (wire name, see above).
	RequestId string
	// TraceId is the invocation's trace ID (wire name).
	TraceId string
	// Deadline is the absolute time by which the invocation must end.
	Deadline Timestamp
	// InvokedFunctionUnique identifies the invoked function; opaque.
	InvokedFunctionUnique string
	// ClientContext is optional JSON from the caller.
	ClientContext []byte
	// Namespace is the function's namespace.
	Namespace string
	// FunctionName is the function's name.
	FunctionName string
	// FunctionVersion is the invoked version, e.g. "$LATEST".
	FunctionVersion string
	// MemoryLimitInMb is the configured memory in MB (wire name).
	MemoryLimitInMb int32
	// TimeLimitInMs is the function timeout in milliseconds.
	TimeLimitInMs int32
	// Environment is a JSON object of the user's environment variables.
	Environment string
	// TencentcloudRegion is the region, e.g. "ap-guangzhou".
	TencentcloudRegion string
	// TencentcloudAppID is the account's AppID.
	TencentcloudAppID string
	// TencentcloudUin is the account's UIN.
	TencentcloudUin string
	// FunctionTrace is tracing data; opaque.
	FunctionTrace string
}

// InvokeResponse is the reply of Function.Invoke. A failed invocation sets
// Error and still returns a nil RPC error.
type InvokeResponse struct {
	// Payload is the handler's result as JSON.
	Payload []byte
	// Error describes a failure; nil on success.
	Error *InvokeError
}

// InvokeError describes a failed invocation: a handler error, a recovered
// panic or an undecodable request. It is both the wire message and the
// error [Invoke] returns.
type InvokeError struct {
	// Message is the error text (or the panic value).
	Message string
	// Type names the error's dynamic type without package or pointer,
	// e.g. "errorString" or "SyntaxError".
	Type string
	// StackTrace is set for panics: the goroutine's stack at the panic.
	StackTrace []*StackFrame
	// ShouldExit tells the platform the process may be in a bad state
	// (after a panic) and should not be reused.
	ShouldExit bool

	cause error // not sent: gob skips unexported fields
}

// StackFrame is one frame of InvokeError.StackTrace.
type StackFrame struct {
	Path  string `json:"path"`
	Line  int32  `json:"line"`
	Label string `json:"label"`
}

// Error returns Message, prefixed by Type.
func (e *InvokeError) Error() string {
	if e.Type == "" {
		return e.Message
	}
	return e.Type + ": " + e.Message
}

// Unwrap returns the handler's error, when the failure came from one and
// the InvokeError was made in this process (it is not sent over RPC).
func (e *InvokeError) Unwrap() error { return e.cause }
