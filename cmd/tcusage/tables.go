package main

import (
	"context"
	"fmt"
	"io"

	"github.com/tcusage/tcusage/shared/snapshot/sink"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

// tablesCmd prints the table definitions of the datasets for one dialect and format.
func tablesCmd(_ context.Context, c *cli, args []string) error {
	fs := newFlags("tables", c.stderr)
	dialect := fs.String("dialect", "duckdb", "hive (Hive, Spark SQL, DLC, Presto/Trino through a metastore) or duckdb")
	format := fs.String("format", "parquet", "the files the table reads: parquet, jsonl or csv")
	location := fs.String("location", "", "where the key prefix is, as the engine addresses it (cosn://<bucket>-<appid>/<prefix>, s3://..., a directory); default: from --sink")
	sinkURL := fs.String("sink", "", "the store the functions write to, to derive --location from (default $TCUSAGE_SINK, else file://snapshots)")
	dataset := fs.String("dataset", "", "only this dataset (telcall, trtcusage, roomusage, essbill)")
	fs.Usage = func() {
		fmt.Fprintf(c.stderr, "Usage: tcusage tables [--dialect hive|duckdb] [--format parquet|jsonl|csv] [--location URL] [--dataset NAME]\n\n"+
			"Prints the definitions of the datasets' tables (Hive external tables or DuckDB views), partitioned\n"+
			"by dt and app, generated from the schemas in docs/schemas.md.\n\n")
		fs.PrintDefaults()
	}
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return &usageError{fmt.Sprintf("tables takes no arguments, got %q", pos[0])}
	}
	d, err := tables.ParseDialect(*dialect)
	if err != nil {
		return &usageError{err.Error()}
	}
	f := usage.Format(*format)
	if err := f.Valid(); err != nil {
		return &usageError{err.Error()}
	}
	base, err := tablesBase(d, *location, *sinkURL, c.getenv)
	if err != nil {
		return err
	}
	sql, err := selectedTables(d, f, base, *dataset)
	if err != nil {
		return &usageError{err.Error()}
	}
	_, err = io.WriteString(c.stdout, sql)
	return err
}

// tablesBase is --location, or where the dialect finds the sink's prefix.
func tablesBase(d tables.Dialect, location, sinkURL string, getenv func(string) string) (string, error) {
	if location != "" {
		return location, nil
	}
	u := sinkURL
	if u == "" {
		u = getenv("TCUSAGE_SINK")
	}
	if u == "" {
		u = sink.DefaultLocalURL
	}
	locs, err := tables.Locations(u)
	if err != nil {
		return "", &usageError{err.Error() + " (or give --location)"}
	}
	return locs[d], nil
}

// selectedTables renders every dataset's definition, or the one named.
func selectedTables(d tables.Dialect, f usage.Format, base, dataset string) (string, error) {
	if dataset == "" {
		return tables.All(d, f, base)
	}
	s, ok := usage.Lookup(dataset)
	if !ok {
		return "", fmt.Errorf("unknown dataset %q (want telcall, trtcusage, roomusage or essbill)", dataset)
	}
	return tables.Definition{Schema: s, Dialect: d, Format: f, Base: base}.SQL()
}
