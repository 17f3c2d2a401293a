package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/tcusage/tcusage/shared/doctor"
	"github.com/tcusage/tcusage/shared/function"
)

// errChecksFailed is doctor's failure: a check failed (exit 1).
type errChecksFailed struct{ n int }

func (e errChecksFailed) Error() string { return fmt.Sprintf("doctor: %d check(s) failed", e.n) }

func doctorCmd(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("doctor", c.stderr)
	only := fs.String("function", "", "check one function (default: every function configured in the environment)")
	useEmulator := fs.Bool("emulator", false, "check against the embedded API emulator (test credentials, demo apps)")
	asJSON := fs.Bool("json", false, "print the checks as JSON")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage doctor [--function NAME] [--json] [--emulator]\n\nChecks a deployment's configuration against the real services, read-only and within the\ndocumented rate limits: credentials, each API (and which TRTC action is live), the CAM policy,\nthe bucket (one probe object under each dataset's prefix, removed after) and its versioning,\nand the readings of the documents tcusage relies on. The configuration comes from the\nenvironment, as for the functions. Exits 1 when a check fails; room usage takes about a minute\n(one call per 15 s).\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("doctor takes no arguments, got %q", pos[0])}
	}
	specs := function.All()
	if *only != "" {
		spec, err := lookupFunction(*only)
		if err != nil {
			return err
		}
		specs = []function.Spec{spec}
	}
	env, err := environment(ctx, *useEmulator, c)
	if err != nil {
		return err
	}
	if *useEmulator && env(function.EnvSink) == "" {
		// The probe object goes to a directory of its own rather than ./snapshots.
		dir, err := os.MkdirTemp("", "tcusage-doctor-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		base := env
		env = func(k string) string {
			if k == function.EnvSink {
				return "file://" + dir
			}
			return base(k)
		}
	}
	report := doctor.Run(ctx, doctor.Options{Functions: specs, Explicit: *only != "", Getenv: env, Now: c.now,
		Logger: slog.New(slog.DiscardHandler)})
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else if err := report.Write(c.stdout); err != nil {
		return err
	}
	if n := report.Count(doctor.Fail); n > 0 {
		return errChecksFailed{n}
	}
	return nil
}
