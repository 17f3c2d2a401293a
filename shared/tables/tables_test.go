package tables

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/snapshot/file"
	"github.com/tcusage/tcusage/shared/usage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// bases are the locations the golden files are generated for.
var bases = map[Dialect]string{Hive: "cosn://examplebucket-1250000000/exports", DuckDB: "s3://examplebucket-1250000000/exports"}

// TestGolden keeps testdata/<dialect>-<format>.sql.golden equal to what is generated for every
// dataset; run `go test ./shared/tables -update` after changing a schema or the generator, and
// read the diff.
func TestGolden(t *testing.T) {
	for _, d := range Dialects {
		for _, f := range usage.Formats {
			got, err := All(d, f, bases[d])
			require.NoError(t, err)
			path := filepath.Join("testdata", string(d)+"-"+string(f)+".sql.golden")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.Equal(t, string(want), got, "%s is stale: run go test ./shared/tables -update", path)
		}
	}
}

// Every definition names every column with its type and comment, reads the dataset's current
// version and is partitioned by dt and app.
func TestDefinitionsCoverTheSchemas(t *testing.T) {
	for _, d := range Dialects {
		for _, f := range usage.Formats {
			for _, s := range usage.Schemas() {
				sql, err := Definition{Schema: s, Dialect: d, Format: f, Base: bases[d] + "/"}.SQL()
				require.NoError(t, err)
				assert.Contains(t, sql, bases[d]+"/"+s.Dataset+"/"+s.Version+"/", "%s %s %s", d, f, s.Dataset)
				for _, c := range s.Columns {
					q := hiveIdent(c.Name)
					if d == DuckDB {
						q = duckIdent(c.Name)
					}
					assert.Contains(t, sql, q, "%s %s %s", d, f, c.Name)
					if c.Unit != "" {
						assert.Contains(t, sql, "Unit: "+c.Unit, "%s %s %s", d, f, c.Name)
					}
				}
				if d == Hive {
					assert.Contains(t, sql, "PARTITIONED BY (`dt` DATE")
					assert.Contains(t, sql, "`app` STRING")
				} else {
					assert.Contains(t, sql, "hive_types = {'dt': 'DATE', 'app': 'VARCHAR'}")
					assert.Contains(t, sql, "WHERE m.f.format = '"+string(f)+"'")
				}
			}
		}
	}
}

func TestQuotingAndRefusals(t *testing.T) {
	s := usage.Schema{Dataset: "d", Version: "v1", Description: `it's a \ test`,
		Columns: []usage.Column{{Name: "date", Type: usage.TypeDate, Description: "o'clock"}}}
	hive, err := Definition{Schema: s, Dialect: Hive, Format: usage.Parquet, Base: "cosn://b-1/p"}.SQL()
	require.NoError(t, err)
	assert.Contains(t, hive, `COMMENT 'it\'s a \\ test'`)
	assert.Contains(t, hive, "`date` DATE COMMENT 'o\\'clock'")
	duck, err := Definition{Schema: s, Dialect: DuckDB, Format: usage.Parquet, Base: "/data"}.SQL()
	require.NoError(t, err)
	assert.Contains(t, duck, `IS 'it''s a \ test'`)
	for _, bad := range []string{"", "/x'; DROP TABLE t; --", "a\nb", `c:\x`} {
		_, err := Definition{Schema: s, Dialect: DuckDB, Format: usage.Parquet, Base: bad}.SQL()
		assert.Error(t, err, "%q", bad)
	}
	_, err = Definition{Schema: s, Dialect: "mysql", Format: usage.Parquet, Base: "/data"}.SQL()
	assert.ErrorIs(t, err, ErrDialect)
	_, err = Definition{Schema: s, Dialect: Hive, Format: "xml", Base: "/data"}.SQL()
	assert.ErrorIs(t, err, usage.ErrFormat)
	_, err = ParseDialect("sqlite")
	assert.ErrorIs(t, err, ErrDialect)
	d, err := ParseDialect(" DuckDB ")
	require.NoError(t, err)
	assert.Equal(t, DuckDB, d)
}

func TestKeyAndLocations(t *testing.T) {
	k, err := Key("/exports/", DuckDB, usage.Parquet, "roomusage")
	require.NoError(t, err)
	assert.Equal(t, "exports/roomusage/_tables/duckdb/parquet.sql", k)
	_, err = Key("", "x", usage.Parquet, "roomusage")
	assert.Error(t, err)
	_, err = Key("", Hive, usage.CSV, "../x")
	assert.Error(t, err)

	locs, err := Locations("cos://examplebucket-1250000000/exports/usage?region=ap-guangzhou")
	require.NoError(t, err)
	assert.Equal(t, map[Dialect]string{Hive: "cosn://examplebucket-1250000000/exports/usage", DuckDB: "s3://examplebucket-1250000000/exports/usage"}, locs)
	locs, err = Locations("file:///srv/snapshots")
	require.NoError(t, err)
	assert.Equal(t, map[Dialect]string{Hive: "file:///srv/snapshots", DuckDB: "/srv/snapshots"}, locs)
	locs, err = Locations("file://snapshots")
	require.NoError(t, err)
	wd, _ := os.Getwd()
	assert.Equal(t, filepath.ToSlash(filepath.Join(wd, "snapshots")), locs[DuckDB], "a relative directory is made absolute")
	_, err = Locations("s3://bucket/x")
	assert.Error(t, err)
}

// Write stores one dataset's definitions for the configured formats beside its data, and a second
// call with nothing changed writes nothing. The store and prefix are what sink.Open makes of the
// URL: for a file sink, the directory and no prefix.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	st, err := file.New(dir)
	require.NoError(t, err)
	defer st.Close()
	ctx := context.Background()
	sinkURL := "file://" + dir
	formats := []usage.Format{usage.JSONL, usage.Parquet}
	written, err := Write(ctx, st, "", sinkURL, usage.RoomUsageSchema, formats)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"roomusage/_tables/hive/jsonl.sql", "roomusage/_tables/hive/parquet.sql",
		"roomusage/_tables/duckdb/jsonl.sql", "roomusage/_tables/duckdb/parquet.sql",
	}, written)
	got, err := snapshot.ReadObject(ctx, st, "roomusage/_tables/duckdb/parquet.sql")
	require.NoError(t, err)
	want, err := Definition{Schema: usage.RoomUsageSchema, Dialect: DuckDB, Format: usage.Parquet, Base: dir}.SQL()
	require.NoError(t, err)
	assert.Equal(t, want, string(got))
	assert.True(t, strings.Contains(string(got), dir+"/roomusage/v2/dt=*/app=*/part-00000.parquet"))

	written, err = Write(ctx, st, "", sinkURL, usage.RoomUsageSchema, formats)
	require.NoError(t, err)
	assert.Empty(t, written, "unchanged definitions are not rewritten")

	require.NoError(t, st.Put(ctx, "roomusage/_tables/hive/jsonl.sql", strings.NewReader("stale"), snapshot.PutOptions{}))
	written, err = Write(ctx, st, "", sinkURL, usage.RoomUsageSchema, formats)
	require.NoError(t, err)
	assert.Equal(t, []string{"roomusage/_tables/hive/jsonl.sql"}, written)

	_, err = Write(ctx, st, "", "ftp://x", usage.RoomUsageSchema, formats)
	assert.Error(t, err)
}
