package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/emulator"
	"github.com/tcusage/tcusage/shared/function"
	"github.com/tcusage/tcusage/shared/plan"
	"github.com/tcusage/tcusage/shared/report"
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

func demo(ctx context.Context, c *cli, args []string) error {
	opt, err := demoFlags(args, c.stderr, c.now)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, done, err := startEmulator(ctx, emulator.Config{TimeScale: demoTimeScale, Now: c.now})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "tcusage demo: emulator on %s, exporting %s into %s\n\n", addr, opt.day, opt.dir)
	fns, err := demoFunctions(addr, opt)
	if err != nil {
		return err
	}
	start := time.Now()
	errs := runTimers(ctx, fns, opt.day, opt.clock())
	elapsed := time.Since(start)
	failed := printPartitions(ctx, c.stdout, fns, errs, opt.day)
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	page, err := reportPage(opt.dir, opt.day)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "\nDone in %s. Each partition's _manifest.json lists its files with rows, bytes and SHA-256.\nCheck them with: go run ./cmd/tcusage verify --sink file://%s\n", elapsed.Round(time.Millisecond), opt.dir)
	fmt.Fprintf(c.stdout, "\nThe day's report, rendered by the functions after their commits (open it in a browser):\n%s\n", page)
	return nil
}

// reportPage returns the path of day's report, which the functions rendered into dir after
// committing the day.
func reportPage(dir string, day calendar.Day) (string, error) {
	key, err := report.DayKey("", day)
	if err != nil {
		return "", err
	}
	page := filepath.Join(dir, filepath.FromSlash(key))
	if _, err := os.Stat(page); err != nil {
		return "", fmt.Errorf("the day's report was not rendered: %w", err)
	}
	return page, nil
}

// demoOptions are the demo's command line.
type demoOptions struct {
	day     calendar.Day
	dir     string
	verbose bool
	stderr  io.Writer
	clock   func() time.Time
}

func demoFlags(args []string, stderr io.Writer, clock func() time.Time) (demoOptions, error) {
	fs := newFlags("demo", stderr)
	yesterday := calendar.Of(clock(), calendar.Zone).Add(-1)
	date := fs.String("date", yesterday.String(), "the day to export, YYYY-MM-DD (Asia/Shanghai)")
	out := fs.String("out", "snapshots", "the directory snapshots are written to")
	verbose := fs.Bool("v", false, "log every step as JSON on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tcusage demo [--date YYYY-MM-DD] [--out DIR]\n\nRuns all four functions on the embedded Tencent Cloud API emulator (no credentials, no network) and writes their snapshots to DIR.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return demoOptions{}, err
	} else if len(pos) > 0 {
		return demoOptions{}, &usageError{fmt.Sprintf("demo takes no arguments, got %q", pos[0])}
	}
	day, err := calendar.Parse(*date)
	if err != nil {
		return demoOptions{}, &usageError{"--date: " + err.Error()}
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return demoOptions{}, err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return demoOptions{}, fmt.Errorf("create %s: %w", abs, err)
	}
	return demoOptions{day: day, dir: abs, verbose: *verbose, stderr: stderr, clock: clock}, nil
}

// demoFunctions builds the four functions against the emulator at addr, writing into the demo's
// directory.
func demoFunctions(addr string, opt demoOptions) ([]*function.Function, error) {
	logger := slog.New(slog.DiscardHandler)
	if opt.verbose {
		logger = slog.New(slog.NewJSONHandler(opt.stderr, nil))
	}
	env := emulatorEnv(addr, mapEnv(map[string]string{
		"TCUSAGE_SINK":         "file://" + opt.dir,
		"TCUSAGE_RESTATE_DAYS": "0",
		"TCUSAGE_FORMAT":       "all",
	}))
	var fns []*function.Function
	for _, s := range function.All() {
		fn, err := function.New(s, env, function.Options{Home: os.TempDir(), Logger: logger.With("function", s.Name), Now: opt.clock})
		if err != nil {
			return nil, err
		}
		fns = append(fns, fn)
	}
	return fns, nil
}

// runTimers runs every function's timer for day at once; errs[i] is function i's error.
func runTimers(ctx context.Context, fns []*function.Function, day calendar.Day, now time.Time) []error {
	msg, _ := json.Marshal(plan.Override{Date: day.String()})
	ev := scfevent.Event{Timer: &scfevent.Timer{Type: "Timer", TriggerName: "demo", Time: now.UTC().Truncate(time.Second), Message: string(msg)}}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Go(func() { _, errs[i] = fn.Handle(ctx, ev) })
	}
	wg.Wait()
	return errs
}

// printPartitions prints a line per dataset's partition of day and returns what failed.
func printPartitions(ctx context.Context, stdout io.Writer, fns []*function.Function, errs []error, day calendar.Day) []error {
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	fmt.Fprintln(tw, "DATASET\tPARTITION\tSTATUS\tAPPS\tROWS\tFILES\tBYTES")
	var failed []error
	for i, fn := range fns {
		if errs[i] != nil {
			failed = append(failed, fmt.Errorf("%s: %w", fn.Spec.Name, errs[i]))
			fmt.Fprintf(tw, "%s\t-\tfailed\t\t\t\t\n", fn.Spec.Name)
			continue
		}
		store, prefix := fn.Store()
		m, err := snapshot.ReadManifest(ctx, store, prefix, fn.Runner.Dataset(), day)
		if err != nil {
			failed = append(failed, fmt.Errorf("%s: %w", fn.Spec.Name, err))
			continue
		}
		var rows, bytes int64
		for _, f := range m.Files {
			bytes += f.Bytes
			if f.Format == usage.JSONL {
				rows += f.Rows
			}
		}
		dir, _ := snapshot.PartitionDir(prefix, m.Dataset, m.Date)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\n", m.Dataset, dir, m.Status, len(m.Apps), rows, len(m.Files), bytes)
	}
	return failed
}
