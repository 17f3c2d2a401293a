package usage

import (
	"fmt"
	"slices"
	"strings"
)

// Column types, as named in schemas and documentation.
const (
	TypeString    = "string"    // UTF-8 text
	TypeInt64     = "int64"     // signed 64-bit integer
	TypeDecimal   = "decimal"   // a decimal number as the API gave it (JSON number, CSV text)
	TypeDate      = "date"      // YYYY-MM-DD, in the dataset's time zone
	TypeTimestamp = "timestamp" // RFC 3339
)

// Column describes one column of a dataset.
type Column struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Unit        string `json:"unit,omitempty"`
	Description string `json:"description"`
	// Measure marks an additive quantity: each file's sum of it is recorded in the manifest
	// (FileEntry.Measures), restatements compare those sums, and unless Signed it is checked
	// never to be negative (CheckNonNegative).
	Measure bool `json:"measure,omitempty"`
	// Signed marks a measure the API legitimately gives negative (ESS refunds).
	Signed bool `json:"signed,omitempty"`
	// Instant marks a numeric column with a unit that is a point in time (unix seconds), not an
	// amount: it is never summed (see Measures).
	Instant bool `json:"instant,omitempty"`
}

// Schema describes a dataset: its name (the first part of every object key), version (the
// second) and columns. Datasets whose API can add columns (room usage) set Open: columns beyond
// the fixed ones are kept, named after the API's header as Extra says, typed decimal seconds,
// and listed in each file's manifest entry.
type Schema struct {
	Dataset     string   `json:"dataset"`
	Version     string   `json:"version"`
	Description string   `json:"description"`
	Columns     []Column `json:"columns"`
	Open        bool     `json:"open,omitempty"`
	// Extra says how further columns of an open schema are named.
	Extra string `json:"extra,omitempty"`
	// Earlier lists the dataset's earlier versions, newest first. Their partitions stay where
	// they were written (<dataset>/<version>/...) and readers still read them.
	Earlier []Earlier `json:"earlier,omitempty"`
	// Checks lists the quality checks the dataset's data gets (see Check).
	Checks []CheckSpec `json:"checks,omitempty"`
}

// Earlier is an earlier version of a dataset and what the next version changed.
type Earlier struct {
	Version string `json:"version"`
	Change  string `json:"change"`
}

// Versions returns the dataset's versions whose partitions readers read, newest first: Version,
// then the earlier ones.
func (s Schema) Versions() []string {
	out := []string{s.Version}
	for _, e := range s.Earlier {
		out = append(out, e.Version)
	}
	return out
}

// Lookup returns the schema of a dataset by name.
func Lookup(dataset string) (Schema, bool) {
	for _, s := range Schemas() {
		if s.Dataset == dataset {
			return s, true
		}
	}
	return Schema{}, false
}

// Names returns the column names in order.
func (s Schema) Names() []string {
	out := make([]string, len(s.Columns))
	for i, c := range s.Columns {
		out[i] = c.Name
	}
	return out
}

// ColumnTypes returns the type of each of the given columns: a column of s has its type; a column
// s does not list is a decimal when s is open (room usage's further usage columns, in seconds),
// and an error otherwise.
func (s Schema) ColumnTypes(columns []string) ([]string, error) {
	out := make([]string, len(columns))
	for i, name := range columns {
		j := slices.IndexFunc(s.Columns, func(c Column) bool { return c.Name == name })
		switch {
		case j >= 0:
			out[i] = s.Columns[j].Type
		case s.Open:
			out[i] = TypeDecimal
		default:
			return nil, fmt.Errorf("dataset %s has no column %q", s.Dataset, clipText(name))
		}
	}
	return out, nil
}

// IsMeasure reports whether a column of s is an amount that sums: a numeric column (int64 or
// decimal) with a unit that is not an Instant; for an open schema, also any column it does not
// list (further usage columns, decimal seconds).
func (s Schema) IsMeasure(name string) bool {
	i := slices.IndexFunc(s.Columns, func(c Column) bool { return c.Name == name })
	if i < 0 {
		return s.Open
	}
	c := s.Columns[i]
	return c.Unit != "" && !c.Instant && (c.Type == TypeInt64 || c.Type == TypeDecimal)
}

// Measures returns the measures of s's own columns (IsMeasure), in order.
func (s Schema) Measures() []string {
	var out []string
	for _, c := range s.Columns {
		if s.IsMeasure(c.Name) {
			out = append(out, c.Name)
		}
	}
	return out
}

// CurrentColumn returns the name that a column of an earlier version of a dataset has in the
// current version (roomusage v1's `2k` is v2's `video_2k_seconds`, v1's `spatial_audio` v2's
// `spatial_audio_seconds`), so that days of both versions add up; other names come back as they
// are.
func CurrentColumn(dataset, version, column string) string {
	if dataset != RoomUsageSchema.Dataset || version != "v1" || slices.Contains(roomFixedColumns, column) {
		return column
	}
	if name := roomColumnName(column); name != "" {
		return name
	}
	return column
}

// Markdown renders the schema as a documentation table.
func (s Schema) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "### `%s` (%s)\n\n%s\n\n| column | type | unit | meaning |\n|---|---|---|---|\n", s.Dataset, s.Version, s.Description)
	for _, c := range s.Columns {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", c.Name, c.Type, c.Unit, c.Description)
	}
	if s.Open && s.Extra != "" {
		b.WriteString("\n" + s.Extra + "\n")
	}
	var measures []string
	for _, c := range s.Columns {
		if c.Measure {
			m := "`" + c.Name + "`"
			if c.Signed {
				m += " (may be negative)"
			}
			measures = append(measures, m)
		}
	}
	if s.Open {
		measures = append(measures, "every further usage column")
	}
	if len(measures) > 0 {
		fmt.Fprintf(&b, "\nMeasures, summed per file in the manifest and compared when a day is restated: %s.\n", strings.Join(measures, ", "))
	}
	if len(s.Checks) > 0 {
		b.WriteString("\nQuality checks (recorded per app in the manifest's `checks` unless said otherwise):\n\n")
		for _, c := range s.Checks {
			fmt.Fprintf(&b, "- `%s`: %s\n", c.Name, c.Description)
		}
	}
	return b.String()
}

// Schemas lists every dataset's schema, for documentation and tests.
func Schemas() []Schema {
	return []Schema{TelCallSchema, TRTCUsageSchema, RoomUsageSchema, ESSBillSchema}
}
