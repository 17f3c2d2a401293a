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

func backfill(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
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
		return err
	}
	if *from == "" || *to == "" {
		return &usageError{"backfill needs --from and --to"}
	}
	env, err := environment(ctx, *useEmulator, getenv)
	if err != nil {
		return err
	}
	interactive := false
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		interactive = true
	}
	logLevel := slog.LevelInfo
	if interactive {
		logLevel = slog.LevelWarn // the progress bar tells the rest
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel})).With("function", spec.Name)
	fn, err := function.New(spec, env, function.Options{Logger: logger})
	if err != nil {
		return err
	}
	r := fn.Runner
	first, err := calendar.Parse(*from)
	if err != nil {
		return &usageError{"--from: " + err.Error()}
	}
	last, err := calendar.Parse(*to)
	if err != nil {
		return &usageError{"--to: " + err.Error()}
	}
	if err := r.Limits().Within("--from", "--to", first, last); err != nil {
		return &usageError{err.Error()}
	}
	selected := r.Apps
	if *apps != "" {
		selected, err = plan.SelectApps("--apps", strings.Split(*apps, ","), r.Apps)
		if err != nil {
			return &usageError{err.Error()}
		}
	}
	dates := calendar.Days(first, last)
	var bar *progressbar.ProgressBar
	if interactive {
		bar = progressbar.NewOptions(len(dates),
			progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription(spec.Name+" backfill"),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionShowElapsedTimeOnFinish(),
			progressbar.OptionSetItsString("days"), progressbar.OptionShowIts(), progressbar.OptionClearOnFinish())
	}
	var rows int64
	var done, skipped int
	var failures []error
	start := time.Now()
	for i, d := range dates {
		if ctx.Err() != nil {
			break
		}
		sum, err := r.Run(ctx, plan.Window{Days: []calendar.Day{d}, Apps: selected}, export.Options{Force: *force, Resume: !*force})
		for _, p := range sum.Partitions {
			rows += p.Rows
			if p.Status == export.StatusSkipped {
				skipped++
			}
		}
		if err != nil {
			failures = append(failures, fmt.Errorf("%s: %w", d, err))
		} else {
			done++
		}
		if bar != nil {
			bar.Add(1)
		} else {
			left := time.Duration(0)
			if i+1 < len(dates) {
				left = time.Since(start) / time.Duration(i+1) * time.Duration(len(dates)-i-1)
			}
			logger.Info("day done", "date", d, "progress", fmt.Sprintf("%d/%d", i+1, len(dates)), "eta", left.Round(time.Second).String(), "error", err)
		}
	}
	if bar != nil {
		bar.Finish()
	}
	fmt.Fprintf(stdout, "%s backfill %s..%s: %d day(s) delivered (%d already there), %d failed, %d rows, %s\n",
		spec.Name, *from, *to, done, skipped, len(failures), rows, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil {
		return fmt.Errorf("stopped at your request; run the same command again to resume: %w", ctx.Err())
	}
	return errors.Join(failures...)
}
