package report

import (
	"fmt"
	"io"
	"strconv"

	"github.com/tcusage/tcusage/shared/snapshot"
	"github.com/tcusage/tcusage/shared/usage"
)

// parquetRecord is one row of a row group read by usage.ParquetReader.
type parquetRecord struct {
	index map[string]int
	cols  []usage.ParquetValues
	row   int
}

func (r *parquetRecord) text(col string) string {
	if j, ok := r.index[col]; ok {
		return r.cols[j].Text(r.row)
	}
	return ""
}

func (r *parquetRecord) number(col string) (float64, bool, error) {
	j, ok := r.index[col]
	if !ok || r.cols[j].Null[r.row] {
		return 0, false, nil
	}
	if v, ok := r.cols[j].Number(r.row); ok {
		return v, true, nil
	}
	s := r.cols[j].Text(r.row)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false, fmt.Errorf("column %s: not a number: %.40q", col, s)
	}
	return v, true, nil
}

// scanParquet reads a Parquet file the functions wrote, one row group at a time (its columns and
// row count come from its manifest entry; usage.ParquetReader checks them against the footer).
func scanParquet(r io.Reader, dataset string, e snapshot.FileEntry, fn func(record) error) error {
	s, ok := usage.Lookup(dataset)
	if !ok {
		return fmt.Errorf("no schema for dataset %q", dataset)
	}
	if len(e.Columns) == 0 {
		return fmt.Errorf("%w: the manifest lists no columns for a Parquet file", ErrDataMismatch)
	}
	pr, err := usage.NewParquetReader(r, s, e.Columns, e.Rows)
	if err != nil {
		return err
	}
	rec := &parquetRecord{index: make(map[string]int, len(e.Columns))}
	for i, c := range e.Columns {
		rec.index[c] = i
	}
	for group := 0; pr.Next(); group++ {
		rec.cols = pr.Columns()
		for rec.row = range pr.Len() {
			if err := fn(rec); err != nil {
				return fmt.Errorf("row group %d, row %d: %w", group, rec.row+1, err)
			}
		}
	}
	return pr.Err()
}
