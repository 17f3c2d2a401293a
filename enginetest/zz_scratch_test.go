package enginetest

import (
		"testing"

	"github.com/stretchr/testify/require"

	"github.com/tcusage/tcusage/shared/tables"
	"github.com/tcusage/tcusage/shared/usage"
)

func TestScratch(t *testing.T) {
	db := openDuckDB(t)
	for _, f := range []usage.Format{usage.Parquet, usage.JSONL, usage.CSV} {
		sql, err := tables.All(tables.DuckDB, f, "/tmp/wtp-demo")
		require.NoError(t, err)
		_, err = db.Exec(sql)
		require.NoError(t, err)
		for _, ds := range datasets {
			t.Log(f, ds, queryInt(t, db, "SELECT count(*) FROM "+ds))
			t.Log(columnTypes(t, db, ds))
		}
	}
}
