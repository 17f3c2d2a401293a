package scf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// maxStackFrames caps the frames reported for a panic.
const maxStackFrames = 64

// rawHandler is a handler with its event and result as JSON. It never
// panics: failures come back as an InvokeError.
type rawHandler func(ctx context.Context, payload []byte) ([]byte, *InvokeError)

// wrap turns a typed handler into a rawHandler: it decodes the payload into
// In, calls h, encodes Out, and turns errors and panics into InvokeErrors.
func wrap[In, Out any](h func(context.Context, In) (Out, error)) rawHandler {
	return func(ctx context.Context, payload []byte) (result []byte, ierr *InvokeError) {
		defer func() {
			if v := recover(); v != nil {
				result, ierr = nil, panicError(v, panicStack())
			}
		}()
		var in In
		if err := decodePayload(payload, &in); err != nil {
			return nil, newInvokeError("decode event: ", err)
		}
		out, err := h(ctx, in)
		if err != nil {
			return nil, newInvokeError("", err)
		}
		b, err := json.Marshal(out)
		if err != nil {
			return nil, newInvokeError("encode result: ", err)
		}
		return b, nil
	}
}

// Invoke runs h once on payload in this process, without the RPC runtime,
// exactly as an RPC invocation would: payload is decoded into In, the
// result is encoded as JSON, and a handler error, a panic or a bad payload
// comes back as an *InvokeError (which unwraps to the handler's error).
//
// ctx is passed to h as is; attach an InvocationContext with NewContext
// and a deadline with context.WithDeadline to imitate the platform.
func Invoke[In, Out any](ctx context.Context, h func(context.Context, In) (Out, error), payload []byte) ([]byte, error) {
	out, ierr := wrap(h)(ctx, payload)
	if ierr != nil {
		return nil, ierr
	}
	return out, nil
}

// decodePayload decodes the event JSON. An empty payload decodes as JSON
// null, leaving v at its zero value.
func decodePayload(payload []byte, v any) error {
	if len(bytes.TrimSpace(payload)) == 0 {
		payload = []byte("null")
	}
	return json.Unmarshal(payload, v)
}

// newInvokeError describes err, with prefix prepended to its message.
func newInvokeError(prefix string, err error) *InvokeError {
	return &InvokeError{Message: prefix + err.Error(), Type: errorTypeName(err), cause: err}
}

// errorTypeName names err's dynamic type like the official library does
// (no package, no pointer: "errorString", "SyntaxError"), but looks
// through fmt.Errorf wrappers, whose type says nothing, to the first
// wrapped error with a telling type.
func errorTypeName(err error) string {
	for {
		t := reflect.TypeOf(err)
		if t.Kind() == reflect.Pointer && t.Elem().PkgPath() == "fmt" {
			if inner := errors.Unwrap(err); inner != nil {
				err = inner
				continue
			}
			if u, ok := err.(interface{ Unwrap() []error }); ok && len(u.Unwrap()) > 0 {
				err = u.Unwrap()[0]
				continue
			}
		}
		return typeName(err)
	}
}

// typeName names v's type without package or pointer, falling back to
// the full %T form for unnamed types.
func typeName(v any) string {
	t := reflect.TypeOf(v)
	if t == nil {
		return "nil"
	}
	for t.Kind() == reflect.Pointer && t.Name() == "" {
		t = t.Elem()
	}
	if name := t.Name(); name != "" {
		return name
	}
	return fmt.Sprintf("%T", v)
}

// panicError describes a recovered panic.
func panicError(v any, stack []*StackFrame) *InvokeError {
	ierr := &InvokeError{
		Message:    fmt.Sprint(v),
		Type:       typeName(v),
		StackTrace: stack,
		ShouldExit: true,
	}
	if err, ok := v.(error); ok {
		ierr.cause = err
	}
	return ierr
}

// panicStack returns the stack of a panicking goroutine, called from the
// deferred function that recovers. Frames up to the panic (the deferred
// function, runtime.gopanic and runtime helpers such as sigpanic) are
// dropped, so the first frame is where the panic happened.
func panicStack() []*StackFrame {
	pcs := make([]uintptr, maxStackFrames+16)
	n := runtime.Callers(2, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	var all []runtime.Frame
	panicAt := -1
	for {
		f, more := frames.Next()
		if f.Function == "runtime.gopanic" {
			panicAt = len(all)
		}
		all = append(all, f)
		if !more {
			break
		}
	}
	start := panicAt + 1 // 0 when gopanic is not found: keep everything
	for start < len(all) && strings.HasPrefix(all[start].Function, "runtime.") {
		start++
	}
	var out []*StackFrame
	for _, f := range all[start:] {
		if len(out) == maxStackFrames {
			break
		}
		label := f.Function
		if i := strings.LastIndexByte(label, '/'); i >= 0 {
			label = label[i+1:]
		}
		out = append(out, &StackFrame{Path: f.File, Line: int32(f.Line), Label: label})
	}
	return out
}
