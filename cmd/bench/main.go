// Command bench measures tcusage's performance targets (see docs/performance.md): cold start,
// the daily run at the rate-limit bound, large answers, binary sizes and how cost grows. It is
// run on demand (make bench), never by CI's test step.
//
// Usage:
//
//	go run ./cmd/bench coldstart [-n 30] [-node .tools/node-sdk]
//	go run ./cmd/bench daily [-apps 200] [-dates 1] [-latency 30ms]
//	go run ./cmd/bench large [-rooms 1000000]
//	go run ./cmd/bench size
//	go run ./cmd/bench scale
//	go run ./cmd/bench simulate [-only roomusage,essbill,telcall] [-room-apps 2000] [-ess-orgs 20000] [-ccc-apps 10000]
//	go run ./cmd/bench all
//
// Every subcommand prints a Markdown table. Function binaries are built like cmd/pack builds them
// (linux/amd64, CGO_ENABLED=0, -trimpath, -ldflags="-s -w") into a temporary directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: coldstart, daily, large, size, scale, simulate or all")
	}
	cmd, rest := args[0], args[1:]
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	switch cmd {
	case "coldstart":
		n := fs.Int("n", 30, "cold starts per subject")
		node := fs.String("node", ".tools/node-sdk", "npm prefix holding tencentcloud-sdk-nodejs (skipped when missing)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return coldStart(ctx, out, *n, *node)
	case "daily":
		o := dailyOptions{}
		fs.IntVar(&o.Apps, "apps", 200, "apps (SdkAppIds; ESS: sub-customers)")
		fs.IntVar(&o.Dates, "dates", 1, "dates per run (1 = yesterday; 3 = the default timer window)")
		fs.DurationVar(&o.Latency, "latency", defaultLatency, "emulator latency per call")
		json := fs.Bool("json", false, "print one JSON result (used by scale)")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return daily(ctx, out, o, *json)
	case "large":
		rooms := fs.Int("rooms", 1_000_000, "rooms in the answer")
		if err := fs.Parse(rest); err != nil {
			return err
		}
		return large(ctx, out, []int{*rooms})
	case "simulate":
		scenarios, err := simFlags(rest)
		if err != nil {
			return err
		}
		return simulate(ctx, out, scenarios)
	case "size":
		return sizes(ctx, out)
	case "scale":
		return scale(ctx, out)
	case "all":
		for _, f := range []func() error{
			func() error { return sizes(ctx, out) },
			func() error { return coldStart(ctx, out, 30, ".tools/node-sdk") },
			func() error {
				return daily(ctx, out, dailyOptions{Apps: 200, Dates: 1, Latency: defaultLatency}, false)
			},
			func() error { return large(ctx, out, []int{1_000_000}) },
			func() error { return scale(ctx, out) },
		} {
			if err := f(); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("unknown subcommand %q", cmd)
}
