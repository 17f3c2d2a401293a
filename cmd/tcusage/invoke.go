package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/scf"
)

func lookupFunction(name string) (function.Spec, error) {
	s, ok := function.ByName(name)
	if !ok {
		return function.Spec{}, &usageError{fmt.Sprintf("unknown function %q: want telcall, trtcusage, roomusage or essbill", name)}
	}
	return s, nil
}

// parseFunctionArgs parses a command's flags and its one argument, the function's name.
func parseFunctionArgs(fs *flag.FlagSet, args []string) (function.Spec, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return function.Spec{}, err
	}
	if len(pos) != 1 {
		return function.Spec{}, &usageError{fs.Name() + " needs exactly one function name"}
	}
	return lookupFunction(pos[0])
}

// environment is the process environment, or with useEmulator the environment that points the
// function at an embedded emulator started for the rest of ctx.
func environment(ctx context.Context, useEmulator bool, c *cli) (func(string) string, error) {
	if !useEmulator {
		return c.getenv, nil
	}
	addr, _, err := startEmulator(ctx, emulator.Config{TimeScale: demoTimeScale, Now: c.now})
	if err != nil {
		return nil, err
	}
	return emulatorEnv(addr, c.getenv), nil
}

func invoke(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("invoke", c.stderr)
	eventFile := fs.String("event", "", "the event JSON file (see events/)")
	useEmulator := fs.Bool("emulator", false, "point the function at the embedded API emulator (test credentials, demo apps)")
	timeout := fs.Duration("timeout", 15*time.Minute, "the invocation's deadline, as SCF's function timeout")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage invoke <function> --event FILE [--emulator]\n\nRuns the function's handler in this process on an event file, with the same environment\nconfiguration as on SCF, and prints its answer.\n\n")
		fs.PrintDefaults()
	}
	spec, err := parseFunctionArgs(fs, args)
	if err != nil {
		return err
	}
	if *eventFile == "" {
		return &usageError{"invoke needs --event FILE"}
	}
	payload, err := os.ReadFile(*eventFile)
	if err != nil {
		return fmt.Errorf("read event: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	env, err := environment(ctx, *useEmulator, c)
	if err != nil {
		return err
	}
	logger := slog.New(scf.NewLogHandler(slog.NewJSONHandler(c.stderr, nil))).With("function", spec.Name)
	fn, err := function.New(spec, env, function.Options{Logger: logger, Now: c.now})
	if err != nil {
		return err
	}
	ctx = scf.NewContext(ctx, &scf.InvocationContext{RequestID: "local-" + c.now().UTC().Format("20060102T150405Z"), FunctionName: spec.Name})
	out, err := scf.Invoke(ctx, fn.Handle, payload)
	if len(out) > 0 {
		c.stdout.Write(out)
		fmt.Fprintln(c.stdout)
	}
	var ie *scf.InvokeError
	if errors.As(err, &ie) {
		return fmt.Errorf("handler error: %w", err)
	}
	return err
}
