// Command tcusage runs the tcusage functions locally: a demo on the embedded Tencent Cloud API
// emulator, one-off invocations with event files, backfills, the emulator on its own, a
// verification of written snapshots, the status of every dataset, the HTTP query answered locally,
// table definitions for query engines, a deployment's checks, and the daily usage report.
//
// Usage:
//
//	tcusage demo     [--date YYYY-MM-DD] [--out DIR]
//	tcusage invoke   <function> --event FILE [--emulator]
//	tcusage backfill <function> --from DATE --to DATE [--apps A,B] [--force] [--emulator]
//	tcusage emulate  [--addr 127.0.0.1:9000]
//	tcusage verify   [--sink URL] [--date DATE] [--dataset NAME] [--checks]
//	tcusage status   [--function NAME] [--days N] [--json] [--emulator]
//	tcusage query    <function> [--sink URL] [--emulator] [--date D | --from D --to D] [--group day|app|room] ...
//	tcusage tables   [--dialect hive|duckdb] [--format parquet|jsonl|csv] [--location URL]
//	tcusage doctor   [--function NAME] [--json] [--emulator]
//	tcusage report   [--date YYYY-MM-DD] [--sink URL] [--out DIR]
//
// Exit codes: 0 success, 1 the work failed (details on stderr), 2 bad usage, 3 verify found
// failed quality checks in snapshots that match their manifests, 130 interrupted.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Exit codes scripts can rely on.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitQuality     = 3
	exitInterrupted = 130
)

const usageText = `tcusage: daily usage snapshots of Tencent Cloud CCC, TRTC and ESS, run locally.

Usage:
  tcusage demo     [--date YYYY-MM-DD] [--out DIR]          all four functions on the embedded emulator
  tcusage invoke   <function> --event FILE [--emulator]     run a function's handler on an event file
  tcusage backfill <function> --from DATE --to DATE         fetch a range, resuming where it stopped
  tcusage emulate  [--addr 127.0.0.1:9000]                  serve the API emulator
  tcusage verify   [--sink URL] [--date DATE]               check snapshots against their manifests, quality, restatements
  tcusage status   [--function NAME] [--json] [--emulator]  what is delivered, behind, late; who writes
  tcusage query    <function> [--from D --to D] [--group G]  the HTTP query, answered locally from any sink
  tcusage tables   [--dialect hive|duckdb] [--format F]     print table definitions for query engines
  tcusage doctor   [--function NAME] [--json] [--emulator]  check a deployment: credentials, APIs, CAM, bucket, readings
  tcusage report   [--date D] [--sink URL] [--out DIR]      render the daily usage report (HTML)

Functions: telcall, trtcusage, roomusage, essbill.
Run "tcusage <command> -h" for a command's flags.
`

// usageError is a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], &cli{stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}))
}

// cli is what a command runs with: its output, its environment and its clock. Dates a command
// derives (yesterday, the API's windows, lateness) come from now, so tests can move it.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
}

// commands are tcusage's commands by name.
var commands = map[string]func(ctx context.Context, c *cli, args []string) error{
	"demo":     demo,
	"invoke":   invoke,
	"backfill": backfill,
	"emulate":  emulate,
	"verify":   verify,
	"status":   status,
	"query":    queryCmd,
	"tables":   tablesCmd,
	"doctor":   doctorCmd,
	"report":   reportCmd,
}

func run(ctx context.Context, args []string, c *cli) int {
	stdout, stderr := c.stdout, c.stderr
	if c.now == nil {
		c.now = time.Now
	}
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return exitUsage
	}
	var err error
	switch cmd, rest := args[0], args[1:]; cmd {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usageText)
		return exitOK
	default:
		if f, ok := commands[cmd]; ok {
			err = f(ctx, c, rest)
		} else {
			err = &usageError{fmt.Sprintf("unknown command %q", cmd)}
		}
	}
	var ue *usageError
	var late errLate
	var quality errQuality
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &quality):
		fmt.Fprintf(stderr, "tcusage: %v\n", err)
		return exitQuality
	case errors.As(err, &late):
		fmt.Fprintf(stderr, "tcusage: %v\n", err)
		return exitFailed
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "tcusage: %v\n\n%s", err, usageText)
		return exitUsage
	case ctx.Err() != nil:
		fmt.Fprintf(stderr, "tcusage: interrupted: %v\n", err)
		return exitInterrupted
	}
	fmt.Fprintf(stderr, "tcusage: %v\n", err)
	return exitFailed
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tcusage "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parse parses flags, allowing flags after positional arguments, and turns flag errors into
// usage errors.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, &usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
