// Package scf runs a Go function on Tencent Cloud SCF's Go1 event runtime.
//
// # The protocol
//
// For a Go1 function the platform starts the uploaded binary and expects it
// to serve Go's net/rpc, with the default gob encoding, over TCP on the
// port named by the _LAMBDA_SERVER_PORT environment variable. The service
// is called "Function" and has two methods:
//
//   - Function.Ping(PingRequest) PingResponse: both messages are empty.
//   - Function.Invoke(InvokeRequest) InvokeResponse: one invocation.
//
// An [InvokeRequest] carries the event JSON (Payload), a request ID, an
// absolute deadline (seconds and nanoseconds since the epoch), the
// function's identity, memory and time limits, the account's region, AppID
// and UIN, optional client context JSON and the user's environment
// variables as a JSON object. An [InvokeResponse] carries the result JSON,
// or an [InvokeError] with a message, a type name and, for a panic, a stack
// and ShouldExit. Failures are reported in the response, never as an RPC
// error.
//
// gob pairs struct fields by name and ignores type names, extra fields and
// integer widths, so the message fields here keep the platform's exact
// spelling, including the ones Go style would spell differently.
//
// # Why it is hand-written
//
// The official library (scf-go-lib) is not available to this project. The
// protocol is small, and writing it here also lets the handler be a typed
// generic function instead of an interface{} inspected by reflection:
//
//	func main() {
//		h := &handler{...}
//		scf.Start(h.Handle) // func(context.Context, scfevent.Event) (Result, error)
//	}
//
// # Invocation rules
//
// [Start], [Serve] and the local [Invoke] share these rules:
//
//   - The payload is decoded into the handler's input type with
//     encoding/json (an empty payload as null); the result is encoded the
//     same way. Use json.RawMessage to handle raw JSON. A payload that does
//     not decode is an error response (Type "SyntaxError",
//     "UnmarshalTypeError"...), not a crash.
//   - A handler error becomes an error response with Message err.Error() and
//     Type the error's type name without package or pointer ("errorString",
//     "APIError"), looking through fmt.Errorf wrappers.
//   - A panic is recovered and reported with its stack and ShouldExit set.
//     Panics in goroutines the handler starts cannot be recovered.
//   - The handler's context has the request's deadline (none when the
//     deadline is zero; already cancelled when it has passed) and an
//     [InvocationContext], read with [FromContext].
//
// # Environment
//
// Each request repeats the function's environment variables. The handler
// can read them from InvocationContext.Environment. The runtime also
// applies them to the process (os.Setenv) for code that reads os.Getenv,
// but only values that differ, and only while no handler is running, so a
// handler never sees the environment change under it.
//
// # Logging
//
// Wrap the JSON handler built in main with [NewLogHandler] to stamp each
// record logged with an invocation context with its request ID.
package scf
