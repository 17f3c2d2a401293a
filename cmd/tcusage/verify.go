package main

import (
	"context"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/tcusage/tcusage/shared/credential"
	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/sink"
	"github.com/tcusage/tcusage/shared/usage"
)

func verify(ctx context.Context, c *cli, args []string) error {
	fs := newFlags("verify", c.stderr)
	sinkURL := fs.String("sink", "", "the store (default $TCUSAGE_SINK, else file://snapshots)")
	date := fs.String("date", "", "check only this day")
	dataset := fs.String("dataset", "", "check only this dataset (telcall, trtcusage, roomusage, essbill)")
	allChecks := fs.Bool("checks", false, "print every quality check, ok ones included (a series' gaps, rows against Total)")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage verify [--sink URL] [--date DATE] [--dataset NAME] [--checks]\n\nChecks that every manifest's files exist with the recorded sizes and SHA-256, reports\npartitions without a manifest (incomplete deliveries), the quality checks that warn or fail\n(room usage against the TRTC total where both days are in the store) and each day's restatements.\nExit 1 when files do not match their manifests, 3 when they do but a quality check failed.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("verify takes no arguments, got %q", pos[0])}
	}
	u := *sinkURL
	if u == "" {
		u = c.getenv("TCUSAGE_SINK")
	}
	if u == "" {
		u = sink.DefaultLocalURL
	}
	var cfg sink.Config
	if strings.HasPrefix(u, "cos://") {
		home, _ := os.UserHomeDir()
		creds, err := credential.Load(c.getenv, home)
		if err != nil {
			return err
		}
		cfg.Credentials = creds
		cfg.Endpoint = c.getenv("TCUSAGE_COS_ENDPOINT")
	}
	store, prefix, err := sink.Open(u, cfg)
	if err != nil {
		return err
	}
	var checked, bad, incomplete int
	var q qualityTally
	cross := crossDays{}
	for _, s := range usage.Schemas() {
		if *dataset != "" && s.Dataset != *dataset {
			continue
		}
		parts, err := snapshot.ListPartitions(ctx, store, prefix, s.Dataset)
		if err != nil {
			return err
		}
		for _, p := range parts {
			if *date != "" && p.Date.String() != *date {
				continue
			}
			if !p.HasManifest {
				incomplete++
				fmt.Fprintf(c.stdout, "INCOMPLETE %s %s dt=%s: %d object(s) but no manifest (an interrupted delivery; the next run completes it)\n", s.Dataset, p.Version, p.Date, p.Objects)
				continue
			}
			rep, err := snapshot.VerifyAt(ctx, store, prefix, s.Dataset, p.Version, p.Date)
			if err != nil {
				return err
			}
			checked++
			if !rep.OK() {
				bad++
				for _, pr := range rep.Problems {
					fmt.Fprintf(c.stdout, "BAD        %s %s dt=%s: %s\n", s.Dataset, p.Version, p.Date, pr)
				}
				continue
			}
			m := rep.Manifest
			fmt.Fprintf(c.stdout, "OK         %s %s dt=%s: %d file(s), status %s%s\n", s.Dataset, p.Version, p.Date, len(m.Files), m.Status, qualityNote(m))
			where := fmt.Sprintf("%s %s dt=%s", s.Dataset, p.Version, p.Date)
			printChecks(c.stdout, where, m.Checks, *allChecks, &q)
			printChanges(c.stdout, where, m.Changes, &q)
			cross.add(s.Dataset, p.Date, m)
		}
	}
	for _, day := range slices.Sorted(maps.Keys(cross)) {
		printChecks(c.stdout, "across datasets dt="+day, snapshot.CrossChecks(cross[day]), *allChecks, &q)
	}
	fmt.Fprintf(c.stdout, "%d partition(s) checked, %d with problems, %d without a manifest\n", checked, bad, incomplete)
	fmt.Fprintf(c.stdout, "quality checks: %d ok, %d warn, %d fail; %d restatement(s)\n", q.ok, q.warn, q.fail, q.restatements)
	if bad > 0 || incomplete > 0 {
		return fmt.Errorf("%d partition(s) do not match their manifest, %d have none", bad, incomplete)
	}
	if q.fail > 0 {
		return errQuality{q.fail}
	}
	if checked == 0 {
		return fmt.Errorf("no partitions found in %s", u)
	}
	return nil
}
