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
	"github.com/tcusage/tcusage/shared/scfevent"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

func demo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	yesterday := calendar.Of(time.Now(), calendar.Zone).Add(-1)
	date := fs.String("date", yesterday.String(), "the day to export, YYYY-MM-DD (Asia/Shanghai)")
	out := fs.String("out", "snapshots", "the directory snapshots are written to")
	verbose := fs.Bool("v", false, "log every step as JSON on stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: tcusage demo [--date YYYY-MM-DD] [--out DIR]\n\nRuns all four functions on the embedded Tencent Cloud API emulator (no credentials, no network) and writes their snapshots to DIR.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("demo takes no arguments, got %q", pos[0])}
	}
	day, err := calendar.Parse(*date)
	if err != nil {
		return &usageError{"--date: " + err.Error()}
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", abs, err)
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewJSONHandler(stderr, nil))
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	addr, done, err := startEmulator(ctx, emulator.Config{TimeScale: demoTimeScale})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "tcusage demo: emulator on %s, exporting %s into %s\n\n", addr, *date, abs)
	env := emulatorEnv(addr, mapEnv(map[string]string{
		"TCUSAGE_SINK":         "file://" + abs,
		"TCUSAGE_RESTATE_DAYS": "0",
	}))
	msg, _ := json.Marshal(plan.Override{Date: day.String()})
	ev := scfevent.Event{Timer: &scfevent.Timer{Type: "Timer", TriggerName: "demo", Time: time.Now().UTC().Truncate(time.Second), Message: string(msg)}}

	specs := function.All()
	fns := make([]*function.Function, len(specs))
	for i, s := range specs {
		fn, err := function.New(s, env, function.Options{Home: os.TempDir(), Logger: logger.With("function", s.Name)})
		if err != nil {
			return err
		}
		fns[i] = fn
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	start := time.Now()
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = fn.Handle(ctx, ev)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
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
	tw.Flush()
	cancel()
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		failed = append(failed, err)
	}
	if len(failed) > 0 {
		return errors.Join(failed...)
	}
	fmt.Fprintf(stdout, "\nDone in %s. Each partition's _manifest.json lists its files with rows, bytes and SHA-256.\nCheck them with: go run ./cmd/tcusage verify --sink file://%s\n", elapsed.Round(time.Millisecond), abs)
	return nil
}
