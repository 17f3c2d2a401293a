package tables

import (
	"fmt"
	"strings"

	"github.com/tcusage/tcusage/shared/usage"
)

// duckDB writes a view over one format's files that reads only the app-days the manifests list,
// with every column's type given (no sampling), and comments on the view and its columns.
func (d Definition) duckDB(b *strings.Builder) {
	name := duckIdent(d.Schema.Dataset)
	d.duckNotes(b)
	fmt.Fprintf(b, "CREATE OR REPLACE VIEW %s AS\nWITH listed AS (\n", name)
	b.WriteString("  -- the app-days the manifests list in this format: a day without _manifest.json is unfinished\n")
	b.WriteString("  SELECT DISTINCT m.\"date\" AS dt, m.f.app AS app\n")
	fmt.Fprintf(b, "  FROM (SELECT \"date\", unnest(files) AS f FROM read_json(%s, format = 'auto',\n", duckString(d.Location()+"dt=*/_manifest.json"))
	b.WriteString("    columns = {'date': 'DATE', 'files': 'STRUCT(app VARCHAR, format VARCHAR)[]'})) AS m\n")
	fmt.Fprintf(b, "  WHERE m.f.format = %s\n)\nSELECT\n", duckString(string(d.Format)))
	for _, c := range d.Schema.Columns {
		fmt.Fprintf(b, "  %s AS %s,\n", d.duckColumn(c), duckIdent(c.Name))
	}
	b.WriteString("  d.dt AS dt,\n  d.app AS app\n")
	fmt.Fprintf(b, "FROM %s AS d\n", d.duckReader())
	b.WriteString("WHERE EXISTS (SELECT 1 FROM listed AS l WHERE l.dt = d.dt AND l.app = d.app);\n\n")
	fmt.Fprintf(b, "COMMENT ON VIEW %s IS %s;\n", name, duckString(d.Schema.Description))
	for _, c := range d.Schema.Columns {
		fmt.Fprintf(b, "COMMENT ON COLUMN %s.%s IS %s;\n", name, duckIdent(c.Name), duckString(comment(c)))
	}
	fmt.Fprintf(b, "COMMENT ON COLUMN %s.dt IS %s;\n", name, duckString(dtComment))
	fmt.Fprintf(b, "COMMENT ON COLUMN %s.app IS %s;\n", name, duckString(appComment))
}

// duckNotes explains, in comments, what the view settles for its reader.
func (d Definition) duckNotes(b *strings.Builder) {
	b.WriteString("-- Decimal figures are DECIMAL(18,3) (exact sums), timestamps TIMESTAMPTZ in every format, app is\n")
	b.WriteString("-- VARCHAR, partial days (status partial in _manifest.json) hold the apps delivered so far.\n")
	for _, c := range d.Schema.Columns {
		if c.Type == usage.TypeTimestamp {
			fmt.Fprintf(b, "-- Group by dt (the China day), not CAST(%s AS DATE), which is the day in the session's TimeZone,\n", c.Name)
			fmt.Fprintf(b, "-- and timezone('Asia/Shanghai', %s) is the Beijing wall-clock time.\n", c.Name)
			break
		}
	}
	if d.Schema.Open {
		b.WriteString("-- Usage columns the API adds later are not in the view: read the files with union_by_name = true.\n")
	}
}

// duckColumn is the view's expression for a column: cast to its type; in CSV an empty string
// cell, which DuckDB reads as NULL, is the empty string it was written as.
func (d Definition) duckColumn(c usage.Column) string {
	ref := "d." + duckIdent(c.Name)
	if c.Type == usage.TypeString {
		if d.Format == usage.CSV {
			return "coalesce(" + ref + ", '')"
		}
		return ref
	}
	return "CAST(" + ref + " AS " + duckType(c.Type) + ")"
}

// duckReader is the table function reading every file of the format, with hive partitions dt
// (DATE) and app (VARCHAR, whatever the IDs look like) and the columns' types given.
func (d Definition) duckReader() string {
	hive := "hive_partitioning = true, hive_types = {'dt': 'DATE', 'app': 'VARCHAR'}"
	glob := duckString(d.Location() + "dt=*/app=*/part-00000." + d.Format.Ext())
	switch d.Format {
	case usage.JSONL:
		return fmt.Sprintf("read_json(%s, format = 'newline_delimited',\n  columns = %s,\n  %s)", glob, d.duckTypes(), hive)
	case usage.CSV:
		return fmt.Sprintf("read_csv(%s, header = true, delim = ',', quote = '\"', escape = '\"',\n  types = %s,\n  union_by_name = true, %s)", glob, d.duckTypes(), hive)
	}
	return fmt.Sprintf("read_parquet(%s, union_by_name = true,\n  %s)", glob, hive)
}

// duckTypes is the struct literal of column types the JSON and CSV readers take.
func (d Definition) duckTypes() string {
	parts := make([]string, len(d.Schema.Columns))
	for i, c := range d.Schema.Columns {
		parts[i] = duckString(c.Name) + ": " + duckString(duckType(c.Type))
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

func duckType(typ string) string {
	switch typ {
	case usage.TypeDate:
		return "DATE"
	case usage.TypeInt64:
		return "BIGINT"
	case usage.TypeDecimal:
		return "DECIMAL(18,3)"
	case usage.TypeTimestamp:
		return "TIMESTAMPTZ"
	}
	return "VARCHAR"
}

// duckIdent quotes an identifier (every column is a plain identifier; quoting keeps words such as
// date from ever meaning anything else).
func duckIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// duckString is an SQL string literal.
func duckString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
