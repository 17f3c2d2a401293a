package scf

import (
	"context"
	"maps"
	"time"
)

// InvocationContext is the metadata of one invocation, taken from the
// platform's request.
type InvocationContext struct {
	// RequestID identifies the invocation; log it.
	RequestID string
	// TraceID is the platform's trace ID.
	TraceID string
	// FunctionName, Namespace and FunctionVersion identify the function.
	FunctionName    string
	Namespace       string
	FunctionVersion string
	// InvokedFunctionUnique is the platform's opaque function identifier.
	InvokedFunctionUnique string
	// MemoryLimitMB is the configured memory.
	MemoryLimitMB int
	// TimeLimit is the configured timeout.
	TimeLimit time.Duration
	// Deadline is the absolute deadline; zero when the request had none.
	// The handler's ctx carries the same deadline.
	Deadline time.Time
	// Region, AppID and UIN describe the account, e.g. "ap-guangzhou".
	Region string
	AppID  string
	UIN    string
	// Environment holds the function's user environment variables as the
	// platform sent them with this invocation (nil when it sent none).
	// Prefer it to os.Getenv for per-invocation values.
	Environment map[string]string
	// ClientContext is the caller's client context JSON, if any.
	ClientContext []byte
	// FunctionTrace is the platform's opaque tracing data.
	FunctionTrace string
}

// contextKey is the unexported key under which the InvocationContext is
// stored.
type contextKey struct{}

// NewContext returns a copy of parent that carries ic. The runtime does
// this for every invocation; tests and local runs may call it directly.
func NewContext(parent context.Context, ic *InvocationContext) context.Context {
	return context.WithValue(parent, contextKey{}, ic)
}

// FromContext returns the InvocationContext stored in ctx, if any. The
// returned value must not be modified.
func FromContext(ctx context.Context) (*InvocationContext, bool) {
	ic, ok := ctx.Value(contextKey{}).(*InvocationContext)
	return ic, ok && ic != nil
}

// invocationContext builds the InvocationContext of a request. env is the
// decoded Environment.
func invocationContext(req *InvokeRequest, env map[string]string) *InvocationContext {
	ic := &InvocationContext{
		RequestID:             req.RequestId,
		TraceID:               req.TraceId,
		FunctionName:          req.FunctionName,
		Namespace:             req.Namespace,
		FunctionVersion:       req.FunctionVersion,
		InvokedFunctionUnique: req.InvokedFunctionUnique,
		MemoryLimitMB:         int(req.MemoryLimitInMb),
		TimeLimit:             time.Duration(req.TimeLimitInMs) * time.Millisecond,
		Deadline:              req.Deadline.Time(),
		Region:                req.TencentcloudRegion,
		AppID:                 req.TencentcloudAppID,
		UIN:                   req.TencentcloudUin,
		Environment:           maps.Clone(env),
		FunctionTrace:         req.FunctionTrace,
	}
	if len(req.ClientContext) > 0 {
		ic.ClientContext = append([]byte(nil), req.ClientContext...)
	}
	return ic
}

// Time returns the timestamp as a time.Time, or the zero Time when both
// fields are zero.
func (ts Timestamp) Time() time.Time {
	if ts.Seconds == 0 && ts.Nanos == 0 {
		return time.Time{}
	}
	return time.Unix(ts.Seconds, ts.Nanos)
}

// TimestampOf returns t as a Timestamp; the zero Time gives the zero
// Timestamp (no deadline).
func TimestampOf(t time.Time) Timestamp {
	if t.IsZero() {
		return Timestamp{}
	}
	return Timestamp{Seconds: t.Unix(), Nanos: int64(t.Nanosecond())}
}
