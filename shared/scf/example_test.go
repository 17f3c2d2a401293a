package scf_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/tcusage/tcusage/shared/scf"
	"github.com/tcusage/tcusage/shared/scfevent"
)

// A function's main: build the logger, then hand a typed handler to Start,
// which serves until the platform stops the process.
func ExampleStart() {
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil)))
	handle := func(ctx context.Context, ev scfevent.Event) (scfevent.HTTPResponse, error) {
		logger.InfoContext(ctx, "invoked", "kind", ev.Kind())
		return scfevent.HTTPResponse{StatusCode: 200, Body: "ok"}, nil
	}
	scf.Start(handle)
}

// Invoke runs a handler on an event file without the runtime, as a local
// command would.
func ExampleInvoke() {
	handle := func(ctx context.Context, ev scfevent.Event) (string, error) {
		ic, _ := scf.FromContext(ctx)
		return ev.Kind() + " " + ic.RequestID, nil
	}
	event, err := os.ReadFile("../../events/timer.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := scf.NewContext(context.Background(), &scf.InvocationContext{RequestID: "local"})
	out, err := scf.Invoke(ctx, handle, event)
	fmt.Println(string(out), err)
	// Output: "timer local" <nil>
}
