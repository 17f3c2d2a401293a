package usage

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Format is an encoding of a dataset's rows: one file per app and day in each configured format.
type Format string

// The formats.
const (
	JSONL   Format = "jsonl"   // JSON Lines, one object per row, keys in column order
	CSV     Format = "csv"     // RFC 4180 CSV with a header row, UTF-8
	Parquet Format = "parquet" // Apache Parquet, typed columns, Snappy-compressed
)

// Formats lists every format, in the order files are written.
var Formats = []Format{CSV, JSONL, Parquet}

// DefaultFormats are the formats written when none are configured ("both").
var DefaultFormats = []Format{CSV, JSONL}

// ErrFormat is wrapped by errors about unknown formats.
var ErrFormat = errors.New("unknown format")

// Valid reports whether f is a known format.
func (f Format) Valid() error {
	if !slices.Contains(Formats, f) {
		return fmt.Errorf("%w %q (want one of %s)", ErrFormat, clipText(string(f)), formatList())
	}
	return nil
}

// ContentType returns the media type stored with files of format f.
func (f Format) ContentType() string {
	switch f {
	case JSONL:
		return "application/x-ndjson"
	case CSV:
		return "text/csv; charset=utf-8"
	case Parquet:
		return "application/vnd.apache.parquet"
	}
	return "application/octet-stream"
}

// Ext returns the file name extension of format f, without the dot.
func (f Format) Ext() string { return string(f) }

// NewWriter returns a row writer encoding rows of dataset s with the given columns in format f
// onto w. The text formats need only the column names; Parquet types each column after s (see
// NewParquetWriter).
func NewWriter(f Format, w io.Writer, s Schema, columns []string) (RowWriter, error) {
	switch f {
	case JSONL:
		return NewJSONLWriter(w, columns), nil
	case CSV:
		return NewCSVWriter(w, columns), nil
	case Parquet:
		return NewParquetWriter(w, s, columns)
	}
	return nil, f.Valid()
}

// ParseFormats parses a TCUSAGE_FORMAT value: "" or "both" (CSV and JSON Lines), "all" (every
// format), or a comma-separated list of formats ("json" and "ndjson" mean jsonl). The result is
// in Formats order, without duplicates.
func ParseFormats(v string) ([]Format, error) {
	v = strings.ToLower(strings.TrimSpace(v))
	switch v {
	case "", "both":
		return slices.Clone(DefaultFormats), nil
	case "all":
		return slices.Clone(Formats), nil
	}
	var out []Format
	for _, s := range strings.Split(v, ",") {
		f := Format(strings.TrimSpace(s))
		if f == "json" || f == "ndjson" {
			f = JSONL
		}
		if err := f.Valid(); err != nil {
			return nil, fmt.Errorf("%q is not a format: want %s, both or all", clipText(string(f)), formatList())
		}
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b Format) int { return slices.Index(Formats, a) - slices.Index(Formats, b) })
	return out, nil
}

func formatList() string {
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return strings.Join(names, ", ")
}

// clipText shortens a value quoted in an error, so that a huge or hostile value cannot flood logs.
func clipText(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
