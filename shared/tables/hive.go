package tables

import (
	"fmt"
	"strings"

	"github.com/tcusage/tcusage/shared/usage"
)

// hive writes a Hive external table over one format's files, and the statement registering its
// partitions.
func (d Definition) hive(b *strings.Builder) {
	name := hiveIdent(d.Schema.Dataset)
	b.WriteString("-- MSCK REPAIR TABLE registers every dt=/app= folder, including a day whose _manifest.json is\n")
	b.WriteString("-- missing (an unfinished delivery): skip such days, or add partitions from the manifests.\n")
	switch d.Format {
	case usage.JSONL:
		b.WriteString("-- Timestamps are STRING (RFC 3339 with an offset, which Hive's JSON SerDe does not parse);\n")
		b.WriteString("-- the Parquet table has them as TIMESTAMP.\n")
	case usage.CSV:
		b.WriteString("-- OpenCSVSerde reads every column as STRING: cast as the comments say, or use the Parquet table.\n")
	}
	fmt.Fprintf(b, "CREATE EXTERNAL TABLE IF NOT EXISTS %s (\n", name)
	for i, c := range d.Schema.Columns {
		sep := ","
		if i == len(d.Schema.Columns)-1 {
			sep = ""
		}
		cm := comment(c)
		if d.Format == usage.CSV && c.Type != usage.TypeString {
			cm = "Type: " + hiveType(usage.Parquet, c.Type) + ". " + cm
		}
		fmt.Fprintf(b, "  %s %s COMMENT %s%s\n", hiveIdent(c.Name), hiveType(d.Format, c.Type), hiveString(cm), sep)
	}
	b.WriteString(")\n")
	fmt.Fprintf(b, "COMMENT %s\n", hiveString(d.Schema.Description))
	fmt.Fprintf(b, "PARTITIONED BY (%s DATE COMMENT %s, %s STRING COMMENT %s)\n",
		hiveIdent("dt"), hiveString(dtComment), hiveIdent("app"), hiveString(appComment))
	switch d.Format {
	case usage.Parquet:
		b.WriteString("STORED AS PARQUET\n")
	case usage.JSONL:
		b.WriteString("ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\nSTORED AS TEXTFILE\n")
	case usage.CSV:
		b.WriteString("ROW FORMAT SERDE 'org.apache.hadoop.hive.serde2.OpenCSVSerde'\n")
		b.WriteString("WITH SERDEPROPERTIES ('separatorChar' = ',', 'quoteChar' = '\"', 'escapeChar' = '\"')\n")
		b.WriteString("STORED AS TEXTFILE\n")
	}
	fmt.Fprintf(b, "LOCATION %s", hiveString(d.Location()))
	if d.Format == usage.CSV {
		b.WriteString("\nTBLPROPERTIES ('skip.header.line.count' = '1')")
	}
	b.WriteString(";\n\n")
	fmt.Fprintf(b, "MSCK REPAIR TABLE %s;\n", name)
}

// hiveType is the Hive type of a column type in a format: Parquet's own physical types; text
// formats parse dates, integers and decimals, not timestamps with an offset; OpenCSVSerde gives
// strings only.
func hiveType(f usage.Format, typ string) string {
	if f == usage.CSV {
		return "STRING"
	}
	switch typ {
	case usage.TypeDate:
		return "DATE"
	case usage.TypeInt64:
		return "BIGINT"
	case usage.TypeDecimal:
		if f == usage.Parquet {
			return "DOUBLE"
		}
		return "DECIMAL(18,3)"
	case usage.TypeTimestamp:
		if f == usage.Parquet {
			return "TIMESTAMP"
		}
	}
	return "STRING"
}

// hiveIdent quotes an identifier with backticks (date is reserved in Hive).
func hiveIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// hiveString is a HiveQL string literal: quotes and backslashes escaped with a backslash.
func hiveString(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	return "'" + strings.ReplaceAll(s, "'", `\'`) + "'"
}
