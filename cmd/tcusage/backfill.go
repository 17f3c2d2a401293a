package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
)

func backfill(ctx context.Context, c *cli, args []string) error {
	opt, err := backfillFlags(args, c.stderr)
	if err != nil {
		return err
	}
	env, err := environment(ctx, opt.emulator, c)
	if err != nil {
		return err
	}
	interactive := false
	if f, ok := c.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		interactive = true
	}
	logLevel := slog.LevelInfo
	if interactive {
		logLevel = slog.LevelWarn // the progress bar tells the rest
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: logLevel})).With("function", opt.spec.Name)
	fn, err := function.New(opt.spec, env, function.Options{Logger: logger, Now: c.now})
	if err != nil {
		return err
	}
	w, err := backfillWindow(fn.Runner, opt)
	if err != nil {
		return err
	}
	fn.Runner.Sweep(ctx, 24*time.Hour) // leftovers of a backfill killed a day ago or more
	var bar *progressbar.ProgressBar
	if interactive {
		bar = progressbar.NewOptions(len(w.Days),
			progressbar.OptionSetWriter(c.stderr), progressbar.OptionSetDescription(opt.spec.Name+" backfill"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetItsString("days"), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
	}
	res := runBackfill(ctx, fn.Runner, w, opt.force, bar, logger)
	fmt.Fprintf(c.stdout, "%s backfill %s..%s: %d day(s) delivered (%d already there), %d failed, %d rows, %s\n",
		opt.spec.Name, opt.from, opt.to, res.done, res.skipped, len(res.failures), res.rows, res.elapsed.Round(time.Millisecond))
	if ctx.Err() != nil {
		return fmt.Errorf("stopped at your request; run the same command again to resume: %w", ctx.Err())
	}
	return errors.Join(res.failures...)
}

// backfillOptions are the backfill's command line.
type backfillOptions struct {
	spec            function.Spec
	from, to, apps  string
	force, emulator bool
}

func backfillFlags(args []string, stderr io.Writer) (backfillOptions, error) {
	fs := newFlags("backfill", stderr)
	from := fs.String("from", "", "first day, YYYY-MM-DD (required)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (required; at most yesterday)")
	apps := fs.String("apps", "", "comma-separated apps (default: every configured app)")
	force := fs.Bool("force", false, "fetch again partitions whose apps are already delivered")
	useEmulator := fs.Bool("emulator", false, "point the function at the embedded API emulator")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tcusage backfill <function> --from DATE --to DATE [--apps A,B] [--force]\n\nFetches every day of the range, one API-legal call per app-day at the API's pacing, and\ncommits each day as it completes. Days whose apps are already delivered are skipped, so an\ninterrupted backfill (Ctrl-C, crash) resumes where it stopped when run again.\n\n")
		fs.PrintDefaults()
	}
	spec, err := parseFunctionArgs(fs, args)
	if err != nil {
		return backfillOptions{}, err
	}
	if *from == "" || *to == "" {
		return backfillOptions{}, &usageError{"backfill needs --from and --to"}
	}
	return backfillOptions{spec: spec, from: *from, to: *to, apps: *apps, force: *force, emulator: *useEmulator}, nil
}

// backfillWindow checks the range and apps of the command line against the function's limits and
// configuration; its days are oldest first.
func backfillWindow(r *export.Runner, opt backfillOptions) (plan.Window, error) {
	first, err := calendar.Parse(opt.from)
	if err != nil {
		return plan.Window{}, &usageError{"--from: " + err.Error()}
	}
	last, err := calendar.Parse(opt.to)
	if err != nil {
		return plan.Window{}, &usageError{"--to: " + err.Error()}
	}
	if err := r.Limits().Within("--from", "--to", first, last); err != nil {
		return plan.Window{}, &usageError{err.Error()}
	}
	w := plan.Window{Days: calendar.Days(first, last), Apps: r.Apps, Force: opt.force}
	if opt.apps != "" {
		if w.Apps, err = plan.SelectApps("--apps", strings.Split(opt.apps, ","), r.Apps); err != nil {
			return plan.Window{}, &usageError{err.Error()}
		}
	}
	return w, nil
}

// backfillResult sums up a backfill.
type backfillResult struct {
	rows          int64
	done, skipped int
	failures      []error
	elapsed       time.Duration
}

// runBackfill runs the window one day at a time, resuming past delivered apps unless forced, and
// reports progress on the bar (or in the log when there is none).
func runBackfill(ctx context.Context, r *export.Runner, w plan.Window, force bool, bar *progressbar.ProgressBar, logger *slog.Logger) backfillResult {
	var res backfillResult
	start := time.Now()
	for i, d := range w.Days {
		if ctx.Err() != nil {
			break
		}
		sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{d}, Apps: w.Apps}, export.Options{Force: force, Resume: !force, WaitForLease: true})
		for _, p := range sum.Partitions {
			res.rows += p.Rows
			if p.Status == export.StatusSkipped {
				res.skipped++
			}
		}
		if err != nil {
			res.failures = append(res.failures, fmt.Errorf("%s: %w", d, err))
		} else {
			res.done++
		}
		if bar != nil {
			bar.Add(1)
			continue
		}
		left := time.Duration(0)
		if i+1 < len(w.Days) {
			left = time.Since(start) / time.Duration(i+1) * time.Duration(len(w.Days)-i-1)
		}
		logger.Info("day done", "date", d, "progress", fmt.Sprintf("%d/%d", i+1, len(w.Days)), "eta", left.Round(time.Second).String(), "error", err)
	}
	if bar != nil {
		bar.Finish()
	}
	res.elapsed = time.Since(start)
	return res
}
