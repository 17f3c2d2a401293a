// Command testfn is a tiny SCF function used by the scf package's tests: it
// runs the real runtime (scf.Start) so the tests can drive it over TCP as
// the platform does.
//
// The handler reports the event's kind, the request ID it saw, the value
// of $TESTFN_VAR, and its context's error. A marker, taken from a timer's
// Message or an HTTP request's "marker" query parameter, changes its
// behaviour: "panic" panics, "wait" blocks until the context is done, and
// "fail" returns an error.
package main

import (
	"context"
	"errors"
	"log/slog"
	"os"

	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
)

// result is what the handler returns.
type result struct {
	Kind      string `json:"kind"`
	Marker    string `json:"marker,omitempty"`
	RequestID string `json:"requestId"`
	EnvVar    string `json:"envVar"`
	CtxErr    string `json:"ctxErr,omitempty"`
}

func main() {
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	slog.SetDefault(logger)
	scf.Start(func(ctx context.Context, ev scfevent.Event) (result, error) {
		return handle(ctx, logger, ev)
	})
}

func handle(ctx context.Context, logger *slog.Logger, ev scfevent.Event) (result, error) {
	res := result{Kind: ev.Kind(), EnvVar: os.Getenv("TESTFN_VAR")}
	switch {
	case ev.Timer != nil:
		res.Marker = ev.Timer.Message
	case ev.HTTP != nil:
		res.Marker = ev.HTTP.Query.Get("marker")
	}
	if ic, ok := scf.FromContext(ctx); ok {
		res.RequestID = ic.RequestID
	}
	logger.InfoContext(ctx, "invoked", "kind", res.Kind, "marker", res.Marker)
	switch res.Marker {
	case "panic":
		panic("testfn: panic marker")
	case "fail":
		return result{}, errors.New("testfn: fail marker")
	case "wait":
		<-ctx.Done()
	}
	if err := ctx.Err(); err != nil {
		res.CtxErr = err.Error()
	}
	return res, nil
}
