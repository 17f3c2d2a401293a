// Package tcloud is tcusage's gateway to Tencent Cloud API 3.0: it calls actions (Client.Call)
// with TC3-HMAC-SHA256 signing (the keys come from package credential), per-action pacing and
// bounded retries. All four functions share it.
//
// # Calls
//
// The SDK's common package signs and sends; this package drives it. Requests are the typed structs
// of package tcapi, marshalled once with encoding/json; responses are decoded straight from
// {"Response":{...}} into the caller's struct. The SDK's generic CommonResponse would decode into
// a map (numbers become float64) and be re-encoded and decoded again, which for answers of tens of
// megabytes costs copies and precision.
//
// # Retries and pacing
//
// The SDK's retries are switched off. Its rate-limit retry re-sends the same signed bytes, whose
// timestamp expires after five minutes, reacts only to the exact code RequestLimitExceeded (not
// its sub-codes nor TRTC's OperationDenied.FreqOverLimit), and sleeps without regard to any
// context; its network retry needs a ClientToken field. Call instead builds and signs a new
// request for every attempt, uses full-jitter exponential backoff (at least the action's pacing
// interval after a rate-limit code), classifies errors with Retryable, never sleeps past the
// context's deadline and returns as soon as the context ends.
//
// Every attempt, retries included, first takes a token from the action's rate limiter
// (golang.org/x/time/rate). The limiters belong to the Client, so one Client per process keeps all
// goroutines within the documented limits (tcapi.Action.Limit; TCUSAGE_API_RATE overrides them).
// Stats reports calls, attempts, retries, waits and failures by code.
package tcloud
