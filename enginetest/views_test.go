package enginetest

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

// checkParquetTypes: Parquet files carry their types, so DuckDB guesses nothing: the decimals
// are DOUBLE, the timestamps are instants (TIMESTAMPTZ) and an empty string stays a string,
// whereas the text formats give per-format types (see checkStumblingBlocks).
func checkParquetTypes(t *testing.T, db *sql.DB) {
	trtc := columnTypes(t, db, table("trtcusage", usage.Parquet))
	assert.Equal(t, "DOUBLE", trtc["seconds"])
	assert.Equal(t, "TIMESTAMP WITH TIME ZONE", trtc["time"])
	ess := columnTypes(t, db, table("essbill", usage.Parquet))
	assert.Equal(t, "BIGINT", ess["use_count"], "no HUGEINT guess from mixed signs")
	assert.Equal(t, "TIMESTAMP WITH TIME ZONE", ess["cost_time"])
	room := columnTypes(t, db, table("roomusage", usage.Parquet))
	assert.Equal(t, "VARCHAR", room["room_id"])
	assert.Equal(t, "DOUBLE", room["video_2k_seconds"])

	tb := table("essbill", usage.Parquet)
	assert.Equal(t, queryInt(t, db, "SELECT count(*) FROM "+table("essbill", "jsonl")+" WHERE remark = ''"),
		queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE remark = ''"), "empty remarks are '' as in JSON")
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+tb+" WHERE remark IS NULL"))
	// The instants are the same as JSON's: Beijing's day of each point is the partition's day.
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM "+table("trtcusage", usage.Parquet)+
		" WHERE CAST(timezone('Asia/Shanghai', time) AS DATE) <> dt"))
}

// checkShippedViews runs the DuckDB definitions `tcusage tables` prints, as they are, over the
// written files in each format, and checks the views: their types are the schema's in every
// format, they hold exactly the rows the manifests list (not the days without a manifest that
// checkGlob and this check leave), and their figures are the emulator's.
func checkShippedViews(t *testing.T, e *exported) {
	// A Parquet file in a day without a manifest, beside checkGlob's JSON Lines one.
	src := e.files("roomusage", usage.Parquet)[0]
	stray := filepath.Join(e.dir, "roomusage", snapshot.Version("roomusage"), "dt=2099-01-01", "app=1400000001", "part-00000.parquet")
	require.NoError(t, os.MkdirAll(filepath.Dir(stray), 0o755))
	b, err := os.ReadFile(src)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(stray, b, 0o644))

	for _, f := range usage.Formats {
		t.Run(string(f), func(t *testing.T) {
			db := openDuckDB(t) // the views of every format have the same names
			defs, err := tables.All(tables.DuckDB, f, e.dir)
			require.NoError(t, err)
			_, err = db.Exec(defs)
			require.NoError(t, err, "the shipped definitions run as they are")
			for _, s := range usage.Schemas() {
				checkViewTypes(t, db, s)
				var want int64
				for _, day := range e.days {
					for _, fe := range e.manifests[s.Dataset][day].Files {
						if fe.Format == f {
							want += fe.Rows
						}
					}
				}
				assert.Equal(t, want, queryInt(t, db, "SELECT count(*) FROM "+s.Dataset), "%s %s: the manifests' rows", s.Dataset, f)
			}
			checkTelCall(t, db, e, []string{"telcall"})
			checkTrtc(t, db, e, []string{"trtcusage"})
			checkRoomUsage(t, db, e, []string{"roomusage"})
			checkESS(t, db, e, []string{"essbill"})
			// Empty strings are '' in every format, CSV included.
			assert.Positive(t, queryInt(t, db, "SELECT count(*) FROM essbill WHERE remark = ''"))
			assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM essbill WHERE remark IS NULL"))
			var comment string
			require.NoError(t, db.QueryRow(`SELECT comment FROM duckdb_columns() WHERE table_name = 'roomusage' AND column_name = 'video_2k_seconds'`).Scan(&comment))
			assert.Equal(t, "Unit: second. 2K video duration (column 2K).", comment)
		})
	}
}

// checkViewTypes: every column of a view has the type its schema column maps to, whatever the
// format; dt is a DATE and app a VARCHAR.
func checkViewTypes(t *testing.T, db *sql.DB, s usage.Schema) {
	want := map[string]string{
		usage.TypeDate: "DATE", usage.TypeInt64: "BIGINT", usage.TypeDecimal: "DECIMAL(18,3)",
		usage.TypeTimestamp: "TIMESTAMP WITH TIME ZONE", usage.TypeString: "VARCHAR",
	}
	got := columnTypes(t, db, s.Dataset)
	assert.Len(t, got, len(s.Columns)+2, s.Dataset)
	for _, c := range s.Columns {
		assert.Equal(t, want[c.Type], got[c.Name], "%s.%s", s.Dataset, c.Name)
	}
	assert.Equal(t, "DATE", got["dt"], s.Dataset)
	assert.Equal(t, "VARCHAR", got["app"], s.Dataset)
}

// TestDuckDBReadsAnEmptyParquetFile: an app-day without rows (no rooms that day) is a Parquet
// file with the columns and no row group; DuckDB reads it, typed, beside a file with rows.
func TestDuckDBReadsAnEmptyParquetFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		require.NoError(t, err)
		defer f.Close()
		_, err = usage.WriteRoomUsage("2024-05-01", 7, data, func(cols []string) (usage.RowWriter, error) {
			return usage.NewWriter(usage.Parquet, f, usage.RoomUsageSchema, cols)
		})
		require.NoError(t, err)
		return path
	}
	empty := write("empty.parquet", "")
	full := write("full.parquet", "RoomId,Audio,SD,hd,FullHD,2K,4K\nr1,1.5,2,3,4,5,6\n")
	db := openDuckDB(t)
	assert.Zero(t, queryInt(t, db, "SELECT count(*) FROM read_parquet("+sqlString(empty)+")"))
	assert.Equal(t, "DOUBLE", columnType(t, db, "read_parquet("+sqlString(empty)+")", "video_2k_seconds"))
	var sum float64
	require.NoError(t, db.QueryRow("SELECT sum(audio_seconds) FROM read_parquet("+sqlList([]string{empty, full})+")").Scan(&sum))
	assert.Equal(t, 1.5, sum)
}
