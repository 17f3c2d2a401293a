package usage

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSchemaDocIsCurrent keeps docs/schemas.md equal to the schemas in code; run
// `go test ./shared/usage -run SchemaDoc -update` after changing a schema.
func TestSchemaDocIsCurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString("# Dataset schemas\n\n")
	b.WriteString("Generated from `shared/usage` by `go test ./shared/usage -run SchemaDoc -update`; do not edit by hand.\n\n")
	b.WriteString("Every dataset is written to `<prefix>/<dataset>/<version>/dt=YYYY-MM-DD/app=<id>/part-00000.{csv,jsonl,parquet}`,\n")
	b.WriteString("the version being the dataset's below; it changes only with an incompatible change (see\n")
	b.WriteString("[Schema changes](#schema-changes)). JSON Lines files hold one object per row with the keys below, in\n")
	b.WriteString("this order; numbers are JSON numbers and a missing figure is `null`. CSV files have a header row with\n")
	b.WriteString("the same names; a missing figure is an empty cell. Parquet files have the same columns in the same\n")
	b.WriteString("order, typed: date as `DATE`, int64 as `INT64`, decimal as `DOUBLE`, timestamp as `TIMESTAMP`\n")
	b.WriteString("(microseconds, adjusted to UTC), string as UTF-8 `STRING`; every column is optional and a missing\n")
	b.WriteString("figure is null; Snappy-compressed. Rows come in a stable order and carry no per-run values, so\n")
	b.WriteString("unchanged data gives byte-identical files. Which files to read, and when they were fetched, is in each\n")
	b.WriteString("partition's `_manifest.json`. Column names are plain identifiers in Hive, Spark, Presto/Trino, DLC and\n")
	b.WriteString("DuckDB; `tcusage tables` prints table definitions for them.\n\n")
	b.WriteString("Each dataset lists its measures (additive columns: every file's sums are in its manifest entry, and a\n")
	b.WriteString("restatement records their totals before and after) and the quality checks its manifests record; the\n")
	b.WriteString("manifest fields, the change log and the pointer to the newest complete day are described in\n")
	b.WriteString("[guarantees.md](guarantees.md#quality-checks-restatements-and-the-newest-day).\n\n")
	for _, s := range Schemas() {
		b.WriteString(s.Markdown())
		b.WriteString("\n")
	}
	b.WriteString("## Schema changes\n\n")
	b.WriteString("An incompatible change gives the dataset a new version, and so a new key segment. Partitions written\n")
	b.WriteString("under an earlier version stay where they are, and `tcusage verify` and the report still read them;\n")
	b.WriteString("every new delivery, a restatement of an old day included, goes to the new version. A day can so exist\n")
	b.WriteString("under both: readers take the newest version that has the day's `_manifest.json`.\n\n")
	for _, s := range Schemas() {
		next := s.Version
		for _, e := range s.Earlier {
			fmt.Fprintf(&b, "### `%s` %s → %s\n\n%s\n\n", s.Dataset, e.Version, next, e.Change)
			next = e.Version
		}
	}
	got := b.String()
	path := "../../docs/schemas.md"
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got, "docs/schemas.md is stale: run go test ./shared/usage -run SchemaDoc -update")
}
