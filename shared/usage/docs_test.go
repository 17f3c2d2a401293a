package usage

import (
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
	b.WriteString("Every dataset is written to `<prefix>/<dataset>/v1/dt=YYYY-MM-DD/app=<id>/part-00000.{jsonl,csv}`.\n")
	b.WriteString("JSON Lines files hold one object per row with the keys below, in this order; numbers are JSON numbers\n")
	b.WriteString("and a missing figure is `null`. CSV files have a header row with the same names; a missing figure is an\n")
	b.WriteString("empty cell. Rows come in a stable order and carry no per-run values, so unchanged data gives\n")
	b.WriteString("byte-identical files. Which files to read, and when they were fetched, is in each partition's\n")
	b.WriteString("`_manifest.json`.\n\n")
	for _, s := range Schemas() {
		b.WriteString(s.Markdown())
		b.WriteString("\n")
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
