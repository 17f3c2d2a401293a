package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tcusage/tcusage/shared/calendar"
	"github.com/tcusage/tcusage/shared/export"
	"github.com/tcusage/tcusage/shared/function"
)

// errLate is status's failure: a day is late (exit 1, for cron jobs and alarms).
type errLate struct{ days int }

func (e errLate) Error() string { return fmt.Sprintf("%d day(s) late", e.days) }

func status(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("status", c.stderr)
	only := fs.String("function", "", "one function (default: all four)")
	days := fs.Int("days", export.StatusDays, "how many days back to look")
	asJSON := fs.Bool("json", false, "print the status as JSON")
	useEmulator := fs.Bool("emulator", false, "use the demo's configuration (apps, test credentials), as after tcusage demo")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage status [--function NAME] [--days N] [--json] [--emulator]\n\nShows, per dataset, the newest complete day, partial days with their pending apps, missing\ndays, late days, the backlog and when it clears at the API's pace, and who holds the dataset's\nlease. Exits 1 when a day is late. The configuration (apps, TCUSAGE_SINK, TCUSAGE_LATE_AFTER)\ncomes from the environment, as for the functions.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("status takes no arguments, got %q", pos[0])}
	}
	specs := function.All()
	if *only != "" {
		spec, ok := function.ByName(*only)
		if !ok {
			return &usageError{fmt.Sprintf("--function: unknown function %q", *only)}
		}
		specs = []function.Spec{spec}
	}
	env, err := environment(ctx, *useEmulator, c)
	if err != nil {
		return err
	}
	var all []*export.Status
	late := 0
	for _, spec := range specs {
		fn, err := function.New(spec, env, function.Options{Logger: slog.New(slog.DiscardHandler), Now: c.now})
		if err != nil {
			return err
		}
		st, err := fn.Runner.Status(ctx, *days, fn.Config.LateAfter)
		if err != nil {
			return err
		}
		late += len(st.Late)
		all = append(all, st)
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	} else {
		printStatus(c.stdout, all)
	}
	if late > 0 {
		return errLate{late}
	}
	return nil
}

func printStatus(w io.Writer, all []*export.Status) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DATASET\tNEWEST COMPLETE\tPARTIAL\tMISSING\tLATE\tBACKLOG\tCLEARS IN\tLEASE")
	for _, st := range all {
		newest := "-"
		if !st.NewestComplete.IsZero() {
			newest = st.NewestComplete.String()
		}
		lease := "free"
		if st.Lease != nil {
			lease = fmt.Sprintf("%s until %s", st.Lease.Holder, st.Lease.ExpiresAt.Format(time.RFC3339))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d app-days\t%s\t%s\n", st.Dataset, newest, len(st.Partial), len(st.Missing),
			dayList(st.Late), st.Backlog, (time.Duration(st.ClearsInSeconds) * time.Second).String(), lease)
	}
	tw.Flush()
}

// dayList shows days briefly: none, a few, or the first and a count.
func dayList(days []calendar.Day) string {
	switch {
	case len(days) == 0:
		return "none"
	case len(days) <= 3:
		s := make([]string, len(days))
		for i, d := range days {
			s[i] = d.String()
		}
		return strings.Join(s, ",")
	}
	return fmt.Sprintf("%s..%s (%d)", days[0], days[len(days)-1], len(days))
}
