// Command trtcusage is the tcusage trtcusage function for SCF's Go1 runtime: a daily timer writes
// snapshots to the store, and HTTP triggers (Function URL, API gateway) answer queries.
// Configuration comes from environment variables; see the README.
package main

import (
	"log/slog"
	"os"

	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
)

func main() {
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(os.Stdout, nil))).With("function", "trtcusage")
	slog.SetDefault(logger)
	fn, err := function.New(function.TRTC, os.Getenv, function.Options{Logger: logger})
	if err != nil {
		logger.Error("cannot start", "error", err)
		os.Exit(1)
	}
	scf.Start(fn.Handle)
}
